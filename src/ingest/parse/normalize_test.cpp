#include "ingest/parse/normalize.h"

#include <gtest/gtest.h>

#include "ingest/parse/syslog.h"
#include "ingest/parse/text_test_util.h"

namespace medsoc::ingest::text {
namespace {

using namespace testing;

class NormalizeTest : public ::testing::Test {
 protected:
  void Parse(const std::string& msg) {
    ASSERT_TRUE(ParseLine(p_, "<38>Mar  3 10:01:02 his-app01 " + msg, e_).ok()) << msg;
  }
  Rfc3164Parser p_;
  event::Event e_;
};

TEST_F(NormalizeTest, SshdAcceptedAndFailed) {
  Parse("sshd[1001]: Accepted publickey for alice from 10.20.30.40 port 52144 ssh2: ED25519 SHA256:abc");
  EXPECT_EQ(Get(e_, "user.name"), "alice");
  EXPECT_EQ(Get(e_, "source.ip"), "10.20.30.40");
  EXPECT_EQ(Get(e_, "source.port"), "52144");
  EXPECT_EQ(Get(e_, "event.outcome"), "success");
  EXPECT_EQ(Get(e_, "event.category"), "authentication");
  EXPECT_EQ(Get(e_, "event.action"), "ssh-login");
  EXPECT_EQ(Orig(e_, "ssh.method"), "publickey");
  Parse("sshd[1001]: Failed password for invalid user oracle from 2001:db8::7 port 4711 ssh2");
  EXPECT_EQ(Get(e_, "user.name"), "oracle");
  EXPECT_EQ(Get(e_, "source.ip"), "2001:db8::7");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Get(e_, "event.action"), "ssh-invalid-user");
  Parse("sshd[1001]: Failed password for root from 10.0.0.5 port 22 ssh2");
  EXPECT_EQ(Get(e_, "user.name"), "root");
  EXPECT_EQ(Get(e_, "event.action"), "ssh-login");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
}

TEST_F(NormalizeTest, SshdInvalidUserAndDisconnect) {
  Parse("sshd[9]: Invalid user admin from 203.0.113.5 port 33000");
  EXPECT_EQ(Get(e_, "user.name"), "admin");
  EXPECT_EQ(Get(e_, "source.ip"), "203.0.113.5");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  Parse("sshd[9]: Disconnected from authenticating user root 203.0.113.5 port 33001 [preauth]");
  EXPECT_EQ(Get(e_, "user.name"), "root");
  EXPECT_EQ(Get(e_, "source.port"), "33001");
  EXPECT_EQ(Get(e_, "event.action"), "ssh-disconnect");
  Parse("sshd[9]: Received disconnect from 203.0.113.5 port 33002:11: disconnected by user");
  EXPECT_EQ(Get(e_, "source.ip"), "203.0.113.5");
  EXPECT_EQ(Get(e_, "source.port"), "33002");
}

TEST_F(NormalizeTest, Sudo) {
  Parse("sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart his ; echo done");
  EXPECT_EQ(Get(e_, "user.name"), "alice");
  EXPECT_EQ(Get(e_, "user.effective.name"), "root");
  EXPECT_EQ(Get(e_, "process.command_line"), "/usr/bin/systemctl restart his ; echo done");
  EXPECT_EQ(Get(e_, "process.working_directory"), "/home/alice");
  EXPECT_EQ(Get(e_, "event.outcome"), "success");
  Parse("sudo: mallory : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/cat /etc/shadow");
  EXPECT_EQ(Get(e_, "user.name"), "mallory");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Get(e_, "event.reason"), "3 incorrect password attempts");
}

TEST_F(NormalizeTest, SuAndPam) {
  Parse("su[300]: (to root) alice on pts/0");
  EXPECT_EQ(Get(e_, "user.name"), "alice");
  EXPECT_EQ(Get(e_, "user.effective.name"), "root");
  EXPECT_EQ(Get(e_, "event.outcome"), "success");
  Parse("su[300]: FAILED SU (to root) bob on pts/2");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  Parse("su[300]: pam_unix(su:session): session opened for user root(uid=0) by alice(uid=1000)");
  EXPECT_EQ(Get(e_, "user.name"), "alice");
  EXPECT_EQ(Get(e_, "user.effective.name"), "root");
  EXPECT_EQ(Get(e_, "event.action"), "session-opened");
  Parse("sshd[5]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.7  user=root");
  EXPECT_EQ(Get(e_, "user.name"), "root");
  EXPECT_EQ(Get(e_, "source.ip"), "198.51.100.7");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Orig(e_, "pam.service"), "sshd");
  Parse("systemd-logind[5]: pam_unix(login:session): session closed for user nurse01");
  EXPECT_EQ(Get(e_, "user.name"), "nurse01");
  EXPECT_EQ(Get(e_, "event.action"), "session-closed");
}

TEST_F(NormalizeTest, AccountManagement) {
  Parse("useradd[77]: new user: name=tmpadmin, UID=1005, GID=1005, home=/home/tmpadmin, shell=/bin/bash, from=/dev/pts/0");
  EXPECT_EQ(Get(e_, "user.target.name"), "tmpadmin");
  EXPECT_EQ(Get(e_, "event.action"), "user-created");
  EXPECT_EQ(Get(e_, "event.category"), "iam");
  Parse("usermod[78]: add 'tmpadmin' to group 'sudo'");
  EXPECT_EQ(Get(e_, "group.name"), "sudo");
  EXPECT_EQ(Get(e_, "event.action"), "user-added-to-group");
  Parse("userdel[79]: delete user 'tmpadmin'");
  EXPECT_EQ(Get(e_, "event.action"), "user-deleted");
  Parse("passwd[80]: pam_unix(passwd:chauthtok): password changed for doctor7");
  EXPECT_EQ(Get(e_, "user.target.name"), "doctor7");
  EXPECT_EQ(Get(e_, "event.action"), "password-changed");
  Parse("groupadd[81]: group added to /etc/group: name=radiology, GID=1010");
  EXPECT_EQ(Get(e_, "group.name"), "radiology");
  EXPECT_EQ(Get(e_, "event.action"), "group-created");
}

TEST_F(NormalizeTest, Cron) {
  Parse("CRON[1234]: (backup) CMD (   /opt/his/bin/dump.sh --full)");
  EXPECT_EQ(Get(e_, "user.name"), "backup");
  EXPECT_EQ(Get(e_, "process.command_line"), "/opt/his/bin/dump.sh --full");
  EXPECT_EQ(Get(e_, "event.action"), "cron-command");
}

TEST_F(NormalizeTest, IptablesAndNftables) {
  Parse("kernel: [123456.789012] [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00 "
        "SRC=203.0.113.9 DST=10.1.1.20 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=4242 DF PROTO=TCP SPT=51515 DPT=3389 "
        "WINDOW=29200 RES=0x00 SYN URGP=0");
  EXPECT_EQ(Get(e_, "rule.name"), "[UFW BLOCK]");
  EXPECT_EQ(Get(e_, "source.ip"), "203.0.113.9");
  EXPECT_EQ(Get(e_, "destination.port"), "3389");
  EXPECT_EQ(Get(e_, "network.transport"), "tcp");
  EXPECT_EQ(Get(e_, "observer.ingress.interface.name"), "eth0");
  EXPECT_EQ(Get(e_, "event.action"), "drop");
  EXPECT_EQ(Get(e_, "event.outcome"), "failure");
  EXPECT_EQ(Orig(e_, "SYN"), "true");
  Parse("kernel: nft-accept-dicom: IN=ens3 OUT=ens4 SRC=10.1.1.5 DST=10.2.2.8 LEN=52 PROTO=TCP SPT=40000 DPT=104");
  EXPECT_EQ(Get(e_, "rule.name"), "nft-accept-dicom");
  EXPECT_EQ(Get(e_, "event.action"), "accept");
  EXPECT_EQ(Get(e_, "observer.egress.interface.name"), "ens4");
}

TEST_F(NormalizeTest, UnknownMessageIsNotAnError) {
  Parse("sshd[1]: Server listening on :: port 22.");
  EXPECT_EQ(Get(e_, "event.action"), "");
  EXPECT_EQ(Get(e_, "message"), "Server listening on :: port 22.");
  EXPECT_EQ(Get(e_, "event.dataset"), "");  // not recognised: the source's dataset may apply
}

// Each recognised program names its event.dataset (docs/formats.md); module is "linux".
TEST_F(NormalizeTest, DatasetPerProgram) {
  const std::pair<const char*, const char*> cases[] = {
      {"sshd[1001]: Failed password for root from 10.0.0.5 port 22 ssh2", "linux.sshd"},
      {"sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls", "linux.sudo"},
      {"su: (to root) alice on pts/0", "linux.su"},
      {"useradd[900]: new user: name=bob, UID=1001, GID=1001, home=/home/bob, shell=/bin/bash", "linux.account"},
      {"CRON[1200]: (root) CMD (/usr/local/bin/backup.sh)", "linux.cron"},
      {"kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.9 DST=10.0.0.1 LEN=60 PROTO=TCP SPT=4444 DPT=22", "linux.netfilter"},
      {"login: pam_unix(login:auth): authentication failure; logname= uid=0 euid=0 tty=tty1 ruser= rhost=  user=bob",
       "linux.pam"},
      {"auditd: type=USER_LOGIN msg=audit(1709431262.123:77): pid=1 uid=0 auid=4294967295 ses=4294967295 "
       "msg='op=login acct=\"bob\" exe=\"/usr/sbin/sshd\" hostname=? addr=10.0.0.5 terminal=sshd res=failed'",
       "linux.auditd"},
  };
  for (const auto& [msg, ds] : cases) {
    e_ = event::Event();
    Parse(msg);
    EXPECT_EQ(Get(e_, "event.dataset"), ds) << msg;
    EXPECT_EQ(Get(e_, "event.module"), "linux") << msg;
  }
}

TEST(DatasetSlug, LowercaseAndCollapsed) {
  event::Event e;
  SetDatasetSlug(e, "Qi-An Xin", "  TianYan NGSOC ");
  EXPECT_EQ(Get(e, "event.dataset"), "qi_an_xin.tianyan_ngsoc");
  SetDatasetSlug(e, "other", "x");  // an existing dataset is kept
  EXPECT_EQ(Get(e, "event.dataset"), "qi_an_xin.tianyan_ngsoc");
  event::Event e2;
  SetDatasetSlug(e2, "!!!", "x");  // nothing usable: unset
  EXPECT_EQ(Get(e2, "event.dataset"), "");
}

}  // namespace
}  // namespace medsoc::ingest::text
