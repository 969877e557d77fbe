#include "event/event.h"

#include <functional>

#include "core/assert.h"

namespace medsoc::event {
namespace {
// Small blocks for standalone events: most hold one log line.
constexpr std::size_t kPrivateArenaBlock = 4096;
}  // namespace

Event::Event() = default;
Event::Event(Arena* arena) : arena_(arena) {}
Event::Event(Event&&) noexcept = default;
Event& Event::operator=(Event&&) noexcept = default;
Event::~Event() = default;

Arena& Event::arena() {
  if (arena_ == nullptr) {
    own_arena_ = std::make_unique<Arena>(kPrivateArenaBlock);
    arena_ = own_arena_.get();
  }
  return *arena_;
}

std::string_view Event::CopyString(std::string_view s) {
  if (s.empty()) return {};
  return arena().Copy(s);
}

void Event::set_parse_error(std::string_view s) {
  MEDSOC_ASSERT(!s.empty());
  parse_error_ = CopyString(s);
}

void Event::Reset() {
  time_ = {};
  ingest_time_ = {};
  time_text_ = {};
  tenant_id_ = {};
  source_name_ = {};
  raw_ = {};
  parse_error_ = {};
  presence_ = 0;
  for (std::uint32_t key : keys_)
    if (key < kDirectIds) direct_[key] = 0;
  keys_.clear();
  values_.clear();
}

void Event::Set(FieldId id, Value value, FieldSpace space) {
  MEDSOC_ASSERT(id.valid() && id.value < kOriginalBit);
  const std::uint32_t key = KeyOf(id, space);
  if (std::ptrdiff_t i = IndexOf(key); i >= 0) {
    values_[static_cast<std::size_t>(i)] = value;
    return;
  }
  AppendEntry(key, value);
}

void Event::AppendEntry(std::uint32_t key, Value value) {
  if (key < kDirectIds && direct_[key] == 0) {
    const std::size_t pos = keys_.size();
    direct_[key] = pos + 1 < kDirectBeyond ? static_cast<std::uint8_t>(pos + 1) : kDirectBeyond;
  }
  if (keys_.capacity() == 0) {
    // A parsed event has some 10-30 fields: start at 16 instead of growing 1, 2, 4, 8, 16.
    keys_.reserve(16);
    values_.reserve(16);
  }
  keys_.push_back(key);
  values_.push_back(value);
  presence_ |= MaskOf(key);
}

void Event::Append(FieldId id, Value value, FieldSpace space) {
  MEDSOC_ASSERT(id.valid() && id.value < kOriginalBit);
  AppendEntry(KeyOf(id, space), value);
}

std::size_t Event::Remove(FieldId id, FieldSpace space) {
  const std::uint32_t key = KeyOf(id, space);
  if (IndexOf(key) < 0) return 0;
  // Positions shift, so the lookup structures are rebuilt (Remove is rare; normalizers add).
  for (std::uint32_t k : keys_)
    if (k < kDirectIds) direct_[k] = 0;
  std::size_t out = 0;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) continue;
    keys_[out] = keys_[i];
    values_[out] = values_[i];
    ++out;
  }
  const std::size_t removed = keys_.size() - out;
  keys_.resize(out);
  values_.resize(out);
  presence_ = 0;
  for (std::size_t i = 0; i < out; ++i) {
    const std::uint32_t k = keys_[i];
    if (k < kDirectIds && direct_[k] == 0) direct_[k] = i + 1 < kDirectBeyond ? static_cast<std::uint8_t>(i + 1) : kDirectBeyond;
    presence_ |= MaskOf(k);
  }
  return removed;
}

Event Event::Clone() const {
  Event c;
  c.time_ = time_;
  c.ingest_time_ = ingest_time_;
  c.time_text_ = c.CopyString(time_text_);
  c.tenant_id_ = c.CopyString(tenant_id_);
  c.source_name_ = c.CopyString(source_name_);
  c.raw_ = c.CopyString(raw_);
  c.parse_error_ = c.CopyString(parse_error_);
  c.presence_ = presence_;
  c.direct_ = direct_;
  c.keys_ = keys_;
  c.values_ = values_;
  std::less_equal<const char*> le;
  for (Value& v : c.values_) {
    if (!v.is_string() || v.str().empty()) continue;
    std::string_view s = v.str();
    // A view into the raw message is rebased onto the copy of it instead of copied again.
    if (!raw_.empty() && le(raw_.data(), s.data()) && le(s.data() + s.size(), raw_.data() + raw_.size())) {
      v = Value::String(c.raw_.substr(static_cast<std::size_t>(s.data() - raw_.data()), s.size()));
    } else {
      v = Value::String(c.CopyString(s));
    }
  }
  return c;
}

}  // namespace medsoc::event
