// Arena: a bump allocator of string bytes with stable addresses. Strings copied into an arena stay
// where they are until Reset() (or destruction), so string_views into it can be stored in events.
// Reset() keeps the allocated blocks (up to a retention limit) so that a reused arena allocates
// nothing in steady state.
//
// Thread-safety: none. An arena belongs to one owner (a Batch, an Event, a FieldTable under its
// lock) at a time.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

namespace medsoc::event {

class Arena {
 public:
  static constexpr std::size_t kDefaultBlockSize = 64 * 1024;
  static constexpr std::size_t kDefaultMaxRetained = 8 * 1024 * 1024;

  // `block_size`: size of a regular block; a request larger than a quarter of it gets a block of
  // its own. `max_retained`: bytes of regular blocks kept across Reset().
  explicit Arena(std::size_t block_size = kDefaultBlockSize, std::size_t max_retained = kDefaultMaxRetained);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns `n` bytes (alignment 1) valid until Reset(). n == 0 returns nullptr.
  char* Allocate(std::size_t n);

  // Copies `s` into the arena and returns a view of the copy (an empty view for an empty `s`).
  std::string_view Copy(std::string_view s);

  // True when `s` lies entirely inside memory handed out by this arena.
  bool Owns(std::string_view s) const;

  // Forgets every allocation; keeps regular blocks up to the retention limit, frees large ones.
  void Reset();

  std::size_t bytes_used() const { return used_; }
  std::size_t bytes_reserved() const;

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    std::size_t size = 0;
  };
  char* AllocateSlow(std::size_t n);

  std::size_t block_size_;
  std::size_t max_retained_;
  std::vector<Block> blocks_;  // regular blocks; blocks_[current_] is being filled
  std::vector<Block> large_;   // one block per large request, freed on Reset()
  std::size_t current_ = 0;
  std::size_t pos_ = 0;        // bytes used in blocks_[current_]
  std::size_t used_ = 0;
};

inline char* Arena::Allocate(std::size_t n) {
  if (n == 0) return nullptr;
  if (current_ < blocks_.size() && blocks_[current_].size - pos_ >= n) {
    char* p = blocks_[current_].data.get() + pos_;
    pos_ += n;
    used_ += n;
    return p;
  }
  return AllocateSlow(n);
}

}  // namespace medsoc::event
