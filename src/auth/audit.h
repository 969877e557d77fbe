// AuditTrail: records every login attempt, every state-changing request and every denied request
// in the store's append-only, hash-chained audit table (MLPS 2.0 安全审计). Recording never
// throws away an event silently: a failure to append is logged at error level and counted.
//
// Thread-safety: thread-safe (the store serializes appends).
#pragma once

#include <atomic>
#include <string>

#include "store/state_store.h"

namespace medsoc::auth {

struct AuditEntry {
  std::string tenant_id;
  std::string user = "-";
  std::string role;
  std::string source_ip;
  std::string action;
  std::string target;
  std::string outcome;  // success, failure, denied
  std::string detail;
};

class AuditTrail {
 public:
  explicit AuditTrail(store::StateStore& store) : store_(store) {}

  // Appends one row stamped with the current time.
  void Record(const AuditEntry& entry);

  std::uint64_t failures() const { return failures_.load(); }

 private:
  store::StateStore& store_;
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace medsoc::auth
