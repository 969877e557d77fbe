#include <gtest/gtest.h>

#include <string>

#include "core/registry.h"
#include "event/json.h"
#include "ingest/framing_json.h"
#include "ingest/parse/json/csv.h"
#include "ingest/parse/json/flat_json.h"
#include "ingest/parse/json/test_util.h"
#include "ingest/parse/json_parsers.h"

namespace medsoc::ingest::json {
namespace {

using testing::Orig;
using testing::ParseInto;
using testing::Text;

constexpr std::string_view kSysmon1Nxlog =
    R"({"SourceName":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational",)"
    R"("Hostname":"WS01.hospital.local","TimeCreated":"2024-03-03T02:01:02.500Z","EventTime":"2024-03-03 10:01:02",)"
    R"("EventID":1,"Message":"Process Create","RuleName":"-","UtcTime":"2024-03-03 02:01:02.499",)"
    R"("ProcessGuid":"{aaaa-1}","ProcessId":"4242","Image":"C:\\Windows\\System32\\cmd.exe",)"
    R"("CommandLine":"cmd.exe /c whoami","CurrentDirectory":"C:\\Users\\doc\\","User":"HOSP\\doctor1",)"
    R"("IntegrityLevel":"Medium","Hashes":"MD5=AA,SHA256=BBCC","ParentProcessId":"100",)"
    R"("ParentImage":"C:\\Windows\\explorer.exe","ParentCommandLine":"explorer.exe","ProviderName":"x"})";

TEST(WindowsJson, NxlogSysmonProcessCreate) {
  auto p = MakeWindowsJsonParser(WindowsShape::kAny);
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, kSysmon1Nxlog, e).ok());
  EXPECT_EQ(Orig(e, "EventID"), "1");
  EXPECT_EQ(Orig(e, "Channel"), "Microsoft-Windows-Sysmon/Operational");
  EXPECT_EQ(Orig(e, "Provider_Name"), "Microsoft-Windows-Sysmon");
  EXPECT_EQ(Orig(e, "Computer"), "WS01.hospital.local");
  EXPECT_EQ(Orig(e, "Image"), "C:\\Windows\\System32\\cmd.exe");
  EXPECT_EQ(Text(e, "event.code"), "1");
  EXPECT_EQ(Text(e, "winlog.channel"), "Microsoft-Windows-Sysmon/Operational");
  EXPECT_EQ(Text(e, "winlog.provider_name"), "Microsoft-Windows-Sysmon");
  EXPECT_EQ(Text(e, "host.name"), "WS01.hospital.local");
  EXPECT_EQ(Text(e, "process.executable"), "C:\\Windows\\System32\\cmd.exe");
  EXPECT_EQ(Text(e, "process.name"), "cmd.exe");
  EXPECT_EQ(Text(e, "process.command_line"), "cmd.exe /c whoami");
  EXPECT_EQ(Text(e, "process.parent.executable"), "C:\\Windows\\explorer.exe");
  EXPECT_EQ(Text(e, "process.pid"), "4242");
  EXPECT_EQ(Text(e, "process.parent.pid"), "100");
  EXPECT_EQ(Text(e, "process.hash.sha256"), "BBCC");
  EXPECT_EQ(Text(e, "user.name"), "doctor1");
  EXPECT_EQ(Text(e, "user.domain"), "HOSP");
  EXPECT_EQ(Text(e, "event.category"), "process");
  EXPECT_EQ(Text(e, "event.module"), "sysmon");
  EXPECT_EQ(core::FormatRfc3339(e.time(), 3), "2024-03-03T02:01:02.500Z");
}

TEST(WindowsJson, NxlogLocalEventTimeUsesSourceZone) {
  auto p = MakeWindowsJsonParser(WindowsShape::kNxlog);
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, R"({"EventID":4625,"Channel":"Security","Hostname":"DC1","EventTime":"2024-03-03 10:01:02",)"
                            R"("TargetUserName":"admin","TargetDomainName":"HOSP","LogonType":"3","IpAddress":"10.2.3.4","IpPort":"51515"})",
                        e)
                  .ok());
  EXPECT_EQ(core::FormatRfc3339(e.time(), 0), "2024-03-03T02:01:02Z");  // +08:00 default
  EXPECT_EQ(Text(e, "user.name"), "admin");
  EXPECT_EQ(Text(e, "source.ip"), "10.2.3.4");
  EXPECT_EQ(Text(e, "source.port"), "51515");
  EXPECT_EQ(Text(e, "winlog.logon.type"), "3");
  EXPECT_EQ(Text(e, "event.outcome"), "failure");
  EXPECT_EQ(e.Find(testing::Fid("source.ip"))->kind(), event::ValueKind::kIp);
}

TEST(WindowsJson, EvtxDumpNestedWithAttributesAndDataArray) {
  constexpr std::string_view kEvtx = R"({
  "Event": {
    "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
    "System": {
      "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing", "Guid": "{5484}"}},
      "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4688},
      "TimeCreated": {"#attributes": {"SystemTime": "2024-03-03T02:01:02.123456Z"}},
      "EventRecordID": 991,
      "Execution": {"#attributes": {"ProcessID": 4, "ThreadID": 88}},
      "Channel": "Security",
      "Computer": "HIS-APP01"
    },
    "EventData": {"Data": [
      {"#attributes": {"Name": "SubjectUserName"}, "#text": "svc_his"},
      {"#attributes": {"Name": "SubjectDomainName"}, "#text": "HOSP"},
      {"#attributes": {"Name": "NewProcessId"}, "#text": "0x1a2c"},
      {"#attributes": {"Name": "NewProcessName"}, "#text": "C:\\Windows\\System32\\vssadmin.exe"},
      {"#attributes": {"Name": "TokenElevationType"}},
      {"#attributes": {"Name": "ProcessId"}, "#text": "0x3e8"},
      {"#attributes": {"Name": "CommandLine"}, "#text": "vssadmin delete shadows /all /quiet"},
      {"#attributes": {"Name": "ParentProcessName"}, "#text": "C:\\Windows\\System32\\cmd.exe"}
    ]}
  }
})";
  auto p = MakeWindowsJsonParser(WindowsShape::kEvtxDump);
  EXPECT_GE(p->Detect(kEvtx), 90);
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, kEvtx, e).ok()) << ParseInto(*p, kEvtx, e).error().ToString();
  EXPECT_EQ(Orig(e, "EventID"), "4688");
  EXPECT_EQ(Orig(e, "Qualifiers"), "0");
  EXPECT_EQ(Orig(e, "Provider_Name"), "Microsoft-Windows-Security-Auditing");
  EXPECT_EQ(Orig(e, "Computer"), "HIS-APP01");
  EXPECT_EQ(Orig(e, "Channel"), "Security");
  EXPECT_EQ(Orig(e, "EventRecordID"), "991");
  EXPECT_EQ(Orig(e, "NewProcessName"), "C:\\Windows\\System32\\vssadmin.exe");
  EXPECT_EQ(Orig(e, "TokenElevationType"), "");
  EXPECT_EQ(Orig(e, "CommandLine"), "vssadmin delete shadows /all /quiet");
  EXPECT_EQ(Text(e, "process.executable"), "C:\\Windows\\System32\\vssadmin.exe");
  EXPECT_EQ(Text(e, "process.pid"), "6700");
  EXPECT_EQ(Text(e, "process.parent.pid"), "1000");
  EXPECT_EQ(Text(e, "process.parent.executable"), "C:\\Windows\\System32\\cmd.exe");
  EXPECT_EQ(Text(e, "user.name"), "svc_his");
  EXPECT_EQ(Text(e, "winlog.record_id"), "991");
  EXPECT_EQ(core::FormatRfc3339(e.time(), 6), "2024-03-03T02:01:02.123456Z");
  EXPECT_EQ(Text(e, "event.code"), "4688");
}

TEST(WindowsJson, EvtxDumpFlatEventDataAndSeparateAttributes) {
  constexpr std::string_view kEvtx =
      R"({"Event":{"System":{"Provider_attributes":{"Name":"Microsoft-Windows-Sysmon"},"EventID":3,)"
      R"("TimeCreated_attributes":{"SystemTime":"2024-03-03T02:00:00Z"},"Channel":"Microsoft-Windows-Sysmon/Operational",)"
      R"("Computer":"PACS01"},"EventData":{"Image":"C:\\pacs\\dicom.exe","Protocol":"tcp","SourceIp":"10.0.0.5",)"
      R"("SourcePort":50000,"DestinationIp":"203.0.113.7","DestinationPort":104}}})";
  auto p = MakeWindowsJsonParser(WindowsShape::kAny);
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, kEvtx, e).ok());
  EXPECT_EQ(Orig(e, "Provider_Name"), "Microsoft-Windows-Sysmon");
  EXPECT_EQ(Text(e, "destination.ip"), "203.0.113.7");
  EXPECT_EQ(Text(e, "destination.port"), "104");
  EXPECT_EQ(Text(e, "network.transport"), "tcp");
  EXPECT_EQ(Text(e, "event.category"), "network");
  EXPECT_EQ(core::FormatRfc3339(e.time(), 0), "2024-03-03T02:00:00Z");
}

TEST(WindowsJson, Winlogbeat) {
  constexpr std::string_view kWlb =
      R"({"@timestamp":"2024-03-03T02:01:02.000Z","message":"An account was successfully logged on.",)"
      R"("host":{"name":"ws7.hospital.local"},"event":{"code":"4624","kind":"event"},)"
      R"("winlog":{"event_id":4624,"channel":"Security","provider_name":"Microsoft-Windows-Security-Auditing",)"
      R"("computer_name":"WS7","record_id":77,"event_data":{"TargetUserName":"nurse2","TargetDomainName":"HOSP",)"
      R"("LogonType":"10","IpAddress":"192.168.7.9","IpPort":"0","SubjectUserName":"WS7$"}}})";
  auto p = MakeWindowsJsonParser(WindowsShape::kWinlogbeat);
  EXPECT_GE(p->Detect(kWlb), 90);
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, kWlb, e).ok());
  EXPECT_EQ(Orig(e, "EventID"), "4624");
  EXPECT_EQ(Orig(e, "Channel"), "Security");
  EXPECT_EQ(Orig(e, "Computer"), "WS7");
  EXPECT_EQ(Orig(e, "TargetUserName"), "nurse2");
  EXPECT_EQ(Orig(e, "LogonType"), "10");
  EXPECT_EQ(Text(e, "user.name"), "nurse2");
  EXPECT_EQ(Text(e, "source.ip"), "192.168.7.9");
  EXPECT_EQ(Text(e, "source.port"), "<absent>");
  EXPECT_EQ(Text(e, "host.name"), "WS7");
  EXPECT_EQ(Text(e, "message"), "An account was successfully logged on.");
  EXPECT_EQ(Text(e, "event.outcome"), "success");
}

TEST(WindowsJson, NotAWindowsEvent) {
  auto p = MakeWindowsJsonParser(WindowsShape::kAny);
  event::Event e;
  auto st = ParseInto(*p, R"({"a":1})", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("EventID"), std::string::npos);
  EXPECT_EQ(p->Detect(R"({"a":1})"), 0);
}

// ---- bad input ----------------------------------------------------------------------------

TEST(JsonBadInput, TruncatedSaysWhere) {
  auto p = MakeGenericJsonParser();
  event::Event e;
  auto st = ParseInto(*p, R"({"a":"bc)", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("at byte 8"), std::string::npos) << st.error().message();
  st = ParseInto(*p, R"({"a":1,})", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("at byte 7"), std::string::npos) << st.error().message();
}

TEST(JsonBadInput, InvalidUtf8KeptAndFlagged) {
  auto p = MakeGenericJsonParser();
  event::Event e;
  const std::string msg = "{\"msg\":\"caf\xC3\x28 \xFF\",\"n\":1}";
  ASSERT_TRUE(ParseInto(*p, msg, e).ok());
  EXPECT_EQ(Orig(e, "msg"), "caf\xC3\x28 \xFF");  // bytes kept
  EXPECT_EQ(Text(e, "log.flags"), "invalid_utf8");
  EXPECT_EQ(Orig(e, "n"), "1");
  EXPECT_NE(event::EventToJson(e).find("\"invalid_utf8\":true"), std::string::npos);
}

TEST(JsonBadInput, DepthLimit) {
  auto p = MakeGenericJsonParser();
  event::Event e;
  std::string deep(100, '[');
  deep = "{\"a\":" + deep + std::string(100, ']') + "}";
  ParseContext ctx;
  ctx.max_json_depth = 16;
  auto st = ParseInto(*p, deep, e, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(st.error().message().find("deeper than the limit of 16"), std::string::npos) << st.error().message();
  ctx.max_json_depth = 200;
  EXPECT_TRUE(ParseInto(*p, deep, e, ctx).ok());
}

TEST(JsonBadInput, Oversized) {
  auto p = MakeWindowsJsonParser(WindowsShape::kAny);
  event::Event e;
  ParseContext ctx;
  ctx.max_message_bytes = 100;
  std::string big = R"({"EventID":1,"x":")" + std::string(200, 'a') + "\"}";
  auto st = ParseInto(*p, big, e, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_NE(st.error().message().find("at byte 100"), std::string::npos);
}

TEST(JsonBadInput, BinaryGarbageNeverThrows) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 7919) & 0xFF));
  core::Registry reg;
  ASSERT_TRUE(RegisterJsonParsers(reg).ok());
  for (const std::string& name : reg.Names<Parser>()) {
    auto p = reg.Create<Parser>(name);
    ASSERT_TRUE(p.ok());
    event::Event e;
    const std::string inputs[] = {junk, "{" + junk, std::string("\x00\x01{}", 4), "{\"EventID\":" + junk};
    for (const std::string& m : inputs) {
      (void)ParseInto(**p, m, e);
      (void)(*p)->Detect(m);
    }
  }
}

TEST(FlatJson, ArraysAreMultiValuedAndNestedObjectsDotted) {
  FlatJson flat;
  event::Event e;
  ASSERT_TRUE(flat.Parse(R"({"a":{"b":[1,"x",{"c":true}]},"n":null,"e":{},"big":18446744073709551615,"k\"q":2.5})", 64, e).ok());
  std::string got;
  for (const FlatField& f : flat.fields()) {
    event::TextBuffer buf;
    got += std::string(f.path) + "=" + std::string(f.value.AsText(buf)) + ";";
  }
  EXPECT_EQ(got, "a.b=1;a.b=x;a.b.c=true;n=;big=18446744073709551615;k\"q=2.5;");
}

// Values of a text inside the event's raw message view it when they have no escapes; escaped
// values are unescaped (simdjson's rules) into the arena; a text elsewhere is copied.
TEST(FlatJson, PlainStringsViewTheRawMessageEscapedOnesAreUnescaped) {
  FlatJson flat;
  event::Event e;
  e.set_raw(R"({"a":"plain","b":"x\ny\t\\z","c":"\u00e9\ud83d\ude00\/","d":"","n":1})");
  ASSERT_TRUE(flat.Parse(e.raw(), 64, e).ok());
  EXPECT_FALSE(flat.used_fallback());
  ASSERT_EQ(flat.fields().size(), 5u);
  const std::string_view raw = e.raw();
  auto inside_raw = [&](std::string_view v) { return v.data() >= raw.data() && v.data() + v.size() <= raw.data() + raw.size(); };
  const event::Value& a = flat.fields()[0].value;
  EXPECT_EQ(a.str(), "plain");
  EXPECT_TRUE(inside_raw(a.str()));
  EXPECT_EQ(flat.fields()[1].value.str(), "x\ny\t\\z");
  EXPECT_FALSE(inside_raw(flat.fields()[1].value.str()));
  EXPECT_EQ(flat.fields()[2].value.str(), "\xC3\xA9\xF0\x9F\x98\x80/");
  EXPECT_EQ(flat.fields()[3].value.str(), "");
  EXPECT_EQ(flat.fields()[4].path, "n");

  // Not inside raw(): copied, so the values outlive the caller's buffer.
  event::Event e2;
  std::string text = R"({"a":"plain","b":"q\"uote"})";
  ASSERT_TRUE(flat.Parse(text, 64, e2).ok());
  const std::string_view va = flat.fields()[0].value.str(), vb = flat.fields()[1].value.str();
  text.assign(text.size(), '#');
  EXPECT_EQ(va, "plain");
  EXPECT_EQ(vb, "q\"uote");
}

// The On-Demand walk consumes every value, so texts that only a lazy reader would let through
// (a string followed by ':' inside an array or after an object member, trailing data) are refused
// with the fallback parser's located error; escapes simdjson refuses (a lone surrogate) go to the
// fallback parser, which keeps the text as U+FFFD, as before.
TEST(FlatJson, MalformedTextsAreRefusedWhereverTheyBreak) {
  FlatJson flat;
  for (const std::string_view bad :
       {R"({"d":[{"n":"x"},"t":"a"}]})", R"({"a":"b":"c"})", R"({"a":"x"}})", R"({"a":"x"} {"b":1})",
        R"({"a":"x\q"})", R"({"a":1,})", R"({"a":tru})", R"({"a":[1 2]})"}) {
    event::Event e;
    e.set_raw(bad);
    auto st = flat.Parse(e.raw(), 64, e);
    EXPECT_FALSE(st.ok()) << bad;
    if (!st.ok()) {
      EXPECT_NE(st.error().message().find("JSON at byte "), std::string::npos) << st.error().message();
    }
    EXPECT_TRUE(flat.fields().empty()) << bad;
  }
  event::Event e;
  e.set_raw(R"({"a":"\ud800x","b":"\udc00"})");
  ASSERT_TRUE(flat.Parse(e.raw(), 64, e).ok());
  EXPECT_TRUE(flat.used_fallback());
  ASSERT_EQ(flat.fields().size(), 2u);
  EXPECT_EQ(flat.fields()[0].value.str(), "\xEF\xBF\xBDx");
  EXPECT_EQ(flat.fields()[1].value.str(), "\xEF\xBF\xBD");
}

// Depth limits are unchanged: max_depth - 1 nested containers on the fast path, max_depth through
// the fallback parser, one more is refused.
TEST(FlatJson, DepthLimitBoundary) {
  FlatJson flat;
  auto nested = [](int n) { return std::string(static_cast<std::size_t>(n), '[') + "1" + std::string(static_cast<std::size_t>(n), ']'); };
  event::Event e;
  ASSERT_TRUE(flat.Parse(nested(15), 16, e).ok());
  EXPECT_FALSE(flat.used_fallback());
  ASSERT_TRUE(flat.Parse(nested(16), 16, e).ok());
  EXPECT_TRUE(flat.used_fallback());
  ASSERT_EQ(flat.fields().size(), 1u);
  auto st = flat.Parse(nested(17), 16, e);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::kResourceExhausted);
}

// ---- Suricata ------------------------------------------------------------------------------

TEST(SuricataEve, Alert) {
  auto p = MakeSuricataEveParser();
  constexpr std::string_view kAlert =
      R"({"timestamp":"2024-03-03T10:01:02.123456+0800","flow_id":123,"in_iface":"eth0","event_type":"alert",)"
      R"("src_ip":"10.9.8.7","src_port":4444,"dest_ip":"10.1.1.20","dest_port":445,"proto":"TCP",)"
      R"("alert":{"action":"allowed","gid":1,"signature_id":2024218,"rev":3,)"
      R"("signature":"ET EXPLOIT Possible ETERNALBLUE","category":"Attempted Administrator Privilege Gain","severity":1}})";
  EXPECT_GE(p->Detect(kAlert), 90);
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, kAlert, e).ok());
  EXPECT_EQ(core::FormatRfc3339(e.time(), 6), "2024-03-03T02:01:02.123456Z");
  EXPECT_EQ(Text(e, "rule.id"), "2024218");
  EXPECT_EQ(Text(e, "rule.name"), "ET EXPLOIT Possible ETERNALBLUE");
  EXPECT_EQ(Text(e, "event.severity"), "1");
  EXPECT_EQ(Text(e, "network.transport"), "tcp");
  EXPECT_EQ(Text(e, "source.port"), "4444");
  EXPECT_EQ(Text(e, "destination.ip"), "10.1.1.20");
  EXPECT_EQ(Text(e, "event.kind"), "alert");
  EXPECT_EQ(Orig(e, "alert.signature_id"), "2024218");
}

TEST(SuricataEve, DnsHttpTls) {
  auto p = MakeSuricataEveParser();
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, R"({"timestamp":"2024-03-03T10:01:02+0800","event_type":"dns","src_ip":"10.0.0.2","dest_ip":"10.0.0.1","proto":"UDP",)"
                            R"("dns":{"type":"answer","rrname":"evil.example","rrtype":"A","rcode":"NOERROR","answers":[{"rdata":"1.2.3.4"},{"rdata":"5.6.7.8"}]}})",
                        e)
                  .ok());
  EXPECT_EQ(Text(e, "dns.question.name"), "evil.example");
  int answers = 0;
  for (event::FieldView f : e.fields()) answers += f.id == testing::Fid("dns.answers.data");
  EXPECT_EQ(answers, 2);
  ASSERT_TRUE(ParseInto(*p, R"({"timestamp":"2024-03-03T10:01:02+0800","event_type":"http","src_ip":"10.0.0.2","dest_ip":"10.0.0.1",)"
                            R"("http":{"hostname":"his.local","url":"/login.jsp?u=1","http_user_agent":"curl/8","http_method":"POST","protocol":"HTTP/1.1","status":403,"length":12}})",
                        e)
                  .ok());
  EXPECT_EQ(Text(e, "url.path"), "/login.jsp");
  EXPECT_EQ(Text(e, "url.query"), "u=1");
  EXPECT_EQ(Text(e, "http.version"), "1.1");
  EXPECT_EQ(Text(e, "http.response.status_code"), "403");
  EXPECT_EQ(Text(e, "http.request.method"), "POST");
  ASSERT_TRUE(ParseInto(*p, R"({"timestamp":"2024-03-03T10:01:02+0800","event_type":"tls","tls":{"sni":"portal.hospital.cn","version":"TLS 1.2","subject":"CN=x"}})", e).ok());
  EXPECT_EQ(Text(e, "tls.client.server_name"), "portal.hospital.cn");
  EXPECT_EQ(Text(e, "tls.version"), "1.2");
}

// ---- web -----------------------------------------------------------------------------------

TEST(AccessLog, CombinedWithEscapesAndRequestTime) {
  auto p = MakeAccessLogParser();
  constexpr std::string_view kLine =
      R"(10.1.2.3 - alice [10/Oct/2024:13:55:36 +0800] "GET /his/q?id=1%27%20or%201=1 HTTP/1.1" 200 2326 "-" "Mozilla/5.0 \x22x\x22" 0.004)";
  EXPECT_GE(p->Detect(kLine), 90);
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, kLine, e).ok()) << ParseInto(*p, kLine, e).error().message();
  EXPECT_EQ(Text(e, "source.ip"), "10.1.2.3");
  EXPECT_EQ(Text(e, "user.name"), "alice");
  EXPECT_EQ(Text(e, "http.request.method"), "GET");
  EXPECT_EQ(Text(e, "url.path"), "/his/q");
  EXPECT_EQ(Text(e, "url.query"), "id=1%27%20or%201=1");
  EXPECT_EQ(Text(e, "http.version"), "1.1");
  EXPECT_EQ(Text(e, "http.response.status_code"), "200");
  EXPECT_EQ(Text(e, "http.response.body.bytes"), "2326");
  EXPECT_EQ(Text(e, "http.request.referrer"), "<absent>");
  EXPECT_EQ(Text(e, "user_agent.original"), "Mozilla/5.0 \"x\"");
  EXPECT_EQ(Text(e, "event.duration"), "4000000");
  EXPECT_EQ(Orig(e, "cs-uri-query"), "id=1%27%20or%201=1");
  EXPECT_EQ(Orig(e, "c-useragent"), "Mozilla/5.0 \"x\"");
  EXPECT_EQ(core::FormatRfc3339(e.time(), 0), "2024-10-10T05:55:36Z");
}

TEST(AccessLog, CommonAndBroken) {
  auto p = MakeAccessLogParser();
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, R"(2001:db8::1 - - [10/Oct/2024:13:55:36 -0700] "POST /upload HTTP/1.0" 500 -)", e).ok());
  EXPECT_EQ(Text(e, "source.ip"), "2001:db8::1");
  EXPECT_EQ(Text(e, "event.outcome"), "failure");
  auto st = ParseInto(*p, R"(1.2.3.4 - - [10/Oct/2024:13:55:36 -0700] "GET / HTTP/1.1)", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("at byte"), std::string::npos);
}

TEST(W3c, FieldsDirectiveDefinesColumns) {
  auto p = MakeW3cParser();
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, "#Software: Microsoft Internet Information Services 10.0", e).ok());
  EXPECT_EQ(Text(e, "event.action"), "log-directive");
  ASSERT_TRUE(ParseInto(*p, "#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) sc-status time-taken", e).ok());
  ASSERT_TRUE(ParseInto(*p, "2024-03-03 02:01:02 GET /owa/auth.owa a=1 10.5.5.5 Mozilla/5.0+(Windows+NT) 401 15", e).ok());
  EXPECT_EQ(Orig(e, "cs-uri-stem"), "/owa/auth.owa");
  EXPECT_EQ(Orig(e, "cs(User-Agent)"), "Mozilla/5.0+(Windows+NT)");
  EXPECT_EQ(Text(e, "user_agent.original"), "Mozilla/5.0 (Windows NT)");
  EXPECT_EQ(Text(e, "url.original"), "/owa/auth.owa?a=1");
  EXPECT_EQ(Text(e, "source.ip"), "10.5.5.5");
  EXPECT_EQ(Text(e, "http.response.status_code"), "401");
  EXPECT_EQ(Text(e, "event.duration"), "15000000");
  EXPECT_EQ(core::FormatRfc3339(e.time(), 0), "2024-03-03T02:01:02Z");
  auto st = ParseInto(*p, "2024-03-03 02:01:02 GET /x", e);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("columns"), std::string::npos);
}

TEST(AccessJson, NginxJson) {
  auto p = MakeAccessJsonParser();
  constexpr std::string_view kJson =
      R"({"time_iso8601":"2024-03-03T10:01:02+08:00","remote_addr":"10.3.3.3","remote_user":"","request":"GET /pacs/wado?studyUID=1 HTTP/2.0",)"
      R"("status":"200","body_bytes_sent":"512","http_referer":"","http_user_agent":"sqlmap/1.7","request_time":"0.120"})";
  EXPECT_GE(p->Detect(kJson), 90);
  event::Event e;
  ASSERT_TRUE(ParseInto(*p, kJson, e).ok());
  EXPECT_EQ(Text(e, "source.ip"), "10.3.3.3");
  EXPECT_EQ(Text(e, "url.path"), "/pacs/wado");
  EXPECT_EQ(Text(e, "http.version"), "2.0");
  EXPECT_EQ(Text(e, "user_agent.original"), "sqlmap/1.7");
  EXPECT_EQ(Text(e, "event.duration"), "120000000");
  EXPECT_EQ(Text(e, "user.name"), "<absent>");
}

// ---- databases -----------------------------------------------------------------------------

TEST(MysqlGeneral, Lines) {
  auto p = MakeMysqlGeneralParser();
  event::Event e;
  const std::string q = "2024-03-03T02:01:02.123456Z\t   12 Query\tselect * from patient where name like '%'";
  EXPECT_GE(p->Detect(q), 90);
  ASSERT_TRUE(ParseInto(*p, q, e).ok());
  EXPECT_EQ(Text(e, "db.statement"), "select * from patient where name like '%'");
  EXPECT_EQ(Text(e, "db.operation"), "SELECT");
  EXPECT_EQ(Text(e, "db.connection_id"), "12");
  ASSERT_TRUE(ParseInto(*p, "240303 10:01:02\t   13 Connect\this_app@10.0.0.9 on his using TCP/IP", e).ok());
  EXPECT_EQ(Text(e, "user.name"), "his_app");
  EXPECT_EQ(Text(e, "source.ip"), "10.0.0.9");
  EXPECT_EQ(Text(e, "db.name"), "his");
  EXPECT_EQ(core::FormatRfc3339(e.time(), 0), "2024-03-03T02:01:02Z");
  ASSERT_TRUE(ParseInto(*p, "\t\t   14 Connect\tAccess denied for user 'root'@'10.6.6.6' (using password: YES)", e).ok());
  EXPECT_EQ(Text(e, "user.name"), "root");
  EXPECT_EQ(Text(e, "event.outcome"), "failure");
  EXPECT_EQ(Text(e, "source.ip"), "10.6.6.6");
  EXPECT_FALSE(ParseInto(*p, "garbage line", e).ok());
}

TEST(MysqlAuditJson, EnterpriseAndPercona) {
  auto p = MakeMysqlAuditJsonParser();
  event::Event e;
  constexpr std::string_view kEnt =
      R"({"timestamp":"2024-03-03 10:01:02","id":0,"class":"general","event":"status","connection_id":11,)"
      R"("account":{"user":"his_ro","host":"app01"},"login":{"user":"his_ro","os":"","ip":"10.0.0.7","proxy":""},)"
      R"("general_data":{"command":"Query","sql_command":"select","query":"SELECT * FROM emr","status":0}})";
  EXPECT_GE(p->Detect(kEnt), 90);
  ASSERT_TRUE(ParseInto(*p, kEnt, e).ok());
  EXPECT_EQ(Text(e, "user.name"), "his_ro");
  EXPECT_EQ(Text(e, "source.ip"), "10.0.0.7");
  EXPECT_EQ(Text(e, "db.statement"), "SELECT * FROM emr");
  EXPECT_EQ(Text(e, "db.operation"), "select");
  EXPECT_EQ(Text(e, "event.outcome"), "success");
  constexpr std::string_view kPer =
      R"({"audit_record":{"name":"Query","record":"1_2024","timestamp":"2024-03-03T02:01:02 UTC","command_class":"drop_table",)"
      R"("connection_id":"4","status":1051,"sqltext":"DROP TABLE patient","user":"root[root] @ localhost [10.0.0.8]",)"
      R"("host":"localhost","os_user":"","ip":"10.0.0.8","db":"his"}})";
  ASSERT_TRUE(ParseInto(*p, kPer, e).ok());
  EXPECT_EQ(Text(e, "user.name"), "root");
  EXPECT_EQ(Text(e, "db.name"), "his");
  EXPECT_EQ(Text(e, "event.outcome"), "failure");
  EXPECT_EQ(Text(e, "error.code"), "1051");
  EXPECT_EQ(core::FormatRfc3339(e.time(), 0), "2024-03-03T02:01:02Z");
}

TEST(PostgresCsv, MultiLineQuotedRecord) {
  auto p = MakePostgresCsvParser();
  const std::string rec =
      "2024-03-03 10:01:02.123 CST,\"dr_li\",\"emr\",4321,\"10.0.0.12:50432\",65e3c1.10e1,3,\"SELECT\","
      "2024-03-03 10:00:00 CST,3/17,0,ERROR,42501,\"permission denied for table \"\"patient\"\"\",,,,,,"
      "\"SELECT *\nFROM patient\",15,,\"psql\",\"client backend\",,0";
  EXPECT_GE(p->Detect(rec), 90);
  event::Event e;
  auto st = ParseInto(*p, rec, e);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_EQ(Text(e, "user.name"), "dr_li");
  EXPECT_EQ(Text(e, "db.name"), "emr");
  EXPECT_EQ(Text(e, "source.ip"), "10.0.0.12");
  EXPECT_EQ(Text(e, "source.port"), "50432");
  EXPECT_EQ(Text(e, "message"), "permission denied for table \"patient\"");
  EXPECT_EQ(Text(e, "db.statement"), "SELECT *\nFROM patient");
  EXPECT_EQ(Text(e, "event.outcome"), "failure");
  EXPECT_EQ(Text(e, "db.sql_state"), "42501");
  EXPECT_EQ(Orig(e, "application_name"), "psql");
  EXPECT_EQ(core::FormatRfc3339(e.time(), 3), "2024-03-03T02:01:02.123Z");
  EXPECT_FALSE(ParseInto(*p, "2024-03-03 10:01:02.123 CST,\"unterminated", e).ok());
}

TEST(CsvRecordFramer, QuotedNewlinesStayInOneRecord) {
  CsvRecordFramer fr;
  fr.Feed("a,\"x\ny\",b\nc,d");
  std::string_view rec;
  std::uint64_t off;
  bool trunc;
  ASSERT_TRUE(fr.Next(rec, off, trunc));
  EXPECT_EQ(rec, "a,\"x\ny\",b");
  EXPECT_FALSE(fr.Next(rec, off, trunc));
  fr.Feed("\n");
  ASSERT_TRUE(fr.Next(rec, off, trunc));
  EXPECT_EQ(rec, "c,d");
  EXPECT_EQ(off, 10u);
}

// ---- framing -------------------------------------------------------------------------------

std::vector<std::string> FrameAll(std::string_view input, std::size_t chunk, std::size_t max = 1 << 20,
                                  std::vector<std::string>* errors = nullptr) {
  JsonFramer fr(max);
  std::vector<std::string> out;
  JsonFramer::Frame f;
  auto drain = [&] {
    while (fr.Next(f)) {
      if (f.ok) out.emplace_back(f.value);
      else if (errors) errors->push_back(f.error);
    }
  };
  for (std::size_t i = 0; i < input.size(); i += chunk) {
    fr.Feed(input.substr(i, chunk));
    drain();
  }
  fr.Finish();
  drain();
  return out;
}

TEST(JsonFramer, PrettyPrintedConcatenatedWithRecordLines) {
  const std::string in =
      "Record 1\n{\n  \"a\": \"}{\\\"\",\n  \"b\": {\"c\": [1, 2]}\n}\nRecord 2\n{\n  \"d\": 1\n}\n[1,2]{\"e\":3}";
  for (std::size_t chunk : {1u, 3u, 7u, 1000u}) {
    std::vector<std::string> errors;
    auto v = FrameAll(in, chunk, 1 << 20, &errors);
    ASSERT_EQ(v.size(), 4u) << chunk;
    EXPECT_EQ(v[0], "{\n  \"a\": \"}{\\\"\",\n  \"b\": {\"c\": [1, 2]}\n}");
    EXPECT_EQ(v[3], "{\"e\":3}");
    EXPECT_TRUE(errors.empty());
  }
}

TEST(JsonFramer, ResynchronisesAfterBrokenInput) {
  const std::string in = "{\"a\":1}\n{\"b\":\"trunc\n{\"c\":2}\n{\"d\":{\n{\"e\":3}\ngarbage here\n{\"f\":4}\n{\"g\":";
  std::vector<std::string> errors;
  auto v = FrameAll(in, 5, 1 << 20, &errors);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0], "{\"a\":1}");
  EXPECT_EQ(v[1], "{\"c\":2}");
  EXPECT_EQ(v[2], "{\"e\":3}");
  EXPECT_EQ(v[3], "{\"f\":4}");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_NE(errors[0].find("at byte 19"), std::string::npos) << errors[0];  // line break inside a string
  EXPECT_NE(errors[1].find("truncated value"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("unexpected data"), std::string::npos) << errors[2];
  EXPECT_NE(errors[3].find("unterminated"), std::string::npos) << errors[3];
}

TEST(JsonFramer, MaxValueSize) {
  const std::string in = "{\"a\":\"" + std::string(100, 'x') + "\"}\n{\"b\":1}\n";
  std::vector<std::string> errors;
  auto v = FrameAll(in, 16, 50, &errors);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], "{\"b\":1}");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("exceeds the limit of 50"), std::string::npos);
}

TEST(JsonRegistration, AllNamesRegistered) {
  core::Registry reg;
  ASSERT_TRUE(RegisterJsonParsers(reg).ok());
  auto names = reg.Names<Parser>();
  EXPECT_EQ(names.size(), 12u);
  for (const std::string& n : names) EXPECT_EQ((*reg.Create<Parser>(n))->name(), n);
}

}  // namespace
}  // namespace medsoc::ingest::json
