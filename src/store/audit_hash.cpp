// AuditRowHash: the canonical hash of one audit row.
//
// Serialization (version 1), hashed with SHA-256 and returned as lowercase hex:
//
//   "medsoc-audit-v1\n" field(prev_hash) field(seq) field(time) field(tenant_id) field(user)
//   field(role) field(source_ip) field(action) field(target) field(outcome) field(detail)
//
//   field(x) = <decimal byte length of x> ":" <bytes of x> "\n"
//
// Integers (seq, time in ns) are written in decimal. The length prefix makes the encoding
// injective: no two different rows serialize alike, whatever bytes the fields contain. The leading
// tag separates this encoding from any future one. Changing this function invalidates every stored
// chain: a new encoding needs a new tag and a migration that knows both.
#include <string>
#include <string_view>

#include "core/crypto.h"
#include "store/state_store.h"

namespace medsoc::store {
namespace {

void AppendField(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

}  // namespace

std::string AuditRowHash(const AuditRecord& row) {
  std::string buf = "medsoc-audit-v1\n";
  buf.reserve(256 + row.detail.size() + row.action.size() + row.target.size());
  AppendField(buf, row.prev_hash);
  AppendField(buf, std::to_string(row.seq));
  AppendField(buf, std::to_string(row.time.ns));
  AppendField(buf, row.tenant_id);
  AppendField(buf, row.user);
  AppendField(buf, row.role);
  AppendField(buf, row.source_ip);
  AppendField(buf, row.action);
  AppendField(buf, row.target);
  AppendField(buf, row.outcome);
  AppendField(buf, row.detail);
  return core::Sha256Hex(buf);
}

}  // namespace medsoc::store
