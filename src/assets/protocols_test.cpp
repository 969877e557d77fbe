#include "assets/protocols.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace medsoc::assets {
namespace {

// The committed fuzz seeds double as golden inputs: first byte selects the decoder.
std::string Seed(const std::string& name) {
  const char* src = std::getenv("MEDSOC_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : "../../..") + "/tests/fuzz/corpus/assets_protocols_fuzz/" + name,
                   std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.empty() ? s : s.substr(1);
}

TEST(Protocols, DicomAssociationAcceptAndEcho) {
  Fields f = DecodeAll(Seed("dicom_ac"));
  EXPECT_EQ(f["dicom_pdu"], "associate-ac");
  EXPECT_EQ(f["dicom_accepted"], "yes");
  EXPECT_EQ(f["implementation_uid"], "1.2.276.0.7230010.3.0.3.6.7");
  EXPECT_EQ(f["implementation_version"], "OFFIS_DCMTK_367");
  EXPECT_EQ(f["dicom_max_pdu"], "16384");
  EXPECT_EQ(f["dicom_called_ae"], "PACS");
  EXPECT_EQ(f["dicom_echo_status"], "success");
  EXPECT_EQ(f["dicom_release"], "yes");
}

TEST(Protocols, DicomRejectNamesTheReason) {
  Fields f = DecodeAll(Seed("dicom_rj"));
  EXPECT_EQ(f["dicom_pdu"], "associate-rj");
  EXPECT_EQ(f["dicom_accepted"], "no");
  EXPECT_NE(f["dicom_reject"].find("called AE title not recognized"), std::string::npos);
}

TEST(Protocols, DicomDialogWalksAssociateEchoRelease) {
  auto d = MakeDialog("dicom_echo", {});
  std::string rq = d->Start();
  ASSERT_GE(rq.size(), 74u);
  EXPECT_EQ(rq[0], '\x01');
  EXPECT_EQ(rq.substr(10, 16), "ANY-SCP         ");
  std::string seed = Seed("dicom_ac");
  const size_t ac_len = 6 + ((static_cast<unsigned char>(seed[4]) << 8) | static_cast<unsigned char>(seed[5]));
  auto echo = d->Next(seed.substr(0, 3));  // partial PDU: keep reading
  ASSERT_TRUE(echo.has_value());
  EXPECT_TRUE(echo->empty());
  echo = d->Next(seed.substr(0, ac_len));
  ASSERT_TRUE(echo.has_value());
  ASSERT_FALSE(echo->empty());
  EXPECT_EQ((*echo)[0], '\x04');  // P-DATA-TF with the C-ECHO-RQ
  auto release = d->Next(seed);
  ASSERT_TRUE(release.has_value());
  EXPECT_EQ((*release)[0], '\x05');
  EXPECT_FALSE(d->Next(seed).has_value());
}

TEST(Protocols, Hl7AckFields) {
  Fields f = DecodeAll(Seed("hl7"));
  EXPECT_EQ(f["hl7_sending_app"], "MIRTH");
  EXPECT_EQ(f["hl7_sending_facility"], "HOSP");
  EXPECT_EQ(f["hl7_version"], "2.5");
  EXPECT_EQ(f["hl7_ack_code"], "AR");
  EXPECT_EQ(f["hl7_message_type"], "ACK^N01");
  std::string q = BuildPayload("hl7_query", {});
  EXPECT_EQ(q.front(), '\x0b');
  EXPECT_NE(q.find("|NMQ^N01|"), std::string::npos);
  EXPECT_EQ(q.substr(q.size() - 2), "\x1c\r");
}

TEST(Protocols, BinaryDecoders) {
  Fields f = DecodeAll(Seed("snmp"));
  EXPECT_EQ(f["snmp_sysdescr"], "");  // empty OCTET STRING value in the seed
  f = DecodeAll(Seed("dns"));
  EXPECT_EQ(f["dns_version"], "9.18.19-1");
  f = DecodeAll(Seed("mssql"));
  EXPECT_EQ(f["mssql_version"], "15.0.2000");
  EXPECT_EQ(f["mssql_release"], "2019");
  f = DecodeAll(Seed("pg"));
  EXPECT_EQ(f["pg_routine"], "ProcessStartupPacket");
  EXPECT_EQ(f["pg_code"], "0A000");
  f = DecodeAll(Seed("smb"));
  EXPECT_EQ(f["smb_dialect"], "3.0.2");
  EXPECT_EQ(f["smb_signing"], "required");
  f = DecodeAll(Seed("rdp"));
  EXPECT_EQ(f["rdp_selected"], "hybrid");
  f = DecodeAll(Seed("modbus"));
  EXPECT_EQ(f["modbus_vendor"], "ABCD");
  EXPECT_EQ(f["modbus_product"], "v10");
  f = DecodeAll(Seed("http"));
  EXPECT_EQ(f["title"], "Zabbix & co");
  EXPECT_EQ(f["generator"], "WordPress 6.4");
  EXPECT_EQ(f["cookies"], "JSESSIONID");
  EXPECT_EQ(f["server"], "nginx/1.22.1");
}

TEST(Protocols, TruncatedInputsYieldNothingAndNeverOverread) {
  for (const char* name : {"dicom_ac", "hl7", "snmp", "dns", "mssql", "pg", "smb", "rdp", "modbus", "http", "mysql"}) {
    std::string s = Seed(name);
    for (size_t n = 0; n < s.size(); n += 3) (void)DecodeAll(std::string_view(s).substr(0, n));
  }
  EXPECT_EQ(PrintableBanner(std::string("a\r\n\x01\\", 5)), "a\\r\\n\\x01\\\\");
}

}  // namespace
}  // namespace medsoc::assets

namespace medsoc::assets {
namespace {

TEST(Protocols, SnmpAsksForTheSysDescrInstance) {
  ProbeParams p;
  p.snmp_community = "public";
  const std::string q = BuildPayload("snmp_get", p);
  // 1.3.6.1.2.1.1.1.0: the OID with its trailing instance 0 (8 bytes).
  EXPECT_NE(q.find(std::string("\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00", 10)), std::string::npos);
  EXPECT_NE(q.find(std::string("\x06\x08\x2b\x06\x01\x02\x01\x01\x05\x00", 10)), std::string::npos);
  // An agent's answer decodes.
  const std::string descr = "Linux pacs-gw01 5.10.0-28-amd64";
  std::string vb = std::string("\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00", 10) + "\x04" +
                   static_cast<char>(descr.size()) + descr;
  std::string vbl = "\x30" + std::string(1, static_cast<char>(vb.size())) + vb;
  std::string vbs = "\x30" + std::string(1, static_cast<char>(vbl.size())) + vbl;
  std::string pdu = std::string("\x02\x01\x01\x02\x01\x00\x02\x01\x00", 9) + vbs;
  std::string body = std::string("\x02\x01\x01\x04\x06public", 11) + "\xa2" + static_cast<char>(pdu.size()) + pdu;
  std::string msg = "\x30" + std::string(1, static_cast<char>(body.size())) + body;
  Fields f = DecodeAll(msg);
  EXPECT_EQ(f["snmp_sysdescr"], descr);
}

TEST(Protocols, MdnsServiceEnumeration) {
  const std::string q = BuildPayload("mdns_services", {});
  ASSERT_GE(q.size(), 17u);
  EXPECT_EQ(q.substr(0, 2), std::string("\0\0", 2));  // ID 0 (RFC 6762 section 18.1)
  EXPECT_NE(q.find("\x09_services\x07_dns-sd\x04_udp\x05local"), std::string::npos);
  EXPECT_EQ(q.substr(q.size() - 4), std::string("\x00\x0c\x80\x01", 4));
  // A responder's legacy-unicast answer: two PTRs (compressed names) and an A record.
  static const char kAnswer[] =
      "\x00\x00\x84\x00\x00\x01\x00\x02\x00\x00\x00\x01\t_services\x07_dns-sd\x04_udp\x05local\x00\x00\x0c\x00\x01"
      "\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\n\x00\x11\x04_ipp\x04_tcp\x05local\x00"
      "\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\n\x00\x12\x05_http\x04_tcp\x05local\x00"
      "\nprinter-3f\x05local\x00\x00\x01\x80\x01\x00\x00\x00x\x00\x04\n\x00\x00\t";
  const std::string answer(kAnswer, sizeof kAnswer - 1);
  ASSERT_EQ(answer.size(), 137u);
  Fields f = DecodeAll(answer);
  EXPECT_EQ(f["mdns_services"], "_ipp._tcp.local,_http._tcp.local");
  EXPECT_EQ(f["mdns_hostname"], "printer-3f");
  EXPECT_FALSE(f.count("dns_version"));
  // A compression pointer to itself, or forwards, yields nothing (and no endless loop).
  std::string loop = answer.substr(0, 46) + std::string("\xc0\x0c\x00\x0c\x00\x01\x00\x00\x00\n\x00\x02\xc0\x3a", 14);
  loop[7] = 1;
  loop[11] = 0;
  f = DecodeAll(loop);
  EXPECT_FALSE(f.count("mdns_services"));
}

}  // namespace
}  // namespace medsoc::assets
