#include "api/http.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/server.h"

namespace medsoc::api {
namespace {

TEST(HttpTest, MethodNamesRoundTrip) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch, Method::kDelete,
                   Method::kOptions}) {
    EXPECT_EQ(ParseMethod(MethodName(m)), m);
  }
  EXPECT_EQ(ParseMethod("get"), Method::kOther);  // methods are case-sensitive
  EXPECT_EQ(ParseMethod("BREW"), Method::kOther);
  EXPECT_FALSE(IsStateChanging(Method::kGet));
  EXPECT_FALSE(IsStateChanging(Method::kHead));
  EXPECT_FALSE(IsStateChanging(Method::kOptions));
  EXPECT_TRUE(IsStateChanging(Method::kPost));
  EXPECT_TRUE(IsStateChanging(Method::kDelete));
  EXPECT_TRUE(IsStateChanging(Method::kOther));
}

TEST(HttpTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b", false), "a b");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%E5%8C%BB%e9%99%a2", false), "医院");
  EXPECT_EQ(PercentDecode("", false), "");
  EXPECT_FALSE(PercentDecode("%", false));
  EXPECT_FALSE(PercentDecode("%2", false));
  EXPECT_FALSE(PercentDecode("abc%2", false));
  EXPECT_FALSE(PercentDecode("%zz", false));
  EXPECT_FALSE(PercentDecode("%g0", false));
}

TEST(HttpTest, SplitTargetDecodesPathAndQuery) {
  std::string path;
  std::multimap<std::string, std::string> query;
  ASSERT_TRUE(SplitTarget("/api/v1/users?limit=10&q=a+b%26c&flag&tag=x&tag=y", path, query));
  EXPECT_EQ(path, "/api/v1/users");
  EXPECT_EQ(query.count("tag"), 2u);
  EXPECT_EQ(query.find("limit")->second, "10");
  EXPECT_EQ(query.find("q")->second, "a b&c");
  EXPECT_EQ(query.find("flag")->second, "");

  ASSERT_TRUE(SplitTarget("/a%20b/c+d", path, query));
  EXPECT_EQ(path, "/a b/c+d");  // '+' is literal in paths
  EXPECT_TRUE(query.empty());
  ASSERT_TRUE(SplitTarget("/", path, query));
  EXPECT_EQ(path, "/");
  ASSERT_TRUE(SplitTarget("/files/..data/x.", path, query));  // dots inside names are fine
}

TEST(HttpTest, SplitTargetRejectsMalformed) {
  std::string path;
  std::multimap<std::string, std::string> query;
  for (const char* bad : {"", "*", "api/v1", "http://example.com/", "example.com:443", "/a/../b", "/..", "/a/./b",
                          "/a/%2e%2e/b", "/a%2f..%2fb", "/a/%2E%2e", "/a%00b", "/a?x=%00", "/a?%zz=1", "/a%",
                          "/a b", "/a#frag", "/a\\..\\b", "/a%5c..%5cb", "/\x01"}) {
    EXPECT_FALSE(SplitTarget(bad, path, query)) << bad;
  }
}

TEST(HttpTest, RequestHelpers) {
  Request r;
  r.headers = {{"content-type", "application/json"},
               {"cookie", "a=1; medsoc_session=abc123 ; quoted=\"v\""},
               {"cookie", "late=2"}};
  r.query.emplace("limit", "5");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("Content-Type"), "application/json");
  EXPECT_FALSE(r.Header("x-missing"));
  EXPECT_EQ(r.Query("limit"), "5");
  EXPECT_FALSE(r.Query("offset"));
  EXPECT_EQ(r.Cookie("medsoc_session"), "abc123");
  EXPECT_EQ(r.Cookie("a"), "1");
  EXPECT_EQ(r.Cookie("quoted"), "v");
  EXPECT_EQ(r.Cookie("late"), "2");
  EXPECT_FALSE(r.Cookie("medsoc"));
  EXPECT_FALSE(r.Cookie("session"));
}

TEST(HttpTest, ResponseHeaders) {
  Response r;
  r.SetHeader("X-A", "1");
  r.SetHeader("x-a", "2");
  EXPECT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "2");
  EXPECT_TRUE(r.HasHeader("X-a"));
  EXPECT_FALSE(r.HasHeader("X-B"));
}

TEST(HttpTest, ErrorResponseEscapesJson) {
  Response r = ErrorResponse(404, "not_found", "no \"user\" named <x>\n\\ 医院");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_EQ(j["error"]["message"], "no \"user\" named <x>\n\\ 医院");
  // Invalid UTF-8 does not throw.
  Response bad = ErrorResponse(400, "bad", std::string("\xff\xfe", 2));
  EXPECT_TRUE(nlohmann::json::accept(bad.body));
}

TEST(HttpTest, SecurityHeaders) {
  Request req;
  req.path = "/api/v1/x";
  Response res;
  AddSecurityHeaders(res, req, false);
  EXPECT_TRUE(res.HasHeader("X-Content-Type-Options"));
  EXPECT_TRUE(res.HasHeader("X-Frame-Options"));
  EXPECT_TRUE(res.HasHeader("Referrer-Policy"));
  EXPECT_TRUE(res.HasHeader("Content-Security-Policy"));
  EXPECT_TRUE(res.HasHeader("Cache-Control"));
  EXPECT_FALSE(res.HasHeader("Strict-Transport-Security"));

  Request page;
  page.path = "/index.html";
  Response custom;
  custom.SetHeader("Content-Security-Policy", "default-src 'none'");
  AddSecurityHeaders(custom, page, true);
  EXPECT_FALSE(custom.HasHeader("Cache-Control"));
  EXPECT_TRUE(custom.HasHeader("Strict-Transport-Security"));
  for (const auto& [k, v] : custom.headers) {
    if (k == "Content-Security-Policy") {
      EXPECT_EQ(v, "default-src 'none'");
    }
  }
}

TEST(HttpTest, ParseRawRequest) {
  ServerOptions opts;
  auto r = ParseRawRequest(
      "POST /api/v1/x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 7\r\n"
      "Cookie: s=1\r\n\r\n{\"a\":1}",
      opts);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->method, Method::kPost);
  EXPECT_EQ(r->path, "/api/v1/x");
  EXPECT_EQ(r->Query("a"), "1");
  EXPECT_EQ(r->body, "{\"a\":1}");
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_EQ(r->Cookie("s"), "1");

  auto chunked = ParseRawRequest(
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", opts);
  ASSERT_TRUE(chunked.ok()) << chunked.error().message();
  EXPECT_EQ(chunked->body, "abcde");

  EXPECT_FALSE(ParseRawRequest("", opts).ok());
  EXPECT_FALSE(ParseRawRequest("GET / HTTP/1.1\r\nHost: h\r\n", opts).ok());  // truncated
  EXPECT_FALSE(ParseRawRequest("GET /a/../b HTTP/1.1\r\nHost: h\r\n\r\n", opts).ok());
  auto bad = ParseRawRequest("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", opts);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);

  opts.max_body_bytes = 4;
  auto big = ParseRawRequest("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", opts);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);
  opts.max_header_bytes = 64;
  auto hdr = ParseRawRequest("GET / HTTP/1.1\r\nX: " + std::string(100, 'a') + "\r\n\r\n", opts);
  ASSERT_FALSE(hdr.ok());
  EXPECT_EQ(hdr.error().code(), ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace medsoc::api
