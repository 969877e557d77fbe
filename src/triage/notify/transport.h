// Transport: sends one Outbound over libcurl and says what happened.
//
// Safety rules, enforced here rather than trusted to configuration:
//   * only http, https, smtp and smtps (CURLOPT_PROTOCOLS_STR, also for redirects);
//   * redirects are never followed: a 3xx answer is a failure ("redirect refused"), so a receiver
//     cannot bounce incident data to another host;
//   * connect and total timeouts on every request; no signals (safe in a threaded server);
//   * SMTP always requires TLS: smtp:// uses STARTTLS with CURLUSESSL_ALL (the transfer fails when
//     the server does not offer it), smtps:// is TLS from the start; certificates are verified,
//     against `ca_file` when the channel names one.
//
// Thread-safety: Send() may be called from several threads (one curl easy handle per call).
#pragma once

#include <string>

#include "triage/notify/channel.h"

namespace medsoc::triage::notify {

struct TransportOptions {
  long connect_timeout_ms = 5000;   // TCP + TLS handshake
  long total_timeout_ms = 15000;    // whole transfer
  std::size_t max_response_bytes = 64 * 1024;  // kept for the delivery log (truncated)
};

struct SendOutcome {
  bool ok = false;
  bool retryable = true;   // false: resending cannot help (4xx other than 408/429, bad configuration)
  long response_code = 0;  // HTTP status or SMTP reply code; 0 when no answer
  std::string error;       // empty when ok
  std::string response;    // first bytes of the answer
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual SendOutcome Send(const Outbound& o) = 0;
};

class CurlTransport : public Transport {
 public:
  explicit CurlTransport(TransportOptions options = {});
  SendOutcome Send(const Outbound& o) override;

 private:
  TransportOptions options_;
};

}  // namespace medsoc::triage::notify
