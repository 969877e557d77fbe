// Result<T> and Error: the error channel for everything that can fail in normal operation
// (I/O, parsing, the network, SQLite, bad user input). Exceptions from third-party libraries are
// caught at the adapter that calls them and turned into an Error; they never cross a module
// boundary. Programmer bugs use MEDSOC_ASSERT (core/assert.h) instead.
//
// Thread-safety: value types; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/assert.h"

namespace medsoc {

enum class ErrorCode : std::uint8_t {
  kInvalidArgument,    // bad input from a user or a peer
  kParse,              // content that does not parse (config, rule, log line)
  kNotFound,
  kAlreadyExists,
  kConflict,           // state changed underneath, or a uniqueness rule
  kUnauthenticated,
  kPermissionDenied,
  kLocked,             // account locked out
  kFailedPrecondition, // the operation is not allowed in the current state
  kResourceExhausted,  // a limit was reached (size, rate, queue)
  kUnavailable,        // try again later
  kIo,
  kCorruption,         // stored data failed an integrity check
  kInternal,
};

// Stable lowercase name of a code, used in logs and in API error bodies.
std::string_view ErrorCodeName(ErrorCode code);

// Where in a content file (config, rule, policy) an error was found. line and column are 1-based;
// 0 means unknown.
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;
};

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  Error(ErrorCode code, std::string message, SourcePos pos)
      : code_(code), message_(std::move(message)), pos_(std::move(pos)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::optional<SourcePos>& pos() const { return pos_; }

  // "file:line:column: message" when a position is known, else "message".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Error WithContext(std::string_view context) const;

 private:
  ErrorCode code_;
  std::string message_;
  std::optional<SourcePos> pos_;
};

// A value or an Error. Modelled on std::expected (C++23), which libstdc++ 12 lacks in C++20 mode.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    MEDSOC_ASSERT(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    MEDSOC_ASSERT(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    MEDSOC_ASSERT(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    MEDSOC_ASSERT(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    MEDSOC_ASSERT(!ok());
    return std::get<1>(std::move(v_));
  }

  T value_or(T fallback) const& { return ok() ? std::get<0>(v_) : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const& {
    MEDSOC_ASSERT(!ok());
    return *error_;
  }
  Error&& error() && {
    MEDSOC_ASSERT(!ok());
    return std::move(*error_);
  }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status Ok() { return Status(); }

}  // namespace medsoc

#define MEDSOC_CONCAT_INNER_(a, b) a##b
#define MEDSOC_CONCAT_(a, b) MEDSOC_CONCAT_INNER_(a, b)

// Evaluates `expr` (a Result or Status); on error returns the error from the enclosing function.
#define MEDSOC_TRY(expr)                                            \
  do {                                                              \
    auto&& medsoc_try_result_ = (expr);                             \
    if (!medsoc_try_result_.ok()) return std::move(medsoc_try_result_).error(); \
  } while (0)

// MEDSOC_ASSIGN_OR_RETURN(auto x, MakeX()); declares/assigns the value or returns the error.
#define MEDSOC_ASSIGN_OR_RETURN(lhs, expr) \
  MEDSOC_ASSIGN_OR_RETURN_IMPL_(MEDSOC_CONCAT_(medsoc_result_, __LINE__), lhs, expr)
#define MEDSOC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).error();       \
  lhs = std::move(tmp).value()
