// Syslog listeners on Boost.Asio: see syslog.h. This and api/server.cpp are the only translation
// units that include Asio.
#include "ingest/sources/syslog.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/time.h"
#include "ingest/framing.h"
#include "ingest/parse/auditd.h"
#include "ingest/sources/cidr.h"

namespace medsoc::ingest {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr auto kRetryDelay = std::chrono::milliseconds(20);

Result<std::pair<std::string, std::uint16_t>> SplitListen(const std::string& listen) {
  const std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size())
    return Error(ErrorCode::kInvalidArgument, "listen '" + listen + "' is not HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  for (char c : listen.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return Error(ErrorCode::kInvalidArgument, "listen '" + listen + "': bad port");
    port = port * 10 + static_cast<unsigned long>(c - '0');
  }
  if (port > 65535) return Error(ErrorCode::kInvalidArgument, "listen '" + listen + "': bad port");
  if (host.empty()) host = "0.0.0.0";
  return std::make_pair(host, static_cast<std::uint16_t>(port));
}

std::array<std::uint8_t, 16> AddressBytes(const asio::ip::address& a) {
  std::array<std::uint8_t, 16> out{};
  if (a.is_v4()) {
    out[10] = out[11] = 0xff;
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.begin() + 12);
  } else {
    out = a.to_v6().to_bytes();
  }
  return out;
}

}  // namespace

// Per-listener configuration and state shared by its connections.
struct ListenerState {
  ListenerOptions options;
  Source* source = nullptr;
  std::string source_name;  // on events (listener's source or name)
  CidrList allow;
  struct Mapping {
    CidrList match;
    std::string tenant, source, dataset;
  };
  std::vector<Mapping> mappings;
  std::unique_ptr<ssl::context> tls;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<udp::socket> udp_socket;
  std::atomic<std::uint32_t> open_connections{0};
  std::atomic<std::uint64_t> refused_logged{0};

  // The tenant and source name for a sender.
  // The tenant, source name and dataset (empty: the listener's) for a sender.
  void Resolve(const std::array<std::uint8_t, 16>& ip, std::string& tenant, std::string& source_out,
               std::string& dataset) const {
    tenant = options.tenant;
    source_out = source_name;
    dataset.clear();
    for (const auto& m : mappings) {
      if (m.match.FirstMatch(ip) >= 0) {
        if (!m.tenant.empty()) tenant = m.tenant;
        if (!m.source.empty()) source_out = m.source;
        dataset = m.dataset;
        return;
      }
    }
  }
};

// Collects events into batches and hands them to the pipeline; shared by TCP connections and UDP.
class Batcher {
 public:
  Batcher(Pipeline& pipeline, Source* source, std::size_t batch_events)
      : pipeline_(pipeline), source_(source), batch_events_(std::max<std::size_t>(1, batch_events)) {}

  // `sender`: the peer's IP address (log.source.address); `dataset`: the sender mapping's, or empty.
  void Add(std::string_view message, bool truncated, std::string_view tenant, std::string_view source_name,
           core::Timestamp now, std::string_view sender, std::string_view dataset) {
    if (!current_) NewBatch();
    event::Event& e = current_->batch.Add();
    e.set_raw(message);
    e.set_tenant_id(tenant);
    e.set_source_name(source_name);
    e.set_ingest_time(now);
    current_->flags.push_back(truncated ? kFlagTruncated : kFlagNone);
    current_->senders.push_back(Keep(sender, last_sender_));
    current_->datasets.push_back(Keep(dataset, last_dataset_));
    SourceCounters& c = source_->counters();
    c.received.fetch_add(1, std::memory_order_relaxed);
    c.bytes.fetch_add(message.size(), std::memory_order_relaxed);
    if (truncated) c.truncated.fetch_add(1, std::memory_order_relaxed);
    if (current_->batch.size() >= batch_events_) Seal();
  }

  // Moves the current batch (if any) to the ready list.
  void Seal() {
    if (current_ && !current_->batch.empty()) ready_.push_back(std::move(*current_));
    current_.reset();
  }

  // Submits ready batches in order; true when none is left.
  bool Submit() {
    while (!ready_.empty()) {
      if (!pipeline_.TrySubmit(ready_.front())) return false;
      ready_.pop_front();
    }
    return true;
  }

  bool has_current() const { return current_ && !current_->batch.empty(); }
  std::size_t ready() const { return ready_.size(); }
  std::size_t current_size() const { return current_ ? current_->batch.size() : 0; }
  std::uint64_t DropAll() {
    std::uint64_t n = current_size();
    for (const auto& w : ready_) n += w.batch.size();
    ready_.clear();
    current_.reset();
    return n;
  }

 private:
  void NewBatch() {
    current_.emplace();
    current_->source = source_;
    current_->batch = event::Batch(event::BatchOptions{.reserve_events = 0});
    last_sender_ = last_dataset_ = std::string_view();
  }

  // `s` as a view in the current batch's arena; consecutive equal values share one copy.
  std::string_view Keep(std::string_view s, std::string_view& last) {
    if (s.empty()) return {};
    if (s != last) last = current_->batch.CopyString(s);
    return last;
  }

  Pipeline& pipeline_;
  Source* source_;
  std::size_t batch_events_;
  std::optional<Work> current_;
  std::deque<Work> ready_;
  std::string_view last_sender_, last_dataset_;  // in current_'s arena
};

struct SyslogServer::Impl {
  Impl(Pipeline& p, SyslogServerOptions o) : pipeline(p), options(o) {}

  Pipeline& pipeline;
  SyslogServerOptions options;
  asio::io_context ioc;
  std::vector<std::unique_ptr<ListenerState>> listeners;
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  bool started = false;

  // Live connections and UDP receivers, for Stop().
  std::mutex mu;
  std::condition_variable idle_cv;
  int active = 0;  // connections + UDP receivers not yet finished
  std::list<std::function<void()>> closers;

  using CloserIt = std::list<std::function<void()>>::iterator;
  CloserIt Register(std::function<void()> closer) {
    std::lock_guard lock(mu);
    ++active;
    closers.push_front(std::move(closer));
    return closers.begin();
  }
  void Unregister(CloserIt it) {
    std::lock_guard lock(mu);
    closers.erase(it);
    --active;
    idle_cv.notify_all();
  }

  void Accept(ListenerState* l);
  void StartUdp(ListenerState* l);
};

// ---- TCP / TLS connection ------------------------------------------------------------------------

template <typename Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(SyslogServer::Impl& srv, ListenerState& l, Stream stream, std::string tenant, std::string source_name,
             std::string peer, std::string dataset)
      : srv_(srv),
        l_(l),
        stream_(std::move(stream)),
        idle_(stream_.get_executor()),
        flush_(stream_.get_executor()),
        retry_(stream_.get_executor()),
        framer_(l.options.max_message_bytes),
        batcher_(srv.pipeline, l.source, srv.options.batch_events),
        tenant_(std::move(tenant)),
        source_name_(std::move(source_name)),
        peer_(std::move(peer)),
        dataset_(std::move(dataset)),
        join_audit_(text::AuditdJoiner::AppliesToFormat(l.source->spec().format)) {
    buf_.resize(kReadChunk);
  }

  void Start() {
    auto self = this->shared_from_this();
    closer_ = srv_.Register([weak = std::weak_ptr<Connection>(self)] {
      if (auto c = weak.lock()) asio::post(c->stream_.get_executor(), [c] { c->Shutdown(); });
    });
    l_.source->counters().connections.fetch_add(1, std::memory_order_relaxed);
    ArmIdle();
    if constexpr (std::is_same_v<Stream, ssl::stream<tcp::socket>>) {
      stream_.async_handshake(ssl::stream_base::server, [self](const error_code& ec) {
        if (ec) {
          spdlog::debug("syslog {}: TLS handshake with {} failed: {}", self->l_.options.name, self->peer_, ec.message());
          return self->Finish();
        }
        self->Read();
      });
    } else {
      Read();
    }
  }

 private:
  tcp::socket& Socket() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      return stream_;
    } else {
      return stream_.next_layer();
    }
  }

  void ArmIdle() {
    idle_.expires_after(std::chrono::seconds(std::max(1, l_.options.idle_timeout_seconds)));
    idle_.async_wait([self = this->shared_from_this()](const error_code& ec) {
      if (ec || self->closing_) return;
      if (self->waiting_) return self->ArmIdle();  // held back by us, not idle
      spdlog::debug("syslog {}: closing idle connection from {}", self->l_.options.name, self->peer_);
      self->Shutdown();
    });
  }

  void Read() {
    if (closing_) return Drain();
    read_in_flight_ = true;
    stream_.async_read_some(asio::buffer(buf_), [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
      self->read_in_flight_ = false;
      self->OnRead(ec, n);
    });
  }

  void OnRead(const error_code& ec, std::size_t n) {
    if (n > 0) {
      ArmIdle();
      const core::Timestamp now = core::Now();
      framer_.Feed(std::string_view(buf_.data(), n), [&](const Frame& f) { Deliver(f, now); });
      SyncFramingErrors();
    }
    if (ec || closing_) {
      if (ec && ec != asio::error::eof && ec != asio::error::operation_aborted && ec != ssl::error::stream_truncated)
        spdlog::debug("syslog {}: read from {}: {}", l_.options.name, peer_, ec.message());
      closing_ = true;
      return Drain();
    }
    if (batcher_.ready() > 0 && !batcher_.Submit()) return WaitForRoom();
    if (HasHeld()) ArmFlush(std::chrono::milliseconds(std::max(1, srv_.options.batch_millis)));
    Read();
  }

  // A frame goes to the batch, or to the audit joiner when it is an audit record: the records of
  // one kernel event (one msg=audit(TS:SERIAL)) become one event. The joiner holds a record until
  // its event's EOE arrives, the group times out (AuditdJoiner::Options::timeout_ns, checked here
  // and by the flush timer) or the connection ends (Drain flushes everything).
  void Deliver(const Frame& f, core::Timestamp now) {
    if (join_audit_ && !f.truncated && text::AuditdJoiner::IsRecord(f.data)) {
      joiner_.Add(f.data, now, [&](std::string_view joined) { AddToBatch(joined, false, now); });
    } else {
      AddToBatch(f.data, f.truncated, now);
    }
  }

  void AddToBatch(std::string_view message, bool truncated, core::Timestamp now) {
    batcher_.Add(message, truncated, tenant_, source_name_, now, peer_, dataset_);
  }

  // Events in the current batch or records held by the audit joiner.
  bool HasHeld() const { return batcher_.has_current() || joiner_.open_groups() > 0; }

  void FlushJoiner(bool all) {
    if (joiner_.open_groups() == 0) return;
    const core::Timestamp now = core::Now();
    auto emit = [&](std::string_view joined) { AddToBatch(joined, false, now); };
    if (all) {
      joiner_.FlushAll(emit);
    } else {
      joiner_.Flush(now, emit);
    }
  }

  void SyncFramingErrors() {
    const std::uint64_t e = framer_.framing_errors();
    if (e > framing_errors_seen_) {
      l_.source->counters().framing_errors.fetch_add(e - framing_errors_seen_, std::memory_order_relaxed);
      framing_errors_seen_ = e;
    }
  }

  // The batch in progress goes to the pipeline after `delay` even if the sender goes quiet.
  void ArmFlush(std::chrono::milliseconds delay) {
    if (flush_armed_) return;
    flush_armed_ = true;
    flush_.expires_after(delay);
    flush_.async_wait([self = this->shared_from_this()](const error_code& ec) {
      self->flush_armed_ = false;
      if (ec || self->closing_ || self->waiting_) return;
      self->FlushJoiner(false);
      self->batcher_.Seal();
      // Refused: try again shortly; the next read also stops if it is still refused.
      if (!self->batcher_.Submit()) {
        self->ArmFlush(kRetryDelay);
      } else if (self->joiner_.open_groups() > 0) {
        self->ArmFlush(std::chrono::milliseconds(std::max(1, self->srv_.options.batch_millis)));
      }
    });
  }

  // Backpressure: no read is issued until the pipeline takes the ready batches, so the kernel's
  // receive buffer fills and TCP flow control stops the sender.
  void WaitForRoom() {
    waiting_ = true;
    retry_.expires_after(kRetryDelay);
    retry_.async_wait([self = this->shared_from_this()](const error_code& ec) {
      if (self->closing_) {
        self->waiting_ = false;
        return self->Drain();
      }
      if (ec) return;
      if (!self->batcher_.Submit()) return self->WaitForRoom();
      self->waiting_ = false;
      if (self->HasHeld()) self->ArmFlush(std::chrono::milliseconds(std::max(1, self->srv_.options.batch_millis)));
      self->Read();
    });
  }

  // End of the connection: hand the last batches over (retrying until Stop's grace period ends),
  // then close.
  void Drain() {
    if (finished_) return;
    if (!framer_finished_) {
      framer_finished_ = true;
      framer_.Finish([&](const Frame& f) { Deliver(f, core::Now()); });
    }
    FlushJoiner(true);
    batcher_.Seal();
    if (batcher_.Submit()) return Finish();
    if (give_up_) {
      const std::uint64_t lost = batcher_.DropAll();
      l_.source->counters().dropped.fetch_add(lost, std::memory_order_relaxed);
      spdlog::warn("syslog {}: {} messages from {} not handed to the pipeline at shutdown", l_.options.name, lost, peer_);
      return Finish();
    }
    retry_.expires_after(kRetryDelay);
    retry_.async_wait([self = this->shared_from_this()](const error_code&) { self->Drain(); });
  }

  // On the connection's strand (idle timeout, or Stop()): no more reading; drain what is buffered.
  // A second call (Stop() after its grace period) gives up on batches the pipeline still refuses.
  void Shutdown() {
    if (closing_) {
      give_up_ = true;
      return;
    }
    closing_ = true;
    error_code ignored;
    idle_.cancel();
    flush_.cancel();
    // A read in flight completes with operation_aborted and drains; a connection waiting for room
    // drains from its retry timer; a TLS handshake in flight fails and finishes.
    Socket().cancel(ignored);
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    error_code ignored;
    idle_.cancel();
    flush_.cancel();
    retry_.cancel();
    Socket().shutdown(tcp::socket::shutdown_both, ignored);
    Socket().close(ignored);
    l_.open_connections.fetch_sub(1, std::memory_order_relaxed);
    l_.source->counters().connections.fetch_sub(1, std::memory_order_relaxed);
    srv_.Unregister(closer_);
  }

 private:
  SyslogServer::Impl& srv_;
  ListenerState& l_;
  Stream stream_;
  asio::steady_timer idle_, flush_, retry_;
  SyslogFramer framer_;
  Batcher batcher_;
  std::string tenant_, source_name_, peer_, dataset_;
  const bool join_audit_;
  text::AuditdJoiner joiner_;
  std::vector<char> buf_;
  SyslogServer::Impl::CloserIt closer_;
  std::uint64_t framing_errors_seen_ = 0;
  bool closing_ = false, finished_ = false, waiting_ = false, flush_armed_ = false, framer_finished_ = false;
  bool give_up_ = false, read_in_flight_ = false;
};

void SyslogServer::Impl::Accept(ListenerState* l) {
  l->acceptor->async_accept(asio::make_strand(ioc), [this, l](const error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) return;
      spdlog::warn("syslog {}: accept: {}", l->options.name, ec.message());
      return Accept(l);
    }
    if (stopping) return;
    error_code ep_ec;
    const tcp::endpoint remote = socket.remote_endpoint(ep_ec);
    if (ep_ec) return Accept(l);
    auto ip = remote.address();
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    const auto bytes = AddressBytes(ip);
    const std::string peer = ip.to_string();
    if (!l->allow.Allows(bytes)) {
      l->source->counters().refused.fetch_add(1, std::memory_order_relaxed);
      if (l->refused_logged.fetch_add(1) % 1000 == 0)
        spdlog::warn("syslog {}: refused connection from {} (not in the listener's allow list)", l->options.name, peer);
      error_code ignored;
      socket.close(ignored);
      return Accept(l);
    }
    if (l->open_connections.load() >= l->options.max_connections) {
      l->source->counters().refused.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("syslog {}: refused connection from {}: {} connections open (max_connections)", l->options.name,
                   peer, l->options.max_connections);
      error_code ignored;
      socket.close(ignored);
      return Accept(l);
    }
    l->open_connections.fetch_add(1);
    std::string tenant, source_name, dataset;
    l->Resolve(bytes, tenant, source_name, dataset);
    if (l->tls) {
      ssl::stream<tcp::socket> stream(std::move(socket), *l->tls);
      std::make_shared<Connection<ssl::stream<tcp::socket>>>(*this, *l, std::move(stream), tenant, source_name, peer,
                                                             dataset)
          ->Start();
    } else {
      std::make_shared<Connection<tcp::socket>>(*this, *l, std::move(socket), tenant, source_name, peer, dataset)
          ->Start();
    }
    Accept(l);
  });
}

// ---- UDP -----------------------------------------------------------------------------------------

class UdpReceiver : public std::enable_shared_from_this<UdpReceiver> {
 public:
  UdpReceiver(SyslogServer::Impl& srv, ListenerState& l)
      : srv_(srv), l_(l), strand_(asio::make_strand(srv.ioc)), flush_(strand_), batcher_(srv.pipeline, l.source, srv.options.batch_events),
        join_audit_(text::AuditdJoiner::AppliesToFormat(l.source->spec().format)) {
    buf_.resize(65536);
  }

  void Start() {
    closer_ = srv_.Register([weak = std::weak_ptr<UdpReceiver>(shared_from_this())] {
      if (auto r = weak.lock()) asio::post(r->strand_, [r] { r->Shutdown(); });
    });
    asio::post(strand_, [self = shared_from_this()] { self->Receive(); });
  }

 private:
  void Receive() {
    if (closing_) return;
    l_.udp_socket->async_receive_from(
        asio::buffer(buf_), sender_,
        asio::bind_executor(strand_, [self = shared_from_this()](const error_code& ec, std::size_t n) {
          self->OnDatagram(ec, n);
        }));
  }

  void OnDatagram(const error_code& ec, std::size_t n) {
    if (ec) {
      if (ec == asio::error::operation_aborted || closing_) return Drain();
      spdlog::debug("syslog {}: receive: {}", l_.options.name, ec.message());
      return Receive();
    }
    auto ip = sender_.address();
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    const auto bytes = AddressBytes(ip);
    SourceCounters& c = l_.source->counters();
    if (!l_.allow.Allows(bytes)) {
      c.refused.fetch_add(1, std::memory_order_relaxed);
      if (l_.refused_logged.fetch_add(1) % 1000 == 0)
        spdlog::warn("syslog {}: ignored datagram from {} (not in the listener's allow list)", l_.options.name,
                     ip.to_string());
      return Receive();
    }
    std::string_view msg(buf_.data(), n);
    // A datagram is one message; a trailing LF/CR/NUL is transport noise.
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r' || msg.back() == '\0')) msg.remove_suffix(1);
    bool truncated = false;
    if (msg.size() > l_.options.max_message_bytes) {
      msg = msg.substr(0, l_.options.max_message_bytes);
      truncated = true;
    }
    if (!msg.empty()) {
      // Held back: the pipeline refused earlier batches; this message cannot be queued.
      if (batcher_.ready() > 0 && !batcher_.Submit()) {
        c.dropped.fetch_add(1, std::memory_order_relaxed);
      } else {
        if (ip != last_ip_ || peer_.empty()) {
          last_ip_ = ip;
          peer_ = ip.to_string();
          l_.Resolve(bytes, tenant_, source_name_, dataset_);
        }
        const core::Timestamp now = core::Now();
        if (join_audit_ && !truncated && text::AuditdJoiner::IsRecord(msg) &&
            (audit_.count(peer_) > 0 || audit_.size() < kMaxAuditSenders)) {
          AuditSender& a = audit_[peer_];
          if (a.peer.empty()) a = {{}, tenant_, source_name_, peer_, dataset_};
          a.joiner.Add(msg, now, [&](std::string_view joined) {
            batcher_.Add(joined, false, a.tenant, a.source_name, now, a.peer, a.dataset);
          });
        } else {
          batcher_.Add(msg, truncated, tenant_, source_name_, now, peer_, dataset_);
        }
        if (batcher_.ready() > 0) batcher_.Submit();
        if (batcher_.has_current() || batcher_.ready() > 0 || !audit_.empty()) ArmFlush();
      }
    }
    Receive();
  }

  void ArmFlush() {
    if (flush_armed_) return;
    flush_armed_ = true;
    flush_.expires_after(std::chrono::milliseconds(std::max(1, srv_.options.batch_millis)));
    flush_.async_wait([self = shared_from_this()](const error_code& ec) {
      self->flush_armed_ = false;
      if (ec || self->closing_) return;
      self->FlushAudit(false);
      self->batcher_.Seal();
      // Try again later when the pipeline refused (new datagrams are dropped meanwhile), and keep
      // checking the join timeout while audit records are held.
      if (!self->batcher_.Submit() || !self->audit_.empty()) self->ArmFlush();
    });
  }

  // Emits the audit events whose group timed out (all of them when `all`), and forgets senders
  // with nothing held.
  void FlushAudit(bool all) {
    const core::Timestamp now = core::Now();
    for (auto it = audit_.begin(); it != audit_.end();) {
      AuditSender& a = it->second;
      auto emit = [&](std::string_view joined) {
        batcher_.Add(joined, false, a.tenant, a.source_name, now, a.peer, a.dataset);
      };
      if (all) {
        a.joiner.FlushAll(emit);
      } else {
        a.joiner.Flush(now, emit);
      }
      it = a.joiner.open_groups() == 0 ? audit_.erase(it) : std::next(it);
    }
  }

  void Shutdown() {
    if (closing_) {
      give_up_ = true;
      return;
    }
    closing_ = true;
    error_code ignored;
    l_.udp_socket->cancel(ignored);
    flush_.cancel();
  }

  void Drain() {
    FlushAudit(true);
    batcher_.Seal();
    if (batcher_.Submit()) return Finish();
    if (give_up_) {
      l_.source->counters().dropped.fetch_add(batcher_.DropAll(), std::memory_order_relaxed);
      return Finish();
    }
    flush_.expires_after(kRetryDelay);
    flush_.async_wait([self = shared_from_this()](const error_code&) { self->Drain(); });
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    error_code ignored;
    l_.udp_socket->close(ignored);
    srv_.Unregister(closer_);
  }

  SyslogServer::Impl& srv_;
  ListenerState& l_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer flush_;
  Batcher batcher_;
  std::vector<char> buf_;
  udp::endpoint sender_;
  asio::ip::address last_ip_;
  std::string tenant_, source_name_, peer_, dataset_;
  // Audit records are joined per sender address (a datagram carries no connection): one joiner
  // each, for at most kMaxAuditSenders senders at a time; records of further senders are stored
  // unjoined. A sender is forgotten once nothing of it is held.
  struct AuditSender {
    text::AuditdJoiner joiner;
    std::string tenant, source_name, peer, dataset;
  };
  static constexpr std::size_t kMaxAuditSenders = 4096;
  const bool join_audit_;
  std::unordered_map<std::string, AuditSender> audit_;
  SyslogServer::Impl::CloserIt closer_;
  bool closing_ = false, finished_ = false, flush_armed_ = false, give_up_ = false;
};

void SyslogServer::Impl::StartUdp(ListenerState* l) { std::make_shared<UdpReceiver>(*this, *l)->Start(); }

// ---- SyslogServer --------------------------------------------------------------------------------

SyslogServer::SyslogServer(Pipeline& pipeline, SyslogServerOptions options)
    : impl_(std::make_unique<Impl>(pipeline, options)) {}

SyslogServer::~SyslogServer() { Stop(); }

Status SyslogServer::Add(const ListenerOptions& o, Source* source) {
  MEDSOC_ASSERT(source != nullptr);
  const std::string where = "ingest listener '" + o.name + "'";
  auto l = std::make_unique<ListenerState>();
  l->options = o;
  l->source = source;
  l->source_name = o.source.empty() ? o.name : o.source;
  auto allow = CidrList::Parse(o.allow);
  if (!allow.ok()) return allow.error().WithContext(where + ": allow");
  l->allow = std::move(*allow);
  for (const auto& m : o.senders) {
    auto match = CidrList::Parse({m.match});
    if (!match.ok()) return match.error().WithContext(where + ": senders");
    l->mappings.push_back({std::move(*match), m.tenant, m.source, m.dataset});
  }
  auto hp = SplitListen(o.listen);
  if (!hp.ok()) return hp.error().WithContext(where);
  error_code ec;
  const auto addr = asio::ip::make_address(hp->first, ec);
  if (ec) return Error(ErrorCode::kInvalidArgument, where + ": '" + hp->first + "' is not an IP address");

  if (o.protocol == ListenerProtocol::kTls) {
    if (o.tls.cert_file.empty() || o.tls.key_file.empty())
      return Error(ErrorCode::kInvalidArgument, where + ": protocol tls needs tls.cert_file and tls.key_file");
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                     ssl::context::single_dh_use);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
    const int min_version = o.tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (o.tls.min_version != "1.2" && o.tls.min_version != "1.3")
      return Error(ErrorCode::kInvalidArgument, where + ": tls.min_version must be 1.2 or 1.3");
    SSL_CTX_set_min_proto_version(native, min_version);
    SSL_CTX_set_cipher_list(native,
                            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                            "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305");
    ctx->use_certificate_chain_file(o.tls.cert_file, ec);
    if (ec) return Error(ErrorCode::kInvalidArgument, where + ": tls.cert_file '" + o.tls.cert_file + "': " + ec.message());
    ctx->use_private_key_file(o.tls.key_file, ssl::context::pem, ec);
    if (ec) return Error(ErrorCode::kInvalidArgument, where + ": tls.key_file '" + o.tls.key_file + "': " + ec.message());
    if (!o.tls.ca_file.empty()) {
      ctx->load_verify_file(o.tls.ca_file, ec);
      if (ec) return Error(ErrorCode::kInvalidArgument, where + ": tls.ca_file '" + o.tls.ca_file + "': " + ec.message());
      ctx->set_verify_mode(ssl::verify_peer | (o.tls.require_client_cert ? ssl::verify_fail_if_no_peer_cert : 0));
    } else if (o.tls.require_client_cert) {
      return Error(ErrorCode::kInvalidArgument, where + ": tls.require_client_cert needs tls.ca_file");
    }
    l->tls = std::move(ctx);
  }

  if (o.protocol == ListenerProtocol::kUdp) {
    const udp::endpoint ep(addr, hp->second);
    l->udp_socket = std::make_unique<udp::socket>(impl_->ioc);
    l->udp_socket->open(ep.protocol(), ec);
    if (!ec && o.udp_receive_buffer_bytes > 0)
      l->udp_socket->set_option(asio::socket_base::receive_buffer_size(static_cast<int>(o.udp_receive_buffer_bytes)), ec);
    ec.clear();
    if (!ec) l->udp_socket->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) l->udp_socket->bind(ep, ec);
    if (ec) return Error(ErrorCode::kUnavailable, where + ": cannot bind udp " + o.listen + ": " + ec.message());
  } else {
    const tcp::endpoint ep(addr, hp->second);
    l->acceptor = std::make_unique<tcp::acceptor>(impl_->ioc);
    l->acceptor->open(ep.protocol(), ec);
    if (!ec) l->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) l->acceptor->bind(ep, ec);
    if (!ec) l->acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error(ErrorCode::kUnavailable, where + ": cannot listen on tcp " + o.listen + ": " + ec.message());
  }
  impl_->listeners.push_back(std::move(l));
  return Ok();
}

Status SyslogServer::Start() {
  if (impl_->started) return Error(ErrorCode::kFailedPrecondition, "syslog server already started");
  impl_->started = true;
  for (auto& l : impl_->listeners) {
    if (l->acceptor) impl_->Accept(l.get());
    if (l->udp_socket) impl_->StartUdp(l.get());
    spdlog::info("ingest: syslog listener {} ({}) on {}:{}", l->options.name,
                 l->options.protocol == ListenerProtocol::kUdp   ? "udp"
                 : l->options.protocol == ListenerProtocol::kTcp ? "tcp"
                                                                 : "tls",
                 l->options.listen.substr(0, l->options.listen.rfind(':')), port(l->options.name));
  }
  const int n = std::max(1, impl_->options.io_threads);
  for (int i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  return Ok();
}

void SyslogServer::Stop() {
  if (!impl_->started || impl_->stopping.exchange(true)) return;
  // Stop accepting.
  for (auto& l : impl_->listeners) {
    if (l->acceptor) {
      asio::post(impl_->ioc, [a = l->acceptor.get()] {
        error_code ignored;
        a->close(ignored);
      });
    }
  }
  auto close_all = [this] {
    std::lock_guard lock(impl_->mu);
    for (auto& c : impl_->closers) c();
  };
  close_all();
  {
    std::unique_lock lock(impl_->mu);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(impl_->options.stop_grace_millis);
    impl_->idle_cv.wait_until(lock, deadline, [this] { return impl_->active == 0; });
  }
  // Past the grace period: the second Shutdown() makes the remaining ones give up.
  close_all();
  {
    std::unique_lock lock(impl_->mu);
    impl_->idle_cv.wait_for(lock, std::chrono::seconds(2), [this] { return impl_->active == 0; });
  }
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

std::uint16_t SyslogServer::port(const std::string& name) const {
  for (const auto& l : impl_->listeners) {
    if (l->options.name != name) continue;
    error_code ec;
    if (l->acceptor) return l->acceptor->local_endpoint(ec).port();
    if (l->udp_socket) return l->udp_socket->local_endpoint(ec).port();
  }
  return 0;
}

}  // namespace medsoc::ingest
