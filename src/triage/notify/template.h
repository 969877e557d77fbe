// Message templates for notification channels: a deliberately small language of our own, so that a
// channel's body can be configured without giving whoever configures it a programming language.
//
// Grammar (EBNF):
//
//   template    = { text | placeholder } ;
//   text        = any characters except the two-character sequence "{{" ;
//   placeholder = "{{" , ws , path , ws , "}}" ;
//   path        = name , { "." , name } ;
//   name        = ( letter | "_" ) , { letter | digit | "_" } ;     (ASCII letters)
//   ws          = { " " | "\t" } ;
//
// There are no loops, conditions, filters or function calls. A placeholder is replaced by the value
// of the variable named by its path, escaped for the place the text is used (Escape): JSON string
// content inside a JSON body, percent-encoding inside a URL or a form body. Unknown variables are
// an error at parse time when the caller gives the set of known names (channel validation does), and
// render as the empty string otherwise.
//
// Parse() collects every problem with its line and column (1-based, counted in bytes) and stops at
// kMaxErrors; templates are limited to kMaxTemplateBytes.
//
// Thread-safety: value types; Render() is const.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace medsoc::triage::notify {

inline constexpr std::size_t kMaxTemplateBytes = 64 * 1024;
inline constexpr std::size_t kMaxErrors = 20;

enum class Escape : std::uint8_t {
  kNone,  // plain text (e-mail bodies, chat messages that we JSON-encode ourselves)
  kJson,  // inside a JSON string literal: ", \, control characters escaped
  kUrl,   // RFC 3986 percent-encoding of everything but unreserved characters
};

struct TemplateError {
  int line = 1;
  int column = 1;
  std::string message;
  std::string ToString() const;  // "1:7: unterminated placeholder"
};

// Variables available to a template: "incident.title" -> "...".
using TemplateVars = std::map<std::string, std::string, std::less<>>;

class Template {
 public:
  Template() = default;

  // Parses `text`. With a non-null `known`, a path that is not in it (and does not start with a
  // prefix in `known_prefixes`, e.g. "secret.") is an error.
  static Template Parse(std::string_view text, std::vector<TemplateError>& errors,
                        const std::vector<std::string>* known = nullptr,
                        const std::vector<std::string>& known_prefixes = {});
  // Parse() that fails with all errors joined into one kInvalidArgument message.
  static Result<Template> Compile(std::string_view text, const std::vector<std::string>* known = nullptr,
                                  const std::vector<std::string>& known_prefixes = {});

  std::string Render(const TemplateVars& vars, Escape escape) const;
  // The paths the template refers to, in order of appearance (repeats included).
  std::vector<std::string> Paths() const;
  bool empty() const { return parts_.empty(); }

 private:
  struct Part {
    bool is_var = false;
    std::string text;  // literal text, or the variable path
  };
  std::vector<Part> parts_;
};

void AppendEscaped(std::string& out, std::string_view value, Escape escape);
std::string UrlEncode(std::string_view s);

}  // namespace medsoc::triage::notify
