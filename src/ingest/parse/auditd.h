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

// AuditdJoiner: merges audit records that share msg=audit(SECONDS.MILLIS:SERIAL) (and node, and the
// syslog hostname when forwarded) into one message.
//
// Records may come bare ("type=SYSCALL msg=audit(...): ...", audit.log) or behind a syslog header
// ("<13>Nov 22 10:00:00 web1 audispd: type=SYSCALL msg=audit(...): ...", audisp-syslog, rsyslog
// forwarding audit.log). The joined text is the first record's whole line followed by the audit
// part of every further record, separated by '\n' (EOE dropped): what the auditd parser and the
// syslog parsers' Linux normalizer accept.
//
// Feed it records in arrival order (Add); it calls `emit` with the joined text when
//   - an EOE record closes the event,
//   - a record arrives whose type is never part of a multi-record event (USER_LOGIN, CRED_ACQ...)
//     and no group with its serial is open: it is emitted alone at once,
//   - a group has been open for longer than `timeout` (checked on every Add and by Flush(now)),
//   - a group reaches `max_records` records, or more than `max_open` groups are open (the oldest
//     goes first).
// FlushAll() emits everything open (end of input, shutdown). Emitted text is valid only during the
// callback. Lines that are not audit records are emitted alone unchanged, so nothing is lost; an
// EOE whose group was already emitted (timed out) is dropped (it carries nothing).
//
// Each record may carry a caller's tag (a line number, a file offset); the tagged emit receives
// the tags of every record of the joined text (EOE included), in arrival order.
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
  using TaggedEmit = std::function<void(std::string_view joined, const std::vector<std::uint64_t>& tags)>;

  AuditdJoiner() : AuditdJoiner(Options{}) {}
  explicit AuditdJoiner(Options options) : options_(options) {}

  // True when `line` is an audit record, bare or behind a syslog header: what Add would join.
  static bool IsRecord(std::string_view line);
  // True for the source formats whose messages may be audit records to join: auto, auditd and
  // the syslog formats (syslog, rfc3164, rfc5424).
  static bool AppliesToFormat(std::string_view format);

  void Add(std::string_view record, core::Timestamp now, const Emit& emit);
  void Add(std::string_view record, std::uint64_t tag, core::Timestamp now, const TaggedEmit& emit);
  void Flush(core::Timestamp now, const Emit& emit);
  void Flush(core::Timestamp now, const TaggedEmit& emit);
  void FlushAll(const Emit& emit);
  void FlushAll(const TaggedEmit& emit);
  std::size_t open_groups() const { return groups_.size(); }
  // Calls fn(tags) for each open group, oldest first.
  void ForEachOpen(const std::function<void(const std::vector<std::uint64_t>& tags)>& fn) const;
  // The time the oldest open group was opened (REQUIRES: open_groups() > 0).
  core::Timestamp oldest_opened() const { return groups_.front().opened; }
  const Options& options() const { return options_; }

  // Convenience: emits straight into `batch` as events parsed by the auditd parser (raw = the
  // joined text; a parse failure is recorded in the event, as the pipeline does).
  static Emit IntoBatch(event::Batch& batch, const ParseContext& ctx);

 private:
  struct Group {
    std::string key;   // [syslog host] + node + ":" + seconds + ":" + serial
    std::string text;
    std::size_t records = 0;
    core::Timestamp opened;
    std::vector<std::uint64_t> tags;
  };
  void EmitGroup(std::size_t i, const TaggedEmit& emit);
  static TaggedEmit Untagged(const Emit& emit);

  Options options_;
  std::vector<Group> groups_;  // in opening order
};

}  // namespace medsoc::ingest::text
