// Audit records split over several lines reach the store as one event per kernel event, through
// TCP syslog and a tailed file, with the real parsers (format auto) behind the pipeline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "ingest/parse/parser.h"
#include "ingest/sources/file_tail.h"
#include "ingest/sources/syslog.h"

namespace medsoc::ingest {
namespace {

namespace fs = std::filesystem;

// Stores each event as raw text plus its normalized fields by name (multi-valued joined by '|').
class FieldSink : public event::EventSink {
 public:
  struct Row {
    std::string raw, error;
    std::map<std::string, std::string> fields;
  };
  Status Write(const event::Batch& batch) override {
    std::lock_guard lock(mu_);
    for (const auto& e : batch) {
      Row r{std::string(e.raw()), std::string(e.parse_error()), {}};
      for (auto f : e.fields()) {
        if (f.space != event::FieldSpace::kNormalized) continue;
        std::string& v = r.fields[std::string(event::DefaultFieldTable().Name(f.id))];
        if (!v.empty()) v += "|";
        v += f.value.ToString();
      }
      rows_.push_back(std::move(r));
    }
    cv_.notify_all();
    return Ok();
  }
  bool WaitFor(std::size_t n, int seconds = 30) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(seconds), [&] { return rows_.size() >= n; });
  }
  std::vector<Row> rows() const {
    std::lock_guard lock(mu_);
    return rows_;
  }
  // The row whose raw text contains `needle`, or nullptr.
  const Row* Find(const std::vector<Row>& rows, std::string_view needle) const {
    for (const auto& r : rows)
      if (r.raw.find(needle) != std::string::npos) return &r;
    return nullptr;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Row> rows_;
};

std::string ContentDir() {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  return std::string(src ? src : ".") + "/content";
}

int Connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

void SendAll(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    done += static_cast<std::size_t>(n);
  }
}

void Append(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::app | std::ios::binary);
  out << s;
}

// One execve event of serial 4242 as auditd writes it, record by record.
const char* const kSyscall =
    "type=SYSCALL msg=audit(1732269600.123:4242): arch=c000003e syscall=59 success=yes exit=0 a0=55d a1=55e "
    "a2=55f a3=0 items=2 ppid=100 pid=200 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
    "tty=pts0 ses=3 comm=\"id\" exe=\"/usr/bin/id\" key=\"exec\"";
const char* const kExecve = "type=EXECVE msg=audit(1732269600.123:4242): argc=2 a0=\"id\" a1=\"-u\"";
const char* const kCwd = "type=CWD msg=audit(1732269600.123:4242): cwd=\"/root\"";
const char* const kPath =
    "type=PATH msg=audit(1732269600.123:4242): item=0 name=\"/usr/bin/id\" inode=1 dev=08:01 mode=0100755 "
    "nametype=NORMAL";
const char* const kProctitle = "type=PROCTITLE msg=audit(1732269600.123:4242): proctitle=6964002D75";
const char* const kEoe = "type=EOE msg=audit(1732269600.123:4242): ";
const char* const kUserLogin =
    "type=USER_LOGIN msg=audit(1732269599.001:4241): pid=9 uid=0 auid=1000 ses=3 msg='op=login acct=\"bob\" "
    "exe=\"/usr/sbin/sshd\" hostname=? addr=10.0.0.9 terminal=ssh res=success'";

// The fields every record of the execve event contributes.
void ExpectJoinedExecve(const FieldSink::Row& r) {
  EXPECT_EQ(r.error, "");
  for (const char* k : {"event.id", "process.pid", "process.executable", "process.command_line",
                        "process.working_directory", "file.path", "process.title", "auditd.message_type",
                        "event.dataset"}) {
    ASSERT_TRUE(r.fields.count(k)) << "no " << k << " in " << r.raw;
  }
  EXPECT_EQ(r.fields.at("event.id"), "4242");
  EXPECT_EQ(r.fields.at("process.pid"), "200");                   // SYSCALL
  EXPECT_EQ(r.fields.at("process.executable"), "/usr/bin/id");    // SYSCALL
  EXPECT_EQ(r.fields.at("process.command_line"), "id -u");        // EXECVE
  EXPECT_EQ(r.fields.at("process.working_directory"), "/root");   // CWD
  EXPECT_EQ(r.fields.at("file.path"), "/usr/bin/id");             // PATH
  EXPECT_EQ(r.fields.at("process.title"), "id -u");               // PROCTITLE
  EXPECT_EQ(r.fields.at("auditd.message_type"), "SYSCALL|EXECVE|CWD|PATH|PROCTITLE");
  EXPECT_EQ(r.fields.at("event.dataset"), "linux.auditd");
}

class AuditJoinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto problems = RegisterParsers(registry_, ContentDir());
    ASSERT_TRUE(problems.empty()) << problems.front().ToString();
    dir_ = fs::temp_directory_path() / ("medsoc-auditjoin-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    StopSyslog();
    fs::remove_all(dir_);
  }

  // A pipeline with one source of `format` behind a syslog listener on an ephemeral loopback port;
  // returns the port (0 after a failed assertion).
  std::uint16_t StartSyslog(const std::string& format, ListenerProtocol protocol) {
    pipeline_ = std::make_unique<Pipeline>(PipelineOptions{.parse_workers = 1}, registry_, sink_);
    auto src = pipeline_->AddSource({.name = "syslog", .format = format});
    EXPECT_TRUE(src.ok());
    EXPECT_TRUE(pipeline_->Start().ok());
    server_ = std::make_unique<SyslogServer>(*pipeline_, SyslogServerOptions{.batch_events = 100, .batch_millis = 5});
    EXPECT_TRUE(server_->Add({.name = "syslog", .protocol = protocol, .listen = "127.0.0.1:0"}, *src).ok());
    EXPECT_TRUE(server_->Start().ok());
    return server_->port("syslog");
  }
  // Stops the listener, then drains the pipeline into the sink.
  void StopSyslog() {
    if (server_) server_->Stop();
    if (pipeline_) pipeline_->Stop();
    server_.reset();
    pipeline_.reset();
  }

  core::Registry registry_;
  FieldSink sink_;
  fs::path dir_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<SyslogServer> server_;
};

std::string Syslog(const std::string& record) { return "<14>Nov 22 10:00:00 web1 audispd: " + record + "\n"; }

TEST_F(AuditJoinTest, TcpSyslogRecordsOfOneSerialBecomeOneEvent) {
  const std::uint16_t port = StartSyslog("auto", ListenerProtocol::kTcp);
  ASSERT_NE(port, 0);
  int fd = Connect(port);
  // Split over several writes, with an unrelated message between the records.
  SendAll(fd, Syslog(kSyscall) + Syslog(kExecve));
  SendAll(fd, "<86>Nov 22 10:00:00 web1 sshd[5]: Accepted password for bob from 10.0.0.9 port 22 ssh2\n");
  SendAll(fd, Syslog(kCwd));
  SendAll(fd, Syslog(kPath) + Syslog(kProctitle) + Syslog(kEoe));
  // The EOE closed the event: it is stored while the connection is still open.
  ASSERT_TRUE(sink_.WaitFor(2));
  ::close(fd);
  StopSyslog();
  const auto rows = sink_.rows();
  ASSERT_EQ(rows.size(), 2u);
  const FieldSink::Row* joined = sink_.Find(rows, "type=SYSCALL");
  ASSERT_NE(joined, nullptr);
  ExpectJoinedExecve(*joined);
  ASSERT_TRUE(joined->fields.count("host.hostname"));
  EXPECT_EQ(joined->fields.at("host.hostname"), "web1");  // from the first record's syslog header
  EXPECT_NE(joined->raw.find("type=PROCTITLE"), std::string::npos);
  EXPECT_EQ(joined->raw.find("type=EOE"), std::string::npos);
  EXPECT_NE(sink_.Find(rows, "Accepted password"), nullptr);
}

TEST_F(AuditJoinTest, TcpConnectionCloseFlushesAnOpenEvent) {
  const std::uint16_t port = StartSyslog("auditd", ListenerProtocol::kTcp);
  ASSERT_NE(port, 0);
  int fd = Connect(port);
  SendAll(fd, std::string(kSyscall) + "\n" + kExecve + "\n");  // no EOE
  ::close(fd);
  ASSERT_TRUE(sink_.WaitFor(1));
  StopSyslog();
  const auto rows = sink_.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields.at("process.command_line"), "id -u");
  EXPECT_EQ(rows[0].fields.at("process.pid"), "200");
  EXPECT_EQ(rows[0].fields.at("auditd.message_type"), "SYSCALL|EXECVE");
}

TEST_F(AuditJoinTest, TcpEventWithoutEoeIsEmittedAfterTheJoinTimeout) {
  const std::uint16_t port = StartSyslog("auto", ListenerProtocol::kTcp);
  ASSERT_NE(port, 0);
  int fd = Connect(port);
  SendAll(fd, Syslog(kSyscall) + Syslog(kExecve));
  // The sender stays connected and quiet: the joiner's timeout releases the event.
  ASSERT_TRUE(sink_.WaitFor(1));
  ::close(fd);
  StopSyslog();
  const auto rows = sink_.rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].fields.at("process.command_line"), "id -u");
  EXPECT_EQ(rows[0].fields.at("auditd.message_type"), "SYSCALL|EXECVE");
}

void SendUdp(std::uint16_t port, const std::string& datagram, const char* from = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  ::inet_pton(AF_INET, from, &src.sin_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src)), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)),
            static_cast<ssize_t>(datagram.size()));
  ::close(fd);
}

// UDP: records are joined per sender address. Two senders interleave records with the same
// serial: each gets its own event; the one without EOE is released by the join timeout.
TEST_F(AuditJoinTest, UdpRecordsAreJoinedPerSender) {
  const std::uint16_t port = StartSyslog("auto", ListenerProtocol::kUdp);
  ASSERT_NE(port, 0);
  const std::string other = "<14>Nov 22 10:00:00 web2 audispd: ";
  SendUdp(port, Syslog(kSyscall), "127.0.0.1");
  SendUdp(port, other + kSyscall, "127.0.0.2");
  SendUdp(port, Syslog(kExecve), "127.0.0.1");
  SendUdp(port, "<86>Nov 22 10:00:00 web1 sshd[5]: Accepted password for bob from 10.0.0.9 port 22 ssh2",
          "127.0.0.1");
  SendUdp(port, other + kExecve, "127.0.0.2");
  for (const char* r : {kCwd, kPath, kProctitle, kEoe}) SendUdp(port, Syslog(r), "127.0.0.1");
  // 127.0.0.1's event closes with its EOE; 127.0.0.2's has none and waits for the timeout.
  ASSERT_TRUE(sink_.WaitFor(3));
  StopSyslog();
  const auto rows = sink_.rows();
  ASSERT_EQ(rows.size(), 3u);
  const FieldSink::Row* web1 = sink_.Find(rows, "web1 audispd: type=SYSCALL");
  ASSERT_NE(web1, nullptr);
  ExpectJoinedExecve(*web1);
  EXPECT_EQ(web1->fields.at("log.source.address"), "127.0.0.1");
  const FieldSink::Row* web2 = sink_.Find(rows, "web2 audispd: type=SYSCALL");
  ASSERT_NE(web2, nullptr);
  EXPECT_EQ(web2->fields.at("auditd.message_type"), "SYSCALL|EXECVE");
  EXPECT_EQ(web2->fields.at("log.source.address"), "127.0.0.2");
  EXPECT_NE(sink_.Find(rows, "Accepted password"), nullptr);
}

std::uint64_t CheckpointOffset(const fs::path& cp) {
  std::ifstream in(cp);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string s = ss.str();
  const auto p = s.find("\"offset\":");
  if (p == std::string::npos) return ~std::uint64_t{0};
  return std::stoull(s.substr(p + 9));
}

TEST_F(AuditJoinTest, TailedFileJoinsRecordsAndCheckpointsOnlyCompleteEvents) {
  const fs::path log = dir_ / "audit.log";
  const fs::path cp = dir_ / "cp.json";
  const std::string head = std::string(kUserLogin) + "\n";
  // First part: a one-record event, then the first two records of the execve event.
  Append(log, head + kSyscall + "\n" + kExecve + "\n");
  {
    Pipeline p({.parse_workers = 1}, registry_, sink_);
    auto src = p.AddSource({.name = "file", .format = "auto"});
    ASSERT_TRUE(p.Start().ok());
    FileTailer t(p, {.checkpoint_file = cp.string(), .batch_events = 100});
    ASSERT_TRUE(t.Add({.path = log.string(), .start_at_beginning = true, .poll_interval_ms = 10}, *src).ok());
    ASSERT_TRUE(t.Start().ok());
    ASSERT_TRUE(sink_.WaitFor(1));
    t.Stop();
    p.Stop();
  }
  // The open event's lines are not behind the checkpoint: it ends where SYSCALL starts.
  EXPECT_EQ(CheckpointOffset(cp), head.size());
  ASSERT_EQ(sink_.rows().size(), 1u);
  EXPECT_EQ(sink_.rows()[0].fields.at("user.name"), "bob");

  // The rest of the event arrives; after a restart the whole event is stored once.
  Append(log, std::string(kCwd) + "\n" + kPath + "\n" + kProctitle + "\n" + kEoe + "\n");
  {
    Pipeline p({.parse_workers = 1}, registry_, sink_);
    auto src = p.AddSource({.name = "file", .format = "auto"});
    ASSERT_TRUE(p.Start().ok());
    FileTailer t(p, {.checkpoint_file = cp.string(), .batch_events = 100});
    ASSERT_TRUE(t.Add({.path = log.string(), .start_at_beginning = true, .poll_interval_ms = 10}, *src).ok());
    ASSERT_TRUE(t.Start().ok());
    ASSERT_TRUE(sink_.WaitFor(2));
    t.Stop();
    p.Stop();
  }
  const auto rows = sink_.rows();
  ASSERT_EQ(rows.size(), 2u);
  ExpectJoinedExecve(rows[1]);
  EXPECT_EQ(rows[1].fields.at("log.offset"), std::to_string(head.size()));
  EXPECT_EQ(CheckpointOffset(cp), fs::file_size(log));
}

TEST_F(AuditJoinTest, TailedFileInterleavedEventsAndTimeout) {
  const fs::path log = dir_ / "audit.log";
  // Two events whose records interleave; the second never gets its EOE (released by the timeout).
  const std::string other_syscall =
      "type=SYSCALL msg=audit(1732269600.200:4243): arch=c000003e syscall=2 success=no exit=-13 pid=300 uid=33 "
      "comm=\"cat\" exe=\"/usr/bin/cat\"";
  const std::string other_path = "type=PATH msg=audit(1732269600.200:4243): item=0 name=\"/etc/shadow\"";
  Append(log, std::string(kSyscall) + "\n" + other_syscall + "\n" + kExecve + "\n" + kCwd + "\n" + other_path + "\n" +
                  kPath + "\n" + kProctitle + "\n" + kEoe + "\n");
  Pipeline p({.parse_workers = 1}, registry_, sink_);
  auto src = p.AddSource({.name = "file", .format = "auto"});
  ASSERT_TRUE(p.Start().ok());
  FileTailer t(p, {.checkpoint_file = (dir_ / "cp.json").string(), .batch_events = 100});
  ASSERT_TRUE(t.Add({.path = log.string(), .start_at_beginning = true, .poll_interval_ms = 10}, *src).ok());
  ASSERT_TRUE(t.Start().ok());
  ASSERT_TRUE(sink_.WaitFor(2));
  t.Stop();
  p.Stop();
  const auto rows = sink_.rows();
  ASSERT_EQ(rows.size(), 2u);
  const FieldSink::Row* execve = sink_.Find(rows, "a0=\"id\"");
  const FieldSink::Row* open = sink_.Find(rows, "/etc/shadow");
  ASSERT_NE(execve, nullptr);
  ASSERT_NE(open, nullptr);
  ExpectJoinedExecve(*execve);
  EXPECT_EQ(open->fields.at("file.path"), "/etc/shadow");
  EXPECT_EQ(open->fields.at("process.pid"), "300");
  EXPECT_EQ(open->fields.at("event.outcome"), "failure");
}

}  // namespace
}  // namespace medsoc::ingest
