#include "assets/fingerprints.h"

#include <gtest/gtest.h>

#include <set>

#include "assets/protocols.h"

namespace medsoc::assets {
namespace {

std::string ContentDir() {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  return std::string(src ? src : "../../..") + "/content/fingerprints";
}

std::shared_ptr<const FingerprintDb> Content() {
  static std::shared_ptr<const FingerprintDb> db = [] {
    std::vector<Error> errors;
    auto r = FingerprintDb::LoadDir(ContentDir(), errors);
    EXPECT_TRUE(r.ok());
    for (const auto& e : errors) ADD_FAILURE() << e.ToString();
    return r.ok() ? *r : nullptr;
  }();
  return db;
}

Identification Id(std::string_view probe, std::string_view response) {
  return Content()->Identify(probe, response, DecodeAll(response));
}

TEST(FingerprintContent, LoadsWithoutErrorsAndCoversManyProducts) {
  auto db = Content();
  ASSERT_NE(db, nullptr);
  EXPECT_GE(db->match_count(), 200u);
  EXPECT_GE(db->probes().size(), 30u);
  EXPECT_EQ(db->TopPorts("tcp", 3), (std::vector<std::uint16_t>{80, 443, 22}));
  ASSERT_NE(db->Port(104, "tcp"), nullptr);
  EXPECT_TRUE(db->Port(104, "tcp")->fragile);
}

TEST(FingerprintContent, IdentifiesBanners) {
  auto ssh = Id("null", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n");
  EXPECT_EQ(ssh.service, "ssh");
  EXPECT_EQ(ssh.product, "OpenSSH");
  EXPECT_EQ(ssh.version, "9.2p1");
  EXPECT_EQ(ssh.os, "Linux (Debian)");
  EXPECT_EQ(ssh.cpe, "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*");

  auto ftp = Id("null", "220 (vsFTPd 3.0.3)\r\n");
  EXPECT_EQ(ftp.product, "vsftpd");
  EXPECT_EQ(ftp.version, "3.0.3");

  auto http = Id("http-get", "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n<html><title>Welcome to nginx!</title></html>");
  EXPECT_EQ(http.service, "http");
  EXPECT_EQ(http.product, "nginx");
  EXPECT_EQ(http.version, "1.22.1");

  auto jenkins = Id("http-get", "HTTP/1.1 403 Forbidden\r\nServer: Jetty(10.0.13)\r\nX-Jenkins: 2.426.1\r\n\r\n");
  EXPECT_EQ(jenkins.product, "Jenkins");
  EXPECT_EQ(jenkins.version, "2.426.1");

  auto redis = Id("redis-info", "$100\r\n# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n");
  EXPECT_EQ(redis.service, "redis");
  EXPECT_EQ(redis.version, "7.0.15");

  static const char kGreeting[] = "\x4a\x00\x00\x00\x0a" "10.11.4-MariaDB-1~deb12u1\x00\x08\x00\x00\x00";
  std::string mysql(kGreeting, sizeof kGreeting - 1);
  auto maria = Id("null", mysql);
  EXPECT_EQ(maria.product, "MariaDB");
  EXPECT_EQ(maria.version, "10.11.4");

  // A version-less CPE gets '*' in its version field.
  auto n = Id("http-get", "HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n");
  EXPECT_EQ(n.cpe, "cpe:2.3:a:f5:nginx:*:*:*:*:*:*:*:*");
}

TEST(FingerprintLoader, CollectsEveryProblemWithPositionsAndLoadsTheRest) {
  const char* text =
      "probes:\n"
      "  - {name: a, proto: tcp, payload: x, ports: '80'}\n"
      "  - {name: b, proto: sctp}\n"
      "  - {name: c, proto: tcp, ports: '70000'}\n"
      "matches:\n"
      "  - {probe: a, pattern: '^ok (\\d+)', service: s, version: '$1'}\n"
      "  - {probe: a, pattern: '(unclosed', service: s}\n"
      "  - {probe: nope, pattern: 'x', service: s}\n"
      "  - {probe: a, pattern: 'x'}\n"
      "  - {probe: a, pattern: 'x', service: s, colour: red}\n"
      "  - {probe: a, pattern: 'x', service: s, cpe: 'cpe:/a:old'}\n";
  std::vector<Error> errors;
  auto db = FingerprintDb::LoadText(text, "t.yaml", errors);
  std::vector<std::string> got;
  for (const auto& e : errors) got.push_back(e.ToString());
  ASSERT_EQ(errors.size(), 7u) << ::testing::PrintToString(got);
  EXPECT_EQ(got[0].substr(0, 9), "t.yaml:3:");  // proto sctp
  EXPECT_NE(got[1].find("t.yaml:4:"), std::string::npos);
  EXPECT_NE(got[1].find("above 65535"), std::string::npos);
  EXPECT_NE(got[2].find("t.yaml:7:"), std::string::npos);
  EXPECT_NE(got[2].find("pattern:"), std::string::npos);
  EXPECT_NE(got[3].find("t.yaml:9:"), std::string::npos);   // service required
  EXPECT_NE(got[4].find("unknown key 'colour'"), std::string::npos);
  EXPECT_NE(got[5].find("CPE 2.3"), std::string::npos);
  EXPECT_NE(got[6].find("t.yaml:8:"), std::string::npos);   // unknown probe, found at the end
  EXPECT_EQ(db->probes().size(), 1u);
  EXPECT_EQ(db->match_count(), 1u);
  auto id = db->Identify("a", "ok 42", {});
  EXPECT_EQ(id.version, "42");

  errors.clear();
  FingerprintDb::LoadText("probes: [\n  {name: x\n", "broken.yaml", errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].ToString().substr(0, 12), "broken.yaml:");
}

TEST(Templates, GroupsFieldsAndSanitizing) {
  EXPECT_EQ(ExpandTemplate("$1 ${f} $3", {"all", "x"}, {{"f", "y"}}), "x y");
  EXPECT_EQ(ExpandTemplate("a\x01" "b", {}, {}), "ab");
}

}  // namespace
}  // namespace medsoc::assets
