// Identifiers: time-ordered, random, URL-safe ids for stored objects (ULID layout: 48-bit
// millisecond time + 80 random bits, Crockford base32, 26 characters). Sorting ids as strings sorts
// them by creation time, which keeps SQLite indexes append-mostly.
//
// Thread-safety: NewId() is safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

namespace medsoc::core {

std::string NewId();

// True when `id` has the shape NewId() produces (26 Crockford base32 characters).
bool IsValidId(std::string_view id);

}  // namespace medsoc::core
