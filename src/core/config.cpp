// The configuration loader. Three stages, each collecting every problem it finds:
//
//   1. Reader: yaml-cpp's event parser feeds a small tree of our own (YamlNode). Building our own
//      tree (instead of YAML::Node) lets us see duplicate keys, keep every node's position, bound
//      the nesting depth while parsing (so hostile input cannot exhaust the stack) and share
//      aliased nodes instead of copying them (no "billion laughs"). yaml-cpp's exceptions stop
//      here.
//   2. Walker: descends the tree along the schema table (kSchema below), so it never goes deeper
//      than the schema; unknown keys, wrong types, out-of-range values and bad enum values become
//      Errors with file:line:column and the key path.
//   3. Cross-key checks (TLS certificate and key come in pairs).
//
// The same table drives ApplyEnvironment, the Markdown reference and the example file, so the
// documentation cannot list a key the loader does not know, or miss one.
#include "core/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <variant>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace medsoc::core {
namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;  // 1 MiB: a real config is a few KiB
constexpr int kMaxNesting = 64;                   // the schema needs 3; anything deeper is hostile
constexpr std::size_t kMaxEchoChars = 64;         // values quoted back in messages are cut here

// ---------------------------------------------------------------------------------------------
// The schema table.

enum class ValueKind { kString, kInt, kSize, kBool, kEnum };

// Accessors from an Options to the field a key sets. Function pointers (from captureless lambdas)
// keep the table a plain value.
using StringField = std::string& (*)(Options&);
using IntField = int& (*)(Options&);
using U32Field = std::uint32_t& (*)(Options&);
using U64Field = std::uint64_t& (*)(Options&);
using BoolField = bool& (*)(Options&);
using Field = std::variant<StringField, IntField, U32Field, U64Field, BoolField>;

// Extra rule for a value that already has the right type. Returns the reason it is invalid.
using Validator = std::optional<std::string> (*)(std::string_view value);

struct KeySpec {
  std::string_view path;  // "server.tls.cert_file"
  ValueKind kind;
  Field field;
  std::string_view doc;  // one line of English, Markdown allowed
  std::int64_t min = 0;  // kInt and kSize: inclusive range
  std::int64_t max = 0;
  std::span<const std::string_view> allowed = {};  // kEnum
  bool secret = false;
  Validator check = nullptr;
};

#define MEDSOC_FIELD(member) +[](Options& o) -> auto& { return o.member; }

std::optional<std::string> CheckListen(std::string_view value);
std::optional<std::string> CheckMasterKey(std::string_view value);

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
constexpr std::string_view kLogFormats[] = {"text", "json"};
constexpr std::string_view kTlsVersions[] = {"1.2", "1.3"};
constexpr std::string_view kArgon2Strengths[] = {"interactive", "moderate", "sensitive"};
constexpr std::string_view kStoreBackends[] = {"sqlite"};
constexpr std::string_view kScanTypes[] = {"auto", "connect", "syn"};
constexpr std::string_view kUnmappedLogsources[] = {"product", "every_event"};

constexpr std::int64_t kKiB = 1024;
constexpr std::int64_t kMiB = 1024 * kKiB;
constexpr std::int64_t kGiB = 1024 * kMiB;

// Keys are grouped by section; a section's keys (including its subsections) must be contiguous,
// as the example file is generated in this order.
const std::vector<KeySpec>& Schema() {
  static const std::vector<KeySpec> kSchema = {
      {.path = "data_dir", .kind = ValueKind::kString, .field = MEDSOC_FIELD(data_dir),
       .doc = "Directory for the state database, events and keys; `--data` overrides it."},
      {.path = "content_dir", .kind = ValueKind::kString, .field = MEDSOC_FIELD(content_dir),
       .doc = "Directory of medsoc's content (field catalog, logsource mappings, rules, vendor mappings); empty: "
              "`<binary dir>/../share/medsoc/content`, else the `content/` folder of the source tree the binary was "
              "built in."},
      {.path = "master_key", .kind = ValueKind::kString, .field = MEDSOC_FIELD(master_key),
       .doc = "Key that encrypts stored secrets: 32 bytes as 64 hex characters; empty: read from "
              "`<data_dir>/master.key`.",
       .secret = true, .check = CheckMasterKey},

      {.path = "log.level", .kind = ValueKind::kEnum, .field = MEDSOC_FIELD(log.level),
       .doc = "Least severe level written to the log.", .allowed = kLogLevels},
      {.path = "log.format", .kind = ValueKind::kEnum, .field = MEDSOC_FIELD(log.format),
       .doc = "`text` for people, `json` for one JSON object per line.", .allowed = kLogFormats},
      {.path = "log.file", .kind = ValueKind::kString, .field = MEDSOC_FIELD(log.file),
       .doc = "File the log is appended to; empty: standard error."},

      {.path = "server.listen", .kind = ValueKind::kString, .field = MEDSOC_FIELD(server.listen),
       .doc = "Address as HOST:PORT; IPv6 in brackets, quoted: `\"[::1]:8443\"`. Empty: `127.0.0.1:8443` with "
              "TLS, else `127.0.0.1:8080`.",
       .check = CheckListen},
      {.path = "server.tls.cert_file", .kind = ValueKind::kString, .field = MEDSOC_FIELD(server.tls.cert_file),
       .doc = "PEM certificate chain; TLS is on when this is set, and `key_file` is then required."},
      {.path = "server.tls.key_file", .kind = ValueKind::kString, .field = MEDSOC_FIELD(server.tls.key_file),
       .doc = "PEM private key of the certificate."},
      {.path = "server.tls.key_password", .kind = ValueKind::kString,
       .field = MEDSOC_FIELD(server.tls.key_password),
       .doc = "Password of an encrypted `key_file`; empty: the key is not encrypted.", .secret = true},
      {.path = "server.tls.min_version", .kind = ValueKind::kEnum, .field = MEDSOC_FIELD(server.tls.min_version),
       .doc = "Oldest TLS version accepted (quote it in YAML: `\"1.3\"`).", .allowed = kTlsVersions},
      {.path = "server.threads", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(server.threads),
       .doc = "I/O threads; 0: one per CPU core.", .min = 0, .max = 1024},
      {.path = "server.max_body_bytes", .kind = ValueKind::kSize, .field = MEDSOC_FIELD(server.max_body_bytes),
       .doc = "Largest request body accepted; larger requests get 413.", .min = kKiB, .max = kGiB},
      {.path = "server.max_header_bytes", .kind = ValueKind::kSize, .field = MEDSOC_FIELD(server.max_header_bytes),
       .doc = "Largest request header block accepted; larger requests get 431.", .min = kKiB, .max = kMiB},
      {.path = "server.request_timeout_seconds", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(server.request_timeout_seconds),
       .doc = "Deadline for reading a whole request; slower clients are cut off.", .min = 1, .max = 3600},
      {.path = "server.idle_timeout_seconds", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(server.idle_timeout_seconds),
       .doc = "Keep-alive connections idle longer than this are closed.", .min = 1, .max = 86400},
      {.path = "server.shutdown_grace_seconds", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(server.shutdown_grace_seconds),
       .doc = "On SIGTERM, requests in flight get this long to finish.", .min = 0, .max = 3600},
      {.path = "server.max_connections", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(server.max_connections),
       .doc = "Open connections; further ones are refused until some close.", .min = 1, .max = 1'000'000},
      {.path = "server.portal_dir", .kind = ValueKind::kString, .field = MEDSOC_FIELD(server.portal_dir),
       .doc = "Directory of the built web portal; empty: `<binary dir>/../share/medsoc/web`, else `web/dist`."},

      {.path = "auth.password.min_length", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(auth.password.min_length),
       .doc = "Shortest password accepted, in characters (Unicode code points).", .min = 8, .max = 256},
      {.path = "auth.password.min_classes", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(auth.password.min_classes),
       .doc = "Character classes a password must mix, of: lowercase, uppercase, digits, symbols.", .min = 1,
       .max = 4},
      {.path = "auth.password.history", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(auth.password.history),
       .doc = "A new password may not equal any of the last N; 0: no history.", .min = 0, .max = 100},
      {.path = "auth.password.max_age_days", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(auth.password.max_age_days),
       .doc = "Days after which a password must be changed at the next login; 0: never expires.", .min = 0,
       .max = 3650},
      {.path = "auth.lockout_threshold", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(auth.lockout_threshold),
       .doc = "Failed logins within `lockout_window_minutes` that lock the account.", .min = 1, .max = 1000},
      {.path = "auth.lockout_window_minutes", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(auth.lockout_window_minutes),
       .doc = "Window in which failed logins are counted.", .min = 1, .max = 1440},
      {.path = "auth.lockout_duration_minutes", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(auth.lockout_duration_minutes),
       .doc = "How long a locked account stays locked.", .min = 1, .max = 10080},
      {.path = "auth.source_failure_threshold", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(auth.source_failure_threshold),
       .doc = "Failed logins from one source address within `auth.lockout_window_minutes` after which that address "
              "gets 429 until the window passes (against password spraying across accounts); 0: off.",
       .min = 0, .max = 100000},
      {.path = "auth.session_idle_minutes", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(auth.session_idle_minutes),
       .doc = "Sessions idle longer than this expire.", .min = 1, .max = 1440},
      {.path = "auth.session_max_hours", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(auth.session_max_hours),
       .doc = "Absolute session lifetime.", .min = 1, .max = 720},
      {.path = "auth.token_max_days", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(auth.token_max_days),
       .doc = "API tokens expire after at most this many days.", .min = 1, .max = 3650},
      {.path = "auth.argon2_strength", .kind = ValueKind::kEnum, .field = MEDSOC_FIELD(auth.argon2_strength),
       .doc = "Argon2id cost of password hashes (libsodium's limits of the same names).",
       .allowed = kArgon2Strengths},

      {.path = "store.backend", .kind = ValueKind::kEnum, .field = MEDSOC_FIELD(store.backend),
       .doc = "Storage engine; only `sqlite` for now.", .allowed = kStoreBackends},
      {.path = "store.busy_timeout_ms", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(store.busy_timeout_ms),
       .doc = "How long SQLite waits for a lock before giving up, in milliseconds.", .min = 0, .max = 600'000},

      {.path = "events.retention_days", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(events.retention_days),
       .doc = "Days of events kept; older day partitions are dropped whole. Chinese law asks for at least 180.",
       .min = 1, .max = 3650},
      {.path = "events.max_bytes", .kind = ValueKind::kSize, .field = MEDSOC_FIELD(events.max_bytes),
       .doc = "Emergency limit on the size of all event partitions: the oldest are dropped first, with a warning "
              "and an audit record. 0: no limit.",
       .min = 0, .max = 1024 * kGiB * 1024},
      {.path = "events.compress_after_days", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(events.compress_after_days),
       .doc = "Day partitions older than this are compressed with zstd (still searchable, more slowly).",
       .min = 1, .max = 3650},
      {.path = "events.query_timeout_seconds", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(events.query_timeout_seconds),
       .doc = "A search that runs longer is stopped with an error.", .min = 1, .max = 3600},
      {.path = "detect.sigmahq_dir", .kind = ValueKind::kString, .field = MEDSOC_FIELD(detect.sigmahq_dir),
       .doc = "A folder of SigmaHQ rules to load beside medsoc's own (`content/rules/medsoc`); empty: none."},
      {.path = "detect.placeholders_file", .kind = ValueKind::kString,
       .field = MEDSOC_FIELD(detect.placeholders_file),
       .doc = "YAML file of the values of Sigma `expand` placeholders: one key per placeholder name without the "
              "`%`, a value or a list (`Administrators: [\"admin*\", root]`); a rule using a placeholder it does not "
              "list is unsupported. Empty: none."},
      {.path = "detect.unmapped_logsources", .kind = ValueKind::kEnum,
       .field = MEDSOC_FIELD(detect.unmapped_logsources),
       .doc = "Which events a rule sees whose logsource no file in `content/logsources` maps (SigmaHQ's cisco, "
              "opencanary, github, ... rules). `product`: only events whose event.module, observer.product or "
              "observer.vendor is the product, or whose event.dataset is `product`, `product.service` or "
              "`product.category` (label a source with `dataset:` to feed them); `every_event`: all events "
              "(more false positives, slower).",
       .allowed = kUnmappedLogsources},
      {.path = "detect.threads", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(detect.threads),
       .doc = "Threads that evaluate one batch of events; 0: one per core.", .min = 0, .max = 256},
      {.path = "detect.correlation_max_groups", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(detect.correlation_max_groups),
       .doc = "Correlation groups kept in memory; beyond this the oldest are evicted and counted in /metrics.",
       .min = 100, .max = 100000000},
      {.path = "detect.correlation_max_entries_per_group", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(detect.correlation_max_entries_per_group),
       .doc = "Events remembered per correlation group.", .min = 10, .max = 10000000},
      {.path = "detect.correlation_checkpoint_seconds", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(detect.correlation_checkpoint_seconds),
       .doc = "How often correlation state is saved to `<data_dir>/detect/correlation.state` (also at shutdown).",
       .min = 5, .max = 86400},

      {.path = "assets.scan.allow", .kind = ValueKind::kString, .field = MEDSOC_FIELD(assets.scan.allow),
       .doc = "Networks server-side scans may touch, CIDR, comma separated; empty: private ranges only (RFC 1918, "
              "100.64/10, loopback, link-local)."},
      {.path = "assets.scan.exclude", .kind = ValueKind::kString, .field = MEDSOC_FIELD(assets.scan.exclude),
       .doc = "Networks never scanned, CIDR, comma separated."},
      {.path = "assets.scan.fragile", .kind = ValueKind::kString, .field = MEDSOC_FIELD(assets.scan.fragile),
       .doc = "Networks of fragile devices (medical devices, PLCs, printers): light probes, one at a time."},
      {.path = "assets.scan.windows", .kind = ValueKind::kString, .field = MEDSOC_FIELD(assets.scan.windows),
       .doc = "Maintenance windows in local time, `;` separated (`\"Mon-Fri 22:00-06:00; daily 01:00-05:00\"`); "
              "scans outside them are refused. Empty: any time."},
      {.path = "assets.scan.rate", .kind = ValueKind::kInt, .field = MEDSOC_FIELD(assets.scan.rate),
       .doc = "Probes per second of one scan; requests may ask for less, never more. 0: unlimited.", .min = 0,
       .max = 1000000},
      {.path = "assets.scan.type", .kind = ValueKind::kEnum, .field = MEDSOC_FIELD(assets.scan.type),
       .doc = "`syn`: raw-socket discovery (ARP, ICMP, TCP pings) and SYN port scans, needs CAP_NET_RAW; "
              "`connect`: TCP connect(); `auto`: SYN when the capability is there.",
       .allowed = kScanTypes},
      {.path = "assets.scan.default_ports", .kind = ValueKind::kString,
       .field = MEDSOC_FIELD(assets.scan.default_ports),
       .doc = "Ports of scans that name none: `22,80,8000-8100`, `top100`, `top1000`, `all`; `T:`/`U:` for TCP/UDP."},
      {.path = "assets.scan.snmp_community", .kind = ValueKind::kString,
       .field = MEDSOC_FIELD(assets.scan.snmp_community),
       .doc = "SNMP v2c community that UDP scans of port 161 use to read sysDescr and sysName; empty: no SNMP "
              "requests are sent.",
       .secret = true},
      {.path = "assets.schedule.targets", .kind = ValueKind::kString, .field = MEDSOC_FIELD(assets.schedule.targets),
       .doc = "Targets of the server's scheduled discovery scan (CIDR, ranges, addresses); empty: no scheduled scan."},
      {.path = "assets.schedule.ports", .kind = ValueKind::kString, .field = MEDSOC_FIELD(assets.schedule.ports),
       .doc = "Ports of the scheduled scan."},
      {.path = "assets.schedule.interval_minutes", .kind = ValueKind::kInt,
       .field = MEDSOC_FIELD(assets.schedule.interval_minutes),
       .doc = "Minutes between scheduled scans (counted from the last one recorded, so restarts do not reset it; "
              "the first runs at start-up, inside a maintenance window).",
       .min = 5, .max = 525600},
      {.path = "assets.schedule.tenant", .kind = ValueKind::kString, .field = MEDSOC_FIELD(assets.schedule.tenant),
       .doc = "Tenant whose asset ledger the scheduled scan feeds."},
  };
  return kSchema;
}

#undef MEDSOC_FIELD

// Top-level sections, in document order, for the reference and the example.
struct SectionDoc {
  std::string_view prefix;  // "" for the keys at the top level
  std::string_view title;
  std::string_view blurb;
};
constexpr SectionDoc kSections[] = {
    {"", "Top level", "Where medsoc keeps its state, and the key that protects stored secrets."},
    {"log", "log", "Where and how medsoc logs."},
    {"server", "server", "The HTTPS API and web portal: address, TLS and the limits that protect it."},
    {"auth", "auth", "Password policy, account lockout, sessions and API tokens."},
    {"store", "store", "The state database."},
    {"events", "events", "The event store: retention, size limit and compression of day partitions."},
    {"detect", "detect", "Sigma detection: extra rule folders, threads and correlation limits."},
    {"assets", "assets", "Discovery scans from the server: the safety policy, the scan type and a scheduled scan."},
};

// Top-level sections whose keys a module above core defines and checks itself (lists of
// listeners and files do not fit the scalar schema): core accepts them and leaves them alone.
constexpr std::string_view kDelegatedSections[] = {"ingest"};
bool IsDelegatedSection(std::string_view key) {
  for (auto d : kDelegatedSections)
    if (d == key) return true;
  return false;
}

const KeySpec* FindKey(std::string_view path) {
  for (const KeySpec& k : Schema())
    if (k.path == path) return &k;
  return nullptr;
}

// Every proper prefix of a key path: "server", "server.tls", "auth", ...
const std::set<std::string, std::less<>>& SectionPaths() {
  static const std::set<std::string, std::less<>> kPaths = [] {
    std::set<std::string, std::less<>> out;
    for (const KeySpec& k : Schema())
      for (std::size_t dot = k.path.find('.'); dot != std::string_view::npos; dot = k.path.find('.', dot + 1))
        out.emplace(k.path.substr(0, dot));
    return out;
  }();
  return kPaths;
}

std::string EnvName(std::string_view path) {
  std::string out = "MEDSOC_";
  for (char c : path) out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values: parsing text by kind, formatting defaults.

// User text as it may appear in a one-line message: at most kMaxEchoChars, control characters
// escaped (a key or value with a newline must not split "one problem per line").
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxEchoChars)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (text.size() > kMaxEchoChars) out += "...";
  return out;
}

std::string Echo(std::string_view text) { return "'" + Printable(text) + "'"; }

std::string EchoValue(const KeySpec& spec, std::string_view text) {
  return spec.secret ? std::string("(secret value not shown)") : Echo(text);
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The candidate closest to `word`, if it is close enough to be a plausible typo. With
// `prefixes`, a candidate that begins `word` or that `word` begins ("warning" for "warn") counts
// as one edit away.
std::optional<std::string> Closest(std::string_view word, const std::vector<std::string>& candidates,
                                   bool prefixes = false) {
  if (word.empty() || word.size() > 64) return std::nullopt;  // bounded cost on hostile input
  std::size_t best = SIZE_MAX;
  const std::string* best_word = nullptr;
  for (const std::string& c : candidates) {
    std::size_t d = EditDistance(word, c);
    if (prefixes && (word.starts_with(c) || std::string_view(c).starts_with(word))) d = std::min<std::size_t>(d, 1);
    if (d < best) {
      best = d;
      best_word = &c;
    }
  }
  std::size_t limit = std::max<std::size_t>(2, word.size() / 4);
  if (best_word && best <= limit) return *best_word;
  return std::nullopt;
}

// Suggestion for an unknown key path: a known key or section a typo away, or a known key with the
// same last name in another section (a key put under the wrong section).
std::optional<std::string> SuggestKey(std::string_view path) {
  std::vector<std::string> candidates;
  for (const KeySpec& k : Schema()) candidates.emplace_back(k.path);
  for (const std::string& s : SectionPaths()) candidates.push_back(s);
  if (auto c = Closest(path, candidates)) return c;
  std::string_view leaf = path.substr(path.rfind('.') == std::string_view::npos ? 0 : path.rfind('.') + 1);
  for (const KeySpec& k : Schema()) {
    std::size_t dot = k.path.rfind('.');
    std::string_view k_leaf = dot == std::string_view::npos ? k.path : k.path.substr(dot + 1);
    if (k_leaf == leaf) return std::string(k.path);
  }
  return std::nullopt;
}

std::string AllowedList(std::span<const std::string_view> allowed) {
  std::string out;
  for (std::string_view a : allowed) {
    if (!out.empty()) out += ", ";
    out += a;
  }
  return out;
}

bool ParseInt(std::string_view text, std::int64_t& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "1048576", "1MiB", "16 KiB", "512B".
bool ParseSize(std::string_view text, std::uint64_t& out) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return false;
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (ec != std::errc()) return false;
  std::string_view unit = text.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "KiB") shift = 10;
  else if (unit == "MiB") shift = 20;
  else if (unit == "GiB") shift = 30;
  else if (unit == "TiB") shift = 40;
  else return false;
  if (shift > 0 && n > (UINT64_MAX >> shift)) return false;
  out = n << shift;
  return true;
}

std::string FormatSize(std::uint64_t n) {
  static constexpr std::pair<int, std::string_view> kUnits[] = {{40, "TiB"}, {30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
  for (auto [shift, unit] : kUnits)
    if (n != 0 && n % (std::uint64_t{1} << shift) == 0) return std::to_string(n >> shift) + std::string(unit);
  return std::to_string(n);
}

std::string_view KindName(const KeySpec& spec) {
  switch (spec.kind) {
    case ValueKind::kString: return "a string";
    case ValueKind::kInt: return "an integer";
    case ValueKind::kSize: return "a size";
    case ValueKind::kBool: return "true or false";
    case ValueKind::kEnum: return "one of the allowed words";
  }
  return "a value";
}

// Parses `text` by the rules of `spec` and stores it in `out`. Returns why it cannot, without the
// key name (callers add the file position and key, or the environment variable).
std::optional<std::string> SetFromText(const KeySpec& spec, std::string_view text, Options& out) {
  switch (spec.kind) {
    case ValueKind::kString:
    case ValueKind::kEnum: {
      if (spec.kind == ValueKind::kEnum &&
          std::find(spec.allowed.begin(), spec.allowed.end(), text) == spec.allowed.end()) {
        std::string why = EchoValue(spec, text) + " is not one of: " + AllowedList(spec.allowed);
        std::vector<std::string> words(spec.allowed.begin(), spec.allowed.end());
        if (auto c = Closest(text, words, /*prefixes=*/true)) why += "; did you mean '" + *c + "'?";
        return why;
      }
      if (spec.check)
        if (auto why = spec.check(text)) return "invalid value " + EchoValue(spec, text) + ": " + *why;
      std::get<StringField>(spec.field)(out) = std::string(text);
      return std::nullopt;
    }
    case ValueKind::kInt: {
      std::int64_t v = 0;
      if (!ParseInt(text, v)) return "expected an integer, got " + EchoValue(spec, text);
      if (v < spec.min || v > spec.max)
        return std::to_string(v) + " is out of range (" + std::to_string(spec.min) + ".." + std::to_string(spec.max) +
               ")";
      if (auto* f = std::get_if<IntField>(&spec.field)) (*f)(out) = static_cast<int>(v);
      else std::get<U32Field>(spec.field)(out) = static_cast<std::uint32_t>(v);
      return std::nullopt;
    }
    case ValueKind::kSize: {
      std::uint64_t v = 0;
      if (!ParseSize(text, v))
        return "expected a size in bytes, optionally with a unit (e.g. 1048576 or 1MiB), got " + EchoValue(spec, text);
      if (v < static_cast<std::uint64_t>(spec.min) || v > static_cast<std::uint64_t>(spec.max))
        return FormatSize(v) + " is out of range (" + FormatSize(static_cast<std::uint64_t>(spec.min)) + ".." +
               FormatSize(static_cast<std::uint64_t>(spec.max)) + ")";
      std::get<U64Field>(spec.field)(out) = v;
      return std::nullopt;
    }
    case ValueKind::kBool: {
      bool v;
      if (text == "true") v = true;
      else if (text == "false") v = false;
      else return "expected true or false, got " + EchoValue(spec, text);
      std::get<BoolField>(spec.field)(out) = v;
      return std::nullopt;
    }
  }
  return "unsupported value kind";
}

// The value of `spec` in `options`, as it is written in YAML (unquoted).
std::string FormatValue(const KeySpec& spec, Options& options) {
  return std::visit(
      [&](auto field) -> std::string {
        auto& v = field(options);
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, std::string>) return v;
        else if constexpr (std::is_same_v<V, bool>) return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, std::uint64_t>) return FormatSize(v);
        else return std::to_string(v);
      },
      spec.field);
}

std::string DefaultText(const KeySpec& spec) {
  Options defaults;
  return FormatValue(spec, defaults);
}

std::optional<std::string> CheckListen(std::string_view v) {
  if (v.empty()) return std::nullopt;
  constexpr std::string_view kForm = "expected HOST:PORT, e.g. 127.0.0.1:8443, 0.0.0.0:8443 or [::1]:8443";
  std::string_view host, port;
  if (v.front() == '[') {
    std::size_t close = v.find(']');
    if (close == std::string_view::npos) return "IPv6 address is missing its closing ']'";
    host = v.substr(1, close - 1);
    if (close + 1 >= v.size() || v[close + 1] != ':') return std::string(kForm);
    port = v.substr(close + 2);
    std::string h(host);
    in6_addr addr{};
    if (inet_pton(AF_INET6, h.c_str(), &addr) != 1) return "'" + h + "' is not an IPv6 address";
  } else {
    std::size_t colon = v.rfind(':');
    if (colon == std::string_view::npos) return std::string(kForm);
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return "an IPv6 address must be in brackets, e.g. [::1]:8443";
    if (host.empty()) return "the host is missing (0.0.0.0 listens on every IPv4 interface)";
    for (char c : host)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
        return "the host may contain only letters, digits, '.' and '-'";
  }
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return "the port must be a number from 1 to 65535";
  int p = std::stoi(std::string(port));
  if (p < 1 || p > 65535) return "the port must be a number from 1 to 65535";
  return std::nullopt;
}

std::optional<std::string> CheckMasterKey(std::string_view v) {
  if (v.empty()) return std::nullopt;
  if (v.size() != 64)
    return "must be 64 hexadecimal characters (32 bytes), got " + std::to_string(v.size()) + " characters";
  if (!std::all_of(v.begin(), v.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }))
    return "must be 64 hexadecimal characters (32 bytes); it contains other characters";
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Reader: YAML events -> YamlNode tree.

struct YamlNode {
  enum class Kind { kNull, kScalar, kMap, kSequence };
  Kind kind = Kind::kNull;
  int line = 0;  // 1-based
  int column = 0;
  std::string value;                                     // kScalar
  std::vector<std::pair<YamlNode*, YamlNode*>> entries;  // kMap, in document order
  std::vector<YamlNode*> items;                          // kSequence
};

std::string_view KindWord(YamlNode::Kind k) {
  switch (k) {
    case YamlNode::Kind::kNull: return "nothing";
    case YamlNode::Kind::kScalar: return "a scalar";
    case YamlNode::Kind::kMap: return "a mapping";
    case YamlNode::Kind::kSequence: return "a sequence";
  }
  return "a node";
}

// Thrown by the builder to stop the parser; caught in ReadYaml.
struct ReadAbort {
  YAML::Mark mark;
  std::string message;
};

// Builds the tree from parser events. Nodes live in `arena`; aliases point at the anchored node
// (which must be complete), so repeated aliases cost nothing and cycles cannot form.
class TreeBuilder final : public YAML::EventHandler {
 public:
  YamlNode* root() const { return root_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > 1) throw ReadAbort{mark, "only one YAML document is allowed in a configuration file"};
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Complete(New(YamlNode::Kind::kNull, mark), anchor);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw ReadAbort{mark, "alias refers to an anchor that is not complete here"};
    Add(it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    YamlNode* n = New(YamlNode::Kind::kScalar, mark);
    n->value = value;
    Complete(n, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(New(YamlNode::Kind::kSequence, mark), anchor, mark);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(New(YamlNode::Kind::kMap, mark), anchor, mark);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YamlNode* node;
    YAML::anchor_t anchor;
    YamlNode* pending_key = nullptr;
  };

  YamlNode* New(YamlNode::Kind kind, const YAML::Mark& mark) {
    arena_.push_back(std::make_unique<YamlNode>());
    YamlNode* n = arena_.back().get();
    n->kind = kind;
    n->line = mark.line + 1;
    n->column = mark.column + 1;
    return n;
  }
  void Open(YamlNode* n, YAML::anchor_t anchor, const YAML::Mark& mark) {
    if (stack_.size() >= kMaxNesting)
      throw ReadAbort{mark, "nesting deeper than " + std::to_string(kMaxNesting) + " levels"};
    stack_.push_back({n, anchor});
  }
  void Close() {
    if (stack_.empty()) return;
    Frame f = stack_.back();
    stack_.pop_back();
    Complete(f.node, f.anchor);
  }
  void Complete(YamlNode* n, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = n;
    Add(n);
  }
  void Add(YamlNode* n) {
    if (stack_.empty()) {
      root_ = n;
      return;
    }
    Frame& top = stack_.back();
    if (top.node->kind == YamlNode::Kind::kSequence) {
      top.node->items.push_back(n);
    } else if (top.pending_key == nullptr) {
      top.pending_key = n;
    } else {
      top.node->entries.emplace_back(top.pending_key, n);
      top.pending_key = nullptr;
    }
  }

  std::vector<std::unique_ptr<YamlNode>> arena_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, YamlNode*> anchors_;
  YamlNode* root_ = nullptr;
  int documents_ = 0;
};

// Parses `yaml` into `builder`. Returns the syntax error, if any.
std::optional<Error> ReadYaml(std::string_view yaml, const std::string& file, TreeBuilder& builder) {
  auto at = [&](const YAML::Mark& m, std::string message) {
    // yaml-cpp reports -1 for "no position".
    return Error(ErrorCode::kParse, std::move(message),
                 SourcePos{file, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0});
  };
  try {
    std::istringstream in{std::string(yaml)};
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const ReadAbort& e) {
    return at(e.mark, e.message);
  } catch (const YAML::Exception& e) {
    return at(e.mark, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, std::string("YAML parser failed: ") + e.what(), SourcePos{file, 0, 0});
  } catch (...) {
    return Error(ErrorCode::kInternal, "YAML parser failed", SourcePos{file, 0, 0});
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Walker: tree -> Options, along the schema.

class Walker {
 public:
  Walker(const std::string& file, Options& out, std::vector<Error>& errors)
      : file_(file), out_(out), errors_(errors) {}

  void WalkRoot(const YamlNode* root) {
    if (root == nullptr || root->kind == YamlNode::Kind::kNull) return;  // empty file: all defaults
    if (root->kind != YamlNode::Kind::kMap) {
      Report(root, "the configuration must be a mapping of keys and sections, got " +
                       std::string(KindWord(root->kind)));
      return;
    }
    WalkMap(*root, "");
  }

  // Checks between keys, after the walk.
  void CheckPairs() {
    const auto& tls = out_.server.tls;
    if (!tls.cert_file.empty() && tls.key_file.empty())
      ReportAt("server.tls.cert_file", "server.tls.key_file: required when server.tls.cert_file is set");
    if (tls.cert_file.empty() && !tls.key_file.empty())
      ReportAt("server.tls.key_file", "server.tls.cert_file: required when server.tls.key_file is set");
  }

 private:
  void WalkMap(const YamlNode& map, const std::string& prefix) {
    std::map<std::string, const YamlNode*, std::less<>> seen;
    for (const auto& [key, value] : map.entries) {
      if (key->kind != YamlNode::Kind::kScalar) {
        Report(key, (prefix.empty() ? std::string() : prefix + ": ") + "a key must be a plain word, got " +
                        std::string(KindWord(key->kind)));
        continue;
      }
      std::string path = prefix.empty() ? key->value : prefix + "." + key->value;
      if (auto [it, inserted] = seen.emplace(key->value, key); !inserted) {
        Report(key, Printable(path) + ": duplicate key (first at line " + std::to_string(it->second->line) +
                        ", column " + std::to_string(it->second->column) + ")");
        continue;
      }
      if (key->value.find('.') != std::string::npos) {
        ReportUnknown(*key, path);  // "server.listen:" must not bypass the section structure
      } else if (const KeySpec* spec = FindKey(path)) {
        SetLeaf(*spec, *value);
        positions_[spec->path] = value;
      } else if (prefix.empty() && IsDelegatedSection(path)) {
        // Validated by the module that owns it (e.g. ingest::CheckIngestSection); `medsoc config
        // check` runs those checks too.
      } else if (SectionPaths().count(path)) {
        if (value->kind == YamlNode::Kind::kMap) WalkMap(*value, path);
        else if (value->kind != YamlNode::Kind::kNull)
          Report(value, path + ": expected a mapping of keys (this is a section), got " +
                            std::string(KindWord(value->kind)));
      } else {
        ReportUnknown(*key, path);
      }
    }
  }

  void SetLeaf(const KeySpec& spec, const YamlNode& value) {
    if (value.kind == YamlNode::Kind::kNull) return;  // `key:` or `key: ~` keeps the default
    if (value.kind != YamlNode::Kind::kScalar) {
      Report(&value, std::string(spec.path) + ": expected " + std::string(KindName(spec)) + ", got " +
                         std::string(KindWord(value.kind)));
      return;
    }
    if (auto why = SetFromText(spec, value.value, out_)) Report(&value, std::string(spec.path) + ": " + *why);
  }

  void ReportUnknown(const YamlNode& key, const std::string& path) {
    std::string shown = Printable(path);
    if (key.value.find('.') != std::string::npos && (FindKey(path) || SectionPaths().count(path))) {
      Report(&key, shown + ": dotted keys are not supported; nest the sections (`server:` then `  listen: ...`)");
      return;
    }
    std::string message = shown + ": unknown key";
    if (auto s = SuggestKey(path)) message += "; did you mean '" + *s + "'?";
    Report(&key, std::move(message));
  }

  void Report(const YamlNode* at, std::string message) {
    errors_.emplace_back(ErrorCode::kInvalidArgument, std::move(message), SourcePos{file_, at->line, at->column});
  }
  void ReportAt(std::string_view path, std::string message) {
    auto it = positions_.find(path);
    if (it != positions_.end()) Report(it->second, std::move(message));
    else errors_.emplace_back(ErrorCode::kInvalidArgument, std::move(message), SourcePos{file_, 0, 0});
  }

  const std::string& file_;
  Options& out_;
  std::vector<Error>& errors_;
  std::map<std::string_view, const YamlNode*, std::less<>> positions_;
};

// Parses and walks `yaml` into `out`, appending every problem to `errors`.
void Load(std::string_view yaml, const std::string& file, Options& out, std::vector<Error>& errors) {
  if (yaml.size() > kMaxConfigBytes) {
    errors.emplace_back(ErrorCode::kResourceExhausted,
                        "configuration is " + std::to_string(yaml.size()) + " bytes; the limit is 1 MiB",
                        SourcePos{file, 0, 0});
    return;
  }
  TreeBuilder builder;
  if (auto syntax = ReadYaml(yaml, file, builder)) {
    errors.push_back(std::move(*syntax));
    return;  // a half-read tree would only add confusing follow-up errors
  }
  std::size_t first = errors.size();
  Walker walker(file, out, errors);
  walker.WalkRoot(builder.root());
  walker.CheckPairs();
  // Document order; problems without a line (none today) go last.
  std::stable_sort(errors.begin() + static_cast<std::ptrdiff_t>(first), errors.end(),
                   [](const Error& a, const Error& b) {
                     auto key = [](const Error& e) {
                       int line = e.pos() && e.pos()->line > 0 ? e.pos()->line : INT_MAX;
                       return std::pair(line, e.pos() ? e.pos()->column : 0);
                     };
                     return key(a) < key(b);
                   });
}

Error Combine(const std::vector<Error>& errors) {
  std::string message;
  for (const Error& e : errors) {
    if (!message.empty()) message += '\n';
    message += e.ToString();
  }
  return Error(errors.front().code(), std::move(message));
}

// Markdown table cells may not contain '|' or line breaks.
std::string Cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string TypeText(const KeySpec& spec) {
  std::string out;
  switch (spec.kind) {
    case ValueKind::kString: out = "string"; break;
    case ValueKind::kInt: out = "integer, " + std::to_string(spec.min) + "–" + std::to_string(spec.max); break;
    case ValueKind::kSize:
      out = "size, " + FormatSize(static_cast<std::uint64_t>(spec.min)) + "–" +
            FormatSize(static_cast<std::uint64_t>(spec.max));
      break;
    case ValueKind::kBool: out = "boolean"; break;
    case ValueKind::kEnum: {
      out = "one of ";
      for (std::size_t i = 0; i < spec.allowed.size(); ++i) {
        if (i) out += ", ";
        out += "`" + std::string(spec.allowed[i]) + "`";
      }
      break;
    }
  }
  if (spec.secret) out += " (secret)";
  return out;
}

bool InSection(const KeySpec& spec, std::string_view prefix) {
  if (prefix.empty()) return spec.path.find('.') == std::string_view::npos;
  return spec.path.size() > prefix.size() && spec.path.substr(0, prefix.size()) == prefix &&
         spec.path[prefix.size()] == '.';
}

// A YAML double-quoted scalar.
std::string YamlQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::vector<Error> CheckConfig(std::string_view yaml, const std::string& file_name) {
  std::vector<Error> errors;
  Options scratch;
  try {
    Load(yaml, file_name, scratch, errors);
  } catch (const std::exception& e) {  // bad_alloc and the like: never cross the module boundary
    errors.emplace_back(ErrorCode::kInternal, std::string("checking the configuration failed: ") + e.what(),
                        SourcePos{file_name, 0, 0});
  }
  return errors;
}

Result<Options> LoadConfigString(std::string_view yaml, const std::string& file_name) {
  std::vector<Error> errors;
  Options options;
  try {
    Load(yaml, file_name, options, errors);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, file_name + ": loading the configuration failed: " + e.what());
  }
  if (!errors.empty()) return Combine(errors);
  return options;
}

Result<Options> LoadConfigFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return Error(ErrorCode::kIo, "cannot open configuration file '" + path + "': " + std::strerror(errno));
  std::string text;
  char buf[16384];
  bool failed = false;
  int read_errno = 0;
  while (text.size() <= kMaxConfigBytes) {
    std::size_t n = std::fread(buf, 1, sizeof buf, f);
    text.append(buf, n);
    if (n < sizeof buf) {
      if (std::ferror(f)) {
        failed = true;
        read_errno = errno;
      }
      break;
    }
  }
  std::fclose(f);
  if (failed)
    return Error(ErrorCode::kIo, "cannot read configuration file '" + path + "': " + std::strerror(read_errno));
  if (text.size() > kMaxConfigBytes)
    return Error(ErrorCode::kResourceExhausted, "configuration file '" + path + "' is larger than 1 MiB");
  return LoadConfigString(text, path);
}

Status ApplyEnvironment(Options& options, const char* (*getenv_fn)(const char*)) try {
  if (getenv_fn == nullptr) getenv_fn = [](const char* name) -> const char* { return std::getenv(name); };
  std::vector<Error> errors;
  Options updated = options;  // all or nothing: a bad variable leaves `options` untouched
  for (const KeySpec& spec : Schema()) {
    std::string name = EnvName(spec.path);
    const char* value = getenv_fn(name.c_str());
    if (value == nullptr || *value == '\0') continue;  // empty counts as unset
    if (auto why = SetFromText(spec, value, updated))
      errors.emplace_back(ErrorCode::kInvalidArgument, name + " (" + std::string(spec.path) + "): " + *why);
  }
  const auto& tls = updated.server.tls;
  if (!tls.cert_file.empty() && tls.key_file.empty())
    errors.emplace_back(ErrorCode::kInvalidArgument,
                        "server.tls.key_file (MEDSOC_SERVER_TLS_KEY_FILE): required when server.tls.cert_file is set");
  if (tls.cert_file.empty() && !tls.key_file.empty())
    errors.emplace_back(ErrorCode::kInvalidArgument,
                        "server.tls.cert_file (MEDSOC_SERVER_TLS_CERT_FILE): required when server.tls.key_file is set");
  if (!errors.empty()) return Combine(errors);
  options = std::move(updated);
  return Ok();
} catch (const std::exception& e) {
  return Error(ErrorCode::kInternal, std::string("applying the environment failed: ") + e.what());
}

std::string ConfigReferenceMarkdown() {
  std::string md;
  md += "# Configuration reference\n\n";
  md += "<!-- Generated from the schema table in src/core/config.cpp by `medsoc config reference`.\n"
        "     Do not edit by hand: change the table and regenerate. -->\n\n";
  md += "medsoc reads its settings from one YAML file. Every key is optional: an empty file is a valid\n"
        "configuration with every key at its default. `content/medsoc.example.yaml` lists every key at its\n"
        "default with a comment.\n\n";
  md += "Check a file without starting the service:\n\n"
        "```sh\n"
        "medsoc config check FILE\n"
        "```\n\n";
  md += "## Rules\n\n";
  md += "- Sections are nested mappings: `server:`, then `  tls:`, then `    cert_file: ...`. Dotted keys\n"
        "  such as `server.listen:` are not accepted.\n"
        "- Unknown keys are errors, so that a misspelt key does not silently fall back to its default; the\n"
        "  message suggests the closest known key.\n"
        "- Every problem in the file is reported at once, each as `file:line:column: key: reason`.\n"
        "- A key with no value (`key:` or `key: ~`) keeps its default. Duplicate keys are errors.\n"
        "- Sizes are bytes, optionally with a binary unit: `B`, `KiB`, `MiB`, `GiB`, `TiB` (`16KiB`).\n"
        "- Files larger than 1 MiB, nesting deeper than 64 levels and more than one YAML document are\n"
        "  rejected.\n\n";
  md += "## Environment variables\n\n";
  md += "Every key can also be set by an environment variable named `MEDSOC_` followed by the key path in\n"
        "upper case with dots replaced by underscores: `server.tls.key_password` is\n"
        "`MEDSOC_SERVER_TLS_KEY_PASSWORD`. The environment wins over the file. Values follow the same rules\n"
        "as in the file, and errors name the variable. An empty variable counts as unset. The pair\n"
        "`server.tls.cert_file` and `server.tls.key_file` is checked in the file and again after the\n"
        "environment is applied, so set both in the same place.\n\n";
  md += "## Secrets\n\n";
  md += "Keys marked *secret* (";
  bool first = true;
  for (const KeySpec& spec : Schema()) {
    if (!spec.secret) continue;
    if (!first) md += ", ";
    md += "`" + std::string(spec.path) + "`";
    first = false;
  }
  md += ") should come from the environment\n"
        "(for example a systemd `EnvironmentFile=` readable only by root). If a secret is written in the\n"
        "configuration file, the file must be readable only by the service user\n"
        "(`chown medsoc: medsoc.yaml && chmod 600 medsoc.yaml`). Error messages never repeat secret values.\n\n";
  md += "## Command line\n\n";
  md += "`--data DIR` overrides `data_dir` (and `MEDSOC_DATA_DIR`). Precedence, highest first: command line,\n"
        "environment, configuration file, default.\n";

  for (const SectionDoc& section : kSections) {
    md += "\n## " + std::string(section.title) + "\n\n";
    md += std::string(section.blurb) + "\n\n";
    md += "| Key | Type | Default | Environment variable | Description |\n";
    md += "|-----|------|---------|----------------------|-------------|\n";
    for (const KeySpec& spec : Schema()) {
      if (!InSection(spec, section.prefix)) continue;
      std::string def = DefaultText(spec);
      std::string def_cell = spec.kind == ValueKind::kString || spec.kind == ValueKind::kEnum
                                 ? (def.empty() ? "empty" : "`" + def + "`")
                                 : "`" + def + "`";
      md += "| `" + std::string(spec.path) + "` | " + Cell(TypeText(spec)) + " | " + Cell(def_cell) + " | `" +
            EnvName(spec.path) + "` | " + Cell(spec.doc) + " |\n";
    }
  }
  return md;
}

std::vector<ConfigEntry> EffectiveConfig(const Options& options) {
  Options copy = options;  // FormatValue reads through the schema's mutable accessors
  std::vector<ConfigEntry> out;
  for (const KeySpec& spec : Schema()) {
    ConfigEntry e{.key = std::string(spec.path), .value = FormatValue(spec, copy),
                  .default_value = DefaultText(spec), .secret = spec.secret};
    if (spec.secret) {
      e.value = e.value.empty() ? "" : "(set)";
      e.default_value = "";
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string ExampleConfigYaml() {
  std::string y;
  y += "# medsoc configuration: every key at its default, with what it does.\n"
       "# Generated from the schema in src/core/config.cpp; the reference is docs/configuration.md.\n"
       "# Every key is optional: keep only what you change. Check a file with `medsoc config check FILE`.\n"
       "# Any key can be overridden by the environment: MEDSOC_ + the key path in upper case with\n"
       "# '.' -> '_' (server.tls.key_password -> MEDSOC_SERVER_TLS_KEY_PASSWORD).\n"
       "# Secrets are commented out: set them in the environment, or make this file readable only by\n"
       "# the service user.\n";
  std::vector<std::string_view> open;  // the sections currently open, outermost first
  for (const KeySpec& spec : Schema()) {
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
      std::size_t dot = spec.path.find('.', start);
      parts.push_back(spec.path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
    std::size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    open.resize(common);
    while (open.size() + 1 < parts.size()) {
      if (open.empty()) y += '\n';
      y += std::string(open.size() * 2, ' ') + std::string(parts[open.size()]) + ":\n";
      open.push_back(parts[open.size()]);
    }
    if (open.empty()) y += '\n';
    std::string indent(open.size() * 2, ' ');
    std::string comment = std::string(spec.doc);
    switch (spec.kind) {
      case ValueKind::kInt:
        comment += " (" + std::to_string(spec.min) + ".." + std::to_string(spec.max) + ")";
        break;
      case ValueKind::kSize:
        comment += " (" + FormatSize(static_cast<std::uint64_t>(spec.min)) + ".." +
                   FormatSize(static_cast<std::uint64_t>(spec.max)) + ")";
        break;
      case ValueKind::kEnum: comment += " One of: " + AllowedList(spec.allowed) + "."; break;
      default: break;
    }
    y += indent + "# " + comment + "\n";
    std::string def = DefaultText(spec);
    std::string value = spec.kind == ValueKind::kString || spec.kind == ValueKind::kEnum ? YamlQuote(def) : def;
    if (spec.secret) {
      y += indent + "# Secret: prefer " + EnvName(spec.path) + " in the environment.\n";
      y += indent + "# " + std::string(parts.back()) + ": " + value + "\n";
    } else {
      y += indent + std::string(parts.back()) + ": " + value + "\n";
    }
  }
  return y;
}

}  // namespace medsoc::core
