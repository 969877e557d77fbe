#include "core/result.h"

#include <cstdio>
#include <cstdlib>

namespace medsoc {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kParse: return "parse_error";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kConflict: return "conflict";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kLocked: return "locked";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kResourceExhausted: return "resource_exhausted";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kIo: return "io_error";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

std::string Error::ToString() const {
  if (!pos_) return message_;
  std::string out = pos_->file;
  if (pos_->line > 0) {
    out += ':' + std::to_string(pos_->line);
    if (pos_->column > 0) out += ':' + std::to_string(pos_->column);
  }
  out += ": ";
  out += message_;
  return out;
}

Error Error::WithContext(std::string_view context) const {
  Error e = *this;
  e.message_ = std::string(context) + ": " + message_;
  return e;
}

namespace core {
void AssertionFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "medsoc: assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace core

}  // namespace medsoc
