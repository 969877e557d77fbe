// The only translation unit of the JSON parsers that includes simdjson (compile time).
#include "ingest/parse/json/flat_json.h"

#include <simdjson.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <charconv>
#include <cstring>
#include <functional>
#include <limits>

namespace medsoc::ingest::json {

namespace {

// A leaf whose path lives in Impl::paths (which may still grow): its views are set at the end.
struct PathFixup {
  std::uint32_t index;     // in fields_
  std::uint32_t path_off;
  std::uint32_t path_len;
  std::uint32_t leaf_off;  // offset of the last segment inside the path
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

// Unescapes the body of a JSON string that simdjson's stage 1 accepted (valid UTF-8, no raw
// control characters), with simdjson's rules for escapes: the eight one-letter escapes and \uXXXX,
// surrogates only as a valid high-low pair. Returns the output length, or -1 for an escape
// simdjson refuses (the caller then leaves the text to the fallback parser). `src` must be
// readable 16 bytes past `n` (the padded copy) and `out` must hold n + 16 bytes.
// Whether n bytes at p hold a backslash. p must be readable 16 bytes past n (the padded copy):
// most values are short, and a libc memchr call per value was 4 % of the parse.
bool HasBackslash(const char* p, std::size_t n) {
#if defined(__SSE2__)
  const __m128i bs = _mm_set1_epi8('\\');
  for (std::size_t i = 0; i < n; i += 16) {
    unsigned mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), bs)));
    if (n - i < 16) mask &= (1u << (n - i)) - 1;
    if (mask != 0) return true;
  }
  return false;
#else
  return std::memchr(p, '\\', n) != nullptr;
#endif
}

constexpr std::array<char, 256> kEscapes = [] {
  std::array<char, 256> t{};
  t['"'] = '"';
  t['\\'] = '\\';
  t['/'] = '/';
  t['b'] = '\b';
  t['f'] = '\f';
  t['n'] = '\n';
  t['r'] = '\r';
  t['t'] = '\t';
  return t;
}();

std::ptrdiff_t UnescapeStrict(const char* src, std::size_t n, char* out) {
  const char* const end = src + n;
  char* d = out;
  while (src < end) {
#if defined(__SSE2__)
    const std::size_t left = static_cast<std::size_t>(end - src);
    const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), block);
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, _mm_set1_epi8('\\'))));
    if (left < 16) mask &= (1u << left) - 1;
    if (mask == 0) {
      const std::size_t step = left < 16 ? left : 16;
      src += step;
      d += step;
      continue;
    }
    const unsigned skip = static_cast<unsigned>(__builtin_ctz(mask));
    src += skip;
    d += skip;
#else
    const void* bs = std::memchr(src, '\\', static_cast<std::size_t>(end - src));
    const std::size_t skip = bs ? static_cast<std::size_t>(static_cast<const char*>(bs) - src)
                                : static_cast<std::size_t>(end - src);
    std::memcpy(d, src, skip);
    src += skip;
    d += skip;
    if (bs == nullptr) break;
#endif
    // *src is a backslash. One-letter escapes through a table: Windows messages mix \r \n \t
    // and \\ so densely that a switch's indirect jump mispredicted on most of them.
    if (end - src < 2) return -1;
    if (src[1] != 'u') {
      const char r = kEscapes[static_cast<unsigned char>(src[1])];
      if (r == 0) return -1;
      *d++ = r;
      src += 2;
      continue;
    }
    const std::string_view rest(src, static_cast<std::size_t>(end - src));
    const int cp = Hex4(rest, 2);
    if (cp < 0) return -1;
    std::uint32_t code = static_cast<std::uint32_t>(cp);
    std::size_t used = 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (rest.size() < 12 || rest[6] != '\\' || rest[7] != 'u') return -1;
      const int lo = Hex4(rest, 8);
      if (lo < 0xDC00 || lo > 0xDFFF) return -1;
      code = 0x10000u + ((code - 0xD800u) << 10) + (static_cast<std::uint32_t>(lo) - 0xDC00u);
      used = 12;
    }
    if (code < 0x80) {
      *d++ = static_cast<char>(code);
    } else if (code < 0x800) {
      *d++ = static_cast<char>(0xC0 | (code >> 6));
      *d++ = static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      *d++ = static_cast<char>(0xE0 | (code >> 12));
      *d++ = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      *d++ = static_cast<char>(0x80 | (code & 0x3F));
    } else {
      *d++ = static_cast<char>(0xF0 | (code >> 18));
      *d++ = static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      *d++ = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      *d++ = static_cast<char>(0x80 | (code & 0x3F));
    }
    src += used;
  }
  return d - out;
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

namespace od = simdjson::ondemand;

struct FlatJson::Impl {
  od::parser parser;
  std::size_t configured_depth = 0;
  std::vector<char> padded;
  std::string paths;
  std::string prefix;
  std::string scratch;
  std::vector<char> unescaped;
  std::vector<FlatField>* out = nullptr;  // FlatJson::fields_
  std::vector<PathFixup> fixups;
  std::uint32_t element_counter = 0;
  event::Event* event = nullptr;
  bool invalid_utf8 = false;

  // On-demand walk state: the padded copy of the text, the text itself, whether string values
  // may view the text in place (it lies inside the event's raw message), and how many containers
  // may nest (simdjson's DOM parser, used before, accepted max_depth - 1; deeper texts went to the
  // fallback parser, and still do).
  const char* pad_base = nullptr;
  const char* src_base = nullptr;
  bool in_place = false;
  int max_nesting = 0;

  // A top-level key whose bytes stay valid until the next parse (the padded copy of the text, or
  // simdjson's string buffer for a key with escapes).
  std::string_view direct_key;

  // Leaves are written in place: a temporary leaf (or Value) copied into the vector cost a
  // store-forwarding stall on every field. Callers construct the value in the returned leaf.
  FlatField& NewLeaf(std::uint32_t element) {
    FlatField& f = out->emplace_back();
    f.element = element;
    if (direct_key.data() != nullptr) {
      f.path = direct_key;
      f.leaf = direct_key;
      return f;
    }
    const std::size_t dot = prefix.rfind('.');
    fixups.push_back(PathFixup{static_cast<std::uint32_t>(out->size() - 1), static_cast<std::uint32_t>(paths.size()),
                               static_cast<std::uint32_t>(prefix.size()),
                               dot == std::string::npos ? 0u : static_cast<std::uint32_t>(dot + 1)});
    paths.append(prefix);
    return f;
  }
  void Emit(event::Value v, std::uint32_t element) { NewLeaf(element).value = v; }
  void EmitString(std::string_view s, std::uint32_t element) {
    FlatField& f = NewLeaf(element);
    ::new (&f.value) event::Value(event::Value::String(s));  // built in place (guaranteed elision)
  }
  std::size_t PushKey(std::string_view key) {
    const std::size_t old = prefix.size();
    if (!prefix.empty()) prefix.push_back('.');
    prefix.append(key);
    return old;
  }

  // ---- simdjson On-Demand walk ----------------------------------------------------------------
  // Strings without escapes are not copied at all when the text is the event's raw message: the
  // value views the raw bytes (they are the same bytes). Strings with escapes are unescaped by
  // simdjson (its own validation) and copied into the arena once. Returns false on anything the
  // walk does not accept; the caller then runs the fallback parser, which decides (and locates
  // the error), exactly as when simdjson's DOM parser refused a text.
  static bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

  bool StringValue(od::value& v, std::uint32_t element) {
    const std::string_view tok = v.raw_json_token();
    // Consume the value (a peek alone would leave it to simdjson's skip logic, which takes a
    // string followed by ':' for a key and so lets some malformed texts through).
    od::raw_json_string consumed;
    if (v.get_raw_json_string().get(consumed) != simdjson::SUCCESS) return false;
    std::size_t n = tok.size();
    while (n > 0 && IsWs(tok[n - 1])) --n;
    if (n < 2 || tok[0] != '"' || tok[n - 1] != '"') return false;
    const std::string_view body = tok.substr(1, n - 2);
    if (!HasBackslash(body.data(), body.size())) {
      if (in_place && !body.empty()) {
        EmitString(std::string_view(src_base + (body.data() - pad_base), body.size()), element);
      } else {
        EmitString(event->CopyString(body), element);
      }
      return true;
    }
    // Unescaped output is never longer than its escaped input; block stores may write 16 more.
    if (unescaped.size() < body.size() + 16) unescaped.resize(body.size() + 16);
    const std::ptrdiff_t len = UnescapeStrict(body.data(), body.size(), unescaped.data());
    if (len < 0) return false;
    EmitString(event->CopyString(std::string_view(unescaped.data(), static_cast<std::size_t>(len))), element);
    return true;
  }

  bool NumberValue(od::value& v, std::uint32_t element) {
    od::number_type t;
    if (v.get_number_type().get(t) != simdjson::SUCCESS) return false;
    switch (t) {
      case od::number_type::signed_integer: {
        std::int64_t i;
        if (v.get_int64().get(i) != simdjson::SUCCESS) return false;
        Emit(event::Value::Int(i), element);
        return true;
      }
      case od::number_type::unsigned_integer: {
        std::uint64_t u;
        if (v.get_uint64().get(u) != simdjson::SUCCESS) return false;
        char buf[24];
        auto r = std::to_chars(buf, buf + sizeof buf, u);
        Emit(event::Value::String(event->CopyString(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)))),
             element);
        return true;
      }
      case od::number_type::floating_point_number: {
        double d;
        if (v.get_double().get(d) != simdjson::SUCCESS) return false;
        Emit(event::Value::Float(d), element);
        return true;
      }
      default:
        return false;  // beyond 64 bits: simdjson's DOM refused these too (the fallback keeps the text)
    }
  }

  // The key of `field` without a copy when it has no escapes (a view into the padded text).
  static bool Key(od::field& field, std::string_view& key) {
    const char* k = reinterpret_cast<const char*>(field.key().raw());
    const char* p = k;
    while (*p != '"') {
      if (*p == '\\') return field.unescaped_key().get(key) == simdjson::SUCCESS;
      ++p;
    }
    key = std::string_view(k, static_cast<std::size_t>(p - k));
    return true;
  }

  bool WalkOd(od::value& v, std::uint32_t element, int nesting) {
    od::json_type type;
    if (v.type().get(type) != simdjson::SUCCESS) return false;
    switch (type) {
      case od::json_type::object: {
        if (nesting >= max_nesting) return false;
        od::object obj;
        if (v.get_object().get(obj) != simdjson::SUCCESS) return false;
        const bool top = prefix.empty() && element == 0;
        for (auto fr : obj) {
          if (fr.error() != simdjson::SUCCESS) return false;
          od::field& field = fr.value_unsafe();  // by reference: a copy cost a store-forwarding stall
          std::string_view key;
          if (!Key(field, key)) return false;
          od::value& child = field.value();
          od::json_type ct;
          if (child.type().get(ct) != simdjson::SUCCESS) return false;
          const std::size_t old = PushKey(key);
          // Top-level scalars (the common flat NXLog shape) use the key in place: no copy.
          const bool scalar = ct != od::json_type::object && ct != od::json_type::array;
          if (top && scalar && !key.empty() && key.find('.') == std::string_view::npos) direct_key = key;
          const bool ok = WalkOd(child, element, nesting + 1);
          direct_key = {};
          prefix.resize(old);
          if (!ok) return false;
        }
        return true;
      }
      case od::json_type::array: {
        if (nesting >= max_nesting) return false;
        od::array arr;
        if (v.get_array().get(arr) != simdjson::SUCCESS) return false;
        for (auto er : arr) {
          od::value child;
          if (std::move(er).get(child) != simdjson::SUCCESS) return false;
          if (!WalkOd(child, ++element_counter, nesting + 1)) return false;
        }
        return true;
      }
      case od::json_type::string:
        return StringValue(v, element);
      case od::json_type::number:
        return NumberValue(v, element);
      case od::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b) != simdjson::SUCCESS) return false;
        Emit(event::Value::Bool(b), element);
        return true;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (v.is_null().get(is_null) != simdjson::SUCCESS || !is_null) return false;
        Emit(event::Value(), element);
        return true;
      }
    }
    return false;
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
  im.out = &fields_;
  im.fixups.clear();
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
      if (im.parser.allocate(std::max<std::size_t>(text.size(), 4096), static_cast<std::size_t>(max_depth) + 1) ==
          simdjson::SUCCESS)
        im.configured_depth = static_cast<std::size_t>(max_depth);
    }
    if (im.configured_depth == static_cast<std::size_t>(max_depth)) {
      const std::size_t need = text.size() + simdjson::SIMDJSON_PADDING;
      if (im.padded.size() < need) im.padded.resize(need);
      std::memcpy(im.padded.data(), text.data(), text.size());
      std::memset(im.padded.data() + text.size(), 0, simdjson::SIMDJSON_PADDING);
      im.pad_base = im.padded.data();
      im.src_base = text.data();
      const std::string_view raw = event.raw();
      std::less_equal<const char*> le;
      im.in_place = !raw.empty() && le(raw.data(), text.data()) && le(text.data() + text.size(), raw.data() + raw.size());
      im.max_nesting = max_depth - 1;
      od::document doc;
      if (im.parser.iterate(im.padded.data(), text.size(), im.padded.size()).get(doc) == simdjson::SUCCESS) {
        od::value root;
        if (doc.get_value().get(root) == simdjson::SUCCESS && im.WalkOd(root, 0, 0)) {
          // The whole text must be one value: anything after it is an error (the fallback says where).
          const char* at = nullptr;
          ok = doc.current_location().get(at) != simdjson::SUCCESS;
        }
      }
    }
  } catch (...) {
    ok = false;
  }

  if (!ok) {
    // simdjson refused (or could not run): the scalar parser accepts invalid UTF-8 and locates
    // every other error precisely.
    used_fallback_ = true;
    im.direct_key = {};
    fields_.clear();
    im.fixups.clear();
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
    if (fb.pos != text.size()) {
      fields_.clear();
      return Error(ErrorCode::kParse, AtByte(fb.pos, "unexpected data after the JSON value"));
    }
    invalid_utf8_ = im.invalid_utf8 && !Utf8Valid(text);
  }

  const char* base = im.paths.data();
  for (const PathFixup& p : im.fixups) {
    FlatField& f = fields_[p.index];
    f.path = std::string_view(base + p.path_off, p.path_len);
    f.leaf = std::string_view(base + p.path_off + p.leaf_off, p.path_len - p.leaf_off);
  }
  return Ok();
}

}  // namespace medsoc::ingest::json
