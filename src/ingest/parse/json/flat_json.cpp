// The only translation unit of the JSON parsers that includes simdjson (compile time).
#include "ingest/parse/json/flat_json.h"

#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <limits>

namespace medsoc::ingest::json {

namespace {

struct PendingLeaf {
  const char* direct;      // non-null: the path is [direct, direct + path_len) (a top-level key)
  std::uint32_t path_off;
  std::uint32_t path_len;
  std::uint32_t leaf_off;  // offset of the last segment inside the path
  event::Value value;
  std::uint32_t element;
};

std::string AtByte(std::size_t offset, std::string_view what) {
  std::string s = "JSON at byte ";
  s += std::to_string(offset);
  s += ": ";
  s += what;
  return s;
}

void AppendUtf8(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int Hex4(std::string_view s, std::size_t pos) {
  if (pos + 4 > s.size()) return -1;
  int v = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    const int h = HexValue(s[pos + i]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

}  // namespace

void UnescapeJsonString(std::string_view body, std::string& out) {
  std::size_t i = 0;
  while (i < body.size()) {
    const std::size_t bs = body.find('\\', i);
    if (bs == std::string_view::npos) {
      out.append(body.substr(i));
      return;
    }
    out.append(body.substr(i, bs - i));
    if (bs + 1 >= body.size()) {
      out.push_back('\\');
      return;
    }
    const char c = body[bs + 1];
    i = bs + 2;
    switch (c) {
      case '"': out.push_back('"'); break;
      case '\\': out.push_back('\\'); break;
      case '/': out.push_back('/'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        int cp = Hex4(body, i);
        if (cp < 0) {
          out.append(body.substr(bs, 2));
          break;
        }
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          int lo = -1;
          if (i + 6 <= body.size() && body[i] == '\\' && body[i + 1] == 'u') lo = Hex4(body, i + 2);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            i += 6;
            AppendUtf8(0x10000u + ((static_cast<std::uint32_t>(cp) - 0xD800u) << 10) +
                           (static_cast<std::uint32_t>(lo) - 0xDC00u),
                       out);
          } else {
            AppendUtf8(0xFFFD, out);
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          AppendUtf8(0xFFFD, out);
        } else {
          AppendUtf8(static_cast<std::uint32_t>(cp), out);
        }
        break;
      }
      default:
        out.append(body.substr(bs, 2));
        break;
    }
  }
}

struct FlatJson::Impl {
  simdjson::dom::parser parser;
  std::size_t configured_depth = 0;
  std::vector<char> padded;
  std::string paths;
  std::string prefix;
  std::string scratch;
  std::vector<PendingLeaf> pending;
  std::uint32_t element_counter = 0;
  event::Event* event = nullptr;
  bool invalid_utf8 = false;

  // A top-level key whose bytes stay valid until the next parse (simdjson's string buffer).
  std::string_view direct_key;

  void Emit(event::Value v, std::uint32_t element) {
    PendingLeaf p;
    if (direct_key.data() != nullptr) {
      p.direct = direct_key.data();
      p.path_off = 0;
      p.path_len = static_cast<std::uint32_t>(direct_key.size());
      p.leaf_off = 0;
      p.value = v;
      p.element = element;
      pending.push_back(p);
      return;
    }
    p.direct = nullptr;
    p.path_off = static_cast<std::uint32_t>(paths.size());
    p.path_len = static_cast<std::uint32_t>(prefix.size());
    const std::size_t dot = prefix.rfind('.');
    p.leaf_off = dot == std::string::npos ? 0 : static_cast<std::uint32_t>(dot + 1);
    p.value = v;
    p.element = element;
    paths.append(prefix);
    pending.push_back(p);
  }
  std::size_t PushKey(std::string_view key) {
    const std::size_t old = prefix.size();
    if (!prefix.empty()) prefix.push_back('.');
    prefix.append(key);
    return old;
  }

  // ---- simdjson DOM walk ----------------------------------------------------------------------
  void Walk(simdjson::dom::element el, std::uint32_t element) {
    using simdjson::dom::element_type;
    switch (el.type()) {
      case element_type::OBJECT: {
        simdjson::dom::object obj = el.get_object().value_unsafe();
        const bool top = prefix.empty() && element == 0;
        for (simdjson::dom::key_value_pair kv : obj) {
          const std::size_t old = PushKey(kv.key);
          // Top-level scalars (the common flat NXLog shape) use the key in place: no copy.
          const bool scalar = kv.value.type() != simdjson::dom::element_type::OBJECT &&
                              kv.value.type() != simdjson::dom::element_type::ARRAY;
          if (top && scalar && !kv.key.empty() && kv.key.find('.') == std::string_view::npos) direct_key = kv.key;
          Walk(kv.value, element);
          direct_key = {};
          prefix.resize(old);
        }
        break;
      }
      case element_type::ARRAY: {
        simdjson::dom::array arr = el.get_array().value_unsafe();
        for (simdjson::dom::element child : arr) Walk(child, ++element_counter);
        break;
      }
      case element_type::STRING:
        Emit(event::Value::String(event->CopyString(el.get_string().value_unsafe())), element);
        break;
      case element_type::INT64:
        Emit(event::Value::Int(el.get_int64().value_unsafe()), element);
        break;
      case element_type::UINT64: {
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, el.get_uint64().value_unsafe());
        Emit(event::Value::String(event->CopyString(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)))),
             element);
        break;
      }
      case element_type::DOUBLE:
        Emit(event::Value::Float(el.get_double().value_unsafe()), element);
        break;
      case element_type::BOOL:
        Emit(event::Value::Bool(el.get_bool().value_unsafe()), element);
        break;
      case element_type::NULL_VALUE:
        Emit(event::Value(), element);
        break;
    }
  }

  // ---- fallback scalar parser -----------------------------------------------------------------
  struct Fallback {
    Impl& impl;
    std::string_view s;
    std::size_t pos = 0;
    int max_depth = 64;
    std::string error;
    std::size_t error_at = 0;

    bool Fail(std::size_t at, std::string_view what) {
      if (error.empty()) {
        error_at = at;
        error = AtByte(at, what);
      }
      return false;
    }
    void SkipWs() {
      while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) ++pos;
    }
    // Scans a string starting at the opening quote; on success `body` is the raw body.
    bool ScanString(std::string_view& body, bool& escaped) {
      const std::size_t start = ++pos;
      escaped = false;
      while (pos < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[pos]);
        if (c == '"') {
          body = s.substr(start, pos - start);
          ++pos;
          return true;
        }
        if (c == '\\') {
          escaped = true;
          if (pos + 1 >= s.size()) break;
          const char e = s[pos + 1];
          if (e == 'u') {
            if (Hex4(s, pos + 2) < 0) return Fail(pos, "invalid \\u escape in string");
            pos += 6;
            continue;
          }
          if (std::strchr("\"\\/bfnrt", e) == nullptr || e == '\0') return Fail(pos, "invalid escape in string");
          pos += 2;
          continue;
        }
        if (c < 0x20) return Fail(pos, "control character in string (truncated line?)");
        if (c >= 0x80) impl.invalid_utf8 = true;  // re-checked precisely by the caller
        ++pos;
      }
      return Fail(s.size(), "unterminated string (truncated?)");
    }
    std::string_view Decode(std::string_view body, bool escaped) {
      if (!escaped) return impl.event->CopyString(body);
      impl.scratch.clear();
      UnescapeJsonString(body, impl.scratch);
      return impl.event->CopyString(impl.scratch);
    }
    bool Value(int depth, std::uint32_t element) {
      SkipWs();
      if (pos >= s.size()) return Fail(pos, "unexpected end of input (truncated?)");
      const char c = s[pos];
      if (c == '{') {
        if (depth >= max_depth) return Fail(pos, "nesting deeper than the limit of " + std::to_string(max_depth));
        ++pos;
        SkipWs();
        if (pos < s.size() && s[pos] == '}') {
          ++pos;
          return true;
        }
        for (;;) {
          SkipWs();
          if (pos >= s.size()) return Fail(pos, "unexpected end of input in object (truncated?)");
          if (s[pos] != '"') return Fail(pos, "expected a quoted key");
          std::string_view body;
          bool escaped;
          if (!ScanString(body, escaped)) return false;
          std::string_view key = body;
          if (escaped) {
            impl.scratch.clear();
            UnescapeJsonString(body, impl.scratch);
            key = impl.scratch;
          }
          const std::size_t old = impl.PushKey(key);
          SkipWs();
          if (pos >= s.size() || s[pos] != ':') return Fail(pos, "expected ':' after key");
          ++pos;
          if (!Value(depth + 1, element)) return false;
          impl.prefix.resize(old);
          SkipWs();
          if (pos >= s.size()) return Fail(pos, "unexpected end of input in object (truncated?)");
          if (s[pos] == ',') {
            ++pos;
            continue;
          }
          if (s[pos] == '}') {
            ++pos;
            return true;
          }
          return Fail(pos, "expected ',' or '}' in object");
        }
      }
      if (c == '[') {
        if (depth >= max_depth) return Fail(pos, "nesting deeper than the limit of " + std::to_string(max_depth));
        ++pos;
        SkipWs();
        if (pos < s.size() && s[pos] == ']') {
          ++pos;
          return true;
        }
        for (;;) {
          if (!Value(depth + 1, ++impl.element_counter)) return false;
          SkipWs();
          if (pos >= s.size()) return Fail(pos, "unexpected end of input in array (truncated?)");
          if (s[pos] == ',') {
            ++pos;
            continue;
          }
          if (s[pos] == ']') {
            ++pos;
            return true;
          }
          return Fail(pos, "expected ',' or ']' in array");
        }
      }
      if (c == '"') {
        std::string_view body;
        bool escaped;
        if (!ScanString(body, escaped)) return false;
        impl.Emit(event::Value::String(Decode(body, escaped)), element);
        return true;
      }
      if (s.substr(pos, 4) == "true") {
        pos += 4;
        impl.Emit(event::Value::Bool(true), element);
        return true;
      }
      if (s.substr(pos, 5) == "false") {
        pos += 5;
        impl.Emit(event::Value::Bool(false), element);
        return true;
      }
      if (s.substr(pos, 4) == "null") {
        pos += 4;
        impl.Emit(event::Value(), element);
        return true;
      }
      if (c == '-' || (c >= '0' && c <= '9')) return Number(element);
      return Fail(pos, "unexpected character");
    }
    bool Number(std::uint32_t element) {
      const std::size_t start = pos;
      if (s[pos] == '-') ++pos;
      const std::size_t int_start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      if (pos == int_start) return Fail(start, "invalid number");
      if (s[int_start] == '0' && pos - int_start > 1) return Fail(start, "invalid number (leading zero)");
      bool is_float = false;
      if (pos < s.size() && s[pos] == '.') {
        is_float = true;
        const std::size_t f = ++pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == f) return Fail(start, "invalid number (no digits after '.')");
      }
      if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
        is_float = true;
        ++pos;
        if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
        const std::size_t e = pos;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
        if (pos == e) return Fail(start, "invalid number (no exponent digits)");
      }
      const std::string_view text = s.substr(start, pos - start);
      if (!is_float) {
        std::int64_t v = 0;
        auto r = std::from_chars(text.data(), text.data() + text.size(), v);
        if (r.ec == std::errc()) {
          impl.Emit(event::Value::Int(v), element);
        } else {
          impl.Emit(event::Value::String(impl.event->CopyString(text)), element);
        }
        return true;
      }
      double d = 0;
      auto r = std::from_chars(text.data(), text.data() + text.size(), d);
      if (r.ec == std::errc()) {
        impl.Emit(event::Value::Float(d), element);
      } else {
        impl.Emit(event::Value::String(impl.event->CopyString(text)), element);
      }
      return true;
    }
  };
};

FlatJson::FlatJson() : impl_(std::make_unique<Impl>()) {}
FlatJson::~FlatJson() = default;

const FlatField* FlatJson::Find(std::string_view path) const {
  for (const FlatField& f : fields_)
    if (f.path == path) return &f;
  return nullptr;
}

namespace {

bool Utf8Valid(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

}  // namespace

Status FlatJson::Parse(std::string_view text, int max_depth, event::Event& event) {
  Impl& im = *impl_;
  fields_.clear();
  im.pending.clear();
  im.paths.clear();
  im.prefix.clear();
  im.element_counter = 0;
  im.direct_key = {};
  im.event = &event;
  im.invalid_utf8 = false;
  top_is_object_ = false;
  invalid_utf8_ = false;
  used_fallback_ = false;
  if (max_depth < 1) max_depth = 1;

  std::size_t first = 0;
  while (first < text.size() && (text[first] == ' ' || text[first] == '\t' || text[first] == '\r' || text[first] == '\n'))
    ++first;
  if (first >= text.size()) return Error(ErrorCode::kParse, AtByte(text.size(), "empty input, expected a JSON object"));
  if (text[first] != '{' && text[first] != '[')
    return Error(ErrorCode::kParse, AtByte(first, "expected a JSON object or array"));
  top_is_object_ = text[first] == '{';
  if (text.size() > std::numeric_limits<std::uint32_t>::max() / 2)
    return Error(ErrorCode::kResourceExhausted, AtByte(0, "input too large"));

  bool ok = false;
  try {
    if (im.configured_depth != static_cast<std::size_t>(max_depth)) {
      if (im.parser.allocate(std::max<std::size_t>(text.size(), 4096), static_cast<std::size_t>(max_depth)) ==
          simdjson::SUCCESS)
        im.configured_depth = static_cast<std::size_t>(max_depth);
    }
    if (im.configured_depth == static_cast<std::size_t>(max_depth)) {
      const std::size_t need = text.size() + simdjson::SIMDJSON_PADDING;
      if (im.padded.size() < need) im.padded.resize(need);
      std::memcpy(im.padded.data(), text.data(), text.size());
      std::memset(im.padded.data() + text.size(), 0, simdjson::SIMDJSON_PADDING);
      simdjson::dom::element root;
      if (im.parser.parse(reinterpret_cast<const std::uint8_t*>(im.padded.data()), text.size(), false).get(root) ==
          simdjson::SUCCESS) {
        im.Walk(root, 0);
        ok = true;
      }
    }
  } catch (...) {
    ok = false;
  }

  if (!ok) {
    // simdjson refused (or could not run): the scalar parser accepts invalid UTF-8 and locates
    // every other error precisely.
    used_fallback_ = true;
    im.pending.clear();
    im.paths.clear();
    im.prefix.clear();
    im.element_counter = 0;
    Impl::Fallback fb{im, text};
    fb.max_depth = max_depth;
    if (!fb.Value(0, 0)) {
      fields_.clear();
      const bool deep = fb.error.find("nesting deeper") != std::string::npos;
      return Error(deep ? ErrorCode::kResourceExhausted : ErrorCode::kParse, fb.error);
    }
    fb.SkipWs();
    if (fb.pos != text.size())
      return Error(ErrorCode::kParse, AtByte(fb.pos, "unexpected data after the JSON value"));
    invalid_utf8_ = im.invalid_utf8 && !Utf8Valid(text);
  }

  fields_.reserve(im.pending.size());
  const char* base = im.paths.data();
  for (const PendingLeaf& p : im.pending) {
    if (p.direct != nullptr) {
      const std::string_view path(p.direct, p.path_len);
      fields_.push_back(FlatField{path, path, p.value, p.element});
      continue;
    }
    FlatField f{std::string_view(base + p.path_off, p.path_len),
                std::string_view(base + p.path_off + p.leaf_off, p.path_len - p.leaf_off), p.value, p.element};
    fields_.push_back(f);
  }
  return Ok();
}

}  // namespace medsoc::ingest::json
