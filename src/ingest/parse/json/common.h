// Shared pieces of the JSON-family parsers: the normalized field ids they write, flexible
// timestamp parsing, typed setters and the per-instance cache of original field names.
//
// Thread-safety: F() is built once (thread-safe static); NameCache is per parser instance.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/time.h"
#include "event/event.h"
#include "event/field.h"
#include "ingest/parse/json/flat_json.h"
#include "ingest/parse/parser.h"

namespace medsoc::ingest::json {

// Normalized field ids, interned once in DefaultFieldTable(). Names not yet in
// content/fields/ecs.yaml are listed in docs/formats-json.md ("fields outside the catalog").
struct Fields {
  event::FieldId timestamp, message, tags, log_flags, log_level, log_logger;
  event::FieldId event_kind, event_category, event_type, event_action, event_outcome, event_code, event_id,
      event_provider, event_dataset, event_module, event_severity, event_duration, event_created, event_reason;
  event::FieldId host_name, host_hostname, host_ip;
  event::FieldId source_ip, source_port, source_address, source_bytes, destination_ip, destination_port,
      destination_address, destination_bytes;
  event::FieldId user_name, user_id, user_domain, user_target_name;
  event::FieldId process_name, process_executable, process_command_line, process_pid, process_entity_id,
      process_working_directory, process_parent_name, process_parent_executable, process_parent_command_line,
      process_parent_pid, process_integrity_level, process_hash_sha256;
  event::FieldId network_transport, network_protocol, network_bytes, network_packets, network_community_id,
      network_direction;
  event::FieldId url_original, url_path, url_query, url_domain, http_request_method, http_request_referrer,
      http_response_status_code, http_response_bytes, http_response_body_bytes, http_version, user_agent_original;
  event::FieldId file_path, file_name, file_size, registry_path, registry_value;
  event::FieldId dns_question_name, dns_question_type, dns_response_code, dns_answers_data;
  event::FieldId tls_version, tls_cipher, tls_server_subject, tls_server_issuer, tls_client_server_name;
  event::FieldId rule_id, rule_name, rule_category;
  event::FieldId observer_product, observer_vendor, observer_type;
  event::FieldId winlog_channel, winlog_event_id, winlog_provider_name, winlog_computer_name, winlog_record_id,
      winlog_logon_type, winlog_event_data_command_line, winlog_event_data_logon_type,
      winlog_event_data_target_user_name;
  event::FieldId service_name, group_name, error_message, error_code, related_ip, related_user;
  // outside the catalog (interned on the fly)
  event::FieldId db_system, db_name, db_user, db_statement, db_operation, db_session_id, db_sql_state,
      db_connection_id, db_query_id, db_rows;
};
const Fields& F();

inline constexpr std::string_view kFlagInvalidUtf8 = "invalid_utf8";
inline constexpr std::string_view kFlagOversized = "oversized";

// Adds `flag` (static text) to log.flags unless present.
void AddFlag(event::Event& e, std::string_view flag);

// kResourceExhausted when `message` is longer than ctx.max_message_bytes.
Status CheckSize(std::string_view message, const ParseContext& ctx);

// Returns `message` anchored in the event: raw() when message lies inside it, otherwise a copy
// in the arena (so that values may view it).
std::string_view Anchor(std::string_view message, event::Event& e);

// Parses the timestamps log formats write:
//   2024-03-03T10:01:02[.fraction](Z|+08:00|+0800|+08)   RFC 3339 and ISO 8601 variants
//   2024-03-03 10:01:02[.fraction][ UTC| GMT| +08| CST|...]   (space separator; a named zone other
//                                                    than UTC/GMT/Z uses `tz_offset_minutes`)
//   10/Oct/2000:13:55:36 -0700                      NCSA common log format
//   240303 10:01:02 / 240303  9:01:02               MySQL 5.6 general log (YYMMDD)
// A time without a zone is local time at `tz_offset_minutes`. nullopt on anything else.
std::optional<core::Timestamp> ParseTime(std::string_view text, int tz_offset_minutes);

// Sets time() and time_text() from `text` when it parses; returns whether it did.
bool SetTimeFrom(event::Event& e, std::string_view text, const ParseContext& ctx);
bool SetTimeFromValue(event::Event& e, const event::Value& v, const ParseContext& ctx);

// Typed setters from a flattened value. Strings already live in the event's arena.
// Keyword: numbers/bools are formatted into the arena.
void SetKeyword(event::Event& e, event::FieldId id, const event::Value& v);
// Long: ints, integral floats, numeric strings ("0x1a" too); otherwise nothing is set.
bool SetLong(event::Event& e, event::FieldId id, const event::Value& v);
// IP: strings IpAddress::Parse accepts (also "::ffff:1.2.3.4", "[v6]"); otherwise nothing is set.
bool SetIp(event::Event& e, event::FieldId id, const event::Value& v, bool append = false);
bool IsEmptyValue(const event::Value& v);  // null, "", "-"

// Interns vendor field names (originals) with a per-instance cache; names that cannot be interned
// (too long, table full) return kNoField and the field is skipped.
class NameCache {
 public:
  event::FieldId Get(std::string_view name);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, event::FieldId, Hash, std::equal_to<>> map_;
};

// Copies every flattened leaf into the event as an original field (Append: arrays stay
// multi-valued). `strip` (when non-empty) is removed from the front of paths that start with it.
void KeepOriginals(const FlatJson& flat, NameCache& names, event::Event& e);

// Lower-cases ASCII into `buf` (at most `n` bytes) for case-insensitive comparisons.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string_view Trim(std::string_view s);
std::optional<std::int64_t> ToInt(std::string_view s);

}  // namespace medsoc::ingest::json

namespace medsoc::ingest::json {
// Sets a normalized field named like an ECS field from an input value, typed by the name's
// suffix: *.ip -> IP, *.port/*.bytes/*.pid/*.status_code/*.packets/event.severity -> long,
// anything else as given. Does nothing when the field is already set or the value is empty.
void SetEcsTyped(event::Event& e, std::string_view path, const event::Value& v);
bool IsEcsPath(std::string_view path);
}  // namespace medsoc::ingest::json
