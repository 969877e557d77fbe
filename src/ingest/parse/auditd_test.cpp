#include "ingest/parse/auditd.h"

#include <gtest/gtest.h>

#include <vector>

#include "ingest/parse/text_test_util.h"

namespace medsoc::ingest::text {
namespace {

using namespace testing;

constexpr const char* kSyscall =
    "type=SYSCALL msg=audit(1709431262.123:4711): arch=c000003e syscall=59 success=yes exit=0 a0=55d1 a1=55d2 "
    "a2=55d3 a3=0 items=2 ppid=1200 pid=1300 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 "
    "tty=pts0 ses=3 comm=\"cat\" exe=\"/usr/bin/cat\" key=\"shadow_read\"";
constexpr const char* kExecve = "type=EXECVE msg=audit(1709431262.123:4711): argc=2 a0=\"cat\" a1=2F6574632F736861646F77";
constexpr const char* kCwd = "type=CWD msg=audit(1709431262.123:4711): cwd=\"/root\"";
constexpr const char* kPath =
    "type=PATH msg=audit(1709431262.123:4711): item=0 name=\"/etc/shadow\" inode=1 dev=08:01 mode=0100640 "
    "nametype=NORMAL";
constexpr const char* kProctitle = "type=PROCTITLE msg=audit(1709431262.123:4711): proctitle=636174002F6574632F736861646F77";
constexpr const char* kEoe = "type=EOE msg=audit(1709431262.123:4711): ";

TEST(Auditd, SingleRecord) {
  AuditdParser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, kSyscall, e).ok());
  EXPECT_EQ(Utc(e), "2024-03-03T02:01:02.123Z");
  EXPECT_EQ(e.time_text(), "1709431262.123");
  EXPECT_EQ(Get(e, "event.id"), "4711");
  EXPECT_EQ(Get(e, "auditd.message_type"), "SYSCALL");
  EXPECT_EQ(Get(e, "process.pid"), "1300");
  EXPECT_EQ(Get(e, "process.parent.pid"), "1200");
  EXPECT_EQ(Get(e, "user.audit.id"), "1000");
  EXPECT_EQ(Get(e, "process.name"), "cat");
  EXPECT_EQ(Get(e, "process.executable"), "/usr/bin/cat");
  EXPECT_EQ(Get(e, "rule.name"), "shadow_read");
  EXPECT_EQ(Get(e, "event.outcome"), "success");
  EXPECT_EQ(Orig(e, "arch"), "c000003e");
}

TEST(Auditd, UserRecordWithNestedMsg) {
  AuditdParser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, "node=his-db01 type=USER_LOGIN msg=audit(1709431262.500:900): pid=77 uid=0 auid=4294967295 "
                           "ses=4294967295 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=? "
                           "addr=198.51.100.7 terminal=sshd res=failed'",
                           e).ok());
  EXPECT_EQ(Get(e, "host.name"), "his-db01");
  EXPECT_EQ(Get(e, "user.name"), "root");
  EXPECT_EQ(Get(e, "source.ip"), "198.51.100.7");
  EXPECT_EQ(Get(e, "event.outcome"), "failure");
  EXPECT_EQ(Get(e, "event.action"), "login");
  EXPECT_EQ(Get(e, "event.category"), "authentication");
  EXPECT_EQ(Get(e, "user.audit.id"), "");  // unset auid
}

TEST(Auditd, MalformedRecordsSayWhere) {
  AuditdParser p;
  event::Event e;
  auto st = ParseLine(p, "type=SYSCALL msg=audit(17094:1", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("at byte"), std::string::npos);
  EXPECT_FALSE(ParseLine(p, "type=SYSCALL msg=audit(abc.1:2): x=1", e).ok());
  EXPECT_FALSE(ParseLine(p, "type=SYSCALL msg=audit(1.1:2): comm=\"unterminated", e).ok());
}

TEST(AuditdJoiner, MergesBySerialOnEoe) {
  AuditdJoiner j;
  std::vector<std::string> out;
  auto emit = [&](std::string_view s) { out.emplace_back(s); };
  const core::Timestamp t0{core::Seconds(100)};
  for (const char* r : {kSyscall, kExecve, kCwd, kPath, kProctitle}) j.Add(r, t0, emit);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(j.open_groups(), 1u);
  j.Add(kEoe, t0, emit);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(j.open_groups(), 0u);

  AuditdParser p;
  event::Event e;
  ASSERT_TRUE(ParseLine(p, out[0], e).ok());
  EXPECT_EQ(Get(e, "process.command_line"), "cat /etc/shadow");
  EXPECT_EQ(Count(e, "process.args"), 2u);
  EXPECT_EQ(Get(e, "process.working_directory"), "/root");
  EXPECT_EQ(Get(e, "file.path"), "/etc/shadow");
  EXPECT_EQ(Get(e, "process.title"), "cat /etc/shadow");
  EXPECT_EQ(Get(e, "event.category"), "process");
  EXPECT_EQ(Count(e, "auditd.message_type"), 5u);
  EXPECT_EQ(Get(e, "process.pid"), "1300");
}

TEST(AuditdJoiner, StandaloneTimeoutAndBounds) {
  AuditdJoiner::Options o;
  o.timeout_ns = core::Seconds(2);
  o.max_records = 3;
  o.max_open = 2;
  AuditdJoiner j(o);
  std::vector<std::string> out;
  auto emit = [&](std::string_view s) { out.emplace_back(s); };
  // A record type that never groups goes out at once.
  j.Add("type=USER_AUTH msg=audit(1.000:1): pid=1 msg='op=PAM:authentication acct=\"a\" res=success'", {0}, emit);
  EXPECT_EQ(out.size(), 1u);
  // A group without EOE goes out on timeout.
  j.Add("type=SYSCALL msg=audit(1.000:2): pid=2", {0}, emit);
  j.Flush(core::Timestamp{core::Seconds(1)}, emit);
  EXPECT_EQ(out.size(), 1u);
  j.Flush(core::Timestamp{core::Seconds(3)}, emit);
  EXPECT_EQ(out.size(), 2u);
  // Size bound per group.
  for (int i = 0; i < 3; ++i) j.Add("type=PATH msg=audit(1.000:3): item=0 name=\"/x\"", {core::Seconds(3)}, emit);
  EXPECT_EQ(out.size(), 3u);
  // Bound on open groups: the oldest is emitted.
  j.Add("type=SYSCALL msg=audit(1.000:10): pid=1", {core::Seconds(3)}, emit);
  j.Add("type=SYSCALL msg=audit(1.000:11): pid=1", {core::Seconds(3)}, emit);
  j.Add("type=SYSCALL msg=audit(1.000:12): pid=1", {core::Seconds(3)}, emit);
  EXPECT_EQ(out.size(), 4u);
  EXPECT_NE(out.back().find(":10)"), std::string::npos);
  // Lines that are not audit records pass through alone; FlushAll empties.
  j.Add("garbage", {core::Seconds(3)}, emit);
  EXPECT_EQ(out.back(), "garbage");
  j.FlushAll(emit);
  EXPECT_EQ(j.open_groups(), 0u);
  EXPECT_EQ(out.size(), 7u);
}

TEST(AuditdJoiner, IntoBatch) {
  event::Batch batch;
  AuditdJoiner j;
  auto emit = AuditdJoiner::IntoBatch(batch, Ctx());
  for (const char* r : {kSyscall, kExecve, kEoe}) j.Add(r, {0}, emit);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_FALSE(batch[0].has_parse_error());
  EXPECT_EQ(Get(batch[0], "process.command_line"), "cat /etc/shadow");
}

}  // namespace
}  // namespace medsoc::ingest::text
