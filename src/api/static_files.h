// StaticFiles: serves the built web portal (web/dist) from memory.
//
// At construction the portal directory is walked once: every regular file (no symlinks, no hidden
// files) is read into memory with its Content-Type and a strong ETag (SHA-256 of the bytes).
// Precompressed siblings produced by the build (`X.gz`, `X.zst`) become encoded variants of `X`,
// chosen by Accept-Encoding (zstd before gzip) and kept only when smaller. A file larger than
// kMaxCachedFileBytes is not held in memory; its known path is opened and read per request. No
// other filesystem access happens per request, so a request path can only ever name a file that
// was in the directory at start-up: traversal is impossible by construction.
//
// Serve() answers GET and HEAD for every path outside the API (/api/..., /metrics, /healthz):
//   - a known file: its bytes, Content-Type, ETag, and Cache-Control
//       `public, max-age=31536000, immutable` under /assets/ (Vite's content-hashed names),
//       `no-cache` otherwise (revalidated with If-None-Match → 304);
//   - `/`, `/index.html` and any unknown path whose last segment has no extension (SPA routes such
//     as /incidents/123): index.html with `Cache-Control: no-cache`;
//   - an unknown file-like path (e.g. /assets/old-3f2a.js, /x.png): not handled (the dispatcher's
//     404), never index.html, so a stale hashed asset never arrives as HTML;
//   - when the portal is not built (no index.html): a small bilingual HTML page (503, no-store)
//     saying how to build it. The server's Content-Security-Policy applies to it as to the portal.
// Directories are never listed. Other methods and API paths return nullopt.
//
// Thread-safety: immutable after construction; Serve() may be called concurrently.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/http.h"

namespace medsoc::api {

class StaticFiles {
 public:
  // Files up to this size are served from memory; larger ones are read from their path per request.
  static constexpr std::size_t kMaxCachedFileBytes = 8u << 20;

  // Loads the portal from `dir`. A missing or unreadable directory, or one without index.html,
  // gives a StaticFiles whose built() is false (it then serves the "not built" page); problems are
  // logged, never fatal: the API works without the portal.
  explicit StaticFiles(std::filesystem::path dir);

  // The response for `request`, or nullopt when the request is not the portal's (API paths,
  // methods other than GET/HEAD, unknown file-like paths).
  std::optional<Response> Serve(const Request& request) const;

  bool built() const { return built_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::size_t file_count() const { return files_.size(); }

 private:
  struct Variant {
    std::string encoding;  // "" (identity), "gzip" or "zstd"
    std::string etag;      // quoted strong validator
    std::string body;      // empty when not cached
    std::filesystem::path path;
    std::size_t size = 0;
    bool cached = false;
  };
  struct File {
    std::string content_type;
    std::string cache_control;
    Variant identity;
    std::optional<Variant> gzip;
    std::optional<Variant> zstd;
  };

  void Load();
  std::optional<Response> ServeFile(const File& file, const Request& request) const;
  Response NotBuiltPage() const;

  std::filesystem::path dir_;
  std::map<std::string, File, std::less<>> files_;  // key: path relative to dir_, '/'-separated
  bool built_ = false;
};

// True for paths the portal never serves: /api and /api/..., /metrics, /healthz.
bool IsApiPath(std::string_view path);

// The directory the portal is served from, in this order:
//   1. `configured` (server.portal_dir) when non-empty, even if it does not exist yet;
//   2. <directory of the executable>/../share/medsoc/web, when it holds index.html (installed layout);
//   3. <checkout>/web/dist, where <checkout> is the nearest ancestor of the executable's directory
//      holding web/package.json (a build tree inside a checkout: build/release/medsoc →
//      <repo>/web/dist), even if not built yet, so that the "not built" page names it;
//   4. otherwise rule 2's directory.
// `executable` is the path of the running binary (/proc/self/exe when empty).
std::filesystem::path ResolvePortalDir(std::string_view configured, std::filesystem::path executable = {});

// Content-Type for a file name, by extension (text types carry charset=utf-8);
// application/octet-stream when unknown.
std::string_view ContentTypeFor(std::string_view file_name);

}  // namespace medsoc::api
