// Syslog listeners: UDP (RFC 5426), TCP (RFC 6587: LF or octet counting, detected per connection)
// and TLS (RFC 5425, TLS 1.2+, optional client-certificate verification), on Boost.Asio. This
// header has no Asio in it; only syslog.cpp includes Asio.
//
// Per listener: an allow-list of sender CIDRs (others are refused and counted: TCP/TLS
// connections closed at accept, UDP datagrams ignored), a sender map that assigns tenant and
// source name by address, a maximum message size (longer messages are truncated and flagged), an
// idle timeout and a connection limit.
//
// Batching: each TCP/TLS connection and each UDP socket collects events into a batch that is
// handed to the pipeline when it holds `batch_events` events or `batch_millis` after its first
// event. Backpressure: when the pipeline refuses a batch (queue full), a TCP/TLS connection stops
// reading (the kernel's receive window closes and the sender blocks) and retries every 20 ms; a
// UDP socket keeps reading (it cannot slow the sender) and counts every message it cannot queue
// as dropped.
//
// Audit records: on a TCP/TLS connection of a listener whose format is auto, auditd or a syslog
// format, the records of one kernel event (msg=audit(TS:SERIAL)) are joined into one event by a
// per-connection text::AuditdJoiner in front of the batcher (EOE, 2 s, or the connection's end
// releases them). UDP datagrams are not joined.
//
// Delivery: plain TCP and TLS syslog have no application acknowledgement. Messages the sender
// wrote into its socket but medsoc has not yet stored are lost if medsoc crashes (the kernel
// acknowledged them). See docs/ingest.md for what to use when that matters.
//
// Thread-safety: Add() before Start(); Start/Stop from one controlling thread; port() after Start.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "ingest/options.h"
#include "ingest/pipeline.h"

namespace medsoc::ingest {

struct SyslogServerOptions {
  int io_threads = 1;
  std::size_t batch_events = 2048;
  int batch_millis = 200;
  int stop_grace_millis = 5000;  // Stop(): time for connections to hand over their last batches
};

class SyslogServer {
 public:
  SyslogServer(Pipeline& pipeline, SyslogServerOptions options);
  ~SyslogServer();
  SyslogServer(const SyslogServer&) = delete;
  SyslogServer& operator=(const SyslogServer&) = delete;

  // Binds the listener's socket (so that a port in use fails start-up) and loads its TLS
  // material. `source` is the pipeline source its events belong to. Errors say which listener.
  Status Add(const ListenerOptions& listener, Source* source);

  // Starts the I/O threads. The listeners begin accepting and reading.
  Status Start();

  // Stops accepting and reading, hands each connection's last batch to the pipeline (within
  // stop_grace_millis), closes everything, joins the threads. Idempotent.
  void Stop();

  // The bound port of a listener (useful with port 0), or 0 if there is none of that name.
  std::uint16_t port(const std::string& listener_name) const;

  struct Impl;  // in syslog.cpp (public so that the connection classes there can name it)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace medsoc::ingest
