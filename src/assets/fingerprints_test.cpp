#include "assets/fingerprints.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <set>

#include <yaml-cpp/yaml.h>

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

// Bytes from hex digits (binary protocol answers in the table below).
std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string Http(std::string_view status_and_headers, std::string_view body = "") {
  return "HTTP/1.1 " + std::string(status_and_headers) + "\r\nContent-Type: text/html\r\n\r\n" + std::string(body);
}

// One response per match rule added for issue 6 (and a few older ones): the probe that elicits it,
// the bytes a real server sends, and what must come out. `version` nullptr: not checked.
struct BannerCase {
  const char* probe;
  std::string response;
  const char* service;
  const char* product;
  const char* version;
};

std::vector<BannerCase> BannerCases() {
  const std::string pad34(34, '\0');
  auto padded = [](std::string s, size_t n) { s.resize(n, '\0'); return s; };
  return {
      // remote access, proxies, VPN, brokers, agents
      {"x11-setup", Hex("01000b0000000a00") + pad34.substr(2) + "The X.Org Foundation\0\0\0\0", "x11", "X11 server", ""},
      {"x11-setup", Hex("00150b0000000600") + "No protocol specified\n\0\0\0", "x11", "X11 server", ""},
      {"spice-link", "REDQ" + Hex("0200000002000000420000000000000000"), "spice", "SPICE remote display", ""},
      {"cassandra-options", Hex("8400000106000000300002000b") + "CQL_VERSION" + Hex("00010005") + "3.4.5" + Hex("000b") + "COMPRESSION" + Hex("00010006") + "snappy",
       "cassandra", "Apache Cassandra CQL", ""},
      {"stomp-connect", std::string("CONNECTED\nserver:ActiveMQ/5.18.3\nheart-beat:0,0\nsession:ID:x\nversion:1.2\n\n\0", 74), "stomp", "Apache ActiveMQ STOMP", "5.18.3"},
      {"stomp-connect", std::string("CONNECTED\nserver:RabbitMQ/3.12.13\nsession:session-x\nheart-beat:0,0\nversion:1.2\n\n\0", 80), "stomp", "RabbitMQ STOMP", "3.12.13"},
      {"stomp-connect", std::string("ERROR\nmessage:Bad CONNECT\n\n\0", 28), "stomp", "STOMP broker", ""},
      {"null", Hex("0000012301") + "ActiveMQ" + Hex("0000000c01") + "ProviderName" + Hex("090008") + "ActiveMQ" + Hex("000f") + "ProviderVersion" + Hex("090006") + "5.18.3",
       "openwire", "Apache ActiveMQ OpenWire", "5.18.3"},
      {"null", Hex("0000010001") + "ActiveMQ" + Hex("00000009"), "openwire", "Apache ActiveMQ OpenWire", ""},
      {"epmd-names", Hex("00001111") + "name rabbit at port 25672\n", "epmd", "Erlang port mapper", ""},
      {"epmd-names", Hex("00001111"), "epmd", "Erlang port mapper", ""},
      {"zabbix-agent-version", "ZBXD" + Hex("010600000000000000") + "6.0.25", "zabbix-agent", "Zabbix agent", "6.0.25"},
      {"zabbix-agent-version", "ZBXD" + Hex("011000000000000000") + "ZBX_NOTSUPPORTED", "zabbix-agent", "Zabbix agent", ""},
      {"socks5-greeting", Hex("0500"), "socks5", "SOCKS5 proxy", ""},
      {"socks5-greeting", Hex("05ff"), "socks5", "SOCKS5 proxy", ""},
      {"openvpn-reset", Hex("001a40a1b2c3d4e5f60718") + Hex("0100000000") + "MEDSOCVP" + Hex("00000000"), "openvpn", "OpenVPN", ""},
      {"pptp-sccrq", Hex("009c00011a2b3c4d0002000001000101000000010000000100000000") + padded("vpn-gw", 64) + padded("Microsoft", 64), "pptp", "PPTP VPN", ""},
      {"netbios-session", Hex("82000000"), "netbios-ssn", "NetBIOS session service", ""},
      {"netbios-session", Hex("8300000182"), "netbios-ssn", "NetBIOS session service", ""},
      {"null", Hex("ffffffffffffffffffffffffffffffff001d0104fde800b40a0000010000"), "bgp", "BGP speaker", ""},
      {"null", "RFB 003.889\n", "vnc", "Apple Remote Desktop", ""},
      // industrial and building automation
      {"s7-cotp-cr", Hex("0300001611d00001000200c0010ac1020100c2020102"), "iso-tsap", "Siemens S7 PLC (ISO-on-TCP)", ""},
      {"dnp3-link-status", Hex("05640a0b000401000000"), "dnp3", "DNP3 outstation", ""},
      {"enip-list-identity", Hex("63003d00" "00000000" "00000000" "0000000000000000" "00000000") + Hex("01000c003700") +
           Hex("0100" "0002af12c0a8010a0000000000000000" "0100" "0e00" "3600" "140b" "6000" "12345678") + Hex("14") + "1756-L71/B LOGIX5571" + Hex("03"),
       "ethernet-ip", "1756-L71/B LOGIX5571", ""},
      {"iec104-testfr", Hex("680483000000"), "iec-104", "IEC 60870-5-104 station", ""},
      {"fox-hello", "fox a 0 -1 fox hello\n{\nfox.version=s:1.0\nid=i:7\nhostName=s:bms01\napp.name=s:Station\napp.version=s:4.10.0.154\n};;\n",
       "niagara-fox", "Tridium Niagara", "4.10.0.154"},
      {"tftp-rrq", Hex("00050001") + std::string("File not found\0", 15), "tftp", "TFTP server", ""},
      {"mssql-browser", Hex("055a00") + "ServerName;HISDB01;InstanceName;MSSQLSERVER;IsClustered;No;Version;15.0.2000.5;tcp;1433;;", "ms-sql-m",
       "Microsoft SQL Server Browser", "15.0.2000.5"},
      {"ipmi-auth-caps", Hex("0600ff0700000000000000000010") + Hex("811c632000380001970403000000000009"), "asf-rmcp", "IPMI BMC", ""},
      {"knx-description", Hex("061002040044" "3601" "0200" "1101" "0000" "00c5010203ff" "e000170c" "00005e0a0b0c") + padded("MDT IP Router", 30), "knx", "MDT IP Router", ""},
      {"redis-info", "$120\r\n# Server\r\nredis_version:7.0.15\r\nredis_mode:sentinel\r\nos:Linux\r\n", "redis-sentinel", "Redis Sentinel", "7.0.15"},
      {"git-upload-pack", "0049ERR access denied or repository not exported: /medsoc-probe.git", "git", "git daemon", ""},
      {"xmpp-stream", "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='im.hospital.cn' id='x1' version='1.0'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
       "xmpp", "XMPP server", ""},
      {"xmpp-stream", "<?xml version='1.0'?><stream:stream from='im' id='x' version='1.0'>", "xmpp", "XMPP server", ""},
      {"null", ":irc.example.net NOTICE * :*** Looking up your hostname...\r\n", "irc", "IRC server", ""},
      {"null", Hex("7f7f494341007f7f49434100"), "citrix-ica", "Citrix ICA", ""},
      {"generic-lines", "\r\ndubbo>", "dubbo", "Apache Dubbo", ""},
      {"opcua-hello", "ACKF" + Hex("1c000000000000000000010000000100000000000000000000"), "opc-ua", "OPC UA server", ""},
      {"opcua-hello", "ERRF" + Hex("22000000" "0000cf80" "12000000") + "Endpoint not found", "opc-ua", "OPC UA server", ""},
      {"fins-node-address", "FINS" + Hex("000000100000000100000000000000ef00000001"), "omron-fins", "Omron FINS/TCP PLC", ""},
      {"fins-node-address", "FINS" + Hex("000000100000000000000003"), "omron-fins", "Omron FINS/TCP PLC", ""},
      // the fallbacks of the same probes (answers without the detail)
      {"cassandra-options", Hex("83000001000000002d0000000a0027") + "Invalid or unsupported protocol version", "cassandra", "Apache Cassandra CQL", ""},
      {"s7-cotp-cr", Hex("0300000b06800000000100"), "iso-tsap", "ISO-on-TCP endpoint", ""},
      {"dnp3-link-status", Hex("0564"), "dnp3", "DNP3 device", ""},
      {"enip-list-identity", Hex("6300000000000000650000000000000000000000000000"), "ethernet-ip", "EtherNet/IP device", ""},
      {"fox-hello", "fox a 1 -1 fox rejected\n", "niagara-fox", "Tridium Niagara", ""},
      {"tftp-rrq", Hex("00030001") + "data", "tftp", "TFTP server", ""},
      {"ipmi-auth-caps", Hex("0600ff06"), "asf-rmcp", "RMCP endpoint", ""},
      {"knx-description", Hex("061002040008"), "knx", "KNXnet/IP device", ""},
      // web applications, admin consoles, portals
      {"http-get", Http("401 Unauthorized\r\nServer: Apache-Coyote/1.1\r\nWWW-Authenticate: Basic realm=\"Tomcat Manager Application\""), "http", "Apache Tomcat Manager", ""},
      {"http-get", Http("401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"Tomcat Host Manager Application\""), "http", "Apache Tomcat Host Manager", ""},
      {"http-get", Http("401 Unauthorized\r\nWWW-Authenticate: Digest realm=\"ManagementRealm\", domain=\"/management\""), "http", "WildFly/JBoss EAP management", ""},
      {"http-get", Http("200 OK\r\nX-Confluence-Request-Time: 1700000000000", "<li>Powered by Atlassian Confluence 7.19.16</li>"), "http", "Atlassian Confluence", "7.19.16"},
      {"http-get", Http("200 OK\r\nX-AREQUESTID: 1x2", "<a>Atlassian Jira Project Management Software (v9.4.14#940014-sha1:abc)</a>"), "http", "Atlassian Jira", "9.4.14"},
      {"http-get", Http("200 OK", "<title>Grafana</title><script>window.grafanaBootData = {\"settings\":{\"buildInfo\":{\"commit\":\"a\",\"edition\":\"Open Source\",\"version\":\"10.2.3\"}}}</script>"), "http", "Grafana", "10.2.3"},
      {"http-get", Http("200 OK", "<html><head><title>Welcome to Keycloak</title></head></html>"), "http", "Keycloak", ""},
      {"http-get", Http("200 OK", "<link href=\"/resources/x1y2z/login/keycloak/css/login.css\">"), "http", "Keycloak", ""},
      {"http-get", Http("200 OK", "<title>Apache Flink Web Dashboard</title>"), "http", "Apache Flink", ""},
      {"http-get", Http("200 OK", "<title>Spark Master at spark://10.0.0.5:7077</title>"), "http", "Apache Spark master", ""},
      {"http-get", Http("200 OK", "<title>Spark Worker at 10.0.0.6:40000</title>"), "http", "Apache Spark worker", ""},
      {"http-get", Http("200 OK", "<title>Namenode information</title>"), "http", "Apache Hadoop HDFS NameNode", ""},
      {"http-get", Http("200 OK", "<title>Sign In - Airflow</title>"), "http", "Apache Airflow", ""},
      {"http-get", Http("200 OK", "<title>DolphinScheduler</title>"), "http", "Apache DolphinScheduler", ""},
      {"http-get", Http("200 OK", "<title>Kubernetes Dashboard</title>"), "http", "Kubernetes Dashboard", ""},
      {"http-get", Http("200 OK", "<title>Argo CD</title>"), "http", "Argo CD", ""},
      {"http-get", Http("200 OK", "<title>pgAdmin 4</title>"), "http", "pgAdmin 4", ""},
      {"http-get", Http("200 OK", "<title>Login - Adminer</title>"), "http", "Adminer", ""},
      {"http-get", Http("200 OK", "<title>Metabase</title>"), "http", "Metabase", ""},
      {"http-get", Http("200 OK\r\nX-Graylog-Node-ID: 5f1c"), "http", "Graylog", ""},
      {"http-get", Http("302 Found\r\nosd-name: node-1\r\nLocation: /app/home"), "http", "OpenSearch Dashboards", ""},
      {"http-get", Http("200 OK\r\nServer: Splunkd"), "http", "Splunk", ""},
      {"http-get", Http("200 OK", "<title>Statistics Report for HAProxy</title>"), "http", "HAProxy statistics page", ""},
      {"http-get", Http("302 Found\r\nSet-Cookie: oc1abc=x; path=/\r\nSet-Cookie: nc_sameSiteCookielax=true; path=/"), "http", "Nextcloud", ""},
      {"http-get", Http("200 OK", "<title>TrueNAS</title>"), "http", "TrueNAS", ""},
      {"http-get", Http("200 OK\r\nServer: pve-api-daemon/3.0", "<title>pve01 - Proxmox Virtual Environment</title>"), "http", "Proxmox Virtual Environment", ""},
      {"http-get", Http("200 OK", "<title>VMware Horizon</title>"), "http", "VMware Horizon", ""},
      {"http-get", Http("200 OK", "<title>UniFi Network</title>"), "http", "Ubiquiti UniFi Network", ""},
      {"http-get", Http("200 OK", "<title>OHIF Viewer</title>"), "http", "OHIF Viewer", ""},
      {"http-get", Http("302 Found\r\nLocation: /+CSCOE+/logon.html"), "http", "Cisco ASA/FTD AnyConnect portal", ""},
      {"http-get", Http("200 OK\r\nSet-Cookie: webvpnlogin=1; path=/"), "http", "Cisco ASA/FTD AnyConnect portal", ""},
      {"http-get", Http("302 Found\r\nLocation: https://vpn.example.cn:10443/remote/login?lang=en"), "http", "Fortinet FortiGate SSL-VPN", ""},
      {"http-get", Http("302 Found\r\nLocation: /dana-na/auth/url_default/welcome.cgi"), "http", "Ivanti Connect Secure", ""},
      {"http-get", Http("200 OK", "<title>NetScaler Gateway</title>"), "http", "Citrix NetScaler Gateway", ""},
      {"http-get", Http("200 OK", "<title>Hillstone StoneOS</title>"), "http", "Hillstone StoneOS", ""},
      {"http-get", Http("302 Found\r\nLocation: /doc/page/login.asp?_1700000000"), "http", "Hikvision web server", ""},
      {"http-get", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"success\":false,\"msg\":\"Verification failure\"}", "http", "Sunlogin remote control", ""},
      {"http-get", Http("200 OK", "<title>EMQX Dashboard</title>"), "http", "EMQX Dashboard", ""},
      // two older rules corrected: header values keep their case; KM-MFP-http is Kyocera (Mita)
      {"http-get", Http("200 OK\r\nServer: GlassFish Server Open Source Edition  5.1.0"), "http", "GlassFish", "5.1.0"},
      {"http-get", Http("200 OK\r\nServer: KM-MFP-http/V0.0.1"), "http", "Kyocera printer http config", "0.0.1"},
      // embedded and framework web servers
      {"http-get", Http("200 OK\r\nServer: CANON HTTP Server"), "http", "Canon printer http config", ""},
      {"http-get", Http("200 OK\r\nServer: EPSON_Linux UPnP/1.0 Epson UPnP SDK/1.0"), "http", "Epson printer http config", ""},
      {"http-get", Http("200 OK\r\nServer: Mbedthis-Appweb/2.4.2"), "http", "Embedthis Appweb", "2.4.2"},
      {"http-get", Http("200 OK\r\nServer: Werkzeug/2.2.2 Python/3.11.2"), "http", "Werkzeug httpd", "2.2.2"},
      {"http-get", Http("200 OK\r\nServer: gunicorn"), "http", "Gunicorn", ""},
  };
}

TEST(FingerprintContent, IdentifiesEveryRuleOfTheBannerTable) {
  ASSERT_NE(Content(), nullptr);
  for (const auto& c : BannerCases()) {
    SCOPED_TRACE(std::string(c.probe) + " -> " + c.product);
    auto id = Id(c.probe, c.response);
    EXPECT_TRUE(id.matched);
    EXPECT_FALSE(id.soft);
    EXPECT_EQ(id.service, c.service) << id.match_pos;
    EXPECT_EQ(id.product, c.product) << id.match_pos;
    if (c.version && *c.version) EXPECT_EQ(id.version, c.version) << id.match_pos;
    // Every rule with a CPE renders a well-formed CPE 2.3 name with 13 components.
    if (!id.cpe.empty()) {
      EXPECT_EQ(id.cpe.rfind("cpe:2.3:", 0), 0u) << id.cpe;
      EXPECT_EQ(std::count(id.cpe.begin(), id.cpe.end(), ':'), 12) << id.cpe;
    }
  }
}

// What counts as "a service identified" (issue 6: at least 150):
//  - protocol names: the distinct `service` names that a match rule (not the port table) produces;
//  - identities: the distinct (service, product) pairs of hard match rules with a literal product
//    (a templated product counts once for its service). Web applications share the service name
//    "http" (as in any scanner's output), so Tomcat, Jenkins or Orthanc count as identities.
TEST(FingerprintContent, IdentifiesAtLeast150Services) {
  auto db = Content();
  ASSERT_NE(db, nullptr);
  std::set<std::string> names;
  for (const auto& n : db->ServiceNames())
    if (n != "unknown") names.insert(n);
  std::set<std::string> identities;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(ContentDir()))
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  for (const auto& f : files) {
    YAML::Node root = YAML::LoadFile(f);
    if (!root["matches"]) continue;
    for (const auto& m : root["matches"]) {
      if (m["soft"] && m["soft"].as<std::string>() == "true") continue;
      std::string service = m["service"].as<std::string>();
      if (service == "unknown") continue;
      std::string product = m["product"] ? m["product"].as<std::string>() : "";
      if (product.find('$') != std::string::npos) product.clear();
      EXPECT_TRUE(names.count(service)) << service;
      identities.insert(service + " | " + product);
    }
  }
  std::cout << "fingerprint database: " << db->match_count() << " matches, " << names.size()
            << " protocol service names, " << identities.size() << " identified services (service, product)\n";
  EXPECT_GE(identities.size(), 150u);
  EXPECT_GE(names.size(), 70u);
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
