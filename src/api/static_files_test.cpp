#include "api/static_files.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace medsoc::api {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "medsoc-static-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  void Write(const std::string& rel, const std::string& content) const {
    fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
  }

 private:
  fs::path path_;
};

Request Get(std::string path, std::vector<std::pair<std::string, std::string>> headers = {}) {
  Request r;
  r.method = Method::kGet;
  r.target = path;
  r.path = std::move(path);
  r.headers = std::move(headers);
  return r;
}

std::string HeaderOf(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  return "";
}

const std::string kIndex = "<!doctype html><html><body><div id=app></div></body></html>";
const std::string kAppJs = std::string(4000, 'x') + "console.log('app')";

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("index.html", kIndex);
    dir_.Write("assets/index-3f2a9c.js", kAppJs);
    dir_.Write("assets/index-3f2a9c.js.gz", "GZ-BYTES");        // smaller: kept as the gzip variant
    dir_.Write("assets/index-3f2a9c.js.zst", "ZST");            // smaller: kept as the zstd variant
    dir_.Write("assets/style-77aa.css", "body{}");
    dir_.Write("assets/style-77aa.css.gz", std::string(100, 'g'));  // larger than the original: ignored
    dir_.Write("favicon.svg", "<svg/>");
    dir_.Write(".hidden", "secret");
    dir_.Write(".git/config", "secret");
  }
  TempDir dir_;
};

TEST_F(StaticFilesTest, ServesIndexWithNoCacheAndSecurityRelevantHeaders) {
  StaticFiles files(dir_.path());
  ASSERT_TRUE(files.built());
  auto r = files.Serve(Get("/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, kIndex);
  EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(HeaderOf(*r, "Cache-Control"), "no-cache");
  EXPECT_FALSE(HeaderOf(*r, "ETag").empty());
  EXPECT_EQ(HeaderOf(*r, "x-medsoc-route"), "portal");  // bounded metrics label
  auto explicit_index = files.Serve(Get("/index.html"));
  ASSERT_TRUE(explicit_index);
  EXPECT_EQ(explicit_index->body, kIndex);
}

TEST_F(StaticFilesTest, HashedAssetsAreImmutableWithContentType) {
  StaticFiles files(dir_.path());
  auto r = files.Serve(Get("/assets/style-77aa.css"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "body{}");
  EXPECT_EQ(r->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(HeaderOf(*r, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(HeaderOf(*r, "Content-Encoding"), "");
  EXPECT_EQ(HeaderOf(*r, "Vary"), "");  // its .gz was larger, so there is no variant

  auto svg = files.Serve(Get("/favicon.svg"));
  ASSERT_TRUE(svg);
  EXPECT_EQ(svg->content_type, "image/svg+xml");
  EXPECT_EQ(HeaderOf(*svg, "Cache-Control"), "no-cache");
}

TEST_F(StaticFilesTest, SpaFallbackOnlyForRouteLikePaths) {
  StaticFiles files(dir_.path());
  for (const char* path : {"/incidents/123", "/users", "/audit/", "/a/b/c"}) {
    auto r = files.Serve(Get(path));
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->body, kIndex) << path;
    EXPECT_EQ(HeaderOf(*r, "Cache-Control"), "no-cache") << path;
  }
  // A missing file is a 404 (nullopt), never index.html in its place.
  EXPECT_FALSE(files.Serve(Get("/assets/index-old.js")));
  EXPECT_FALSE(files.Serve(Get("/assets/nothing")));
  EXPECT_FALSE(files.Serve(Get("/robots.txt")));
}

TEST_F(StaticFilesTest, LeavesApiPathsAndOtherMethodsAlone) {
  StaticFiles files(dir_.path());
  for (const char* path : {"/api", "/api/", "/api/v1/users", "/api/v1/nope", "/metrics", "/healthz"})
    EXPECT_FALSE(files.Serve(Get(path))) << path;
  Request post = Get("/");
  post.method = Method::kPost;
  EXPECT_FALSE(files.Serve(post));
  Request del = Get("/index.html");
  del.method = Method::kDelete;
  EXPECT_FALSE(files.Serve(del));
  Request head = Get("/");
  head.method = Method::kHead;
  auto r = files.Serve(head);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);  // the server sends Content-Length without the body for HEAD
}

TEST_F(StaticFilesTest, TraversalHiddenFilesAndDirectoriesAreNeverServed) {
  TempDir outside;
  outside.Write("secret.txt", "top secret");
  fs::create_symlink(outside.path() / "secret.txt", dir_.path() / "link.txt");
  fs::create_directory_symlink(outside.path(), dir_.path() / "linkdir");
  StaticFiles files(dir_.path());
  for (const char* path : {"/../secret.txt", "/assets/../../secret.txt", "/./index.html", "/assets/./x.js",
                           "//etc/passwd", "/assets//index-3f2a9c.js", "/..\\secret.txt", "/.hidden",
                           "/.git/config", "/link.txt", "/linkdir/secret.txt"}) {
    auto r = files.Serve(Get(path));
    if (r) EXPECT_EQ(r->body, kIndex) << path;  // at most the app itself, never another file
    if (r) EXPECT_EQ(r->body.find("secret"), std::string::npos) << path;
  }
  EXPECT_FALSE(files.Serve(Get("/../secret.txt")));
  EXPECT_FALSE(files.Serve(Get("/.hidden")));
  EXPECT_FALSE(files.Serve(Get("/link.txt")));
  // A directory is not listed: /assets is treated as an app route, /assets/ names no file.
  auto dir = files.Serve(Get("/assets"));
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->body, kIndex);
  EXPECT_FALSE(files.Serve(Get("/assets/")));
}

TEST_F(StaticFilesTest, ETagAndIfNoneMatchGive304) {
  StaticFiles files(dir_.path());
  auto first = files.Serve(Get("/assets/style-77aa.css"));
  ASSERT_TRUE(first);
  const std::string etag = HeaderOf(*first, "ETag");
  ASSERT_EQ(etag.front(), '"');
  auto again = files.Serve(Get("/assets/style-77aa.css", {{"if-none-match", etag}}));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(HeaderOf(*again, "ETag"), etag);
  EXPECT_EQ(HeaderOf(*again, "Cache-Control"), "public, max-age=31536000, immutable");

  auto list = files.Serve(Get("/assets/style-77aa.css", {{"if-none-match", "\"zzz\", W/" + etag}}));
  EXPECT_EQ(list->status, 304);
  auto star = files.Serve(Get("/assets/style-77aa.css", {{"if-none-match", "*"}}));
  EXPECT_EQ(star->status, 304);
  auto other = files.Serve(Get("/assets/style-77aa.css", {{"if-none-match", "\"other\""}}));
  EXPECT_EQ(other->status, 200);
  // Different content, different validator.
  EXPECT_NE(HeaderOf(*files.Serve(Get("/favicon.svg")), "ETag"), etag);
}

TEST_F(StaticFilesTest, PrecompressedVariantsFollowAcceptEncoding) {
  StaticFiles files(dir_.path());
  auto plain = files.Serve(Get("/assets/index-3f2a9c.js"));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->body, kAppJs);
  EXPECT_EQ(plain->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(HeaderOf(*plain, "Vary"), "Accept-Encoding");

  auto gz = files.Serve(Get("/assets/index-3f2a9c.js", {{"accept-encoding", "gzip, deflate"}}));
  EXPECT_EQ(gz->body, "GZ-BYTES");
  EXPECT_EQ(HeaderOf(*gz, "Content-Encoding"), "gzip");
  EXPECT_EQ(gz->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(HeaderOf(*gz, "ETag"), HeaderOf(*plain, "ETag"));

  auto zst = files.Serve(Get("/assets/index-3f2a9c.js", {{"accept-encoding", "gzip, deflate, br, zstd"}}));
  EXPECT_EQ(zst->body, "ZST");
  EXPECT_EQ(HeaderOf(*zst, "Content-Encoding"), "zstd");

  auto refused = files.Serve(Get("/assets/index-3f2a9c.js", {{"accept-encoding", "zstd;q=0, gzip;q=0.0"}}));
  EXPECT_EQ(refused->body, kAppJs);
  auto star = files.Serve(Get("/assets/index-3f2a9c.js", {{"accept-encoding", "*;q=0.5, zstd;q=0"}}));
  EXPECT_EQ(HeaderOf(*star, "Content-Encoding"), "gzip");

  // The .gz and .zst files are variants, not files of their own.
  EXPECT_FALSE(files.Serve(Get("/assets/index-3f2a9c.js.gz")));
  // 304 for the variant's own validator.
  auto gz304 = files.Serve(
      Get("/assets/index-3f2a9c.js", {{"accept-encoding", "gzip"}, {"if-none-match", HeaderOf(*gz, "ETag")}}));
  EXPECT_EQ(gz304->status, 304);
}

TEST(StaticFilesNotBuilt, ServesTheBilingualNotBuiltPage) {
  TempDir empty;
  for (const fs::path& dir : {empty.path(), empty.path() / "missing"}) {
    StaticFiles files(dir);
    EXPECT_FALSE(files.built());
    auto r = files.Serve(Get("/"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->content_type, "text/html; charset=utf-8");
    EXPECT_NE(r->body.find("门户尚未构建"), std::string::npos);
    EXPECT_NE(r->body.find("portal is not built"), std::string::npos);
    EXPECT_NE(r->body.find("scripts/web.sh build"), std::string::npos);
    EXPECT_EQ(r->body.find("<script"), std::string::npos);  // works under script-src 'self'
    EXPECT_EQ(HeaderOf(*r, "Cache-Control"), "no-store");
    EXPECT_TRUE(files.Serve(Get("/incidents/1")));
    EXPECT_FALSE(files.Serve(Get("/assets/app.js")));
    EXPECT_FALSE(files.Serve(Get("/api/v1/users")));
  }
}

TEST(StaticFilesContentType, KnownAndUnknownExtensions) {
  EXPECT_EQ(ContentTypeFor("a/b.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("x.woff2"), "font/woff2");
  EXPECT_EQ(ContentTypeFor("x.json"), "application/json");
  EXPECT_EQ(ContentTypeFor("x.bin"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("dir.d/noext"), "application/octet-stream");
}

TEST(ResolvePortalDir, ConfiguredThenInstalledThenCheckout) {
  TempDir root;
  EXPECT_EQ(ResolvePortalDir("/srv/portal", root.path() / "bin" / "medsoc"), fs::path("/srv/portal"));

  // A build tree inside a checkout: <root>/build/release/medsoc with <root>/web/package.json.
  root.Write("build/release/medsoc", "");
  root.Write("web/package.json", "{}");
  EXPECT_EQ(ResolvePortalDir("", root.path() / "build" / "release" / "medsoc"), root.path() / "web" / "dist");

  // The installed layout wins: <prefix>/bin/medsoc with <prefix>/share/medsoc/web/index.html.
  root.Write("build/share/medsoc/web/index.html", kIndex);
  EXPECT_EQ(ResolvePortalDir("", root.path() / "build" / "release" / "medsoc"),
            (root.path() / "build" / "share" / "medsoc" / "web").lexically_normal());

  // Nothing found: the installed location, named by the "not built" page's log line.
  TempDir bare;
  bare.Write("bin/medsoc", "");
  EXPECT_EQ(ResolvePortalDir("", bare.path() / "bin" / "medsoc"),
            (bare.path() / "share" / "medsoc" / "web").lexically_normal());
}

}  // namespace
}  // namespace medsoc::api
