#include "event/batch.h"

#include "core/assert.h"

namespace medsoc::event {

Batch::Batch(BatchOptions options)
    : arena_(std::make_unique<Arena>(options.arena_block_size, options.arena_max_retained)) {
  events_.reserve(options.reserve_events);
  for (std::size_t i = 0; i < options.reserve_events; ++i) events_.emplace_back(arena_.get());
}

Event& Batch::Add() {
  if (size_ < events_.size()) {
    Event& e = events_[size_++];
    e.Reset();
    return e;
  }
  events_.emplace_back(arena_.get());
  ++size_;
  return events_.back();
}

void Batch::PopBack() {
  MEDSOC_ASSERT(size_ > 0);
  --size_;
}

void Batch::Clear() {
  size_ = 0;
  arena_->Reset();
}

}  // namespace medsoc::event
