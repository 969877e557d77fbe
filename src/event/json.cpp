#include "event/json.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace medsoc::event {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i], or 0 if invalid. When invalid, `skip` is
// the length of the maximal subpart to replace (at least 1).
std::size_t Utf8Sequence(std::string_view s, std::size_t i, std::size_t& skip) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlongs
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    skip = 1;  // a stray continuation byte, C0/C1, or F5..FF
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) {
      skip = k;
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i + k]);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) {
      skip = k;
      return 0;
    }
  }
  return len;
}

void AppendKey(std::string_view key, std::string& out) {
  out += '"';
  out += key;  // our own keys: plain ASCII
  out += "\":";
}

void AppendTime(core::Timestamp t, std::string& out) {
  char buf[48];
  out += '"';
  out.append(buf, FormatTimeCompact(t, buf));
  out += '"';
}

}  // namespace

bool AppendJsonString(std::string_view s, std::string& out) {
  bool valid = true;
  out += '"';
  std::size_t run = 0;  // start of the pending run of bytes copied verbatim
  std::size_t i = 0;
  auto flush = [&](std::size_t end) { out.append(s.data() + run, end - run); };
  // Eight bytes at a time while none needs attention: a control character, '"', '\\' or a
  // byte >= 0x80 (each test is exact for the word as a whole).
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  auto special = [](std::uint64_t w) {
    const std::uint64_t quote = w ^ (kOnes * '"'), slash = w ^ (kOnes * '\\');
    return ((w - kOnes * 0x20) | w | ((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash)) & kHigh;
  };
  while (i < s.size()) {
    while (i + 8 <= s.size()) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (special(w) != 0) break;
      i += 8;
    }
    if (i >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      std::size_t skip = 0;
      const std::size_t len = Utf8Sequence(s, i, skip);
      if (len == 0) {
        flush(i);
        out += kReplacement;
        valid = false;
        i += skip;
        run = i;
      } else if (len == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                 (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
        flush(i);
        out += static_cast<unsigned char>(s[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
        i += 3;
        run = i;
      } else {
        i += len;
      }
      continue;
    }
    flush(i);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
    ++i;
    run = i;
  }
  flush(s.size());
  out += '"';
  return valid;
}

bool AppendJsonValue(const Value& value, std::string& out) {
  TextBuffer buf;
  switch (value.kind()) {
    case ValueKind::kNull: out += "null"; return true;
    case ValueKind::kString: return AppendJsonString(value.str(), out);
    case ValueKind::kInt:
    case ValueKind::kBool: out += value.AsText(buf); return true;
    case ValueKind::kFloat: {
      const std::string_view text = value.AsText(buf);
      const bool finite = text != "NaN" && text != "Infinity" && text != "-Infinity";
      if (!finite) out += '"';
      out += text;
      if (!finite) out += '"';
      return true;
    }
    case ValueKind::kIp:
    case ValueKind::kTime:
      out += '"';
      out += value.AsText(buf);
      out += '"';
      return true;
  }
  return true;
}

namespace {

// Appends "name": for field `id`. Names never change once interned, so each thread keeps those
// of the default table (which lives as long as the process) rendered, escaped, with the colon.
bool AppendFieldKey(const FieldTable& table, FieldId id, std::string& out) {
  if (&table != &DefaultFieldTable()) {
    const bool valid = AppendJsonString(table.Name(id), out);
    out += ':';
    return valid;
  }
  struct Key {
    std::string text;  // empty: not rendered yet
    bool valid = true;
  };
  thread_local std::vector<Key> cache;
  const std::size_t i = id.value;
  if (i >= cache.size()) cache.resize(i + 1);
  Key& key = cache[i];
  if (key.text.empty()) {
    key.valid = AppendJsonString(table.Name(id), key.text);
    key.text += ':';
  }
  out += key.text;
  return key.valid;
}

// Appends one {"name":value-or-array,...} object of the fields of `space`.
bool AppendFieldObject(const Event& event, FieldSpace space, const FieldTable& table, std::string& out) {
  bool valid = true;
  out += '{';
  bool first = true;
  const std::size_t n = event.field_count();
  // The ids of this space, in order (kNoField for the other space's entries): the repeat checks
  // below compare these instead of fetching fields again. n is small (tens), so O(n^2) is fine.
  constexpr std::size_t kInline = 64;
  std::uint32_t inline_ids[kInline];
  std::vector<std::uint32_t> heap_ids;
  std::uint32_t* ids = inline_ids;
  if (n > kInline) {
    heap_ids.resize(n);
    ids = heap_ids.data();
  }
  constexpr std::uint32_t kOther = UINT32_MAX;
  for (std::size_t i = 0; i < n; ++i) {
    const FieldView f = event.field(i);
    ids[i] = f.space == space ? f.id.value : kOther;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (ids[i] == kOther) continue;
    // Skip ids already written as part of an earlier array.
    bool seen = false;
    for (std::size_t j = 0; j < i && !seen; ++j) seen = ids[j] == ids[i];
    if (seen) continue;
    std::size_t repeats = 0;
    for (std::size_t j = i + 1; j < n; ++j) repeats += ids[j] == ids[i] ? 1 : 0;
    const FieldView f = event.field(i);
    if (!first) out += ',';
    first = false;
    valid &= AppendFieldKey(table, f.id, out);
    if (repeats == 0) {
      valid &= AppendJsonValue(f.value, out);
      continue;
    }
    out += '[';
    bool first_value = true;
    for (std::size_t j = i; j < n; ++j) {
      if (ids[j] != ids[i]) continue;
      if (!first_value) out += ',';
      first_value = false;
      valid &= AppendJsonValue(event.field(j).value, out);
    }
    out += ']';
  }
  out += '}';
  return valid;
}

}  // namespace

bool AppendEventJson(const Event& event, std::string& out, const FieldTable& table) {
  bool valid = true;
  out += '{';
  AppendKey("time", out);
  AppendTime(event.time(), out);
  if (!event.time_text().empty()) {
    out += ',';
    AppendKey("time_text", out);
    valid &= AppendJsonString(event.time_text(), out);
  }
  out += ',';
  AppendKey("ingest_time", out);
  AppendTime(event.ingest_time(), out);
  out += ',';
  AppendKey("tenant_id", out);
  valid &= AppendJsonString(event.tenant_id(), out);
  out += ',';
  AppendKey("source", out);
  valid &= AppendJsonString(event.source_name(), out);
  out += ',';
  AppendKey("raw", out);
  valid &= AppendJsonString(event.raw(), out);
  if (event.has_parse_error()) {
    out += ',';
    AppendKey("parse_error", out);
    valid &= AppendJsonString(event.parse_error(), out);
  }
  out += ',';
  AppendKey("fields", out);
  valid &= AppendFieldObject(event, FieldSpace::kNormalized, table, out);
  bool has_original = false;
  for (FieldView f : event.fields()) has_original |= f.space == FieldSpace::kOriginal;
  if (has_original) {
    out += ',';
    AppendKey("original", out);
    valid &= AppendFieldObject(event, FieldSpace::kOriginal, table, out);
  }
  if (!valid) out += ",\"invalid_utf8\":true";
  out += '}';
  return valid;
}

std::string EventToJson(const Event& event, const FieldTable& table) {
  std::string out;
  out.reserve(256 + event.raw().size() * 2);
  AppendEventJson(event, out, table);
  return out;
}

}  // namespace medsoc::event
