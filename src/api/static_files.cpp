#include "api/static_files.h"

#include <array>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/crypto.h"

namespace medsoc::api {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";
constexpr std::string_view kAssetsPrefix = "assets/";
// Label for the HTTP metrics: every portal request counts under one route, never its raw path.
constexpr std::string_view kRouteLabel = "portal";

struct TypeEntry {
  std::string_view ext;
  std::string_view type;
};

constexpr std::array<TypeEntry, 24> kTypes{{
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
    {".xml", "application/xml"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".gif", "image/gif"},
    {".webp", "image/webp"},
    {".avif", "image/avif"},
    {".ico", "image/x-icon"},
    {".woff", "font/woff"},
    {".woff2", "font/woff2"},
    {".ttf", "font/ttf"},
    {".otf", "font/otf"},
    {".wasm", "application/wasm"},
    {".gz", "application/gzip"},
}};

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::optional<std::string> ReadWholeFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return std::nullopt;
  return data;
}

// Which encodings Accept-Encoding allows (RFC 9110 §12.5.3): listed with q > 0, or covered by "*".
struct AcceptedEncodings {
  bool gzip = false;
  bool zstd = false;
};

AcceptedEncodings ParseAcceptEncoding(std::string_view header) {
  std::optional<bool> gzip, zstd, star;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (item.empty()) continue;
    std::string_view name = item;
    bool acceptable = true;
    if (size_t semi = item.find(';'); semi != std::string_view::npos) {
      name = Trim(item.substr(0, semi));
      std::string params = Lower(item.substr(semi + 1));
      if (size_t q = params.find("q="); q != std::string::npos) {
        // q=0, q=0.0, q=0.00, q=0.000 mean "not acceptable"; any other value is acceptable.
        std::string_view v = Trim(std::string_view(params).substr(q + 2));
        v = v.substr(0, v.find_first_of("; \t"));
        acceptable = v.find_first_not_of("0.") != std::string_view::npos;
      }
    }
    std::string n = Lower(name);
    if (n == "gzip" || n == "x-gzip") gzip = acceptable;
    else if (n == "zstd") zstd = acceptable;
    else if (n == "*") star = acceptable;
  }
  return {.gzip = gzip.value_or(star.value_or(false)), .zstd = zstd.value_or(star.value_or(false))};
}

// If-None-Match (RFC 9110 §13.1.2) uses the weak comparison: W/ prefixes are ignored.
bool NoneMatchHits(std::string_view header, std::string_view etag) {
  if (Trim(header) == "*") return true;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view tag = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    if (tag.size() > 2 && (tag.substr(0, 2) == "W/" || tag.substr(0, 2) == "w/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

// The request path without its leading '/', when it is a plain relative path: no empty, "." or
// ".." segment, no backslash or NUL. Anything else names no file.
std::optional<std::string_view> RelativeKey(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::string_view rest = path.substr(1);
  if (rest.find('\\') != std::string_view::npos || rest.find('\0') != std::string_view::npos) return std::nullopt;
  std::string_view scan = rest;
  while (!scan.empty()) {
    size_t slash = scan.find('/');
    std::string_view seg = scan.substr(0, slash);
    if (seg.empty() && slash != std::string_view::npos) return std::nullopt;  // "//"
    if (seg == "." || seg == "..") return std::nullopt;
    if (slash == std::string_view::npos) break;
    scan = scan.substr(slash + 1);
  }
  return rest;
}

// True when the last segment of `key` looks like a file name (has an extension): such paths are
// never answered with index.html.
bool LooksLikeFile(std::string_view key) {
  size_t slash = key.rfind('/');
  std::string_view last = slash == std::string_view::npos ? key : key.substr(slash + 1);
  return last.find('.') != std::string_view::npos;
}

constexpr std::string_view kNotBuiltHtml = R"(<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>medsoc — 门户尚未构建 / portal not built</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:46rem;margin:4rem auto;padding:0 1.5rem;color:#1f2937;line-height:1.6}
h1{font-size:1.4rem}code,pre{background:#f3f4f6;border-radius:4px;padding:.1rem .3rem}pre{padding:.8rem}
hr{border:0;border-top:1px solid #e5e7eb;margin:2rem 0}
</style>
</head>
<body>
<h1>medsoc 门户尚未构建</h1>
<p>服务器正在运行，API 可用（<code>/api/v1/openapi.json</code>），但未找到已构建的 Web 门户。请在源码目录中构建：</p>
<pre>make run            # 构建全部并启动
scripts/web.sh build  # 仅构建门户（web/dist）</pre>
<p>或在配置文件中把 <code>server.portal_dir</code> 指向已构建的门户目录，然后重启服务。</p>
<hr>
<h1 lang="en">The medsoc portal is not built</h1>
<p lang="en">The server is running and the API answers (<code>/api/v1/openapi.json</code>), but no built web portal was found. Build it from the source tree with <code>make run</code> (everything) or <code>scripts/web.sh build</code> (the portal only, into web/dist), or point <code>server.portal_dir</code> in the configuration at a built portal, then restart the server.</p>
</body>
</html>
)";

}  // namespace

bool IsApiPath(std::string_view path) {
  return path == "/api" || path.substr(0, 5) == "/api/" || path == "/metrics" || path == "/healthz";
}

std::string_view ContentTypeFor(std::string_view file_name) {
  size_t dot = file_name.rfind('.');
  size_t slash = file_name.rfind('/');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  std::string ext = Lower(file_name.substr(dot));
  for (const auto& e : kTypes)
    if (e.ext == ext) return e.type;
  return "application/octet-stream";
}

StaticFiles::StaticFiles(fs::path dir) : dir_(std::move(dir)) { Load(); }

void StaticFiles::Load() {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    spdlog::warn("web portal: {} is not a directory; serving the 'not built' page (build it with scripts/web.sh build)",
                 dir_.string());
    return;
  }
  struct Found {
    std::string key;
    fs::path path;
    std::uintmax_t size;
  };
  std::vector<Found> found;
  fs::recursive_directory_iterator it(dir_, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    const std::string name = entry.path().filename().string();
    std::error_code sec;
    if (name.empty() || name.front() == '.' || entry.is_symlink(sec)) {
      // Hidden files and symlinks are never served (a link could point outside the portal).
      if (entry.is_directory(sec)) it.disable_recursion_pending();
      continue;
    }
    if (!entry.is_regular_file(sec)) continue;
    std::uintmax_t size = entry.file_size(sec);
    if (sec) continue;
    found.push_back({fs::relative(entry.path(), dir_, sec).generic_string(), entry.path(), size});
  }
  if (ec) spdlog::warn("web portal: listing {}: {}", dir_.string(), ec.message());

  auto make_variant = [](const Found& f, std::string encoding) -> std::optional<Variant> {
    Variant v;
    v.encoding = std::move(encoding);
    v.path = f.path;
    v.size = static_cast<std::size_t>(f.size);
    if (f.size <= kMaxCachedFileBytes) {
      auto data = ReadWholeFile(f.path);
      if (!data) {
        spdlog::warn("web portal: cannot read {}", f.path.string());
        return std::nullopt;
      }
      v.body = std::move(*data);
      v.size = v.body.size();
      v.cached = true;
    }
    // Strong validator: the content hash (large files: their size and path, re-read per request,
    // are identified by size and modification time instead).
    std::string basis = v.cached ? v.body : f.path.string() + ":" + std::to_string(f.size);
    if (!v.cached) {
      std::error_code tec;
      auto mtime = fs::last_write_time(f.path, tec);
      basis += ":" + std::to_string(mtime.time_since_epoch().count());
    }
    v.etag = "\"" + core::Sha256Hex(basis).substr(0, 32) + (v.encoding.empty() ? "" : "-" + v.encoding) + "\"";
    return v;
  };

  // Originals first, then their precompressed siblings.
  std::map<std::string, const Found*> by_key;
  for (const auto& f : found) by_key[f.key] = &f;
  auto is_variant_of_existing = [&](const std::string& key, std::string_view suffix) {
    return EndsWith(key, suffix) && by_key.count(key.substr(0, key.size() - suffix.size())) > 0;
  };
  for (const auto& f : found) {
    if (is_variant_of_existing(f.key, ".gz") || is_variant_of_existing(f.key, ".zst")) continue;
    auto identity = make_variant(f, "");
    if (!identity) continue;
    File file;
    file.content_type = std::string(ContentTypeFor(f.key));
    file.cache_control =
        std::string(f.key.substr(0, kAssetsPrefix.size()) == kAssetsPrefix ? kImmutable : kRevalidate);
    file.identity = std::move(*identity);
    files_.emplace(f.key, std::move(file));
  }
  for (const auto& f : found) {
    for (auto [suffix, encoding] : {std::pair<std::string_view, const char*>{".gz", "gzip"}, {".zst", "zstd"}}) {
      if (!is_variant_of_existing(f.key, suffix)) continue;
      auto base = files_.find(f.key.substr(0, f.key.size() - suffix.size()));
      if (base == files_.end()) continue;
      if (f.size >= base->second.identity.size) continue;  // compression did not help: not worth it
      auto v = make_variant(f, encoding);
      if (!v) continue;
      (std::string_view(encoding) == "gzip" ? base->second.gzip : base->second.zstd) = std::move(*v);
    }
  }

  built_ = files_.count("index.html") > 0;
  if (built_) {
    spdlog::info("web portal: serving {} files from {}", files_.size(), dir_.string());
  } else {
    spdlog::warn("web portal: no index.html in {}; serving the 'not built' page (build it with scripts/web.sh build)",
                 dir_.string());
  }
}

std::optional<Response> StaticFiles::Serve(const Request& request) const {
  if (request.method != Method::kGet && request.method != Method::kHead) return std::nullopt;
  if (IsApiPath(request.path)) return std::nullopt;
  auto key = RelativeKey(request.path);
  if (!key) return std::nullopt;

  if (!built_) {
    if (LooksLikeFile(*key) && *key != "index.html") return std::nullopt;
    return NotBuiltPage();
  }
  if (!key->empty()) {
    if (auto it = files_.find(*key); it != files_.end()) return ServeFile(it->second, request);
    // A missing file, or a path under /assets/, is a 404: never index.html in its place.
    if (LooksLikeFile(*key) || key->substr(0, kAssetsPrefix.size()) == kAssetsPrefix) return std::nullopt;
  }
  return ServeFile(files_.find("index.html")->second, request);
}

std::optional<Response> StaticFiles::ServeFile(const File& file, const Request& request) const {
  const Variant* chosen = &file.identity;
  if (file.gzip || file.zstd) {
    AcceptedEncodings accepted = ParseAcceptEncoding(request.Header("accept-encoding").value_or(""));
    if (file.zstd && accepted.zstd) chosen = &*file.zstd;
    else if (file.gzip && accepted.gzip) chosen = &*file.gzip;
  }

  Response r;
  r.SetHeader(std::string(kRouteHeader), std::string(kRouteLabel));
  r.SetHeader("ETag", chosen->etag);
  r.SetHeader("Cache-Control", file.cache_control);
  if (file.gzip || file.zstd) r.SetHeader("Vary", "Accept-Encoding");
  if (auto inm = request.Header("if-none-match"); inm && NoneMatchHits(*inm, chosen->etag)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.status = 200;
  r.content_type = file.content_type;
  if (!chosen->encoding.empty()) r.SetHeader("Content-Encoding", chosen->encoding);
  if (chosen->cached) {
    r.body = chosen->body;
  } else {
    auto data = ReadWholeFile(chosen->path);
    if (!data) {
      spdlog::error("web portal: cannot read {}", chosen->path.string());
      return ErrorResponse(500, "internal", "internal error");
    }
    r.body = std::move(*data);
  }
  return r;
}

Response StaticFiles::NotBuiltPage() const {
  Response r;
  r.status = 503;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::string(kNotBuiltHtml);
  r.SetHeader(std::string(kRouteHeader), std::string(kRouteLabel));
  r.SetHeader("Cache-Control", "no-store");
  return r;
}

fs::path ResolvePortalDir(std::string_view configured, fs::path executable) {
  if (!configured.empty()) return fs::path(configured);
  std::error_code ec;
  if (executable.empty()) executable = fs::read_symlink("/proc/self/exe", ec);
  if (ec || executable.empty()) return fs::path("web/dist");
  const fs::path exe_dir = fs::weakly_canonical(executable, ec).parent_path();
  const fs::path installed = (exe_dir / ".." / "share" / "medsoc" / "web").lexically_normal();
  if (fs::is_regular_file(installed / "index.html", ec)) return installed;
  for (fs::path d = exe_dir; !d.empty(); d = d.parent_path()) {
    if (fs::is_regular_file(d / "web" / "package.json", ec)) return d / "web" / "dist";
    if (d == d.parent_path()) break;
  }
  return installed;
}

}  // namespace medsoc::api
