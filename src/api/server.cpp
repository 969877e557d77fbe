// HttpServer on Boost.Beast/Asio. This is the only translation unit that includes Beast or Asio.
//
// Connection life cycle (one Session per TCP connection, all of its work on its own strand):
//
//   accept ──► [refused: closed at once when max_connections are open or the server is stopping]
//     │
//     ▼
//   TLS handshake (TLS listeners only; deadline request_timeout; a plain-HTTP request on a TLS port
//     │            fails the handshake and the connection is closed without an answer)
//     ▼
//   idle ──────── wait for the first byte of the next request: request_timeout before the first
//     │           request, idle_timeout between keep-alive requests; expiry closes silently
//     ▼
//   read header ─ deadline request_timeout covers header and body together; header > max_header_bytes
//     │           → 431; Content-Length > max_body_bytes → 413 before any body byte is read;
//     │           malformed → 400; deadline expiry or client close → close
//     ▼
//   read body ─── (after "100 Continue" when the client asked for it); chunked bodies over the limit → 413
//     ▼
//   handle ────── SplitTarget (400 on a malformed target), then the RequestHandler; an exception
//     │           becomes a 500 with a logged error and no detail for the client
//     ▼
//   write ─────── security headers, Server: medsoc; metrics observed when the write completes
//     │
//     ├── keep-alive and not stopping ──► idle
//     └── otherwise: graceful close (TLS close_notify, or TCP half-close plus a short drain so that
//                    the client reads the response instead of a reset)
//
// Stop(): close the acceptor; idle and handshaking sessions close at once; sessions in the middle of
// a request finish it (answering with Connection: close, then closing without the drain); after
// shutdown_grace_seconds whatever is left is closed; then the I/O threads are joined. A handler
// that never returns blocks the join: handlers must be bounded.
//
// Route label for metrics: the handler reports the matched route pattern in the response header
// kRouteHeader ("x-medsoc-route", api/http.h); the session removes that header before sending and
// uses its value as the route label ("unmatched" when absent), so raw request paths never become
// label values.
// Beast 1.81's chunk parser asserts an internal invariant that a remote client can break ("0\r\nT"
// after a chunked header; found by http_request_fuzz): in a Debug build that assert would let one
// request abort the server. Release builds have no asserts; here too we keep Beast's asserts off in
// this, the only translation unit that includes Beast, and rely on ASan/UBSan and the error codes.
#define BOOST_DISABLE_ASSERTS
#include "api/server.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

namespace medsoc::api {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using BeastRequest = http::request<http::string_body>;
using BeastResponse = http::response<http::string_body>;
using StreamResponse = http::response<http::buffer_body>;
using StreamSerializer = http::response_serializer<http::buffer_body>;

constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

// Mozilla "intermediate" TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 suites are
// OpenSSL's defaults, all of which are acceptable.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

constexpr std::chrono::seconds kCloseDrainTime{2};
constexpr std::size_t kCloseDrainBytes = 1 << 20;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::uint32_t HeaderLimit(const ServerOptions& o) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(o.max_header_bytes, UINT32_MAX));
}

// Fills `out` from a parsed message. Returns false when the target is malformed (out.path empty).
bool FillRequest(BeastRequest&& msg, Request& out) {
  out.method_text = std::string(msg.method_string());
  out.method = ParseMethod(out.method_text);
  out.target = std::string(msg.target());
  out.headers.reserve(std::distance(msg.begin(), msg.end()));
  for (const auto& field : msg) {
    out.headers.emplace_back(Lower(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(msg.body());
  return SplitTarget(out.target, out.path, out.query);
}

bool HasUnsafeChars(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// Headers the server owns; a handler's value for them is ignored.
bool IsServerOwnedHeader(std::string_view lower_name) {
  return lower_name == "content-length" || lower_name == "transfer-encoding" || lower_name == "connection" ||
         lower_name == "server" || lower_name == "keep-alive" || lower_name == "upgrade";
}

bool IsQuietReadError(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::operation_aborted || ec == beast::error::timeout || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated || ec == asio::error::bad_descriptor;
}

bool IsHttpError(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_target).category();
}

}  // namespace

void AddSecurityHeaders(Response& response, const Request& request, bool tls) {
  response.SetHeader("X-Content-Type-Options", "nosniff");
  response.SetHeader("X-Frame-Options", "DENY");
  response.SetHeader("Referrer-Policy", "no-referrer");
  if (!response.HasHeader("Content-Security-Policy")) response.SetHeader("Content-Security-Policy", kCsp);
  std::string_view path = request.path.empty() ? std::string_view(request.target) : std::string_view(request.path);
  if (path.substr(0, 5) == "/api/" && !response.HasHeader("Cache-Control")) {
    response.SetHeader("Cache-Control", "no-store");
  }
  if (tls) response.SetHeader("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
}

Result<Request> ParseRawRequest(std::string_view raw, const ServerOptions& options) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(HeaderLimit(options));
  parser.body_limit(options.max_body_bytes);
  parser.eager(true);

  auto fail = [&](const beast::error_code& ec, std::size_t offset) -> Error {
    const bool limit = ec == http::error::header_limit || ec == http::error::body_limit;
    const char* where = parser.is_header_done() ? "body" : "header";
    return Error(limit ? ErrorCode::kResourceExhausted : ErrorCode::kInvalidArgument,
                 "http request " + std::string(where) + ": " + ec.message() + " at byte " + std::to_string(offset));
  };

  beast::error_code ec;
  std::size_t offset = 0;
  while (!parser.is_done()) {
    std::size_t n = parser.put(asio::const_buffer(raw.data() + offset, raw.size() - offset), ec);
    offset += n;
    if (ec == http::error::need_more || (!ec && n == 0)) {
      if (offset < raw.size() && n > 0) {
        ec = {};
        continue;
      }
      // Everything has been offered: the input ends here. (put_eof requires some input.)
      if (!parser.got_some()) return fail(http::error::partial_message, offset);
      ec = {};
      parser.put_eof(ec);
      if (ec) return fail(ec, offset);
      if (!parser.is_done()) return fail(http::error::partial_message, offset);
      break;
    }
    if (ec) return fail(ec, offset);
  }

  Request request;
  if (!FillRequest(parser.release(), request)) {
    return Error(ErrorCode::kInvalidArgument, "http request: malformed request target");
  }
  return request;
}

// ---------------------------------------------------------------------------------------------
// Server state shared by the acceptor and every session. Internal to this file.

namespace {

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void Run() = 0;
  // Both thread-safe: they post to the session's strand.
  virtual void NotifyStop() = 0;  // finish the current request, then close; close at once when idle
  virtual void ForceClose() = 0;
};

struct ServerCore {
  ServerCore(ServerOptions o, RequestHandler h, Metrics* m)
      : options(std::move(o)),
        handler(std::move(h)),
        metrics(m),
        thread_count(options.threads > 0 ? options.threads
                                         : std::max(1u, std::thread::hardware_concurrency())),
        ioc(thread_count),
        acceptor(asio::make_strand(ioc)),
        accept_backoff(acceptor.get_executor()) {}

  Status LoadTls();
  Status Start(const std::string& host, std::uint16_t port);
  void Stop();
  void DoAccept();
  void OnAccept(const beast::error_code& ec, tcp::socket socket);

  void Register(SessionBase* s, std::weak_ptr<SessionBase> w) {
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.emplace(s, std::move(w));
  }
  void OnSessionClosed(SessionBase* s) {
    {
      std::lock_guard<std::mutex> lock(sessions_mu);
      sessions.erase(s);
    }
    --connections;
    PublishConnections();
  }
  // Serialised, and always publishes the current count, so that the last write wins with the
  // latest value even when sessions open and close on several threads at once.
  void PublishConnections() {
    if (!metrics) return;
    std::lock_guard<std::mutex> lock(gauge_mu);
    metrics->SetGauge("medsoc_http_open_connections", static_cast<double>(connections.load()));
  }
  std::vector<std::shared_ptr<SessionBase>> LiveSessions() {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard<std::mutex> lock(sessions_mu);
    for (auto& [_, w] : sessions) {
      if (auto s = w.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  // Declaration order matters for destruction: sessions still queued in the io_context are
  // destroyed with it and call back into the members above it, and TLS streams need ssl_ctx.
  const ServerOptions options;
  const RequestHandler handler;
  Metrics* const metrics;
  const int thread_count;

  std::mutex sessions_mu;
  std::mutex gauge_mu;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopping{false};
  std::atomic<std::uint16_t> bound_port{0};

  std::mutex state_mu;
  std::condition_variable state_cv;
  bool started = false;
  bool stop_begun = false;
  bool stopped = false;

  std::unique_ptr<ssl::context> ssl_ctx;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  asio::steady_timer accept_backoff;
  std::vector<std::thread> threads;
};

// ---------------------------------------------------------------------------------------------
// Session: one connection. Every member is touched only on the session's strand.

template <bool kTls>
class Session final : public SessionBase {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(ServerCore& srv, tcp::socket&& socket) : srv_(srv), stream_(MakeStream(srv, std::move(socket))) {
    beast::error_code ec;
    auto endpoint = Lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ip_ = endpoint.address().to_string();
  }
  ~Session() override { srv_.OnSessionClosed(this); }

  void Run() override {
    srv_.Register(this, weak_from_this());
    asio::dispatch(stream_.get_executor(), [self = Self()] { self->Begin(); });
  }

  void NotifyStop() override {
    asio::post(stream_.get_executor(), [self = Self()] {
      self->stopping_ = true;
      // Between requests (or lingering after the last one) there is nothing to finish.
      if (self->phase_ == Phase::kHandshake || self->phase_ == Phase::kIdle || self->phase_ == Phase::kClosing) {
        self->Close();
      }
    });
  }

  void ForceClose() override {
    asio::post(stream_.get_executor(), [self = Self()] { self->Close(); });
  }

 private:
  enum class Phase { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing };

  static Stream MakeStream(ServerCore& srv, tcp::socket&& socket) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *srv.ssl_ctx);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  std::chrono::seconds RequestTimeout() const {
    return std::chrono::seconds(std::max(1, srv_.options.request_timeout_seconds));
  }

  void Begin() {
    if (srv_.stopping) return Close();
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      Lowest().expires_after(RequestTimeout());
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](const beast::error_code& ec) {
        if (ec) {
          // Includes plain HTTP sent to the TLS port: answered by closing.
          spdlog::debug("http: TLS handshake with {} failed: {}", self->remote_ip_, ec.message());
          return self->Close();
        }
        self->ReadNext();
      });
    } else {
      ReadNext();
    }
  }

  // Waits for the first byte of the next request under the idle (or first-request) deadline.
  void ReadNext() {
    if (stopping_ || srv_.stopping) return Close();  // at a request boundary: nothing in flight
    if (buffer_.size() > 0) return StartRequest();  // pipelined bytes already buffered
    phase_ = Phase::kIdle;
    Lowest().expires_after(requests_ == 0 ? RequestTimeout()
                                          : std::chrono::seconds(std::max(1, srv_.options.idle_timeout_seconds)));
    stream_.async_read_some(buffer_.prepare(4096), [self = Self()](const beast::error_code& ec, std::size_t n) {
      self->buffer_.commit(n);
      if (ec) return self->Close();
      self->StartRequest();
    });
  }

  void StartRequest() {
    phase_ = Phase::kReading;
    parser_.emplace();
    parser_->header_limit(HeaderLimit(srv_.options));
    parser_->body_limit(srv_.options.max_body_bytes);
    // One deadline for the whole request, header and body: slow-loris clients are cut off.
    Lowest().expires_after(RequestTimeout());
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = Self()](const beast::error_code& ec, std::size_t) { self->OnHeader(ec); });
  }

  void OnHeader(const beast::error_code& ec) {
    if (ec) return OnReadError(ec);
    header_done_ = Clock::now();
    // Beast already refuses a Content-Length above body_limit while parsing the header; this is
    // the explicit statement of that contract.
    if (auto length = parser_->content_length(); length && *length > srv_.options.max_body_bytes) {
      return OnReadError(http::error::body_limit);
    }
    const auto& msg = parser_->get();
    if (!parser_->is_done() && beast::iequals(msg[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, msg.version());
      http::async_write(stream_, *cont, [self = Self(), cont](const beast::error_code& wec, std::size_t) {
        if (wec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnBody({});
    http::async_read(stream_, buffer_, *parser_,
                     [self = Self()](const beast::error_code& ec, std::size_t) { self->OnBody(ec); });
  }

  void OnBody(const beast::error_code& ec) {
    if (ec) return OnReadError(ec);
    Lowest().expires_never();
    phase_ = Phase::kHandling;
    ++requests_;

    const unsigned version = parser_->get().version();
    const bool client_keep_alive = parser_->get().keep_alive();
    Request request;
    request.remote_ip = remote_ip_;
    request.tls = kTls;
    const bool target_ok = FillRequest(parser_->release(), request);
    parser_.reset();
    method_label_ = std::string(MethodName(request.method));

    Response response;
    if (!target_ok) {
      response = ErrorResponse(400, "bad_request", "malformed request target");
    } else {
      try {
        response = srv_.handler(request);
      } catch (const std::exception& e) {
        spdlog::error("http: handler failed for {} {}: {}", request.method_text, request.path, e.what());
        response = ErrorResponse(500, "internal", "internal server error");
      } catch (...) {
        spdlog::error("http: handler failed for {} {}: unknown exception", request.method_text, request.path);
        response = ErrorResponse(500, "internal", "internal server error");
      }
    }
    Send(std::move(response), request, version, client_keep_alive);
  }

  void OnReadError(const beast::error_code& ec) {
    if (ec == http::error::header_limit) {
      return SendError(431, "header_too_large",
                       "request header exceeds " + std::to_string(srv_.options.max_header_bytes) + " bytes");
    }
    if (ec == http::error::body_limit) {
      return SendError(413, "body_too_large",
                       "request body exceeds " + std::to_string(srv_.options.max_body_bytes) + " bytes");
    }
    if (IsQuietReadError(ec) || !IsHttpError(ec)) {
      // Deadline expiry (the stream is already closed), client gone, or a transport/TLS error.
      if (ec == beast::error::timeout) spdlog::debug("http: request from {} timed out", remote_ip_);
      return Close();
    }
    spdlog::debug("http: malformed request from {}: {}", remote_ip_, ec.message());
    SendError(400, "bad_request", "malformed request");
  }

  // An error detected while reading: answered, then the connection is closed (the rest of the
  // request is unread, so the stream cannot be reused).
  void SendError(int status, std::string_view code, const std::string& message) {
    if (header_done_ == Clock::time_point{}) header_done_ = Clock::now();
    Request request;
    unsigned version = 11;
    method_label_ = "OTHER";
    if (parser_ && parser_->is_header_done()) {
      const auto& msg = parser_->get();
      method_label_ = std::string(MethodName(ParseMethod(msg.method_string())));
      request.target = std::string(msg.target());
      version = msg.version();
    }
    parser_.reset();
    Send(ErrorResponse(status, code, message), request, version, /*keep_alive=*/false);
  }

  void Send(Response response, const Request& request, unsigned version, bool keep_alive) {
    keep_alive = keep_alive && !stopping_ && !srv_.stopping;
    route_label_ = "unmatched";
    auto& hs = response.headers;
    for (auto it = hs.begin(); it != hs.end();) {
      if (Lower(it->first) == kRouteHeader) {
        route_label_ = it->second;
        it = hs.erase(it);
      } else {
        ++it;
      }
    }
    AddSecurityHeaders(response, request, kTls);

    int status = response.status;
    if (status < 100 || status > 599) {
      spdlog::error("http: handler returned invalid status {} for {}", status, request.path);
      response = ErrorResponse(500, "internal", "internal server error");
      AddSecurityHeaders(response, request, kTls);
      status = 500;
    }
    status_ = status;

    const bool no_body_status = status < 200 || status == 204 || status == 304;
    if (response.stream && !no_body_status && request.method != Method::kHead)
      return SendStream(std::move(response), request, version, keep_alive);

    try {
      auto res = std::make_unique<BeastResponse>();
      res->version(version == 10 ? 10 : 11);
      res->result(static_cast<unsigned>(status));
      res->set(http::field::server, "medsoc");
      const bool no_body = status < 200 || status == 204 || status == 304;
      if (!no_body && !response.content_type.empty()) res->set(http::field::content_type, response.content_type);
      for (const auto& [name, value] : response.headers) {
        if (name.empty() || HasUnsafeChars(name) || HasUnsafeChars(value) || name.find(':') != std::string::npos) {
          spdlog::warn("http: dropped unsafe response header '{}' for {}", name, request.path);
          continue;
        }
        if (IsServerOwnedHeader(Lower(name))) continue;
        res->insert(name, value);
      }
      res->keep_alive(keep_alive);
      if (no_body) {
        res->prepare_payload();
      } else if (request.method == Method::kHead) {
        // The length a GET would have (unknown for a streamed body); no body bytes.
        if (!response.stream) res->content_length(response.body.size());
      } else {
        res->body() = std::move(response.body);
        res->prepare_payload();
      }
      res_ = std::move(res);
    } catch (const std::exception& e) {
      spdlog::error("http: could not build the response for {}: {}", request.path, e.what());
      return Close();
    }

    phase_ = Phase::kWriting;
    Lowest().expires_after(RequestTimeout());
    http::async_write(stream_, *res_, [self = Self()](const beast::error_code& ec, std::size_t) { self->OnWrite(ec); });
  }

  // A streamed body (Response::stream): the header, then one chunk per call of the producer, each
  // written before the next is produced; the write deadline is renewed per chunk, so a long export
  // to a client that keeps reading is not cut, and one that stops reading times out.
  void SendStream(Response response, const Request& request, unsigned version, bool keep_alive) {
    try {
      auto res = std::make_unique<StreamResponse>();
      res->version(version == 10 ? 10 : 11);
      res->result(static_cast<unsigned>(status_));
      res->set(http::field::server, "medsoc");
      if (!response.content_type.empty()) res->set(http::field::content_type, response.content_type);
      for (const auto& [name, value] : response.headers) {
        if (name.empty() || HasUnsafeChars(name) || HasUnsafeChars(value) || name.find(':') != std::string::npos) {
          spdlog::warn("http: dropped unsafe response header '{}' for {}", name, request.path);
          continue;
        }
        if (IsServerOwnedHeader(Lower(name))) continue;
        res->insert(name, value);
      }
      // HTTP/1.0 has no chunked encoding: the end of the body is the end of the connection.
      res->keep_alive(keep_alive && version != 10);
      if (version != 10) res->chunked(true);
      res->body().data = nullptr;
      res->body().size = 0;
      res->body().more = true;
      stream_res_ = std::move(res);
      stream_sr_ = std::make_unique<StreamSerializer>(*stream_res_);
    } catch (const std::exception& e) {
      spdlog::error("http: could not build the response for {}: {}", request.path, e.what());
      return Close();
    }
    producer_ = std::move(response.stream);
    stream_path_ = request.path;
    phase_ = Phase::kWriting;
    Lowest().expires_after(RequestTimeout());
    http::async_write_header(stream_, *stream_sr_, [self = Self()](const beast::error_code& ec, std::size_t) {
      if (ec) return self->OnWrite(ec);
      self->NextPart();
    });
  }

  void NextPart() {
    if (stopping_ || srv_.stopping) {
      spdlog::info("http: streamed response for {} cut short: the server is stopping", stream_path_);
      return OnWrite(asio::error::operation_aborted);
    }
    bool more = true;
    part_.clear();
    try {
      // Skip empty parts: an empty chunk would end the body.
      while (more && part_.empty()) {
        auto r = producer_(part_);
        if (!r.ok()) {
          spdlog::warn("http: streamed response for {} failed: {}", stream_path_, r.error().ToString());
          return OnWrite(asio::error::operation_aborted);
        }
        more = *r;
      }
    } catch (const std::exception& e) {
      spdlog::error("http: streamed response for {} failed: {}", stream_path_, e.what());
      return OnWrite(asio::error::operation_aborted);
    }
    auto& body = stream_res_->body();
    body.data = part_.empty() ? nullptr : part_.data();
    body.size = part_.size();
    body.more = more;
    Lowest().expires_after(RequestTimeout());
    http::async_write(stream_, *stream_sr_, [self = Self()](beast::error_code ec, std::size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return self->OnWrite(ec);
      if (self->stream_sr_->is_done()) return self->OnWrite(ec);
      self->NextPart();
    });
  }

  void OnWrite(const beast::error_code& ec) {
    const double seconds = std::chrono::duration<double>(Clock::now() - header_done_).count();
    if (srv_.metrics) srv_.metrics->ObserveRequest(route_label_, method_label_, status_, seconds);
    const bool keep_alive = (res_ && res_->keep_alive()) || (stream_res_ && stream_res_->keep_alive());
    res_.reset();
    stream_sr_.reset();
    stream_res_.reset();
    producer_ = nullptr;
    part_ = std::string();
    header_done_ = {};
    if (ec) return Close();
    if (!keep_alive) return GracefulClose();
    ReadNext();
  }

  void GracefulClose() {
    if (closed_ || phase_ == Phase::kClosing) return;
    // While the server stops, the response already handed to the kernel is enough; no lingering.
    if (stopping_ || srv_.stopping) return Close();
    phase_ = Phase::kClosing;
    Lowest().expires_after(kCloseDrainTime);
    if constexpr (kTls) {
      stream_.async_shutdown([self = Self()](const beast::error_code&) { self->Close(); });
    } else {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Drain();
    }
  }

  // After a half-close, reads and discards what the client still sends (an unread body) until it
  // closes, so that the kernel does not answer with a reset that destroys our response in flight.
  void Drain() {
    buffer_.consume(buffer_.size());
    Lowest().async_read_some(buffer_.prepare(16384), [self = Self()](const beast::error_code& ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kCloseDrainBytes) return self->Close();
      self->Drain();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    phase_ = Phase::kClosing;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  ServerCore& srv_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<BeastResponse> res_;
  // A streamed response in progress (Response::stream).
  std::unique_ptr<StreamResponse> stream_res_;
  std::unique_ptr<StreamSerializer> stream_sr_;
  std::function<Result<bool>(std::string&)> producer_;
  std::string part_;
  std::string stream_path_;
  std::string remote_ip_;
  Phase phase_ = Phase::kIdle;
  bool stopping_ = false;
  bool closed_ = false;
  std::uint64_t requests_ = 0;
  std::size_t drained_ = 0;
  Clock::time_point header_done_{};
  std::string route_label_;
  std::string method_label_;
  int status_ = 0;
};

}  // namespace

// HttpServer::Impl is private to HttpServer; the sessions work against ServerCore instead.
struct HttpServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

// ---------------------------------------------------------------------------------------------

Status ServerCore::LoadTls() {
  const TlsOptions& t = options.tls;
  if (t.min_version != "1.2" && t.min_version != "1.3") {
    return Error(ErrorCode::kInvalidArgument, "tls.min_version must be 1.2 or 1.3, not '" + t.min_version + "'");
  }
  if (t.key_file.empty()) return Error(ErrorCode::kInvalidArgument, "tls.key_file is required with tls.cert_file");
  try {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                     ssl::context::no_compression);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
    const int min_version = t.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (SSL_CTX_set_min_proto_version(native, min_version) != 1 ||
        SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
      return Error(ErrorCode::kInternal, "TLS: could not configure protocol versions or ciphers");
    }
    const std::string password = t.key_password;
    ctx->set_password_callback([password](std::size_t, ssl::context::password_purpose) { return password; });
    ctx->use_certificate_chain_file(t.cert_file);
    ctx->use_private_key_file(t.key_file, ssl::context::pem);
    if (SSL_CTX_check_private_key(native) != 1) {
      return Error(ErrorCode::kInvalidArgument, "TLS: the private key does not match the certificate");
    }
    ssl_ctx = std::move(ctx);
  } catch (const boost::system::system_error& e) {
    return Error(ErrorCode::kInvalidArgument,
                 "TLS: cannot load certificate '" + t.cert_file + "' / key '" + t.key_file + "': " + e.code().message());
  }
  return Ok();
}

Status ServerCore::Start(const std::string& host, std::uint16_t port) {
  {
    std::lock_guard<std::mutex> lock(state_mu);
    if (started || stop_begun) return Error(ErrorCode::kFailedPrecondition, "HTTP server already started");
  }
  if (!options.tls.cert_file.empty()) MEDSOC_TRY(LoadTls());

  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, port);
  } else {
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return Error(ErrorCode::kInvalidArgument, "HTTP server: cannot resolve listen address '" + host + "'");
    }
    endpoint = results.begin()->endpoint();
  }
  const std::string where = host + ":" + std::to_string(port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    acceptor.close(ignored);
    return Error(ErrorCode::kUnavailable, "HTTP server: cannot listen on " + where + ": " + ec.message());
  }
  bound_port = acceptor.local_endpoint(ec).port();
  PublishConnections();

  work.emplace(ioc.get_executor());
  asio::post(acceptor.get_executor(), [this] { DoAccept(); });
  for (int i = 0; i < thread_count; ++i) {
    threads.emplace_back([this] {
      // Handlers report errors by error_code; this only catches what escapes a completion handler.
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          spdlog::error("http: exception in I/O thread: {}", e.what());
        }
      }
    });
  }
  {
    std::lock_guard<std::mutex> lock(state_mu);
    started = true;
  }
  spdlog::info("HTTP server listening on {}:{} ({}, {} threads)", host, bound_port.load(),
               ssl_ctx ? "TLS " + options.tls.min_version + "+" : std::string("plain HTTP"), thread_count);
  return Ok();
}

void ServerCore::DoAccept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](const beast::error_code& ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void ServerCore::OnAccept(const beast::error_code& ec, tcp::socket socket) {
  if (ec) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open() || stopping) return;
    // E.g. out of file descriptors: back off briefly instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_backoff.expires_after(std::chrono::milliseconds(100));
    accept_backoff.async_wait([this](const beast::error_code& wec) {
      if (!wec && !stopping) DoAccept();
    });
    return;
  }
  beast::error_code ignored;
  if (stopping) {
    socket.close(ignored);
    return;
  }
  if (connections.load() >= options.max_connections) {
    if (metrics) metrics->IncCounter("medsoc_http_connections_refused_total", {});
    spdlog::warn("http: refusing a connection: {} connections open", connections.load());
    socket.close(ignored);
    return DoAccept();
  }
  socket.set_option(tcp::no_delay(true), ignored);
  ++connections;
  PublishConnections();
  std::shared_ptr<SessionBase> session;
  if (ssl_ctx) {
    session = std::make_shared<Session<true>>(*this, std::move(socket));
  } else {
    session = std::make_shared<Session<false>>(*this, std::move(socket));
  }
  session->Run();
  DoAccept();
}

void ServerCore::Stop() {
  {
    std::unique_lock<std::mutex> lock(state_mu);
    if (stop_begun) {
      state_cv.wait(lock, [this] { return stopped; });
      return;
    }
    stop_begun = true;
    if (!started) {
      stopped = true;
      state_cv.notify_all();
      return;
    }
  }
  stopping = true;

  // 1. Stop accepting (the acceptor lives on its strand).
  {
    std::promise<void> closed;
    asio::post(acceptor.get_executor(), [this, &closed] {
      beast::error_code ignored;
      acceptor.close(ignored);
      accept_backoff.cancel();
      closed.set_value();
    });
    closed.get_future().wait();
  }

  // 2. Idle connections close now; in-flight requests finish within the grace period.
  for (auto& s : LiveSessions()) s->NotifyStop();
  const auto grace = std::chrono::seconds(std::max(0, options.shutdown_grace_seconds));
  const auto deadline = Clock::now() + grace;
  while (connections.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  // 3. Whatever is left is closed.
  if (connections.load() > 0) {
    spdlog::warn("http: closing {} connection(s) still open after the {} s grace period", connections.load(),
                 grace.count());
    for (auto& s : LiveSessions()) s->ForceClose();
    const auto hard_deadline = Clock::now() + std::chrono::seconds(1);
    while (connections.load() > 0 && Clock::now() < hard_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  work.reset();
  ioc.stop();
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
  threads.clear();
  spdlog::info("HTTP server stopped");
  {
    std::lock_guard<std::mutex> lock(state_mu);
    stopped = true;
  }
  state_cv.notify_all();
}

// ---------------------------------------------------------------------------------------------

HttpServer::HttpServer(ServerOptions options, RequestHandler handler, Metrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), metrics)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start(const std::string& host, std::uint16_t port) { return impl_->Start(host, port); }

std::uint16_t HttpServer::port() const { return impl_->bound_port.load(); }

bool HttpServer::tls() const { return impl_->ssl_ctx != nullptr; }

void HttpServer::Stop() { impl_->Stop(); }

void HttpServer::Wait() {
  std::unique_lock<std::mutex> lock(impl_->state_mu);
  impl_->state_cv.wait(lock, [this] { return impl_->stopped; });
}

}  // namespace medsoc::api
