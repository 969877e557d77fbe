// HttpServer: medsoc's HTTP/1.1 server on Boost.Beast and Asio, plain or TLS 1.2+, with request
// size and time limits, keep-alive, security headers, Prometheus metrics and graceful shutdown.
// It knows nothing about routes or authentication: every parsed request goes to one RequestHandler
// (api/dispatcher.h provides the real one).
//
// Thread-safety: Start() and Stop() from one controlling thread; the handler is called
// concurrently from the I/O threads and must be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "api/http.h"
#include "api/metrics.h"
#include "core/options.h"
#include "core/result.h"

namespace medsoc::api {

using RequestHandler = std::function<Response(Request&)>;

class HttpServer {
 public:
  HttpServer(ServerOptions options, RequestHandler handler, Metrics* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds `host:port` (port 0: ephemeral) and starts the I/O threads. Loads the TLS certificate
  // and key when options.tls.cert_file is set. Errors: bad address, port in use, bad certificate.
  Status Start(const std::string& host, std::uint16_t port);

  // The bound port (useful after binding port 0).
  std::uint16_t port() const;
  bool tls() const;

  // Stops accepting, lets in-flight requests finish for up to options.shutdown_grace_seconds, then
  // closes the remaining connections and joins the threads. Idempotent.
  void Stop();

  // Blocks until Stop() has completed.
  void Wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses one raw HTTP/1.1 request (as bytes on the wire) into a Request with the same limits the
// server applies. Used by the fuzz target and by tests of the request path.
Result<Request> ParseRawRequest(std::string_view raw, const ServerOptions& options);

// Adds the security headers every response carries: X-Content-Type-Options, X-Frame-Options,
// Referrer-Policy, Content-Security-Policy, Cache-Control for API responses, and HSTS when `tls`.
void AddSecurityHeaders(Response& response, const Request& request, bool tls);

}  // namespace medsoc::api
