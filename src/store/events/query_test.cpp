#include "store/events/query.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "store/events/block.h"
#include "store/events/sqlite_query.h"
#include "store/events/tokenize_inl.h"
#include "store/events/tokenizer.h"

namespace medsoc::store::events {
namespace {

std::string Canon(std::string_view q) {
  auto r = ParseQuery(q);
  EXPECT_TRUE(r.ok()) << q << ": " << (r.ok() ? "" : r.error().ToString());
  return r.ok() ? QueryToString(r->root.get()) : "";
}

int ErrorColumn(std::string_view q) {
  auto r = ParseQuery(q);
  EXPECT_FALSE(r.ok()) << q;
  if (r.ok() || !r.error().pos()) return -1;
  return r.error().pos()->column;
}

TEST(QueryParserTest, PrecedenceAndImplicitAnd) {
  EXPECT_EQ(Canon("a b OR c"), "((\"a\" AND \"b\") OR \"c\")");
  EXPECT_EQ(Canon("a AND b OR c AND d"), "((\"a\" AND \"b\") OR (\"c\" AND \"d\"))");
  EXPECT_EQ(Canon("NOT a b"), "(NOT \"a\" AND \"b\")");
  EXPECT_EQ(Canon("a AND (b OR c)"), "(\"a\" AND (\"b\" OR \"c\"))");
  EXPECT_EQ(Canon("NOT (a OR b)"), "NOT (\"a\" OR \"b\")");
  EXPECT_EQ(Canon(""), "*");
  EXPECT_EQ(Canon("   "), "*");
  EXPECT_EQ(Canon("and or"), "(\"and\" AND \"or\")");  // lowercase words are text
}

TEST(QueryParserTest, FieldsValuesAndRanges) {
  EXPECT_EQ(Canon("host.name:web01"), "host.name:\"web01\"");
  EXPECT_EQ(Canon("user.name:\"Zhang San\""), "user.name:\"Zhang San\"");
  EXPECT_EQ(Canon("process.name:cmd*.exe"), "process.name:cmd*.exe");
  EXPECT_EQ(Canon("source.ip:fe80::1"), "source.ip:\"fe80::1\"");
  EXPECT_EQ(Canon("source.ip:10.0.0.0/8"), "source.ip:\"10.0.0.0/8\"");
  EXPECT_EQ(Canon("user.name:*"), "user.name:*");
  EXPECT_EQ(Canon("source.port:[1 TO 1023]"), "source.port:[\"1\" TO \"1023\"]");
  EXPECT_EQ(Canon("source.port:{1 TO *]"), "source.port:{\"1\" TO *]");
  EXPECT_EQ(Canon("http.response.status_code:>=500"), "http.response.status_code:[\"500\" TO *]");
  EXPECT_EQ(Canon("event.severity:<3"), "event.severity:[* TO \"3\"}");
  EXPECT_EQ(Canon("@timestamp:[now-1h TO now]"), "@timestamp:[\"now-1h\" TO \"now\"]");
  EXPECT_EQ(Canon("event.code:(4624 OR 4625)"), "(event.code:\"4624\" OR event.code:\"4625\")");
  EXPECT_EQ(Canon("path:C\\:\\\\Windows\\*"), "path:\"C:\\\\Windows*\"");
  EXPECT_EQ(Canon("患者 登录失败"), "(\"患者\" AND \"登录失败\")");
}

TEST(QueryParserTest, ErrorsCarryTheColumn) {
  EXPECT_EQ(ErrorColumn("host.name:"), 11);
  EXPECT_EQ(ErrorColumn("a AND"), 3);
  EXPECT_EQ(ErrorColumn("(a OR b"), 1);
  EXPECT_EQ(ErrorColumn("a b)"), 4);
  EXPECT_EQ(ErrorColumn("x \"unterminated"), 3);
  EXPECT_EQ(ErrorColumn("source.port:[1 1023]"), 16);
  EXPECT_EQ(ErrorColumn("患者 OR"), 4);  // columns count code points, not bytes
  EXPECT_EQ(ErrorColumn("NOT"), 1);
  EXPECT_EQ(ErrorColumn("()"), 1);
  EXPECT_EQ(ErrorColumn("f:[* TO *]"), 3);
  auto r = ParseQuery("a AND");
  EXPECT_EQ(r.error().ToString(), "query:1:3: AND needs a term after it");
}

TEST(QueryParserTest, Limits) {
  std::string deep(kMaxDepth + 5, '(');
  deep += "a";
  deep += std::string(kMaxDepth + 5, ')');
  EXPECT_FALSE(ParseQuery(deep).ok());
  std::string many;
  for (int i = 0; i < kMaxTerms + 1; ++i) many += "t ";
  EXPECT_FALSE(ParseQuery(many).ok());
  EXPECT_FALSE(ParseQuery(std::string(kMaxQueryBytes + 1, 'a')).ok());
}

TEST(QueryCompileTest, ValuesAreBoundNeverPasted) {
  auto q = ParseQuery("host.name:\"x' OR 1=1 --\" AND foo.bar:\"'; DROP TABLE events\"");
  ASSERT_TRUE(q.ok());
  auto c = CompileQuery(*q, core::Timestamp{0});
  ASSERT_TRUE(c.ok()) << c.error().ToString();
  EXPECT_EQ(c->where.find("DROP"), std::string::npos);
  EXPECT_EQ(c->where.find("1=1"), std::string::npos);
  EXPECT_GE(c->params.size(), 2u);
}

TEST(QueryCompileTest, TypedFieldErrors) {
  auto bad = [](std::string_view text) {
    auto q = ParseQuery(text);
    EXPECT_TRUE(q.ok());
    auto c = CompileQuery(*q, core::Timestamp{0});
    EXPECT_FALSE(c.ok()) << text;
    return c.ok() ? 0 : c.error().pos()->column;
  };
  EXPECT_EQ(bad("source.port:abc"), 13);
  EXPECT_EQ(bad("source.ip:10.0.0.0/33"), 11);
  EXPECT_EQ(bad("source.ip:host1"), 11);
  EXPECT_EQ(bad("@timestamp:>yesterday"), 13);
  EXPECT_EQ(bad("tenant_id:other"), 1);
}

TEST(QueryCompileTest, TimeWindowNarrowing) {
  const core::Timestamp now = core::Timestamp::FromSeconds(1'700'000'000);
  auto q = ParseQuery("@timestamp:[now-1h TO now] error");
  auto c = CompileQuery(*q, now);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->time_lo, now.ns - core::Hours(1));
  EXPECT_EQ(c->time_hi, now.ns + 1);
  auto t = ParseQueryTime("2024-03-01", now, 1);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(core::FormatRfc3339(*t, 0), "2024-03-01T00:00:00Z");
  EXPECT_FALSE(ParseQueryTime("now-1y", now, 1).ok());
}

TEST(QueryCompileTest, LikePatternsEscape) {
  EXPECT_EQ(LikePattern("a*b?c"), "a%b_c");
  EXPECT_EQ(LikePattern("100%_x"), "100\\%\\_x");
  EXPECT_EQ(LikePattern("a\\*b"), "a*b");
}

TEST(TokenizerTest, CjkBigramsAndWords) {
  std::vector<std::string> doc, query;
  Tokenize("Login FAILED 患者张三, user=admin", false, [&](std::string_view t, int, int, bool colocated) {
    doc.push_back(std::string(colocated ? "+" : "") + std::string(t));
    return 0;
  });
  EXPECT_EQ(doc, (std::vector<std::string>{"login", "failed", "患者", "者张", "张三", "+三", "user", "admin"}));
  Tokenize("患者张三", true, [&](std::string_view t, int, int, bool) {
    query.push_back(std::string(t));
    return 0;
  });
  EXPECT_EQ(query, (std::vector<std::string>{"患者", "者张", "张三"}));
  EXPECT_TRUE(SummarizeTokens("患").single_cjk);
  EXPECT_EQ(SummarizeTokens("...").tokens, 0u);
}

namespace tokenize_test {

struct Token {
  std::string text;
  int start, end;
  bool colocated;
  bool operator==(const Token&) const = default;
};

template <bool kFast>
std::vector<Token> Tokens(std::string_view s, bool query) {
  std::vector<Token> out;
  tokenize_detail::TokenizeImpl<kFast>(s, query, [&](std::string_view t, int start, int end, bool colocated) {
    out.push_back({std::string(t), start, end, colocated});
    return 0;
  });
  return out;
}

}  // namespace tokenize_test

TEST(TokenizerTest, AsciiFastPathGivesTheGeneralPathsTokens) {
  // Pieces that meet at every kind of boundary: ASCII words with capitals, digits, long words
  // (cut at 128 bytes), Latin letters, CJK, fullwidth punctuation, invalid and truncated UTF-8.
  const std::vector<std::string> pieces = {
      "a", "Z", "login", "FAILED", "x9", "  ", " ", ",", "=", "-", ":", "\t", "é", "Ünïcode", "患者", "张", "。",
      "，", "ｘ", "\xff", "\xe6\x82", "\xc3", "ß", "Ωmega", std::string(130, 'q'), std::string(127, 'R') + "é",
      "ab患", "1.2.3.4", "\xe2\x80\xa8"};
  std::mt19937 rng(20261122);
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < n; ++k) s += pieces[rng() % pieces.size()];
    for (bool query : {false, true})
      ASSERT_EQ(tokenize_test::Tokens<true>(s, query), tokenize_test::Tokens<false>(s, query)) << s;
  }
}

TEST(BlockTermsTest, MessageInsideRawAddsNoTermsOfItsOwn) {
  // The writer skips the message's tokens when the message sits inside raw between separators;
  // the block's terms must be what tokenizing both gives.
  const char* messages[] = {"Failed password for Admin", "患者张三 登录", "x", "port 22", "a-b"};
  const char* raws[] = {"<34>Mar  1 10:00:00 fw01 sshd[1]: Failed password for Admin",
                        "<13>患者张三 登录 tail",
                        "prefixx",  // glued to a word: not a token boundary
                        "port 22 port 22",
                        "Xa-b",
                        "unrelated"};
  for (const char* m : messages)
    for (const char* r : raws) {
      BlockRow row{};
      row[kTenant] = Cell::Text("t");
      row[kId] = Cell::Text("id");
      row[kTime] = Cell::Int(1);
      row[kFtsMessage] = Cell::Text(m);
      row[kFtsRaw] = Cell::Text(r);
      BlockWriter w;
      w.Add(row);
      std::set<std::string> got, want;
      const std::string terms = w.FinishTerms();
      for (std::size_t i = 0, j; i < terms.size(); i = j + 1) {
        j = terms.find('\n', i);
        got.insert(terms.substr(i, j - i));
      }
      for (const char* text : {m, r})
        Tokenize(text, false, [&](std::string_view t, int, int, bool) {
          want.insert(std::string(t));
          return 0;
        });
      EXPECT_EQ(got, want) << "message " << m << " raw " << r;
    }
}

}  // namespace
}  // namespace medsoc::store::events

namespace medsoc::store::events {
namespace {

std::string Prune(std::string_view text) {
  auto q = ParseQuery(text);
  EXPECT_TRUE(q.ok()) << text;
  auto c = CompileQuery(*q, core::Timestamp{0});
  EXPECT_TRUE(c.ok()) << text;
  return c.ok() ? c->prune : "error";
}

TEST(QueryCompileTest, BlockIndexConditions) {
  // Every match's block must satisfy the condition; empty means "any block".
  EXPECT_EQ(Prune("Login FAILED"), "(\"login\") AND (\"failed\")");
  EXPECT_EQ(Prune("\"login failed\""), "\"login\" AND \"failed\"");
  EXPECT_EQ(Prune("log*"), "\"log\" *");
  EXPECT_EQ(Prune("诊"), "\"诊\" *");
  EXPECT_EQ(Prune("患者张三"), "\"患者\" AND \"者张\" AND \"张三\"");
  const std::string host = std::string(FieldTermTag("host.name")), port = std::string(FieldTermTag("source.port")),
                    sip = std::string(FieldTermTag("source.ip"));
  ASSERT_EQ(host.size(), 1u);
  EXPECT_NE(host, port);
  EXPECT_EQ(FieldTermTag("source"), "0");
  EXPECT_EQ(FieldTermTag("winlog.event_id"), "");
  EXPECT_EQ(Prune("host.name:HIS-DB01"), "\"" + host + "=his-db01\"");
  EXPECT_EQ(Prune("host.name:HIS*"), "\"" + host + "=his\" *");
  EXPECT_EQ(Prune("host.name:*db"), "");
  EXPECT_EQ(Prune("source.port:22"), "\"" + port + "=22\"");
  EXPECT_EQ(Prune("source.port:22.5"), "");
  // IPv4 addresses are indexed by their 8 hex digits, IPv6 by 32.
  EXPECT_EQ(Prune("source.ip:10.1.2.3"), "\"" + sip + "=0a010203\"");
  EXPECT_EQ(Prune("source.ip:\"::ffff:10.1.2.3\""), "\"" + sip + "=0a010203\"");
  EXPECT_EQ(Prune("source.ip:10.1.0.0/16"), "\"" + sip + "=0a01\" *");
  EXPECT_EQ(Prune("source.ip:10.1.0.0/15"), "");  // not whole hex digits
  EXPECT_EQ(Prune("source.ip:0.0.0.0/0"), "\"" + sip + "=\" *");
  EXPECT_EQ(Prune("source.ip:\"2001:db8::1\""), "\"" + sip + "=20010db8000000000000000000000001\"");
  EXPECT_EQ(Prune("source.ip:\"2001:db8::/32\""), "\"" + sip + "=20010db8\" *");
  // Blocks that reach into IPv4-mapped space from outside cannot be narrowed.
  EXPECT_EQ(Prune("source.ip:\"::/8\""), "");
  EXPECT_EQ(Prune("source.ip:\"::ffff:0:0/80\""), "");
  EXPECT_EQ(Prune("source.ip:\"::ffff:0:0/96\""), "\"" + sip + "=\" *");
  EXPECT_EQ(Prune("source:Bench"), "\"0=bench\"");
  EXPECT_EQ(Prune("winlog.event_id:4625"), "");  // JSON fields are not in the index
  EXPECT_EQ(Prune("NOT login"), "");
  EXPECT_EQ(Prune("login OR winlog.event_id:4625"), "");
  EXPECT_EQ(Prune("login OR host.name:x"), "(\"login\") OR (\"" + host + "=x\")");
  EXPECT_EQ(Prune("login AND NOT failed"), "(\"login\")");
  EXPECT_EQ(Prune("say \"a b\""), "(\"say\") AND (\"a\" AND \"b\")");
  EXPECT_EQ(Prune("host.name:\"x\\\"y\""), "\"" + host + "=x\"\"y\"");
  EXPECT_EQ(Prune(""), "");
}

}  // namespace
}  // namespace medsoc::store::events
