// HttpServer on loopback with real sockets: a tiny blocking client over POSIX sockets (plain) or
// OpenSSL (TLS). No Asio here, so that only server.cpp pays Beast's compile cost.
#include "api/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <stdexcept>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

namespace medsoc::api {
namespace {

using namespace std::chrono_literals;

int Connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A connection: plain or TLS, with a read buffer. Reads fail after the 5 s socket timeout.
class Conn {
 public:
  explicit Conn(std::uint16_t port) : fd_(Connect(port)) {}
  ~Conn() {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  // TLS handshake with versions in [min_version, max_version]; no certificate verification (the
  // test certificate is self-signed).
  bool StartTls(int min_version = TLS1_2_VERSION, int max_version = 0) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    // Let the client offer old protocols so that refusing them is the server's doing.
    SSL_CTX_set_security_level(ctx_, 0);
    SSL_CTX_set_cipher_list(ctx_, "ALL:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx_, min_version);
    SSL_CTX_set_max_proto_version(ctx_, max_version);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    return SSL_connect(ssl_) == 1;
  }
  std::string TlsVersion() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      long n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                    : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads more bytes into the buffer; false on EOF, error or timeout.
  bool Fill() {
    char tmp[8192];
    long n = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp) : ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  // True when the peer closes (EOF or reset) without sending anything more.
  bool ClosedByPeer() {
    while (buf_.empty()) {
      if (!Fill()) return buf_.empty();
    }
    return false;
  }

  std::optional<HttpReply> Read(bool head = false) {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    HttpReply r;
    std::string head_text = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::size_t line_end = head_text.find("\r\n");
    std::string status_line = head_text.substr(0, line_end);
    if (status_line.size() < 12) return std::nullopt;
    r.status = std::atoi(status_line.c_str() + 9);
    std::size_t pos = line_end == std::string::npos ? head_text.size() : line_end + 2;
    while (pos < head_text.size()) {
      std::size_t e = head_text.find("\r\n", pos);
      if (e == std::string::npos) e = head_text.size();
      std::string line = head_text.substr(pos, e - pos);
      std::size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
      pos = e + 2;
    }
    std::size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    if (head) length = 0;
    while (buf_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // After Read() of a chunked response's header: the decoded body up to the last chunk, or nullopt
  // when the connection ends first (a cut stream). `chunks` counts the data chunks.
  std::optional<std::string> ReadChunkedBody(int* chunks = nullptr) {
    std::string body;
    while (true) {
      std::size_t eol;
      while ((eol = buf_.find("\r\n")) == std::string::npos) {
        if (!Fill()) return std::nullopt;
      }
      const std::size_t size = std::stoul(buf_.substr(0, eol), nullptr, 16);
      while (buf_.size() < eol + 2 + size + 2) {
        if (!Fill()) return std::nullopt;
      }
      body.append(buf_, eol + 2, size);
      buf_.erase(0, eol + 2 + size + 2);
      if (size == 0) return body;
      if (chunks) ++*chunks;
    }
  }

  // Everything until the peer closes.
  std::string ReadToClose() {
    while (Fill()) {
    }
    return std::exchange(buf_, std::string());
  }

  std::optional<HttpReply> RoundTrip(std::string_view request, bool head = false) {
    if (!Send(request)) return std::nullopt;
    return Read(head);
  }

 private:
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buf_;
};

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

struct TestServer {
  explicit TestServer(ServerOptions options = {}, RequestHandler h = nullptr) {
    if (options.threads == 0) options.threads = 2;
    if (!h) h = [this](Request& req) { return Echo(req); };
    server = std::make_unique<HttpServer>(options, std::move(h), &metrics);
  }
  Status Start() { return server->Start("127.0.0.1", 0); }

  Response Echo(Request& req) {
    ++calls;
    if (req.path == "/throw") throw std::runtime_error("secret detail");
    Response r;
    r.content_type = "text/plain";
    r.body = std::string(MethodName(req.method)) + " " + req.path + " q=" + std::string(req.Query("q").value_or("")) +
             " body=" + req.body + " tls=" + (req.tls ? "1" : "0") + " ip=" + req.remote_ip +
             " ua=" + std::string(req.Header("user-agent").value_or(""));
    r.SetHeader(std::string(kRouteHeader), "/echo/{any}");
    return r;
  }

  Metrics metrics;
  std::atomic<int> calls{0};
  std::unique_ptr<HttpServer> server;
};

TEST(ServerTest, ServesRequestWithSecurityHeaders) {
  TestServer t;
  ASSERT_TRUE(t.Start().ok());
  ASSERT_NE(t.server->port(), 0);
  EXPECT_FALSE(t.server->tls());
  Conn c(t.server->port());
  ASSERT_TRUE(c.ok());
  auto r = c.RoundTrip(Get("/api/v1/x%20y?q=a+b", "User-Agent: UnitTest\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /api/v1/x y q=a b body= tls=0 ip=127.0.0.1 ua=UnitTest");
  EXPECT_EQ(r->Header("content-type"), "text/plain");
  EXPECT_EQ(r->Header("server"), "medsoc");
  EXPECT_EQ(r->Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r->Header("x-frame-options"), "DENY");
  EXPECT_EQ(r->Header("referrer-policy"), "no-referrer");
  EXPECT_NE(r->Header("content-security-policy").find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(r->Header("cache-control"), "no-store");
  EXPECT_EQ(r->headers.count("strict-transport-security"), 0u);
  EXPECT_EQ(r->headers.count("x-medsoc-route"), 0u);  // stripped

  // Static paths get no Cache-Control from the server.
  auto page = c.RoundTrip(Get("/index.html"));
  ASSERT_TRUE(page);
  EXPECT_EQ(page->headers.count("cache-control"), 0u);

  auto stop_begin = std::chrono::steady_clock::now();
  t.server->Stop();  // the open keep-alive connection is idle: closed at once
  EXPECT_LT(std::chrono::steady_clock::now() - stop_begin, 1s);
  std::string text = t.metrics.Render();
  EXPECT_NE(text.find("medsoc_http_requests_total{route=\"/echo/{any}\",method=\"GET\",status=\"200\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("medsoc_http_open_connections 0"), std::string::npos) << text;
}

TEST(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  TestServer t;
  ASSERT_TRUE(t.Start().ok());
  Conn c(t.server->port());
  ASSERT_TRUE(c.ok());
  auto a = c.RoundTrip(Get("/one"));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 200);
  EXPECT_NE(a->Header("connection"), "close");
  std::string post = "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
  auto b = c.RoundTrip(post);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->status, 200);
  EXPECT_EQ(b->body.substr(0, 9), "POST /two");
  EXPECT_NE(b->body.find("body=hello"), std::string::npos);
  // Pipelined: two requests in one write.
  ASSERT_TRUE(c.Send(Get("/p1") + Get("/p2")));
  auto p1 = c.Read();
  auto p2 = c.Read();
  ASSERT_TRUE(p1 && p2);
  EXPECT_EQ(p1->body.substr(0, 7), "GET /p1");
  EXPECT_EQ(p2->body.substr(0, 7), "GET /p2");
  EXPECT_EQ(t.calls.load(), 4);
}

TEST(ServerTest, ChunkedBodyAndHead) {
  TestServer t;
  ASSERT_TRUE(t.Start().ok());
  Conn c(t.server->port());
  auto r = c.RoundTrip("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("body=abcde"), std::string::npos);
  auto h = c.RoundTrip("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n", /*head=*/true);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(std::stoul(h->Header("content-length")), std::string("HEAD /h q= body= tls=0 ip=127.0.0.1 ua=").size());
  // The connection is still in sync after HEAD (no body bytes were sent).
  auto g = c.RoundTrip(Get("/after"));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->body.substr(0, 10), "GET /after");
}

// A handler's Response::stream: parts written one by one with chunked encoding, the connection
// reusable afterwards; HTTP/1.0 gets the body up to the close; a failing producer cuts the stream.
TEST(ServerTest, StreamedResponseIsChunked) {
  auto handler = [](Request& req) {
    Response r;
    r.content_type = "text/plain";
    auto n = std::make_shared<int>(0);
    const bool fail = req.path == "/fail";
    r.stream = [n, fail](std::string& out) -> Result<bool> {
      ++*n;
      if (fail && *n == 2) return Error(ErrorCode::kIo, "store went away");
      if (*n == 2) return true;  // an empty part is skipped, not sent as the last chunk
      out = "part " + std::to_string(*n) + "\n";
      return *n < 4;
    };
    return r;
  };
  TestServer t({}, handler);
  ASSERT_TRUE(t.Start().ok());
  Conn c(t.server->port());
  ASSERT_TRUE(c.Send(Get("/s")));
  auto r = c.Read(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("transfer-encoding"), "chunked");
  EXPECT_EQ(r->headers.count("content-length"), 0u);
  EXPECT_EQ(r->Header("x-content-type-options"), "nosniff");
  int chunks = 0;
  auto body = c.ReadChunkedBody(&chunks);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, "part 1\npart 3\npart 4\n");
  EXPECT_EQ(chunks, 3);
  // The connection is in sync: a second streamed request on it.
  ASSERT_TRUE(c.Send(Get("/s2")));
  ASSERT_TRUE(c.Read(true));
  EXPECT_EQ(c.ReadChunkedBody(), "part 1\npart 3\npart 4\n");

  Conn old(t.server->port());
  ASSERT_TRUE(old.Send("GET /s HTTP/1.0\r\nHost: x\r\n\r\n"));
  std::string raw = old.ReadToClose();
  const auto split = raw.find("\r\n\r\n");
  ASSERT_NE(split, std::string::npos);
  EXPECT_EQ(raw.substr(split + 4), "part 1\npart 3\npart 4\n");

  Conn failing(t.server->port());
  ASSERT_TRUE(failing.Send(Get("/fail")));
  ASSERT_TRUE(failing.Read(true));
  EXPECT_FALSE(failing.ReadChunkedBody());  // closed without the last chunk
}

TEST(ServerTest, ExpectContinue) {
  TestServer t;
  ASSERT_TRUE(t.Start().ok());
  Conn c(t.server->port());
  auto interim = c.RoundTrip("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  auto r = c.RoundTrip("hello");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("body=hello"), std::string::npos);
}

TEST(ServerTest, OversizedBodyGets413BeforeTheBodyIsRead) {
  ServerOptions o;
  o.max_body_bytes = 1024;
  TestServer t(o);
  ASSERT_TRUE(t.Start().ok());
  Conn c(t.server->port());
  // Only the header is sent: the answer must not wait for the body.
  auto r = c.RoundTrip("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("request body exceeds 1024 bytes"), std::string::npos) << r->body;
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(r->Header("x-frame-options"), "DENY");
  EXPECT_TRUE(c.ClosedByPeer());

  // A chunked body over the limit.
  Conn c2(t.server->port());
  std::string chunk(2000, 'x');
  auto r2 = c2.RoundTrip("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + chunk +
                         "\r\n0\r\n\r\n");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 413);
  EXPECT_EQ(t.calls.load(), 0);
}

TEST(ServerTest, OversizedHeaderGets431) {
  TestServer t;  // default 16 KiB
  ASSERT_TRUE(t.Start().ok());
  Conn c(t.server->port());
  auto r = c.RoundTrip(Get("/", "X-Big: " + std::string(20000, 'a') + "\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(t.calls.load(), 0);
}

TEST(ServerTest, MalformedRequestsGet400) {
  TestServer t;
  ASSERT_TRUE(t.Start().ok());
  for (const char* target : {"/a/../b", "/a/%2e%2e/b", "/x%00y", "http://evil.example/", "*", "/a%zz"}) {
    Conn c(t.server->port());
    auto r = c.RoundTrip(Get(target));
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400) << target;
    EXPECT_EQ(r->Header("content-type"), "application/json");
    EXPECT_NE(r->body.find("\"bad_request\""), std::string::npos);
  }
  Conn c(t.server->port());
  auto r = c.RoundTrip("GET / HTTP/1.1\r\nBad Header Name: 1\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.ClosedByPeer());
  EXPECT_EQ(t.calls.load(), 0);
}

TEST(ServerTest, HandlerExceptionBecomes500WithoutDetail) {
  TestServer t;
  ASSERT_TRUE(t.Start().ok());
  Conn c(t.server->port());
  auto r = c.RoundTrip(Get("/throw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("secret"), std::string::npos);
  auto again = c.RoundTrip(Get("/fine"));  // the connection survives
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST(ServerTest, HandlerCannotInjectHeaders) {
  TestServer t({}, [](Request&) {
    Response r;
    r.SetHeader("X-Evil", "a\r\nSet-Cookie: pwned=1");
    r.SetHeader("Content-Length", "999");
    r.SetHeader("Set-Cookie", "ok=1");
    r.body = "{}";
    return r;
  });
  ASSERT_TRUE(t.Start().ok());
  Conn c(t.server->port());
  auto r = c.RoundTrip(Get("/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers.count("x-evil"), 0u);
  EXPECT_EQ(r->Header("set-cookie"), "ok=1");
  EXPECT_EQ(r->Header("content-length"), "2");
  EXPECT_EQ(r->body, "{}");
}

TEST(ServerTest, TimeoutsCloseSlowAndIdleConnections) {
  ServerOptions o;
  o.request_timeout_seconds = 1;
  o.idle_timeout_seconds = 1;
  TestServer t(o);
  ASSERT_TRUE(t.Start().ok());
  Conn slow(t.server->port());
  ASSERT_TRUE(slow.Send("GET / HTTP/1.1\r\nHost: x\r\n"));  // never finishes the header
  Conn idle(t.server->port());
  ASSERT_TRUE(idle.RoundTrip(Get("/")));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(slow.ClosedByPeer());
  EXPECT_TRUE(idle.ClosedByPeer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

TEST(ServerTest, RefusesConnectionsBeyondTheLimit) {
  ServerOptions o;
  o.max_connections = 1;
  TestServer t(o);
  ASSERT_TRUE(t.Start().ok());
  Conn first(t.server->port());
  ASSERT_TRUE(first.RoundTrip(Get("/")));  // accepted and kept alive
  Conn second(t.server->port());
  ASSERT_TRUE(second.ok());  // the kernel accepts; the server closes it at once
  EXPECT_TRUE(second.ClosedByPeer());
  auto again = first.RoundTrip(Get("/"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_NE(t.metrics.Render().find("medsoc_http_connections_refused_total 1"), std::string::npos);
}

TEST(ServerTest, StopLetsInFlightRequestFinish) {
  std::atomic<bool> started{false};
  ServerOptions o;
  o.shutdown_grace_seconds = 5;
  TestServer t(o, [&](Request& req) {
    started = true;
    std::this_thread::sleep_for(700ms);
    Response r;
    r.body = "slow done";
    return r;
  });
  ASSERT_TRUE(t.Start().ok());
  Conn idle(t.server->port());
  ASSERT_TRUE(idle.ok());
  Conn c(t.server->port());
  ASSERT_TRUE(c.Send(Get("/slow")));
  while (!started) std::this_thread::sleep_for(5ms);
  auto stop_begin = std::chrono::steady_clock::now();
  std::thread stopper([&] { t.server->Stop(); });
  auto r = c.Read();
  stopper.join();
  auto stop_took = std::chrono::steady_clock::now() - stop_begin;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow done");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(idle.ClosedByPeer());
  EXPECT_LT(stop_took, 4s);
  t.server->Wait();  // returns at once
  t.server->Stop();  // idempotent
  EXPECT_FALSE(Conn(t.server->port()).ok());  // no longer listening
}

TEST(ServerTest, StartFailsOnPortInUseAndBadAddress) {
  TestServer a;
  ASSERT_TRUE(a.Start().ok());
  HttpServer b({}, [](Request&) { return Response{}; }, nullptr);
  Status s = b.Start("127.0.0.1", a.server->port());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("cannot listen"), std::string::npos) << s.error().message();
  HttpServer c({}, [](Request&) { return Response{}; }, nullptr);
  EXPECT_FALSE(c.Start("not a host name!", 0).ok());
}

// ---- TLS ---------------------------------------------------------------------------------------

class ServerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/medsoc-tls-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string cmd = "cd " + dir_ +
                      " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                      "-subj /CN=localhost -days 1 -keyout k.pem -out c.pem >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }

  ServerOptions TlsOptions(const std::string& min_version = "1.2") {
    ServerOptions o;
    o.tls.cert_file = dir_ + "/c.pem";
    o.tls.key_file = dir_ + "/k.pem";
    o.tls.min_version = min_version;
    return o;
  }

  static std::string dir_;
};
std::string ServerTlsTest::dir_;

TEST_F(ServerTlsTest, ServesOverTlsWithHsts) {
  TestServer t(TlsOptions());
  ASSERT_TRUE(t.Start().ok());
  EXPECT_TRUE(t.server->tls());
  Conn c(t.server->port());
  ASSERT_TRUE(c.StartTls());
  EXPECT_TRUE(c.TlsVersion() == "TLSv1.3" || c.TlsVersion() == "TLSv1.2") << c.TlsVersion();
  auto r = c.RoundTrip(Get("/api/v1/tls"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("tls=1"), std::string::npos);
  EXPECT_EQ(r->Header("strict-transport-security"), "max-age=31536000; includeSubDomains");
  auto again = c.RoundTrip(Get("/second"));  // keep-alive over TLS
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);

  Conn tls12(t.server->port());
  ASSERT_TRUE(tls12.StartTls(TLS1_2_VERSION, TLS1_2_VERSION));
  EXPECT_EQ(tls12.TlsVersion(), "TLSv1.2");
  ASSERT_TRUE(tls12.RoundTrip(Get("/")));
}

TEST_F(ServerTlsTest, RefusesOldTlsAndPlainHttp) {
  TestServer t(TlsOptions());
  ASSERT_TRUE(t.Start().ok());
  Conn old(t.server->port());
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old.StartTls(TLS1_VERSION, TLS1_1_VERSION));

  Conn plain(t.server->port());
  ASSERT_TRUE(plain.Send(Get("/")));
  EXPECT_TRUE(plain.ClosedByPeer());  // no HTTP answer, just a close
  EXPECT_EQ(t.calls.load(), 0);
}

TEST_F(ServerTlsTest, MinVersion13RefusesTls12) {
  TestServer t(TlsOptions("1.3"));
  ASSERT_TRUE(t.Start().ok());
  Conn c12(t.server->port());
  EXPECT_FALSE(c12.StartTls(TLS1_2_VERSION, TLS1_2_VERSION));
  Conn c13(t.server->port());
  ASSERT_TRUE(c13.StartTls(TLS1_3_VERSION));
  ASSERT_TRUE(c13.RoundTrip(Get("/")));
}

TEST_F(ServerTlsTest, BadCertificateFailsStart) {
  ServerOptions o = TlsOptions();
  o.tls.cert_file = dir_ + "/missing.pem";
  HttpServer s(o, [](Request&) { return Response{}; }, nullptr);
  Status st = s.Start("127.0.0.1", 0);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("TLS"), std::string::npos);
  ServerOptions v = TlsOptions("1.1");
  HttpServer s2(v, [](Request&) { return Response{}; }, nullptr);
  EXPECT_FALSE(s2.Start("127.0.0.1", 0).ok());
}

}  // namespace
}  // namespace medsoc::api
