// Shared pieces of the text-format parsers (syslog, CEF/LEEF, key=value, vendor mappings,
// auditd): the normalized field ids they write, message preparation (size limit, UTF-8 check,
// anchoring in event storage), number and timestamp scanning, and the key=value scanner.
//
// Everything here is allocation-free on the hot path: values are views of the prepared message
// (which lives in the event's raw() or arena) or are written into the event's arena.
//
// Thread-safety: free functions and an immutable, lazily-built table of field ids (thread-safe
// initialisation); no shared mutable state.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/time.h"
#include "event/event.h"
#include "ingest/parse/parser.h"

namespace medsoc::ingest::text {

// Ids of the normalized fields the text parsers write, interned once in DefaultFieldTable().
// Names not (yet) in content/fields/ecs.yaml are marked "extra".
struct Fields {
  event::FieldId message, tags;
  event::FieldId event_kind, event_category, event_type, event_action, event_outcome, event_code, event_id,
      event_provider, event_dataset, event_module, event_severity, event_reason, event_start, event_end,
      event_duration;
  event::FieldId host_hostname, host_name, host_ip;
  event::FieldId source_ip, source_port, source_address, source_domain, source_mac, source_bytes, source_nat_ip;
  event::FieldId destination_ip, destination_port, destination_address, destination_domain, destination_mac,
      destination_bytes, destination_nat_ip;
  event::FieldId user_name, user_id, user_domain, user_target_name, user_effective_name;
  event::FieldId process_name, process_executable, process_command_line, process_args, process_pid,
      process_working_directory, process_parent_pid;
  event::FieldId network_transport, network_protocol, network_bytes, network_packets, network_application,
      network_direction;
  event::FieldId url_original, http_request_method, user_agent_original;
  event::FieldId file_path, file_name, file_size;
  event::FieldId rule_id, rule_name, rule_category;
  event::FieldId observer_name, observer_hostname, observer_ip, observer_vendor, observer_product, observer_type,
      observer_version, observer_ingress_interface;
  event::FieldId log_level, log_syslog_facility, log_syslog_severity, log_syslog_appname, log_syslog_hostname;
  event::FieldId group_name, error_message, related_ip, related_user, related_hosts;
  // extra (not in the catalog yet)
  event::FieldId log_syslog_priority, log_flags, observer_egress_interface, source_user_name,
      destination_user_name, source_nat_port, destination_nat_port, source_packets, destination_packets,
      user_audit_id, user_effective_id, process_title, auditd_message_type;
};
const Fields& F();

// Values of the "log.flags" keyword set on events with damaged input (the bytes are kept).
inline constexpr std::string_view kFlagTruncated = "truncated";        // cut at max_message_bytes
inline constexpr std::string_view kFlagInvalidUtf8 = "invalid_utf8";   // some bytes are not UTF-8
inline constexpr std::string_view kFlagBinary = "binary";              // control bytes other than \t\r\n

// Adds `flag` (static text) to log.flags unless already present.
void AddFlag(event::Event& e, std::string_view flag);

// Returns the view of `message` to parse: anchored in the event (raw() when `message` lies in it,
// else one copy in the arena), cut to ctx.max_message_bytes on a UTF-8 boundary (flag
// "truncated"; raw() is shortened too), trailing CR/LF/NUL removed, and flags "invalid_utf8" and
// "binary" added when they apply. Never fails.
std::string_view PrepareMessage(std::string_view message, const ParseContext& ctx, event::Event& e);

// True when `s` is well-formed UTF-8 (fast path for ASCII).
bool IsValidUtf8(std::string_view s);

// A kParse Error "<what> at byte <offset>".
Error ParseErrorAt(std::size_t offset, std::string_view what);

// ---- Scanning --------------------------------------------------------------------------------
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsSpace(char c) { return c == ' ' || c == '\t'; }
inline char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
bool StartsWith(std::string_view s, std::string_view prefix);
std::string_view Trim(std::string_view s);

// A whole decimal integer (optional sign); nullopt on anything else or overflow.
std::optional<std::int64_t> ParseInt(std::string_view s);
// `n` digits at s[pos...] as a number; -1 when not all digits.
int Digits(std::string_view s, std::size_t pos, int n);

// Sets `id` to the integer in `s` when it parses, else leaves it unset; returns whether it did.
bool SetInt(event::Event& e, event::FieldId id, std::string_view s);
// Sets `id` to the IP in `s` (and appends it to related.ip when `related`); returns whether it did.
bool SetIp(event::Event& e, event::FieldId id, std::string_view s, bool related = true);
// Sets a string value that already lives in event storage (a view of the prepared message).
inline void SetView(event::Event& e, event::FieldId id, std::string_view s) {
  e.Set(id, event::Value::String(s));
}
// Appends `s` to related.user unless it is already there.
void AddRelatedUser(event::Event& e, std::string_view s);
// Sets an original (vendor) field `key` = `value` (a view in event storage). Keys the field table
// refuses (empty, too long, table full) are skipped. Returns whether it was set.
bool SetOriginal(event::Event& e, std::string_view key, event::Value value);

// Sets event.dataset to "<a>.<b>" made of lowercase [a-z0-9_] (other bytes become '_', runs
// collapse, each part cut at 48 bytes), unless the event already has one or a part is empty
// ("Security", "threatmanager" -> "security.threatmanager"). Used where the dataset comes from the
// message (CEF/LEEF vendor and product, vendor-mapping templates).
void SetDatasetSlug(event::Event& e, std::string_view a, std::string_view b);
// Appends the slug of `s` (rules of SetDatasetSlug, at most `max` bytes) to `out`.
void AppendSlug(std::string& out, std::string_view s, std::size_t max = 48);

// ---- Time --------------------------------------------------------------------------------------
// Civil date-time to UTC. `offset_minutes` is the zone's offset east of UTC.
core::Timestamp CivilToUtc(std::int64_t year, int month, int day, int hour, int minute, int second,
                           std::int64_t nanos, int offset_minutes);
// `v` units of `unit_ns` nanoseconds since the epoch; nullopt when outside what a Timestamp holds
// (about 1677..2262) or negative.
std::optional<core::Timestamp> EpochToTime(std::int64_t v, std::int64_t unit_ns);
// Epoch seconds, or milliseconds when the text has 12 digits or more (CEF rt, LEEF devTime).
std::optional<core::Timestamp> EpochSecondsOrMillis(std::string_view digits);
// 1..12 for "Jan".."Dec" (case-insensitive, 3 letters); 0 otherwise.
int MonthFromAbbrev(std::string_view s);
// The year for a month/day without a year, as seen at `now` in the zone: the current year, or the
// previous one when that date would lie more than a day in the future (December logs read in
// January).
std::int64_t InferYear(int month, int day, core::Timestamp now, int offset_minutes);

struct ParsedTime {
  core::Timestamp time;
  std::size_t length = 0;   // bytes consumed
  bool has_zone = false;    // the text carried its own offset
};
// RFC 3339 / ISO 8601 at the start of `s`: YYYY-MM-DD('T'|' ')hh:mm:ss[.frac][Z|±hh:mm|±hhmm].
// Without a zone, `default_offset_minutes` applies. Slashes are accepted as date separators and
// one-digit month/day (Huawei "2024/3/3 10:01:02"). nullopt when it is not one.
std::optional<ParsedTime> ScanIsoTime(std::string_view s, int default_offset_minutes);
// BSD syslog time at the start of `s`: "Mmm dd hh:mm:ss" (day space- or zero-padded, optional
// .fraction), also "Mmm dd yyyy hh:mm:ss" and "Mmm dd hh:mm:ss yyyy" (Huawei/H3C). The year, when
// absent, is inferred from `now`.
std::optional<ParsedTime> ScanBsdTime(std::string_view s, int offset_minutes, core::Timestamp now);

// ---- key=value ---------------------------------------------------------------------------------
struct KvDialect {
  // ' ' means "any run of spaces/tabs"; any other character is a literal separator (',', ';',
  // '|', '\t'), with spaces around pairs trimmed.
  char pair_separator = ' ';
  char value_separator = '=';
  // Values may be quoted with "..." or '...' (backslash escapes inside).
  bool quotes = true;
  // With pair_separator ' ': an unquoted value runs on over spaces until the next "key=" token
  // ("msg=login failed for admin user=bob" gives msg="login failed for admin").
  bool spaces_in_values = true;
  // Cut keys at the first occurrence of this character ("SrcIPAddr(1003)" -> "SrcIPAddr" with '(').
  char key_cut = '\0';
  // Characters stripped from the end of the last value ('.' for logs ending in a full stop).
  std::string_view trim_last_value;
};

struct KvPair {
  std::string_view key;     // view of the message
  std::string_view value;   // view of the message, or of the arena when unescaped
  bool quoted = false;
  std::size_t key_offset = 0;  // byte offset of the key in the scanned text
};

// Scans key=value pairs of `s` (which lives in event storage) and calls `on_pair(const KvPair&)`
// for each; unescaped values are written into `arena`. Tokens that are not pairs are skipped.
// Returns the number of pairs, or an Error (with byte offset) for an unterminated quote; pairs
// before it have been delivered.
template <typename OnPair>
Result<std::size_t> ScanKv(std::string_view s, const KvDialect& d, event::Arena& arena, OnPair&& on_pair);

// Removes backslash escapes (\\ \" \' \= \n \r \t and backslash before any other char keeps it)
// from `s` into `arena`; returns `s` itself when it has no backslash.
std::string_view Unescape(std::string_view s, event::Arena& arena);

// Key characters accepted by the space-separated dialect: anything but whitespace, quotes and the
// value separator.
inline bool IsKeyChar(char c, char value_separator) {
  return !(c == ' ' || c == '\t' || c == '"' || c == '\'' || c == value_separator || c == '\n' || c == '\r' ||
           c == '\0');
}

// -------------------------------------------------------------------------------------------------
namespace detail {
Result<std::size_t> ScanKvSpace(std::string_view s, const KvDialect& d, event::Arena& arena,
                                void (*cb)(void*, const KvPair&), void* ctx);
Result<std::size_t> ScanKvSeparated(std::string_view s, const KvDialect& d, event::Arena& arena,
                                    void (*cb)(void*, const KvPair&), void* ctx);
}  // namespace detail

template <typename OnPair>
Result<std::size_t> ScanKv(std::string_view s, const KvDialect& d, event::Arena& arena, OnPair&& on_pair) {
  auto cb = [](void* c, const KvPair& p) { (*static_cast<std::remove_reference_t<OnPair>*>(c))(p); };
  void* ctx = const_cast<void*>(static_cast<const void*>(&on_pair));
  return d.pair_separator == ' ' ? detail::ScanKvSpace(s, d, arena, cb, ctx)
                                 : detail::ScanKvSeparated(s, d, arena, cb, ctx);
}

}  // namespace medsoc::ingest::text
