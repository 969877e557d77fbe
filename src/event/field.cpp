#include "event/field.h"

#include <functional>
#include <string>

namespace medsoc::event {
namespace {

std::uint64_t HashName(std::string_view name) { return std::hash<std::string_view>{}(name); }

std::uint32_t Tag(std::uint64_t hash) { return static_cast<std::uint32_t>(hash >> 32); }

constexpr std::size_t kInitialIndexCapacity = 1024;

}  // namespace

FieldTable::Index::Index(std::size_t capacity)
    : mask(capacity - 1), slots(std::make_unique<std::atomic<std::uint64_t>[]>(capacity)) {
  for (std::size_t i = 0; i < capacity; ++i) slots[i].store(0, std::memory_order_relaxed);
}

FieldTable::FieldTable() : names_(16 * 1024, SIZE_MAX) {
  indexes_.push_back(std::make_unique<Index>(kInitialIndexCapacity));
  index_.store(indexes_.back().get(), std::memory_order_release);
}

FieldTable::~FieldTable() = default;

std::string_view FieldTable::Name(FieldId id) const {
  MEDSOC_ASSERT(id.value < size());
  const std::string_view* chunk = chunks_[id.value >> kChunkBits].load(std::memory_order_acquire);
  return chunk[id.value & (kChunkSize - 1)];
}

FieldId FieldTable::FindIn(const Index& index, std::string_view name, std::uint64_t hash) const {
  const std::uint32_t tag = Tag(hash);
  for (std::size_t i = hash & index.mask;; i = (i + 1) & index.mask) {
    const std::uint64_t slot = index.slots[i].load(std::memory_order_acquire);
    if (slot == 0) return kNoField;
    if (static_cast<std::uint32_t>(slot >> 32) != tag) continue;
    const std::uint32_t id = static_cast<std::uint32_t>(slot) - 1;
    // The slot's release store happened after the name was written, so reading it is safe.
    const std::string_view* chunk = chunks_[id >> kChunkBits].load(std::memory_order_acquire);
    if (chunk[id & (kChunkSize - 1)] == name) return FieldId{id};
  }
}

FieldId FieldTable::Find(std::string_view name) const {
  return FindIn(*index_.load(std::memory_order_acquire), name, HashName(name));
}

void FieldTable::InsertInto(Index& index, std::uint64_t hash, std::uint32_t id) {
  const std::uint64_t slot = (static_cast<std::uint64_t>(Tag(hash)) << 32) | (id + 1);
  for (std::size_t i = hash & index.mask;; i = (i + 1) & index.mask) {
    if (index.slots[i].load(std::memory_order_relaxed) == 0) {
      index.slots[i].store(slot, std::memory_order_release);
      return;
    }
  }
}

Result<FieldId> FieldTable::Intern(std::string_view name) {
  if (name.empty()) return Error(ErrorCode::kInvalidArgument, "empty field name");
  if (name.size() > kMaxNameLength)
    return Error(ErrorCode::kInvalidArgument,
                 "field name longer than " + std::to_string(kMaxNameLength) + " bytes");
  const std::uint64_t hash = HashName(name);
  // Fast path: a known name, no lock.
  if (FieldId id = FindIn(*index_.load(std::memory_order_acquire), name, hash); id.valid()) return id;

  std::lock_guard lock(mu_);
  Index* index = index_.load(std::memory_order_relaxed);
  if (FieldId id = FindIn(*index, name, hash); id.valid()) return id;  // raced with another Intern
  const std::uint32_t id = size_.load(std::memory_order_relaxed);
  if (id >= kMaxFields)
    return Error(ErrorCode::kResourceExhausted,
                 "field table full (" + std::to_string(kMaxFields) + " names)");

  // 1. Store the name.
  const std::size_t chunk_no = id >> kChunkBits;
  std::string_view* chunk = chunks_[chunk_no].load(std::memory_order_relaxed);
  if (chunk == nullptr) {
    chunk_storage_.push_back(std::make_unique<std::string_view[]>(kChunkSize));
    chunk = chunk_storage_.back().get();
    chunks_[chunk_no].store(chunk, std::memory_order_release);
  }
  chunk[id & (kChunkSize - 1)] = names_.Copy(name);

  // 2. Grow the index past half full: build a larger copy, then publish it.
  if ((static_cast<std::size_t>(id) + 1) * 2 > index->mask + 1) {
    auto bigger = std::make_unique<Index>((index->mask + 1) * 2);
    for (std::uint32_t old = 0; old < id; ++old)
      InsertInto(*bigger, HashName(chunks_[old >> kChunkBits].load(std::memory_order_relaxed)[old & (kChunkSize - 1)]),
                 old);
    index = bigger.get();
    indexes_.push_back(std::move(bigger));
  }

  // 3. Publish the id: first the size (so that a reader who finds the id through the index also
  // sees it below size(), which Name asserts), then the slot, whose release store orders it after
  // the name.
  size_.store(id + 1, std::memory_order_release);
  InsertInto(*index, hash, id);
  index_.store(index, std::memory_order_release);
  return FieldId{id};
}

FieldTable& DefaultFieldTable() {
  static FieldTable* table = new FieldTable();  // leaked on purpose: see the header
  return *table;
}

}  // namespace medsoc::event
