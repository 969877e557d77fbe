// MEDSOC_ASSERT: for programmer bugs only (a broken invariant), never for bad input. Active in
// every build type: a security product should stop rather than continue in a state it does not
// understand.
#pragma once

namespace medsoc::core {
[[noreturn]] void AssertionFailed(const char* expr, const char* file, int line);
}  // namespace medsoc::core

#define MEDSOC_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::medsoc::core::AssertionFailed(#expr, __FILE__, __LINE__))
