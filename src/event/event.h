// Event: one log record as it moves through the pipeline (ingest -> parse -> normalize -> detect
// -> store).
//
// An event has an envelope (times, tenant, source, the raw message, a parse error) and a flat list
// of fields, each a (FieldId, FieldSpace, Value):
//  - FieldSpace::kNormalized: the ECS-named fields of the catalog (content/fields/ecs.yaml), e.g.
//    "source.ip", "process.command_line".
//  - FieldSpace::kOriginal: the vendor's own fields under their original names, exactly as the
//    parser found them (e.g. Windows "EventID", "CommandLine"; a firewall's "srcip"). They are
//    interned in the same FieldTable but live in a separate namespace: a vendor field called
//    "message" never collides with the normalized "message". No prefix string is built, so keeping
//    originals costs no allocation.
// A field id may repeat within one space (multi-valued fields such as related.ip, added with
// Append); Find returns the first.
//
// Strings: the event never owns string bytes. Setters that take std::string_view copy into the
// event's arena (the batch's, or a private one for a standalone event); Set(id, Value) stores a
// Value as given, so its string must already live in that arena, in raw(), or in static storage.
// The cheap path for a parser is: set_raw(line) once, then Values that view substrings of raw().
//
// Lookup by FieldId, two paths (measured in bench/event_bench.cpp):
//  - normalized fields with id < kDirectIds (the catalog's fields, when the catalog is loaded
//    first at start-up, as app/ does): a per-event table of one byte per id gives the position
//    directly: one load, no scan, hits and misses alike;
//  - any other field (vendor originals, late-interned names): a linear scan over a dense array of
//    32-bit keys, after a 64-bit presence mask that rejects many absent fields without scanning.
// Reset() clears only the table bytes that were set, so reuse costs O(fields), not O(kDirectIds).
//
// A failed parse keeps the event: raw() is set, parse_error() says why, fields may be empty.
//
// Thread-safety: none; an event is owned by one stage at a time (with its batch).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/time.h"
#include "event/arena.h"
#include "event/field.h"
#include "event/value.h"

namespace medsoc::event {

enum class FieldSpace : std::uint8_t { kNormalized = 0, kOriginal = 1 };

// One field as seen through iteration.
struct FieldView {
  FieldId id;
  FieldSpace space;
  const Value& value;
};

class Event {
 public:
  // Normalized field ids below this are looked up through the direct table.
  static constexpr std::uint32_t kDirectIds = 256;

  // A standalone event with a private arena (created on first use).
  Event();
  // An event whose strings are copied into `*arena`. REQUIRES: the arena outlives the event's use.
  explicit Event(Arena* arena);
  Event(Event&&) noexcept;
  Event& operator=(Event&&) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event();

  // A deep copy with its own private arena (for keeping an event beyond its batch, e.g. in an alert).
  Event Clone() const;

  // Clears envelope and fields, keeping capacity and the arena binding. Does not reset the arena.
  void Reset();

  // ---- Envelope --------------------------------------------------------------------------------
  // Event time, normalized to UTC. Normalizers set it from the record's own time; when there is
  // none or it does not parse, ingest sets it to ingest_time().
  core::Timestamp time() const { return time_; }
  void set_time(core::Timestamp t) { time_ = t; }
  // The time exactly as written in the record ("Mar  3 10:01:02", "2024-03-03T10:01:02+08:00").
  std::string_view time_text() const { return time_text_; }
  void set_time_text(std::string_view s) { time_text_ = CopyString(s); }
  core::Timestamp ingest_time() const { return ingest_time_; }
  void set_ingest_time(core::Timestamp t) { ingest_time_ = t; }
  std::string_view tenant_id() const { return tenant_id_; }
  void set_tenant_id(std::string_view s) { tenant_id_ = CopyString(s); }
  // The configured name of the source it came from ("syslog-udp-514", "his-app-json").
  std::string_view source_name() const { return source_name_; }
  void set_source_name(std::string_view s) { source_name_ = CopyString(s); }
  // The raw message bytes as received (one syslog message, one NDJSON line).
  std::string_view raw() const { return raw_; }
  void set_raw(std::string_view s) { raw_ = CopyString(s); }
  bool has_parse_error() const { return !parse_error_.empty(); }
  std::string_view parse_error() const { return parse_error_; }
  // REQUIRES: `s` is non-empty (an empty error means "parsed fine").
  void set_parse_error(std::string_view s);
  void clear_parse_error() { parse_error_ = {}; }

  // ---- Fields ----------------------------------------------------------------------------------
  // The first value of `id` in `space`, or nullptr. No allocation, no hashing.
  const Value* Find(FieldId id, FieldSpace space = FieldSpace::kNormalized) const;
  Value* FindMutable(FieldId id, FieldSpace space = FieldSpace::kNormalized);
  // The first value or a null Value.
  Value Get(FieldId id, FieldSpace space = FieldSpace::kNormalized) const {
    const Value* v = Find(id, space);
    return v ? *v : Value();
  }
  bool Has(FieldId id, FieldSpace space = FieldSpace::kNormalized) const { return Find(id, space) != nullptr; }
  const Value* FindOriginal(FieldId id) const { return Find(id, FieldSpace::kOriginal); }

  // Replaces the first value of `id` in `space`, or appends. The value is stored as given.
  // REQUIRES: id.valid().
  void Set(FieldId id, Value value, FieldSpace space = FieldSpace::kNormalized);
  // Adds another value for `id` (multi-valued fields). REQUIRES: id.valid().
  void Append(FieldId id, Value value, FieldSpace space = FieldSpace::kNormalized);
  void SetOriginal(FieldId id, Value value) { Set(id, value, FieldSpace::kOriginal); }
  // Set with a copy of `s` in the arena.
  void SetString(FieldId id, std::string_view s, FieldSpace space = FieldSpace::kNormalized) {
    Set(id, Value::String(CopyString(s)), space);
  }
  // Removes every value of `id` in `space`; returns how many. Keeps the order of the others.
  std::size_t Remove(FieldId id, FieldSpace space = FieldSpace::kNormalized);

  std::size_t field_count() const { return keys_.size(); }
  FieldView field(std::size_t i) const { return {IdOf(keys_[i]), SpaceOf(keys_[i]), values_[i]}; }

  class FieldIterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = FieldView;
    using difference_type = std::ptrdiff_t;
    FieldIterator() = default;
    FieldIterator(const Event* e, std::size_t i) : e_(e), i_(i) {}
    FieldView operator*() const { return e_->field(i_); }
    FieldIterator& operator++() {
      ++i_;
      return *this;
    }
    FieldIterator operator++(int) {
      FieldIterator t = *this;
      ++i_;
      return t;
    }
    bool operator==(const FieldIterator& o) const { return i_ == o.i_; }

   private:
    const Event* e_ = nullptr;
    std::size_t i_ = 0;
  };
  struct FieldRange {
    const Event* e;
    FieldIterator begin() const { return {e, 0}; }
    FieldIterator end() const { return {e, e->field_count()}; }
  };
  // All fields in insertion order: for (FieldView f : event.fields()) ...
  FieldRange fields() const { return {this}; }

  // Copies `s` into the event's arena; the view lives as long as the arena's current generation.
  std::string_view CopyString(std::string_view s);
  Arena& arena();

 private:
  static constexpr std::uint32_t kOriginalBit = 0x8000'0000u;
  static std::uint32_t KeyOf(FieldId id, FieldSpace space) {
    return id.value | (space == FieldSpace::kOriginal ? kOriginalBit : 0u);
  }
  static FieldId IdOf(std::uint32_t key) { return FieldId{key & ~kOriginalBit}; }
  static FieldSpace SpaceOf(std::uint32_t key) {
    return (key & kOriginalBit) ? FieldSpace::kOriginal : FieldSpace::kNormalized;
  }
  // One bit of presence_ per key (ids spread over 64 bits, originals shifted by 32).
  static std::uint64_t MaskOf(std::uint32_t key) { return std::uint64_t{1} << ((key + (key >> 26)) & 63); }
  std::ptrdiff_t IndexOf(std::uint32_t key) const;
  std::ptrdiff_t ScanFor(std::uint32_t key) const;
  void AppendEntry(std::uint32_t key, Value value);
  // direct_[id] for a normalized id < kDirectIds: 0 = absent; p + 1 = the first value is at
  // position p (p < kDirectBeyond - 1); kDirectBeyond = present at a later position, scan.
  static constexpr std::uint8_t kDirectBeyond = 0xFF;

  core::Timestamp time_{};
  core::Timestamp ingest_time_{};
  std::string_view time_text_;
  std::string_view tenant_id_;
  std::string_view source_name_;
  std::string_view raw_;
  std::string_view parse_error_;

  std::uint64_t presence_ = 0;
  std::array<std::uint8_t, kDirectIds> direct_{};
  std::vector<std::uint32_t> keys_;  // KeyOf(id, space), parallel to values_
  std::vector<Value> values_;

  Arena* arena_ = nullptr;
  std::unique_ptr<Arena> own_arena_;
};

inline std::ptrdiff_t Event::IndexOf(std::uint32_t key) const {
  if (key < kDirectIds) {  // implies FieldSpace::kNormalized: originals have the top bit set
    const std::uint8_t slot = direct_[key];
    if (slot != kDirectBeyond) return static_cast<std::ptrdiff_t>(slot) - 1;
  } else if ((presence_ & MaskOf(key)) == 0) {
    return -1;
  }
  return ScanFor(key);
}

inline std::ptrdiff_t Event::ScanFor(std::uint32_t key) const {
  const std::uint32_t* k = keys_.data();
  const std::size_t n = keys_.size();
  std::size_t i = 0;
#if defined(__SSE2__)
  // Eight keys per step with two SSE2 compares.
  const __m128i needle = _mm_set1_epi32(static_cast<int>(key));
  for (; i + 8 <= n; i += 8) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k + i + 4));
    const int hits = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(a, needle))) |
                     _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(b, needle))) << 4;
    if (hits != 0) return static_cast<std::ptrdiff_t>(i) + __builtin_ctz(static_cast<unsigned>(hits));
  }
#endif
  for (; i < n; ++i)
    if (k[i] == key) return static_cast<std::ptrdiff_t>(i);
  return -1;
}

inline const Value* Event::Find(FieldId id, FieldSpace space) const {
  const std::ptrdiff_t i = IndexOf(KeyOf(id, space));
  return i < 0 ? nullptr : &values_[static_cast<std::size_t>(i)];
}

inline Value* Event::FindMutable(FieldId id, FieldSpace space) {
  const std::ptrdiff_t i = IndexOf(KeyOf(id, space));
  return i < 0 ? nullptr : &values_[static_cast<std::size_t>(i)];
}

}  // namespace medsoc::event
