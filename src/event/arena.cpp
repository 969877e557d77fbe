#include "event/arena.h"

#include <cstring>
#include <functional>

namespace medsoc::event {

Arena::Arena(std::size_t block_size, std::size_t max_retained)
    : block_size_(block_size < 64 ? 64 : block_size), max_retained_(max_retained) {}

char* Arena::AllocateSlow(std::size_t n) {
  used_ += n;
  if (n > block_size_ / 4) {
    // A large string gets its own block so that it does not waste the rest of a regular one.
    large_.push_back(Block{std::make_unique<char[]>(n), n});
    return large_.back().data.get();
  }
  // The current block is full: move to the next retained block, or add one.
  if (current_ < blocks_.size()) ++current_;
  if (current_ == blocks_.size()) blocks_.push_back(Block{std::make_unique<char[]>(block_size_), block_size_});
  pos_ = n;
  return blocks_[current_].data.get();
}

std::string_view Arena::Copy(std::string_view s) {
  if (s.empty()) return {};
  char* p = Allocate(s.size());
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

bool Arena::Owns(std::string_view s) const {
  if (s.empty()) return false;
  std::less_equal<const char*> le;
  auto inside = [&](const Block& b) {
    const char* lo = b.data.get();
    return le(lo, s.data()) && le(s.data() + s.size(), lo + b.size);
  };
  for (const Block& b : blocks_)
    if (inside(b)) return true;
  for (const Block& b : large_)
    if (inside(b)) return true;
  return false;
}

void Arena::Reset() {
  large_.clear();
  std::size_t keep = max_retained_ / block_size_;
  if (blocks_.size() > keep) blocks_.resize(keep);
  current_ = 0;
  pos_ = 0;
  used_ = 0;
}

std::size_t Arena::bytes_reserved() const {
  std::size_t n = 0;
  for (const Block& b : blocks_) n += b.size;
  for (const Block& b : large_) n += b.size;
  return n;
}

}  // namespace medsoc::event
