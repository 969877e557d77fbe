// Batch: the unit of data flow between pipeline stages: a run of events plus the arena that owns
// their strings.
//
// A batch is reused: Clear() forgets the events but keeps the event objects (with their field
// capacity) and the arena's blocks, so once a pipeline has warmed up, filling a batch allocates
// nothing per event.
//
//   Batch batch;
//   for (...) {
//     Event& e = batch.Add();   // bound to the batch arena
//     e.set_raw(line);          // copied once into the arena
//     e.Set(ids.message, Value::String(e.raw()));
//   }
//   next_stage.Push(std::move(batch));   // ownership passes with the batch
//
// Thread-safety: none. A batch is owned by exactly one stage at a time and handed on by moving it
// through a queue (the move keeps every string view valid: the arena is heap-allocated and does
// not move). Concurrent const access from several threads is safe if nobody mutates.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "event/arena.h"
#include "event/event.h"

namespace medsoc::event {

struct BatchOptions {
  // Size of one arena block; the common case should fit many raw messages.
  std::size_t arena_block_size = Arena::kDefaultBlockSize;
  // Arena bytes kept across Clear(); a burst beyond this is returned to the allocator.
  std::size_t arena_max_retained = Arena::kDefaultMaxRetained;
  // Events to pre-allocate.
  std::size_t reserve_events = 0;
};

class Batch {
 public:
  explicit Batch(BatchOptions options = {});
  Batch(Batch&&) noexcept = default;
  Batch& operator=(Batch&&) noexcept = default;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Appends an empty event bound to the batch arena and returns it. The reference (and those
  // returned earlier) stays valid until the next Add() or Clear(); use indexes to keep hold.
  Event& Add();
  // Removes the last event (e.g. a framing step that produced an empty record).
  void PopBack();

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Event& operator[](std::size_t i) { return events_[i]; }
  const Event& operator[](std::size_t i) const { return events_[i]; }
  Event* begin() { return events_.data(); }
  Event* end() { return events_.data() + size_; }
  const Event* begin() const { return events_.data(); }
  const Event* end() const { return events_.data() + size_; }

  // Forgets every event and string; keeps capacity (events, their field arrays, arena blocks).
  void Clear();

  // Copies `s` into the batch arena (e.g. a value shared by many events).
  std::string_view CopyString(std::string_view s) { return arena_->Copy(s); }
  Arena& arena() { return *arena_; }
  const Arena& arena() const { return *arena_; }

 private:
  std::unique_ptr<Arena> arena_;   // heap-allocated so that moving the batch keeps views valid
  std::vector<Event> events_;      // [0, size_) are live; the rest are kept for reuse
  std::size_t size_ = 0;
};

}  // namespace medsoc::event
