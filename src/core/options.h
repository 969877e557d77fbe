// Typed configuration: the whole medsoc.yaml as structs. Every field has a default and a comment;
// core/config.cpp's schema table maps each YAML key to one field here and generates
// docs/configuration.md from the same table. Each module receives only its own section.
#pragma once

#include <cstdint>
#include <string>

namespace medsoc {

struct LogOptions {
  std::string level = "info";   // trace, debug, info, warn, error, critical, off
  std::string format = "text";  // text or json (one JSON object per line)
  std::string file;             // empty: standard error
};

struct TlsOptions {
  std::string cert_file;             // PEM certificate chain; TLS is on when this is set
  std::string key_file;              // PEM private key
  std::string key_password;          // secret; env MEDSOC_SERVER_TLS_KEY_PASSWORD
  std::string min_version = "1.2";   // 1.2 or 1.3
};

struct ServerOptions {
  std::string listen;                        // HOST:PORT; empty: 127.0.0.1:8443 with TLS, else 127.0.0.1:8080
  TlsOptions tls;
  int threads = 0;                           // I/O threads; 0: one per core
  std::uint64_t max_body_bytes = 1 << 20;    // larger request bodies get 413
  std::uint64_t max_header_bytes = 16 << 10; // larger request headers get 431
  int request_timeout_seconds = 30;          // whole-request read deadline; slow clients are cut off
  int idle_timeout_seconds = 60;             // keep-alive connections idle longer are closed
  int shutdown_grace_seconds = 10;           // on SIGTERM, in-flight requests get this long
  std::uint32_t max_connections = 1024;      // further connections are refused until some close
  std::string portal_dir;                    // built web portal; empty: <binary dir>/../share/medsoc/web or web/dist
};

struct PasswordPolicyOptions {
  int min_length = 12;     // characters (code points)
  int min_classes = 3;     // of: lowercase, uppercase, digits, symbols
  int history = 5;         // a new password may not equal any of the last N
  int max_age_days = 90;   // 0: never expires; an expired password must be changed at next login
};

struct AuthOptions {
  PasswordPolicyOptions password;
  int lockout_threshold = 5;          // failed logins within the window that lock the account
  int lockout_window_minutes = 15;
  int lockout_duration_minutes = 15;  // how long the account stays locked
  int source_failure_threshold = 20;  // failed logins from one address within the window that make it
                                      // wait (429) for the rest of the window: stops password spraying
                                      // across many accounts; 0: off
  int session_idle_minutes = 30;      // idle sessions expire
  int session_max_hours = 12;         // absolute session lifetime
  int token_max_days = 365;           // API tokens expire after at most this many days
  std::string argon2_strength = "moderate";  // interactive, moderate or sensitive (libsodium limits)
};

struct StoreOptions {
  std::string backend = "sqlite";    // only sqlite for now
  int busy_timeout_ms = 5000;        // SQLite busy timeout
};

struct EventStoreOptions {
  int retention_days = 180;          // whole day partitions older than this are dropped (China: >= 180)
  std::uint64_t max_bytes = 0;       // emergency limit on all partitions; oldest dropped first; 0: none
  int compress_after_days = 7;       // partitions older than this are compressed with zstd
  int query_timeout_seconds = 30;    // a search running longer is stopped
};

struct DetectOptions {
  std::string sigmahq_dir;                  // optional SigmaHQ rules folder loaded beside ours; empty: none
  std::string placeholders_file;            // YAML: values of Sigma `expand` placeholders; empty: none
  std::string unmapped_logsources = "product";  // product or every_event (detect::CompileOptions)
  int threads = 0;                          // detection threads per batch; 0: all cores
  int correlation_max_groups = 200000;      // correlation groups kept in memory (evictions are counted)
  int correlation_max_entries_per_group = 10000;
  int correlation_checkpoint_seconds = 60;  // how often correlation state is saved to the data dir
};

// Server-side discovery scans: the policy every scan from the server follows, and one scheduled
// scan (assets/scan_service.h turns these into ScanServiceOptions and checks the values).
struct AssetsScanOptions {
  std::string allow;                  // CIDR list a scan may touch; empty: private ranges only
  std::string exclude;                // CIDR list never touched
  std::string fragile;                // CIDR list of fragile devices: light probes only
  std::string windows;                // maintenance windows, ';' separated; empty: any time
  int rate = 2000;                    // probes per second, whole scan
  std::string type = "auto";          // auto, connect or syn
  std::string default_ports = "top1000";
  std::string snmp_community;         // SNMP v2c community for sysDescr; empty: no SNMP requests
};

struct AssetsScheduleOptions {
  std::string targets;                // target spec; empty: no scheduled scan
  std::string ports = "top1000";
  int interval_minutes = 1440;
  std::string tenant = "default";
};

struct AssetsOptions {
  AssetsScanOptions scan;
  AssetsScheduleOptions schedule;
};

struct Options {
  std::string data_dir = "./var";    // state database, events, keys; --data overrides it
  std::string content_dir;           // rules, field catalog, vendor mappings; empty: found beside the binary
  std::string master_key;            // secret, 32 bytes hex; env MEDSOC_MASTER_KEY; empty: <data_dir>/master.key
  LogOptions log;
  ServerOptions server;
  AuthOptions auth;
  StoreOptions store;
  EventStoreOptions events;
  DetectOptions detect;
  AssetsOptions assets;
};

}  // namespace medsoc
