#include "triage/notify/template.h"

#include <algorithm>
#include <cstdio>

namespace medsoc::triage::notify {
namespace {

bool IsNameStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

// Line and column (1-based) of byte offset `pos` in `text`.
void Position(std::string_view text, std::size_t pos, int& line, int& column) {
  line = 1;
  column = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

}  // namespace

std::string TemplateError::ToString() const {
  return std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

Template Template::Parse(std::string_view text, std::vector<TemplateError>& errors,
                         const std::vector<std::string>* known, const std::vector<std::string>& known_prefixes) {
  Template t;
  auto fail = [&](std::size_t pos, std::string message) {
    if (errors.size() >= kMaxErrors) return;
    TemplateError e;
    Position(text, pos, e.line, e.column);
    e.message = std::move(message);
    errors.push_back(std::move(e));
  };
  if (text.size() > kMaxTemplateBytes) {
    fail(kMaxTemplateBytes, "template longer than " + std::to_string(kMaxTemplateBytes) + " bytes");
    return t;
  }
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    if (errors.size() >= kMaxErrors) break;
    if (!(text[i] == '{' && i + 1 < text.size() && text[i + 1] == '{')) {
      literal.push_back(text[i++]);
      continue;
    }
    const std::size_t open = i;
    i += 2;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    const std::size_t path_start = i;
    bool bad = false;
    // path = name { "." name }
    while (true) {
      if (i >= text.size()) break;
      if (!IsNameStart(text[i])) {
        if (text[i] == '}' && i == path_start) {
          fail(i, "empty placeholder");
        } else {
          fail(i, std::string("expected a variable name, found '") + text[i] + "'");
        }
        bad = true;
        break;
      }
      while (i < text.size() && IsNameChar(text[i])) ++i;
      if (i < text.size() && text[i] == '.') {
        ++i;
        continue;
      }
      break;
    }
    const std::size_t path_end = i;
    while (!bad && i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (!bad && (i + 1 >= text.size() || text[i] != '}' || text[i + 1] != '}')) {
      if (i >= text.size()) {
        fail(open, "unterminated placeholder (missing '}}')");
      } else {
        fail(i, std::string("expected '}}', found '") + text[i] + "'");
      }
      bad = true;
    }
    if (bad) {
      // Resynchronize after the next "}}" (or give up at the end of the text).
      const std::size_t close = text.find("}}", i);
      if (close == std::string_view::npos) break;
      i = close + 2;
      continue;
    }
    std::string path(text.substr(path_start, path_end - path_start));
    if (known != nullptr && std::find(known->begin(), known->end(), path) == known->end() &&
        std::none_of(known_prefixes.begin(), known_prefixes.end(), [&](const std::string& p) {
          return path.size() > p.size() && path.compare(0, p.size(), p) == 0;
        })) {
      fail(path_start, "unknown variable '" + path + "'");
    }
    i += 2;
    if (!literal.empty()) t.parts_.push_back({false, std::move(literal)});
    literal.clear();
    t.parts_.push_back({true, std::move(path)});
  }
  if (!literal.empty()) t.parts_.push_back({false, std::move(literal)});
  return t;
}

Result<Template> Template::Compile(std::string_view text, const std::vector<std::string>* known,
                                   const std::vector<std::string>& known_prefixes) {
  std::vector<TemplateError> errors;
  Template t = Parse(text, errors, known, known_prefixes);
  if (errors.empty()) return t;
  std::string msg;
  for (const auto& e : errors) msg += (msg.empty() ? "" : "; ") + e.ToString();
  return Error(ErrorCode::kInvalidArgument, msg);
}

std::string Template::Render(const TemplateVars& vars, Escape escape) const {
  std::string out;
  for (const auto& p : parts_) {
    if (!p.is_var) {
      out += p.text;
      continue;
    }
    auto it = vars.find(p.text);
    if (it != vars.end()) AppendEscaped(out, it->second, escape);
  }
  return out;
}

std::vector<std::string> Template::Paths() const {
  std::vector<std::string> out;
  for (const auto& p : parts_)
    if (p.is_var) out.push_back(p.text);
  return out;
}

void AppendEscaped(std::string& out, std::string_view value, Escape escape) {
  switch (escape) {
    case Escape::kNone:
      out += value;
      return;
    case Escape::kJson:
      for (unsigned char c : value) {
        switch (c) {
          case '"': out += "\\\""; break;
          case '\\': out += "\\\\"; break;
          case '\n': out += "\\n"; break;
          case '\r': out += "\\r"; break;
          case '\t': out += "\\t"; break;
          default:
            if (c < 0x20 || c == 0x7f) {
              char buf[8];
              std::snprintf(buf, sizeof buf, "\\u%04x", c);
              out += buf;
            } else {
              out.push_back(static_cast<char>(c));
            }
        }
      }
      return;
    case Escape::kUrl:
      out += UrlEncode(value);
      return;
  }
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace medsoc::triage::notify
