#include "detect/json_events.h"

#include <nlohmann/json.hpp>
#include <zstd.h>

#include <cstring>

#include "event/field.h"

namespace medsoc::detect {
namespace {

using event::FieldSpace;
using event::Value;

// Accepts "YYYY-MM-DD hh:mm:ss[.fffffff]" (Sysmon UtcTime) as UTC besides RFC 3339.
std::optional<core::Timestamp> ParseEventTime(std::string_view s) {
  auto t = core::ParseRfc3339(s);
  if (t.ok()) return *t;
  if (s.size() >= 19 && s[10] == ' ') {
    std::string fixed(s);
    fixed[10] = 'T';
    if (fixed.find('Z') == std::string::npos && fixed.find('+') == std::string::npos) fixed += 'Z';
    auto t2 = core::ParseRfc3339(fixed);
    if (t2.ok()) return *t2;
  }
  return std::nullopt;
}

void Flatten(const nlohmann::json& j, std::string& prefix, event::Event& e, int depth) {
  auto& table = event::DefaultFieldTable();
  if (depth > 32) return;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::size_t keep = prefix.size();
      const std::string& key = it.key();
      if (key == "#attributes") {
        // evtx_dump: Provider.#attributes.Name -> Provider_Name
        for (auto a = it->begin(); a != it->end(); ++a) {
          std::string name = prefix + "_" + a.key();
          Flatten(*a, name, e, depth + 1);
        }
        continue;
      }
      if (key == "#text") {
        Flatten(*it, prefix, e, depth + 1);
        continue;
      }
      if (!prefix.empty()) prefix += '.';
      prefix += key;
      Flatten(*it, prefix, e, depth + 1);
      prefix.resize(keep);
    }
    return;
  }
  if (prefix.empty()) return;
  if (j.is_array()) {
    for (const auto& el : j)
      if (!el.is_structured()) {
        Flatten(el, prefix, e, depth + 1);
        return;
      }
    return;
  }
  auto id = table.Intern(prefix);
  if (!id.ok()) return;
  // Windows events: System fields that carry a Sigma name of their own.
  if (j.is_string()) {
    e.SetString(*id, j.get_ref<const std::string&>(), FieldSpace::kOriginal);
  } else if (j.is_number_integer()) {
    e.Set(*id, Value::Int(j.get<std::int64_t>()), FieldSpace::kOriginal);
  } else if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    e.Set(*id, u > static_cast<std::uint64_t>(INT64_MAX) ? Value::Float(static_cast<double>(u)) : Value::Int(static_cast<std::int64_t>(u)),
          FieldSpace::kOriginal);
  } else if (j.is_number_float()) {
    e.Set(*id, Value::Float(j.get<double>()), FieldSpace::kOriginal);
  } else if (j.is_boolean()) {
    e.Set(*id, Value::Bool(j.get<bool>()), FieldSpace::kOriginal);
  } else if (j.is_null()) {
    e.Set(*id, Value(), FieldSpace::kOriginal);
  }
}

}  // namespace

Status FlattenJsonObject(std::string_view text, event::Event& e) {
  e.set_raw(text);
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    e.set_parse_error("not a JSON object");
    return Error(ErrorCode::kParse, "not a JSON object");
  }
  std::string prefix;
  Flatten(j, prefix, e, 0);
  static const char* kTimeFields[] = {"@timestamp", "TimeCreated", "UtcTime", "timestamp",
                                      "Event.System.TimeCreated_SystemTime", "time", "EventTime"};
  auto& table = event::DefaultFieldTable();
  for (const char* name : kTimeFields) {
    const event::FieldId id = table.Find(name);
    if (!id.valid()) continue;
    const Value* v = e.FindOriginal(id);
    if (!v || !v->is_string()) continue;
    if (auto t = ParseEventTime(v->str())) {
      e.set_time(*t);
      e.set_time_text(v->str());
      break;
    }
  }
  return Ok();
}

Result<std::unique_ptr<JsonEventReader>> JsonEventReader::Open(const std::string& path) {
  std::unique_ptr<JsonEventReader> r(new JsonEventReader());
  if (path == "-") {
    r->file_ = stdin;
  } else {
    r->file_ = std::fopen(path.c_str(), "rb");
    if (!r->file_) return Error(ErrorCode::kIo, path + ": " + std::strerror(errno));
    r->own_ = true;
  }
  if (path.size() > 4 && path.compare(path.size() - 4, 4, ".zst") == 0) {
    r->zstd_ = ZSTD_createDStream();
    ZSTD_initDStream(static_cast<ZSTD_DStream*>(r->zstd_));
  }
  return r;
}

JsonEventReader::~JsonEventReader() {
  if (own_ && file_) std::fclose(file_);
  if (zstd_) ZSTD_freeDStream(static_cast<ZSTD_DStream*>(zstd_));
}

bool JsonEventReader::Fill() {
  if (eof_) return false;
  // Keep the unread tail; append fresh bytes.
  buf_.erase(0, pos_);
  pos_ = 0;
  constexpr std::size_t kChunk = 1 << 20;
  if (!zstd_) {
    const std::size_t old = buf_.size();
    buf_.resize(old + kChunk);
    const std::size_t n = std::fread(buf_.data() + old, 1, kChunk, file_);
    buf_.resize(old + n);
    if (n == 0) {
      if (std::ferror(file_)) error_ = Error(ErrorCode::kIo, "read error");
      eof_ = true;
      return false;
    }
    return true;
  }
  in_buf_.resize(ZSTD_DStreamInSize());
  const std::size_t n = std::fread(in_buf_.data(), 1, in_buf_.size(), file_);
  if (n == 0) {
    eof_ = true;
    return false;
  }
  ZSTD_inBuffer in{in_buf_.data(), n, 0};
  std::string out(ZSTD_DStreamOutSize(), '\0');
  while (in.pos < in.size) {
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(static_cast<ZSTD_DStream*>(zstd_), &ob, &in);
    if (ZSTD_isError(rc)) {
      error_ = Error(ErrorCode::kCorruption, std::string("zstd: ") + ZSTD_getErrorName(rc));
      eof_ = true;
      return false;
    }
    buf_.append(out.data(), ob.pos);
  }
  return true;
}

bool JsonEventReader::NextObject(std::string& out) {
  for (;;) {
    // Skip blank space.
    while (pos_ < buf_.size() && (buf_[pos_] == ' ' || buf_[pos_] == '\n' || buf_[pos_] == '\r' || buf_[pos_] == '\t'))
      ++pos_;
    if (pos_ >= buf_.size()) {
      if (!Fill()) return false;
      continue;
    }
    if (buf_[pos_] != '{') {
      // Not JSON: return the line as is.
      std::size_t nl = buf_.find('\n', pos_);
      while (nl == std::string::npos && Fill()) nl = buf_.find('\n', pos_);
      const std::size_t end = nl == std::string::npos ? buf_.size() : nl;
      out.assign(buf_, pos_, end - pos_);
      pos_ = nl == std::string::npos ? buf_.size() : nl + 1;
      return true;
    }
    // Find the end of the object: track depth outside strings.
    int depth = 0;
    bool in_str = false, esc = false;
    std::size_t i = pos_;
    for (;;) {
      if (i >= buf_.size()) {
        const std::size_t rel = i - pos_;
        if (!Fill()) {  // truncated object at end of input
          out.assign(buf_, pos_, std::string::npos);
          pos_ = buf_.size();
          return true;
        }
        i = pos_ + rel;
        continue;
      }
      const char ch = buf_[i];
      if (in_str) {
        if (esc) esc = false;
        else if (ch == '\\') esc = true;
        else if (ch == '"') in_str = false;
      } else if (ch == '"') {
        in_str = true;
      } else if (ch == '{' || ch == '[') {
        ++depth;
      } else if (ch == '}' || ch == ']') {
        if (--depth == 0) {
          out.assign(buf_, pos_, i + 1 - pos_);
          pos_ = i + 1;
          return true;
        }
      }
      ++i;
    }
  }
}

bool JsonEventReader::Next(event::Event& e) {
  if (!NextObject(scratch_)) return false;
  (void)FlattenJsonObject(scratch_, e);
  return true;
}

}  // namespace medsoc::detect
