// Linux audit records (auditd's /var/log/audit/audit.log, audisp-syslog, or a syslog MSG) and the
// AuditdJoiner that merges the records of one kernel event.
//
// Record grammar (one line):
//   record  = ["node=" NODE SP] "type=" TYPE SP "msg=audit(" SECONDS "." MILLIS ":" SERIAL "):" body
//             [%x1D enriched]
//   body    = *(SP key "=" value)       ; value: "quoted", 'quoted' (USER_* records nest key=value
//                                       ; pairs in msg='...'), or a bare token; untrusted strings
//                                       ; (aN, proctitle, comm, exe, cwd, name, acct, cmd, data)
//                                       ; are hex-encoded when unquoted
//   enriched = key=value pairs auditd adds with log_format=ENRICHED (AUID="alice" UID="root" ...)
// One kernel event (one SERIAL) usually spans several records: SYSCALL, EXECVE, CWD, PATH...,
// PROCTITLE, then EOE. The "auditd" parser accepts one record or several '\n'-separated records
// of one event (what AuditdJoiner produces) and maps them together:
//   time <- msg=audit(SECONDS.MILLIS); event.id <- SERIAL; auditd.message_type <- every TYPE;
//   SYSCALL: pid, ppid -> process.parent.pid, auid -> user.audit.id, uid -> user.id,
//     euid -> user.effective.id, comm -> process.name, exe -> process.executable,
//     success -> event.outcome, key -> rule.name, syscall -> event.action (name when enriched)
//   EXECVE: a0..aN -> process.args and process.command_line; CWD: process.working_directory;
//   PATH: name -> file.path (the first that is not a PARENT); PROCTITLE -> process.title;
//   USER_*/CRED_*/LOGIN/ADD_*/DEL_*: acct -> user.name (user.target.name for account changes),
//     addr -> source.ip, hostname -> source.domain, res -> event.outcome, op -> event.action,
//     exe -> process.executable, cmd -> process.command_line (USER_CMD).
// Every key is also kept as an original field (repeated keys become multi-valued).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/time.h"
#include "event/batch.h"
#include "ingest/parse/parser.h"

namespace medsoc::ingest::text {

// Parses one or several records of one event. `offset`: byte offset of `s` in the whole message.
// REQUIRES: `s` lives in event storage.
Status ParseAuditRecords(std::string_view s, std::size_t offset, const ParseContext& ctx, event::Event& e);

class AuditdParser final : public Parser {
 public:
  std::string_view name() const override { return "auditd"; }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) override;
  int Detect(std::string_view sample) const override;
};

// AuditdJoiner: merges audit records that share a serial (node + serial) into one message.
//
// Feed it records in arrival order (Add); it calls `emit` with the joined text (records separated
// by '\n', EOE dropped) when
//   - an EOE record closes the event,
//   - a record arrives whose type is never part of a multi-record event (USER_LOGIN, CRED_ACQ...)
//     and no group with its serial is open: it is emitted alone at once,
//   - a group has been open for longer than `timeout` (checked on every Add and by Flush(now)),
//   - a group reaches `max_records` records, or more than `max_open` groups are open (the oldest
//     goes first).
// FlushAll() emits everything open (end of input, shutdown). Emitted text is valid only during the
// callback. Lines that are not audit records are emitted alone unchanged, so nothing is lost.
//
// Thread-safety: none; one joiner per source.
class AuditdJoiner {
 public:
  struct Options {
    std::int64_t timeout_ns = core::Seconds(2);
    std::size_t max_records = 64;
    std::size_t max_open = 256;
  };
  using Emit = std::function<void(std::string_view joined)>;

  AuditdJoiner() : AuditdJoiner(Options{}) {}
  explicit AuditdJoiner(Options options) : options_(options) {}

  void Add(std::string_view record, core::Timestamp now, const Emit& emit);
  void Flush(core::Timestamp now, const Emit& emit);
  void FlushAll(const Emit& emit);
  std::size_t open_groups() const { return groups_.size(); }

  // Convenience: emits straight into `batch` as events parsed by the auditd parser (raw = the
  // joined text; a parse failure is recorded in the event, as the pipeline does).
  static Emit IntoBatch(event::Batch& batch, const ParseContext& ctx);

 private:
  struct Group {
    std::string key;   // node + ":" + serial
    std::string text;
    std::size_t records = 0;
    core::Timestamp opened;
  };
  void EmitGroup(std::size_t i, const Emit& emit);

  Options options_;
  std::vector<Group> groups_;  // in opening order
};

}  // namespace medsoc::ingest::text
