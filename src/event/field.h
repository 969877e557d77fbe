// FieldId and FieldTable: interned field names.
//
// Every field name an event can carry ("source.ip", "winlog.event_data.CommandLine", a vendor's
// "EventID") is interned once into a FieldTable and from then on handled as a FieldId, a small
// dense integer. Events store and look up fields by FieldId, so the hot path never hashes or
// compares strings. Stages resolve the names they use to ids once, at set-up (a parser, a compiled
// Sigma rule), and the catalog (catalog.h) interns the normalized names first.
//
// Ids are dense (0, 1, 2, ... in interning order) and stable for the lifetime of the table; names
// are never removed. The table is bounded (kMaxFields) because vendor field names can come from
// the logs themselves: a parser that interns attacker-controlled keys must cope with
// kResourceExhausted rather than grow without limit.
//
// Thread-safety: all methods may be called concurrently from any thread. Find() and Name() are
// lock-free (atomic loads only); Intern() of a known name is lock-free too, and takes a mutex only
// to insert a new name. An id obtained from Intern()/Find() on any thread is valid for Name() on
// every thread that received it through ordinary synchronisation.
#pragma once

#include <array>
#include <atomic>
#include <compare>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "event/arena.h"

namespace medsoc::event {

// A handle to an interned field name. Meaningful only with the table that produced it (normally
// DefaultFieldTable()). A default-constructed FieldId is invalid.
struct FieldId {
  static constexpr std::uint32_t kInvalidValue = 0xFFFF'FFFFu;
  std::uint32_t value = kInvalidValue;

  constexpr bool valid() const { return value != kInvalidValue; }
  constexpr auto operator<=>(const FieldId&) const = default;
};

inline constexpr FieldId kNoField{};

class FieldTable {
 public:
  static constexpr std::size_t kMaxFields = std::size_t{1} << 20;
  static constexpr std::size_t kMaxNameLength = 256;

  FieldTable();
  ~FieldTable();
  FieldTable(const FieldTable&) = delete;
  FieldTable& operator=(const FieldTable&) = delete;

  // Returns the id of `name`, interning it first if it is new.
  // Errors: kInvalidArgument for an empty name or one longer than kMaxNameLength;
  // kResourceExhausted when the table already holds kMaxFields names.
  Result<FieldId> Intern(std::string_view name);

  // The id of `name`, or kNoField if it was never interned. Lock-free.
  FieldId Find(std::string_view name) const;

  // The name of `id`. Lock-free. REQUIRES: `id` came from this table.
  std::string_view Name(FieldId id) const;

  // Number of interned names; ids are [0, size()).
  std::size_t size() const { return size_.load(std::memory_order_acquire); }

 private:
  // Open-addressing hash index. A slot holds (hash32 << 32) | (id + 1); 0 means empty. An index is
  // never modified except by appending into empty slots, and a full index is replaced by a larger
  // one; superseded indexes are kept until the table dies so that lock-free readers never touch
  // freed memory (their total size is less than the current one).
  struct Index {
    explicit Index(std::size_t capacity);
    std::size_t mask;
    std::unique_ptr<std::atomic<std::uint64_t>[]> slots;
  };

  static constexpr std::size_t kChunkBits = 12;
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkBits;
  static constexpr std::size_t kMaxChunks = kMaxFields / kChunkSize;

  FieldId FindIn(const Index& index, std::string_view name, std::uint64_t hash) const;
  void InsertInto(Index& index, std::uint64_t hash, std::uint32_t id);

  std::atomic<Index*> index_;
  std::array<std::atomic<std::string_view*>, kMaxChunks> chunks_{};  // id -> name, in chunks
  std::atomic<std::uint32_t> size_{0};

  std::mutex mu_;  // serialises inserts; guards everything below
  std::vector<std::unique_ptr<Index>> indexes_;
  std::vector<std::unique_ptr<std::string_view[]>> chunk_storage_;
  Arena names_;
};

// The process-wide table used by the catalog, parsers and rules unless told otherwise. Never
// destroyed (so ids stay valid during static destruction).
FieldTable& DefaultFieldTable();

}  // namespace medsoc::event
