// IngestOptions: the `ingest:` section of medsoc.yaml as typed structs (parsed by
// ingest/config_ingest.h). Every field has a default and a comment.
//
//   ingest:
//     parse_workers: 2
//     listeners:
//       - name: fw-tcp
//         protocol: tcp            # udp | tcp | tls
//         listen: 0.0.0.0:6514
//         tenant: default
//         source: firewalls
//         format: auto             # auto or a parser name (rfc3164, rfc5424, cef, ...)
//         dataset: his.audit       # optional: event.dataset of every event (else the parser's)
//         timezone: "+08:00"
//         allow: [10.0.0.0/8, 192.168.1.5]
//         senders:                 # optional: sender address -> tenant/source
//           - match: 10.1.0.0/16
//             source: his-servers
//             dataset: his.audit
//         tls: {cert_file: ..., key_file: ..., ca_file: ..., require_client_cert: true}
//     files:
//       - path: /var/log/nginx/access.log*   # a path or a glob
//         source: nginx
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace medsoc::ingest {

enum class ListenerProtocol { kUdp, kTcp, kTls };

// Maps senders (by address) to a tenant and/or source name other than the listener's.
struct SenderMapping {
  std::string match;   // CIDR or single address
  std::string tenant;  // empty: the listener's
  std::string source;  // empty: the listener's
  std::string dataset; // empty: the listener's
};

struct ListenerTlsOptions {
  std::string cert_file;             // PEM certificate chain (required for protocol tls)
  std::string key_file;              // PEM private key
  std::string ca_file;               // PEM CA bundle for client certificates
  bool require_client_cert = false;  // refuse senders without a certificate signed by ca_file
  std::string min_version = "1.2";   // 1.2 or 1.3
};

struct ListenerOptions {
  std::string name;                        // unique; used in metrics and logs
  ListenerProtocol protocol = ListenerProtocol::kUdp;
  std::string listen = "127.0.0.1:514";    // HOST:PORT (port 0: ephemeral, for tests)
  std::string tenant = "default";          // tenant the events belong to
  std::string source;                      // source name on events; empty: the listener name
  std::string format = "auto";             // auto or a parser name
  // event.dataset on every event of this listener (his.audit, pacs.dicom, hl7.interface, vpn.auth),
  // replacing the parser's; empty: the parser's (linux.sshd, fortigate.traffic, ...).
  std::string dataset;
  int tz_offset_minutes = 480;             // `timezone`, for timestamps without a zone (RFC 3164)
  std::vector<std::string> allow;          // sender CIDRs allowed; empty: everyone
  std::vector<SenderMapping> senders;      // first match wins
  ListenerTlsOptions tls;                  // protocol tls only
  std::uint32_t max_message_bytes = 64 * 1024;  // longer messages are truncated and flagged
  int idle_timeout_seconds = 600;          // TCP/TLS connections idle longer are closed
  std::uint32_t max_connections = 1000;    // TCP/TLS; further connections are refused
  std::uint32_t udp_receive_buffer_bytes = 8 << 20;  // SO_RCVBUF asked for (the kernel may cap it)
};

struct FileSourceOptions {
  std::string path;                 // a file or a glob (*, ?, [..]) of files to tail
  std::string tenant = "default";
  std::string source;               // empty: the path
  std::string format = "auto";
  std::string dataset;              // event.dataset on every event (see ListenerOptions::dataset)
  int tz_offset_minutes = 480;      // `timezone`
  bool start_at_beginning = true;   // a file seen for the first time is read from its start
  std::uint32_t max_message_bytes = 64 * 1024;
  int poll_interval_ms = 250;       // how often files are checked for growth and rotation
};

struct HttpIngestOptions {
  std::uint64_t max_decompressed_bytes = 64 << 20;  // a body inflating beyond this gets 413
  std::uint32_t max_events = 100000;                 // events per request; more gets 413
  std::uint32_t max_event_bytes = 1 << 20;           // one NDJSON line / array element; longer is truncated
  int ack_timeout_seconds = 30;                      // not durable by then: 503
  int retry_after_seconds = 1;                       // Retry-After on 429/503
};

struct IngestOptions {
  std::vector<ListenerOptions> listeners;
  std::vector<FileSourceOptions> files;
  HttpIngestOptions http;
  int parse_workers = 0;                  // 0: one per core
  std::uint32_t parse_queue_batches = 64; // batches waiting for a parse worker
  std::uint32_t sink_queue_batches = 32;  // parsed batches waiting for the store
  std::uint32_t batch_events = 2048;      // sources cut a batch at this many events
  int batch_millis = 200;                 // ... or when the oldest event waited this long
  std::string checkpoint_file;            // empty: <data_dir>/ingest/checkpoints.json
};

}  // namespace medsoc::ingest
