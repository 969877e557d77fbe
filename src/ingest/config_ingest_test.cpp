#include "ingest/config_ingest.h"

#include <gtest/gtest.h>

namespace medsoc::ingest {
namespace {

TEST(ConfigIngestTest, AbsentSectionGivesDefaults) {
  auto o = ParseIngestSection("log:\n  level: warn\n", "m.yaml");
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_TRUE(o->listeners.empty());
  EXPECT_EQ(o->batch_events, 2048u);
}

TEST(ConfigIngestTest, FullSection) {
  const char* yaml = R"(
ingest:
  parse_workers: 3
  batch_events: 500
  http: {max_events: 10, retry_after_seconds: 2}
  listeners:
    - name: fw
      protocol: tcp
      listen: 0.0.0.0:6514
      tenant: hosp-a
      format: rfc3164
      timezone: "+08:00"
      allow: [10.0.0.0/8, 192.168.1.5]
      senders:
        - {match: 10.1.0.0/16, source: his}
    - name: sec
      protocol: tls
      listen: 127.0.0.1:6515
      tls: {cert_file: c.pem, key_file: k.pem, ca_file: ca.pem, require_client_cert: true}
  files:
    - path: /var/log/nginx/*.log
      source: nginx
      timezone: UTC
)";
  auto o = ParseIngestSection(yaml, "m.yaml");
  ASSERT_TRUE(o.ok()) << o.error().ToString();
  EXPECT_EQ(o->parse_workers, 3);
  EXPECT_EQ(o->http.max_events, 10u);
  ASSERT_EQ(o->listeners.size(), 2u);
  EXPECT_EQ(o->listeners[0].protocol, ListenerProtocol::kTcp);
  EXPECT_EQ(o->listeners[0].tz_offset_minutes, 480);
  EXPECT_EQ(o->listeners[0].allow.size(), 2u);
  EXPECT_EQ(o->listeners[0].senders[0].source, "his");
  EXPECT_TRUE(o->listeners[1].tls.require_client_cert);
  ASSERT_EQ(o->files.size(), 1u);
  EXPECT_EQ(o->files[0].tz_offset_minutes, 0);
}

TEST(ConfigIngestTest, EveryProblemWithItsPosition) {
  const char* yaml = R"(ingest:
  batch_events: many
  colour: blue
  listeners:
    - name: a
      protocol: sctp
      listen: 1.2.3.4:5
      allow: [10.0.0.0/40]
      timezone: Mars/Base
    - name: a
      protocol: tls
      listen: 1.2.3.4:6
)";
  auto errors = CheckIngestSection(yaml, "m.yaml");
  std::string all;
  for (const auto& e : errors) all += e.ToString() + "\n";
  EXPECT_NE(all.find("m.yaml:2:17: ingest.batch_events: must be an integer"), std::string::npos) << all;
  EXPECT_NE(all.find("m.yaml:3:3: ingest.colour: unknown key"), std::string::npos) << all;
  EXPECT_NE(all.find("ingest.listeners[0].protocol: must be udp, tcp or tls"), std::string::npos) << all;
  EXPECT_NE(all.find("ingest.listeners[0].allow[0]"), std::string::npos) << all;
  EXPECT_NE(all.find("ingest.listeners[0].timezone"), std::string::npos) << all;
  EXPECT_NE(all.find("ingest.listeners[1].name: 'a' is used by another listener"), std::string::npos) << all;
  EXPECT_NE(all.find("ingest.listeners[1].tls: protocol tls needs"), std::string::npos) << all;
  EXPECT_FALSE(ParseIngestSection(yaml, "m.yaml").ok());
}

}  // namespace
}  // namespace medsoc::ingest
