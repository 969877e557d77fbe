// Engine fixtures: inline Sigma rules and events; each test states the sentence of the Sigma
// specification (v2.1.0) it checks.
#include <gtest/gtest.h>

#include "detect/condition.h"
#include "detect/detector.h"
#include "detect/engine.h"
#include "detect/json_events.h"
#include "detect/reader.h"

namespace medsoc::detect {
namespace {

constexpr const char* kMapping = R"(
product: windows
field_templates: ["{}"]
fields:
  Image: [Image, NewProcessName]
  ParentImage: [ParentImage, ParentProcessName]
logsources:
  - category: process_creation
    sources:
      - {Channel: "Microsoft-Windows-Sysmon/Operational", EventID: 1}
      - {Channel: Security, EventID: 4688}
  - service: security
    sources:
      - {Channel: Security}
)";

class Engine : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ls_.LoadYaml(kMapping, "mapping.yaml").empty()); }

  // Compiles one rule whose detection is `detection` (YAML, indented by 2) for
  // windows/process_creation, with `extra` documents appended.
  std::shared_ptr<RuleSet> Rule(const std::string& detection, const CompileOptions& opt = {}) {
    const std::string yaml = "title: t\nid: r1\nlogsource: {product: windows, category: process_creation}\ndetection:\n" + detection;
    ReadResult rr = ReadSigmaYaml(yaml, "rule.yml");
    problems_ = rr.problems;
    auto set = RuleSet::Compile(std::move(rr.docs), ls_, opt, problems_);
    return set;
  }

  // True when the single rule of `set` matches the JSON event (Sysmon process creation unless the
  // JSON says otherwise).
  bool Matches(const std::shared_ptr<RuleSet>& set, const std::string& json) {
    event::Event e;
    std::string j = json;
    if (j.find("\"Channel\"") == std::string::npos)
      j = "{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1," + j.substr(1);
    EXPECT_TRUE(FlattenJsonObject(j, e).ok()) << j;
    Matcher m(set);
    std::vector<std::uint32_t> out;
    m.Match(e, out);
    return !out.empty();
  }

  std::string Problems() const {
    std::string s;
    for (const auto& p : problems_) s += p.ToString() + "\n";
    return s;
  }

  LogsourceMap ls_;
  std::vector<Problem> problems_;
};

// "All values are treated as case-insensitive strings."
TEST_F(Engine, CaseInsensitiveByDefault) {
  auto r = Rule("  sel:\n    Image: 'C:\\Windows\\System32\\cmd.exe'\n  condition: sel\n");
  ASSERT_EQ(r->size(), 1u) << Problems();
  EXPECT_TRUE(Matches(r, R"({"Image":"c:\\windows\\system32\\CMD.EXE"})"));
  EXPECT_FALSE(Matches(r, R"({"Image":"c:\\windows\\system32\\cmd.exe2"})"));
}

// "cased: Values are applied case sensitively."
TEST_F(Engine, Cased) {
  auto r = Rule("  sel:\n    CommandLine|contains|cased: 'Invoke-Mimikatz'\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"CommandLine":"x Invoke-Mimikatz y"})"));
  EXPECT_FALSE(Matches(r, R"({"CommandLine":"x invoke-mimikatz y"})"));
}

// "* to replace an unbounded length wildcard", "? to replace a single mandatory character".
TEST_F(Engine, Wildcards) {
  auto r = Rule("  sel:\n    Image: '*\\prog?.exe'\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"Image":"C:\\x\\progA.exe"})"));
  EXPECT_FALSE(Matches(r, R"({"Image":"C:\\x\\prog.exe"})"));
  EXPECT_FALSE(Matches(r, R"({"Image":"C:\\x\\progAB.exe"})"));
  EXPECT_TRUE(Matches(r, R"({"Image":"C:\\x\\prog中.exe"})")) << "? is one character, not one byte";
}

// Escaping: "\*" literal, "\\*" backslash then wildcard, "\\\*" backslash and literal star,
// plain backslash as single "\" or double "\\".
TEST_F(Engine, Escapes) {
  auto lit = Rule("  sel:\n    CommandLine: 'a\\*b'\n  condition: sel\n");
  EXPECT_TRUE(Matches(lit, R"({"CommandLine":"a*b"})"));
  EXPECT_FALSE(Matches(lit, R"({"CommandLine":"axxb"})"));
  auto bs_wild = Rule("  sel:\n    CommandLine: 'a\\\\*'\n  condition: sel\n");
  EXPECT_TRUE(Matches(bs_wild, R"({"CommandLine":"a\\anything"})"));
  EXPECT_FALSE(Matches(bs_wild, R"({"CommandLine":"ab"})"));
  auto bs_lit = Rule("  sel:\n    CommandLine: 'a\\\\\\*'\n  condition: sel\n");
  EXPECT_TRUE(Matches(bs_lit, R"({"CommandLine":"a\\*"})"));
  EXPECT_FALSE(Matches(bs_lit, R"({"CommandLine":"a\\x"})"));
  auto single = Rule("  sel:\n    Image: 'C:\\Windows'\n  condition: sel\n");
  EXPECT_TRUE(Matches(single, R"({"Image":"C:\\Windows"})"));
  auto dbl = Rule("  sel:\n    Image: 'C:\\\\Windows'\n  condition: sel\n");
  EXPECT_TRUE(Matches(dbl, R"({"Image":"C:\\Windows"})"));
}

// Maps are AND, lists are OR; a list of maps is OR of ANDs.
TEST_F(Engine, MapsAndLists) {
  auto r = Rule("  sel:\n    - Image|endswith: '\\a.exe'\n      CommandLine|contains: x\n    - Image|endswith: '\\b.exe'\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"Image":"C:\\a.exe","CommandLine":"1x2"})"));
  EXPECT_FALSE(Matches(r, R"({"Image":"C:\\a.exe","CommandLine":"12"})"));
  EXPECT_TRUE(Matches(r, R"({"Image":"C:\\b.exe"})"));
}

// "all: ... changes this to AND".
TEST_F(Engine, AllModifier) {
  auto r = Rule("  sel:\n    CommandLine|contains|all: [' -enc ', 'hidden']\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"CommandLine":"ps -enc AAA -w hidden"})"));
  EXPECT_FALSE(Matches(r, R"({"CommandLine":"ps -enc AAA"})"));
}

// startswith / endswith / contains.
TEST_F(Engine, StartsEndsContains) {
  auto r = Rule("  a:\n    CommandLine|startswith: 'net '\n  b:\n    Image|endswith: '.exe'\n  c:\n    User|contains: adm\n  condition: a and b and c\n");
  EXPECT_TRUE(Matches(r, R"({"CommandLine":"NET user","Image":"x.EXE","User":"HOSP\\Admin"})"));
  EXPECT_FALSE(Matches(r, R"({"CommandLine":" net user","Image":"x.EXE","User":"HOSP\\Admin"})"));
}

// Typed comparison: 4688 vs "4688", and hex text.
TEST_F(Engine, TypedComparison) {
  auto num = Rule("  sel:\n    LogonType: 3\n  condition: sel\n");
  EXPECT_TRUE(Matches(num, R"({"LogonType":3})"));
  EXPECT_TRUE(Matches(num, R"({"LogonType":"3"})"));
  EXPECT_TRUE(Matches(num, R"({"LogonType":"0x3"})"));
  EXPECT_FALSE(Matches(num, R"({"LogonType":"30"})"));
  auto text = Rule("  sel:\n    LogonType: '3'\n  condition: sel\n");
  EXPECT_TRUE(Matches(text, R"({"LogonType":3})"));
  EXPECT_TRUE(Matches(text, R"({"LogonType":"3"})"));
  EXPECT_FALSE(Matches(text, R"({"LogonType":"03"})")) << "two texts compare as text";
}

// Special field values: "An empty value is defined with ''", "A null value is defined with null".
TEST_F(Engine, NullMissingEmpty) {
  auto null_rule = Rule("  sel:\n    Image: x\n  f:\n    PasswordLastSet: null\n  condition: sel and f\n");
  EXPECT_TRUE(Matches(null_rule, R"({"Image":"x"})")) << "missing counts as null";
  EXPECT_TRUE(Matches(null_rule, R"({"Image":"x","PasswordLastSet":null})"));
  EXPECT_FALSE(Matches(null_rule, R"({"Image":"x","PasswordLastSet":""})"));
  auto empty = Rule("  sel:\n    Image: x\n    Description: ''\n  condition: sel\n");
  EXPECT_TRUE(Matches(empty, R"({"Image":"x","Description":""})"));
  EXPECT_FALSE(Matches(empty, R"({"Image":"x"})")) << "missing is not empty";
  auto notnull = Rule("  sel:\n    Image: x\n  f:\n    Description: null\n  condition: sel and not f\n");
  EXPECT_TRUE(Matches(notnull, R"({"Image":"x","Description":"d"})"));
  EXPECT_FALSE(Matches(notnull, R"({"Image":"x"})"));
}

// "exists: Defines that a certain field has to exist or must not exist".
TEST_F(Engine, Exists) {
  auto yes = Rule("  sel:\n    Image: x\n    Hashes|exists: true\n  condition: sel\n");
  EXPECT_TRUE(Matches(yes, R"({"Image":"x","Hashes":""})"));
  EXPECT_FALSE(Matches(yes, R"({"Image":"x"})"));
  auto no = Rule("  sel:\n    Image: x\n    Hashes|exists: false\n  condition: sel\n");
  EXPECT_TRUE(Matches(no, R"({"Image":"x"})"));
}

// neq: the field exists and equals none of the values.
TEST_F(Engine, Neq) {
  auto r = Rule("  sel:\n    Image: x\n    User|neq: [SYSTEM, 'LOCAL SERVICE']\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"Image":"x","User":"alice"})"));
  EXPECT_FALSE(Matches(r, R"({"Image":"x","User":"system"})"));
  EXPECT_FALSE(Matches(r, R"({"Image":"x"})"));
}

// "windash: Creates all possible permutations of the - and / characters" (and the Unicode dashes).
TEST_F(Engine, Windash) {
  auto r = Rule("  sel:\n    CommandLine|windash|contains: ' -decode '\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"CommandLine":"certutil -decode a b"})"));
  EXPECT_TRUE(Matches(r, R"({"CommandLine":"certutil /decode a b"})"));
  EXPECT_TRUE(Matches(r, R"({"CommandLine":"certutil –decode a b"})"));
  EXPECT_FALSE(Matches(r, R"({"CommandLine":"certutil +decode a b"})"));
}

// "re: Value is handled as a regular expression"; case-sensitive unless "i"; m and s.
TEST_F(Engine, Regex) {
  auto r = Rule("  sel:\n    CommandLine|re: '\\s-e(nc|ncodedcommand)\\s'\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"CommandLine":"powershell -enc AAA"})"));
  EXPECT_FALSE(Matches(r, R"({"CommandLine":"powershell -ENC AAA"})"));
  auto ri = Rule("  sel:\n    CommandLine|re|i: '\\s-e(nc|ncodedcommand)\\s'\n  condition: sel\n");
  EXPECT_TRUE(Matches(ri, R"({"CommandLine":"powershell -ENC AAA"})"));
  auto rs = Rule("  sel:\n    CommandLine|re|s: 'a.b'\n  condition: sel\n");
  EXPECT_TRUE(Matches(rs, "{\"CommandLine\":\"a\\nb\"}"));
  auto rnos = Rule("  sel:\n    CommandLine|re: 'a.b'\n  condition: sel\n");
  EXPECT_FALSE(Matches(rnos, "{\"CommandLine\":\"a\\nb\"}"));
  auto rm = Rule("  sel:\n    CommandLine|re|m: '^b$'\n  condition: sel\n");
  EXPECT_TRUE(Matches(rm, "{\"CommandLine\":\"a\\nb\\nc\"}"));
  auto backref = Rule("  sel:\n    CommandLine|re: '(?i)(?:ab)+\\\\x'\n  condition: sel\n");
  EXPECT_EQ(backref->size(), 1u) << Problems();
}

// base64 / base64offset / utf16le / wide.
TEST_F(Engine, Base64AndUtf16) {
  auto b = Rule("  sel:\n    CommandLine|base64|contains: 'http://'\n  condition: sel\n");
  EXPECT_TRUE(Matches(b, R"({"CommandLine":"x aHR0cDovLw== y"})"));
  EXPECT_FALSE(Matches(b, R"({"CommandLine":"x aHR0cDovL y"})"));
  auto off = Rule("  sel:\n    CommandLine|base64offset|contains: 'IEX'\n  condition: sel\n");
  // base64("IEX (") = SUVYICg=, base64(" IEX") = IElFWA==, base64("  IEX") = ICBJRVg=
  EXPECT_TRUE(Matches(off, R"({"CommandLine":"SUVYICg"})"));
  EXPECT_TRUE(Matches(off, R"({"CommandLine":"-e IElFW"})"));
  EXPECT_TRUE(Matches(off, R"({"CommandLine":"ICBJRVg="})"));
  EXPECT_FALSE(Matches(off, R"({"CommandLine":"SUVZ"})"));
  auto wide = Rule("  sel:\n    CommandLine|wide|base64offset|contains: 'ping'\n  condition: sel\n");
  // UTF-16LE "ping" = 70 00 69 00 6e 00 67 00 -> cABpAG4AZwA=
  EXPECT_TRUE(Matches(wide, R"({"CommandLine":"-enc cABpAG4AZwA"})"));
}

// cidr, IPv4 and IPv6.
TEST_F(Engine, Cidr) {
  auto r = Rule("  sel:\n    DestinationIp|cidr: ['10.0.0.0/8', 'fd00::/8']\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"DestinationIp":"10.20.30.40"})"));
  EXPECT_TRUE(Matches(r, R"({"DestinationIp":"fd12::1"})"));
  EXPECT_FALSE(Matches(r, R"({"DestinationIp":"11.0.0.1"})"));
  EXPECT_FALSE(Matches(r, R"({"DestinationIp":"not an ip"})"));
  auto bad = Rule("  sel:\n    DestinationIp|cidr: '10.0.0.0/33'\n  condition: sel\n");
  EXPECT_EQ(bad->size(), 0u);
}

// lt / lte / gt / gte.
TEST_F(Engine, NumericComparison) {
  auto r = Rule("  sel:\n    Count|gte: 10\n    Count|lt: 20\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"Count":10})"));
  EXPECT_TRUE(Matches(r, R"({"Count":"19"})"));
  EXPECT_FALSE(Matches(r, R"({"Count":20})"));
  EXPECT_FALSE(Matches(r, R"({"Count":"x"})"));
}

// expand: "handles %name% as placeholder"; without configured values the rule is rejected.
TEST_F(Engine, Expand) {
  CompileOptions opt;
  opt.placeholders["Admins"] = {"adm_*", "root"};
  auto r = Rule("  sel:\n    User|expand: '%Admins%'\n  condition: sel\n", opt);
  ASSERT_EQ(r->size(), 1u) << Problems();
  EXPECT_TRUE(Matches(r, R"({"User":"ADM_alice"})"));
  EXPECT_TRUE(Matches(r, R"({"User":"root"})"));
  EXPECT_FALSE(Matches(r, R"({"User":"bob"})"));
  auto missing = Rule("  sel:\n    User|expand: '%Nobody%'\n  condition: sel\n");
  EXPECT_EQ(missing->size(), 0u);
  ASSERT_FALSE(problems_.empty());
  EXPECT_EQ(problems_[0].severity, Severity::kUnsupported);
  EXPECT_NE(problems_[0].reason.find("%Nobody%"), std::string::npos);
  auto literal = Rule("  sel:\n    User: '%Admins%'\n  condition: sel\n");
  EXPECT_TRUE(Matches(literal, R"({"User":"%admins%"})")) << "without expand it is a literal";
}

// fieldref: compare with another field of the same event.
TEST_F(Engine, FieldRef) {
  auto r = Rule("  sel:\n    ParentImage|fieldref: Image\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"Image":"C:\\a.exe","ParentImage":"c:\\A.exe"})"));
  EXPECT_FALSE(Matches(r, R"({"Image":"C:\\a.exe","ParentImage":"C:\\b.exe"})"));
  auto ends = Rule("  sel:\n    CommandLine|fieldref|endswith: Image\n  condition: sel\n");
  EXPECT_TRUE(Matches(ends, R"({"Image":"a.exe","CommandLine":"run a.exe"})"));
}

// Time modifiers: compare a component of a time field.
TEST_F(Engine, TimeModifiers) {
  auto r = Rule("  sel:\n    UtcTime|hour|gte: 22\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"UtcTime":"2024-03-03T23:10:00Z"})"));
  EXPECT_FALSE(Matches(r, R"({"UtcTime":"2024-03-03T10:10:00Z"})"));
  auto m = Rule("  sel:\n    UtcTime|month: 3\n    UtcTime|day: 3\n    UtcTime|year: 2024\n    UtcTime|minute: 10\n  condition: sel\n");
  EXPECT_TRUE(Matches(m, R"({"UtcTime":"2024-03-03T23:10:00Z"})"));
  auto w = Rule("  sel:\n    UtcTime|week: 1\n  condition: sel\n");
  EXPECT_TRUE(Matches(w, R"({"UtcTime":"2024-01-01T00:00:00Z"})")) << "ISO week 1 of 2024 starts Monday Jan 1";
  EXPECT_FALSE(Matches(w, R"({"UtcTime":"2020-12-30T00:00:00Z"})")) << "2020-12-30 is in ISO week 2020-W53";
  EXPECT_TRUE(Matches(w, R"({"UtcTime":"2019-12-30T00:00:00Z"})")) << "2019-12-30 is in ISO week 2020-W01";
}

// Keywords: "searching for keywords across an entire event"; '|all' makes them AND.
TEST_F(Engine, Keywords) {
  auto r = Rule("  keywords:\n    - 'sekurlsa::'\n    - 'event::clear'\n  condition: keywords\n");
  EXPECT_TRUE(Matches(r, R"({"Message":"ran mimikatz SEKURLSA::logonpasswords"})"));
  EXPECT_FALSE(Matches(r, R"({"Message":"nothing"})"));
  auto all = Rule("  keywords:\n    '|all':\n      - 'OabVirtualDirectory'\n      - ' -ExternalUrl '\n  condition: keywords\n");
  EXPECT_TRUE(Matches(all, R"({"A":"Set-OabVirtualDirectory","B":"x -ExternalUrl y"})"));
  EXPECT_FALSE(Matches(all, R"({"A":"Set-OabVirtualDirectory"})"));
}

// Plain values with leading/trailing `*` are matched as literals (engine.cpp, HsLiteral): the
// anchor of startswith/endswith must hold for some occurrence, not just the first one.
TEST_F(Engine, LiteralAnchorsOnRepeatedOccurrences) {
  auto end = Rule("  sel:\n    Image|endswith: '.exe'\n  condition: sel\n");
  EXPECT_TRUE(Matches(end, R"({"Image":"a.exe.b.EXE"})"));
  EXPECT_FALSE(Matches(end, R"({"Image":"a.exe.b"})"));
  auto start = Rule("  sel:\n    CommandLine|startswith: 'net '\n  condition: sel\n");
  EXPECT_TRUE(Matches(start, R"({"CommandLine":"net net user"})"));
  EXPECT_FALSE(Matches(start, R"({"CommandLine":"x net user net "})"));
  // windash without wildcards: both anchors on each dash form.
  auto exact = Rule("  sel:\n    CommandLine|windash: '-s'\n  condition: sel\n");
  EXPECT_TRUE(Matches(exact, R"({"CommandLine":"/S"})"));
  EXPECT_TRUE(Matches(exact, R"({"CommandLine":"\u2014s"})"));
  EXPECT_FALSE(Matches(exact, R"({"CommandLine":"a/s"})"));
  EXPECT_FALSE(Matches(exact, R"({"CommandLine":"-sx"})"));
  // More than two windash positions stay an expression.
  auto many = Rule("  sel:\n    CommandLine|windash|contains: ' -a -b -c '\n  condition: sel\n");
  EXPECT_TRUE(Matches(many, R"({"CommandLine":"x /a -b \u2013c y"})"));
  EXPECT_FALSE(Matches(many, R"({"CommandLine":"x /a -b +c y"})"));
}

// Values with inner wildcards are found by their longest plain run and then matched whole
// (engine.cpp, PrefilterPiece and GlobMatch).
TEST_F(Engine, InnerWildcardsPrefilteredThenMatched) {
  auto r = Rule("  sel:\n    CommandLine|contains: 'copy*\\windows\\\\?emp*.dll'\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"CommandLine":"x COPY a \\Windows\\Temp\\b.dll y"})"));
  EXPECT_TRUE(Matches(r, R"({"CommandLine":"copy \\windows\\\u00e9emp.dll"})")) << "? is one character";
  EXPECT_FALSE(Matches(r, R"({"CommandLine":"copy \\windows\\emp.dll"})"));
  EXPECT_FALSE(Matches(r, R"({"CommandLine":"\\windows\\temp.dll copy"})"));
  auto anchored = Rule("  sel:\n    Image: 'C:\\\\*\\svchost.exe'\n  condition: sel\n");
  EXPECT_TRUE(Matches(anchored, R"({"Image":"c:\\x\\y\\SVCHOST.exe"})"));
  EXPECT_FALSE(Matches(anchored, R"({"Image":"d:\\c:\\x\\svchost.exe"})"));
  EXPECT_FALSE(Matches(anchored, R"({"Image":"c:\\x\\svchost.exe.bak"})"));
  auto cased = Rule("  sel:\n    CommandLine|contains|cased: 'Invoke-*Mimikatz'\n  condition: sel\n");
  EXPECT_TRUE(Matches(cased, R"({"CommandLine":"Invoke-X Mimikatz"})"));
  EXPECT_FALSE(Matches(cased, R"({"CommandLine":"invoke-X Mimikatz"})"));
}

// Keywords are searched in each string value: all values are scanned together, but a match may
// not run from one value into the next, and a value with wildcards must match inside one value.
TEST_F(Engine, KeywordsStayInsideOneValue) {
  auto lit = Rule("  keywords:\n    - 'abcdef'\n  condition: keywords\n");
  EXPECT_FALSE(Matches(lit, R"({"A":"xxabc","B":"defxx"})"));
  EXPECT_TRUE(Matches(lit, R"({"A":"xxabc","B":"ABCDEF"})"));
  auto glob = Rule("  keywords:\n    - 'chmod*777'\n  condition: keywords\n");
  EXPECT_FALSE(Matches(glob, R"({"A":"chmod a","B":"777"})"));
  EXPECT_TRUE(Matches(glob, R"({"A":"chmod a","B":"chmod +x; 777"})")) << "the piece's first value does not match, the second does";
  auto one = Rule("  keywords:\n    - '0'\n  condition: keywords\n");
  EXPECT_TRUE(Matches(one, R"({"A":"x","B":"10"})"));
  EXPECT_FALSE(Matches(one, R"({"A":"x","N":10})")) << "numbers are not keyword text";
  auto letter = Rule("  keywords:\n    - 'Q'\n  condition: keywords\n");
  EXPECT_TRUE(Matches(letter, R"({"A":"x","B":"aqa"})"));
  EXPECT_FALSE(Matches(letter, R"({"A":"x","B":"aaa"})"));
}

// Condition: precedence or < and < not < x of < (); "them" excludes identifiers starting with _.
TEST_F(Engine, ConditionGrammar) {
  const std::string ids = "  a:\n    A: 1\n  b:\n    B: 1\n  c:\n    C: 1\n  _d:\n    D: 1\n";
  auto prec = Rule(ids + "  condition: a or b and not c\n");
  EXPECT_TRUE(Matches(prec, R"({"A":1,"C":1})")) << "a or (b and (not c))";
  EXPECT_FALSE(Matches(prec, R"({"B":1,"C":1})"));
  auto paren = Rule(ids + "  condition: (a or b) and not c\n");
  EXPECT_FALSE(Matches(paren, R"({"A":1,"C":1})"));
  auto them = Rule(ids + "  condition: all of them\n");
  EXPECT_TRUE(Matches(them, R"({"A":1,"B":1,"C":1})")) << "_d is not part of them";
  auto one = Rule(ids + "  condition: 1 of them\n");
  EXPECT_FALSE(Matches(one, R"({"D":1})"));
  auto pattern = Rule(ids + "  condition: 1 of _* and a\n");
  EXPECT_TRUE(Matches(pattern, R"({"A":1,"D":1})")) << "an explicit pattern may name _ identifiers";
  auto list = Rule(ids + "  condition:\n    - a and b\n    - c\n");
  EXPECT_TRUE(Matches(list, R"({"C":1})")) << "a list of conditions is OR-ed";
  auto unknown = Rule(ids + "  condition: a and zz\n");
  EXPECT_EQ(unknown->size(), 0u);
  ASSERT_FALSE(problems_.empty());
  EXPECT_EQ(problems_[0].pos.line, 13);
  EXPECT_NE(problems_[0].reason.find("column 7"), std::string::npos) << problems_[0].reason;
}

// Logsource mapping: windows/process_creation from Security 4688 with NewProcessName -> Image.
TEST_F(Engine, LogsourceMapping4688) {
  auto r = Rule("  sel:\n    Image|endswith: '\\whoami.exe'\n    ParentImage|endswith: '\\cmd.exe'\n  condition: sel\n");
  EXPECT_TRUE(Matches(r, R"({"Channel":"Security","EventID":4688,"NewProcessName":"C:\\w\\whoami.exe","ParentProcessName":"C:\\w\\cmd.exe"})"));
  EXPECT_TRUE(Matches(r, R"({"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":"1","Image":"C:\\w\\whoami.exe","ParentImage":"C:\\w\\cmd.exe"})"));
  EXPECT_FALSE(Matches(r, R"({"Channel":"Security","EventID":4624,"NewProcessName":"C:\\w\\whoami.exe","ParentProcessName":"C:\\w\\cmd.exe"})"))
      << "4624 is not process creation";
}

// A logsource no file maps: the rule sees only events whose metadata names its product
// (event.module, observer.product/vendor, event.dataset product[.service]); a product-less one
// sees events whose event.dataset or event.module is its category; `every_event` restores the old
// behaviour. A keyword rule is the sharpest case: it would otherwise match any Windows event.
TEST_F(Engine, UnmappedLogsourceSeesOnlyItsProduct) {
  const std::string yaml = R"(title: cisco aaa
id: c1
logsource: {product: cisco, service: aaa}
detection:
  keywords: ['privilege level 15']
  condition: keywords
---
title: antivirus
id: a1
logsource: {category: antivirus}
detection:
  sel:
    Signature|contains: 'Mimikatz'
  condition: sel
)";
  auto event_with = [](std::vector<std::pair<std::string, std::string>> normalized, const std::string& json) {
    auto e = std::make_unique<event::Event>();
    EXPECT_TRUE(FlattenJsonObject(json, *e).ok());
    for (const auto& [name, value] : normalized)
      e->SetString(*event::DefaultFieldTable().Intern(name), e->arena().Copy(value));
    return e;
  };
  auto hits = [](const std::shared_ptr<RuleSet>& set, const event::Event& e) {
    Matcher m(set);
    std::vector<std::uint32_t> out;
    m.Match(e, out);
    std::vector<std::string> ids;
    for (auto r : out) ids.push_back(set->info(r).id);
    return ids;
  };
  const std::string cisco_line = R"({"message":"user admin privilege level 15 granted"})";
  const std::string av_line = R"({"Signature":"HackTool:Win32/Mimikatz.D"})";
  for (bool every : {false, true}) {
    CompileOptions opt;
    opt.unmapped_on_every_event = every;
    ReadResult rr = ReadSigmaYaml(yaml, "u.yml");
    ASSERT_TRUE(rr.problems.empty());
    problems_.clear();
    auto set = RuleSet::Compile(std::move(rr.docs), ls_, opt, problems_);
    ASSERT_EQ(set->size(), 2u) << Problems();
    EXPECT_FALSE(set->info(0).mapped_logsource);
    ASSERT_EQ(problems_.size(), 2u);
    EXPECT_NE(problems_[0].reason.find(every ? "every event" : "sees only events"), std::string::npos)
        << problems_[0].reason;

    const auto win = event_with({{"event.module", "security"}, {"event.dataset", "windows.security"}},
                                R"({"Channel":"Security","EventID":4624,"message":"privilege level 15"})");
    const auto by_vendor = event_with({{"observer.vendor", "Cisco"}, {"observer.product", "ISE"}}, cisco_line);
    const auto by_dataset = event_with({{"event.dataset", "cisco.aaa"}}, cisco_line);
    const auto other_service = event_with({{"event.dataset", "cisco.asa"}}, cisco_line);
    const auto by_module = event_with({{"event.module", "CISCO"}}, cisco_line);
    const auto av = event_with({{"event.dataset", "antivirus"}}, av_line);
    const auto av_unlabelled = event_with({}, av_line);

    using V = std::vector<std::string>;
    EXPECT_EQ(hits(set, *by_vendor), V{"c1"});
    EXPECT_EQ(hits(set, *by_dataset), V{"c1"});
    EXPECT_EQ(hits(set, *by_module), V{"c1"}) << "compared case-insensitively";
    EXPECT_EQ(hits(set, *av), V{"a1"});
    if (every) {
      EXPECT_EQ(hits(set, *win), V{"c1"}) << "every_event: the keyword matches a Windows event";
      EXPECT_EQ(hits(set, *av_unlabelled), V{"a1"});
      EXPECT_EQ(hits(set, *other_service), V{"c1"});
    } else {
      EXPECT_EQ(hits(set, *win), V{}) << "a Windows event is not a Cisco AAA log";
      EXPECT_EQ(hits(set, *av_unlabelled), V{}) << "nothing says this is an antivirus log";
      EXPECT_EQ(hits(set, *other_service), V{}) << "cisco.asa is neither cisco nor cisco.aaa";
    }
  }
}

// Bucket activation through the two-level source index (first condition, then the second
// condition's slot most checks share): every shape of source check activates exactly the buckets
// whose conditions hold, with the event id as a number or as text.
TEST_F(Engine, SourceChecksIndexedByChannelAndEventId) {
  LogsourceMap ls;
  ASSERT_TRUE(ls.LoadYaml(R"(
product: p
field_templates: ["{}"]
logsources:
  - category: a
    sources: [{Channel: X, EventID: [1, 2]}]
  - category: b
    sources: [{Channel: X, EventID: 3}, {Channel: Y}]
  - category: c
    sources: [{Channel: X, Image: "*"}]
  - category: d
    sources: [{Channel: X, EventID: 1, Provider: Prov}]
  - category: e
    sources: [{Channel: X, Provider: Prov}]
)", "p.yaml").empty());
  std::string yaml;
  for (const char* cat : {"a", "b", "c", "d", "e"})
    yaml += std::string("title: ") + cat + "\nid: " + cat + "\nlogsource: {product: p, category: " + cat +
            "}\ndetection:\n  sel: {Marker: m}\n  condition: sel\n---\n";
  ReadResult rr = ReadSigmaYaml(yaml, "r.yml");
  ASSERT_TRUE(rr.problems.empty());
  auto set = RuleSet::Compile(std::move(rr.docs), ls, {}, problems_);
  ASSERT_EQ(set->size(), 5u) << Problems();
  auto fired = [&](const std::string& json) {
    event::Event e;
    EXPECT_TRUE(FlattenJsonObject(json, e).ok());
    Matcher m(set);
    std::vector<std::uint32_t> out;
    m.Match(e, out);
    std::string ids;
    for (auto r : out) ids += set->info(r).id;
    return ids;
  };
  EXPECT_EQ(fired(R"({"Channel":"X","EventID":1,"Marker":"m"})"), "a");
  EXPECT_EQ(fired(R"({"Channel":"x","EventID":"2","Marker":"m"})"), "a") << "channel case-insensitive, id as text";
  EXPECT_EQ(fired(R"({"Channel":"X","EventID":3,"Marker":"m"})"), "b");
  EXPECT_EQ(fired(R"({"Channel":"Y","Marker":"m"})"), "b");
  EXPECT_EQ(fired(R"({"Channel":"X","EventID":1,"Image":"c:\\x.exe","Marker":"m"})"), "ac");
  EXPECT_EQ(fired(R"({"Channel":"X","EventID":1,"Provider":"prov","Marker":"m"})"), "ade");
  EXPECT_EQ(fired(R"({"Channel":"X","EventID":4,"Provider":"Prov","Marker":"m"})"), "e");
  EXPECT_EQ(fired(R"({"Channel":"X","Marker":"m"})"), "") << "no event id: only checks that need none";
  EXPECT_EQ(fired(R"({"Channel":"Z","EventID":1,"Marker":"m"})"), "");
}

// Sigma filters: the filter's condition is AND-ed to the rules it names.
TEST_F(Engine, MetaFilter) {
  const std::string yaml = R"(title: t
id: r1
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
  condition: sel
---
title: not on the jump host
id: f1
logsource: {product: windows}
filter:
  rules: [r1]
  selection:
    Computer|startswith: 'JUMP-'
  condition: not selection
)";
  ReadResult rr = ReadSigmaYaml(yaml, "f.yml");
  ASSERT_TRUE(rr.problems.empty());
  auto set = RuleSet::Compile(std::move(rr.docs), ls_, {}, problems_);
  ASSERT_EQ(set->size(), 1u) << Problems();
  EXPECT_TRUE(Matches(set, R"({"Image":"C:\\whoami.exe","Computer":"WS-1"})"));
  EXPECT_FALSE(Matches(set, R"({"Image":"C:\\whoami.exe","Computer":"jump-01"})"));
}

// Loading reports every problem with positions and loads the rest.
TEST_F(Engine, ProblemsWithPositions) {
  const std::string yaml = R"(title: good
id: g
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image: x
  condition: sel
---
title: bad modifier
id: b1
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|frobnicate: x
  condition: sel
---
title: bad condition
id: b2
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image: x
  condition: sel and (
---
id: b3
detection:
  condition: x
)";
  ReadResult rr = ReadSigmaYaml(yaml, "mixed.yml");
  std::vector<Problem> problems = rr.problems;
  auto set = RuleSet::Compile(std::move(rr.docs), ls_, {}, problems);
  EXPECT_EQ(set->size(), 1u);
  ASSERT_EQ(problems.size(), 4u);
  std::sort(problems.begin(), problems.end(), [](auto& a, auto& b) { return a.pos.line < b.pos.line; });
  EXPECT_EQ(problems[0].rule_id, "b1");
  EXPECT_EQ(problems[0].pos.line, 14);
  EXPECT_NE(problems[0].reason.find("unknown modifier 'frobnicate'"), std::string::npos);
  EXPECT_EQ(problems[1].rule_id, "b2");
  EXPECT_EQ(problems[1].pos.line, 23);
  EXPECT_EQ(problems[2].rule_id, "b3");
  EXPECT_EQ(problems[2].severity, Severity::kError);
}

TEST(Condition, ParsesWithSpecPrecedence) {
  auto c = ParseCondition("a or b and not c");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(ConditionToString(**c), "(a or (b and (not c)))");
  auto q = ParseCondition("1 of sel* and not all of filter_*");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(ConditionToString(**q), "((1 of sel*) and (not (all of filter_*)))");
  EXPECT_FALSE(ParseCondition("a and").ok());
  EXPECT_FALSE(ParseCondition("(a").ok());
  EXPECT_FALSE(ParseCondition("sel*").ok());
  EXPECT_FALSE(ParseCondition("2 of them").ok());
  auto agg = ParseCondition("sel | count() by x > 5");
  ASSERT_FALSE(agg.ok());
  EXPECT_EQ(agg.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(MatchIdentifierPattern("sel*", "selection"));
  EXPECT_TRUE(MatchIdentifierPattern("*_a*", "x_ab"));
  EXPECT_FALSE(MatchIdentifierPattern("sel*", "filter"));
}

TEST(Alert, JsonAndAttackTags) {
  Alert a;
  a.rule_id = "r";
  a.title = "T \"q\"";
  a.level = "high";
  a.tags = {"attack.execution", "attack.t1059.001", "attack.g0016", "cve.2021-1"};
  a.event_index = 7;
  a.matched = {{"Image", "C:\\x.exe"}};
  EXPECT_EQ(AlertToJson(a),
            R"({"rule_id":"r","title":"T \"q\"","level":"high","tags":["attack.execution","attack.t1059.001","attack.g0016","cve.2021-1"],"event_index":7,"timestamp":"1970-01-01T00:00:00Z","matched":{"Image":"C:\\x.exe"}})");
  EXPECT_EQ(a.AttackTechniques(), std::vector<std::string>{"T1059.001"});
  EXPECT_EQ(a.AttackTactics(), std::vector<std::string>{"execution"});
}

}  // namespace
}  // namespace medsoc::detect
