// File tail with checkpoints: see file_tail.h.
#include "ingest/sources/file_tail.h"

#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <deque>
#include <fnmatch.h>
#include <optional>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/time.h"
#include "ingest/framing.h"
#include "ingest/parse/auditd.h"

namespace medsoc::ingest {
namespace {

constexpr std::size_t kFingerprintBytes = 1024;
constexpr std::uint64_t kNoHold = ~std::uint64_t{0};

std::uint64_t Fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string Hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// Reads up to `n` bytes at `offset`; returns what was read (short at end of file).
std::string PRead(int fd, std::uint64_t offset, std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, out.data() + got, n - got, static_cast<off_t>(offset + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  out.resize(got);
  return out;
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error(ErrorCode::kIo, "cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t w = ::write(fd, content.data() + done, content.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int e = errno;
      ::close(fd);
      return Error(ErrorCode::kIo, "cannot write " + tmp + ": " + std::strerror(e));
    }
    done += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0) {
    const int e = errno;
    ::close(fd);
    return Error(ErrorCode::kIo, "fsync " + tmp + ": " + std::strerror(e));
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return Error(ErrorCode::kIo, "rename " + tmp + " -> " + path + ": " + std::strerror(errno));
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Ok();
}

struct Checkpoint {
  std::string path;
  std::uint64_t dev = 0, ino = 0;
  std::string fp;
  std::uint64_t fp_len = 0;
  std::uint64_t offset = 0;
  bool inflight = false;
  std::uint64_t inflight_start = 0, inflight_end = 0;
};

std::string Key(std::uint64_t dev, std::uint64_t ino) { return std::to_string(dev) + ":" + std::to_string(ino); }

}  // namespace

struct TrackedFile {
  const FileSourceOptions* cfg = nullptr;
  Source* source = nullptr;
  std::string path;
  std::uint64_t dev = 0, ino = 0;
  int fd = -1;
  std::uint64_t offset = 0;  // acknowledged: the next read starts here when nothing is in flight
  std::string fp;
  std::uint64_t fp_len = 0;
  bool inflight = false;
  std::uint64_t inflight_start = 0, inflight_end = 0;
  std::optional<Work> pending;  // built but refused by the pipeline (full): retried
  bool rotated = false;         // its path now names another file (or none)
  std::uint64_t last_size = 0;
  std::chrono::steady_clock::time_point last_growth = std::chrono::steady_clock::now();
  LineSplitter splitter{64 * 1024};
  // Audit joining: the offset the batch last ended at because an audit event was incomplete, and
  // since when (kNoHold: none).
  std::uint64_t hold_offset = kNoHold;
  std::chrono::steady_clock::time_point hold_since{};
  // Set by the ack (sink thread), consumed by the tail thread; guarded by Impl::mu.
  bool ack_ready = false;
  Status ack_status = Ok();

  ~TrackedFile() {
    if (fd >= 0) ::close(fd);
  }
};

struct FileTailer::Impl {
  Impl(Pipeline& p, FileTailOptions o, StoredCheck c) : pipeline(p), options(std::move(o)), stored_check(std::move(c)) {}

  Pipeline& pipeline;
  FileTailOptions options;
  StoredCheck stored_check;
  std::vector<std::pair<FileSourceOptions, Source*>> configs;
  std::map<std::string, Checkpoint> saved;  // key -> checkpoint loaded at start (consumed when tracked)
  bool had_checkpoint_file = false;
  std::map<std::string, std::shared_ptr<TrackedFile>> files;  // key -> file
  mutable std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  bool acks_pending = false;
  std::atomic<std::size_t> tracked{0};
  std::thread thread;
  int poll_ms = 250;

  Status Load();
  Status Save();
  void Run();
  void Discover(bool first);
  void Track(const std::string& path, const struct stat& st, const FileSourceOptions& cfg, Source* source, bool rotated);
  void VerifyIdentity(TrackedFile& f);
  void ProcessAcks();
  bool ReadBatch(TrackedFile& f, bool at_close);
  void Submit(TrackedFile& f);
  void CloseRotated();
};

Status FileTailer::Impl::Load() {
  std::ifstream in(options.checkpoint_file);
  if (!in) return Ok();  // first start
  had_checkpoint_file = true;
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    const auto j = nlohmann::json::parse(ss.str());
    for (const auto& e : j.at("files")) {
      Checkpoint c;
      c.path = e.at("path").get<std::string>();
      c.dev = e.at("dev").get<std::uint64_t>();
      c.ino = e.at("ino").get<std::uint64_t>();
      c.fp = e.value("fp", "");
      c.fp_len = e.value("fp_len", std::uint64_t{0});
      c.offset = e.at("offset").get<std::uint64_t>();
      if (e.contains("inflight_start")) {
        c.inflight = true;
        c.inflight_start = e.at("inflight_start").get<std::uint64_t>();
        c.inflight_end = e.at("inflight_end").get<std::uint64_t>();
      }
      saved[Key(c.dev, c.ino)] = c;
    }
  } catch (const std::exception& e) {
    return Error(ErrorCode::kCorruption, "ingest checkpoints " + options.checkpoint_file + ": " + e.what());
  }
  return Ok();
}

Status FileTailer::Impl::Save() {
  nlohmann::json files_json = nlohmann::json::array();
  for (const auto& [key, f] : files) {
    nlohmann::json e{{"path", f->path}, {"dev", f->dev},       {"ino", f->ino},
                     {"fp", f->fp},     {"fp_len", f->fp_len}, {"offset", f->offset}};
    if (f->inflight) {
      e["inflight_start"] = f->inflight_start;
      e["inflight_end"] = f->inflight_end;
    }
    files_json.push_back(std::move(e));
  }
  // Checkpoints of files not (yet) found again are kept so that a later start can use them.
  for (const auto& [key, c] : saved) {
    if (files.count(key)) continue;
    nlohmann::json e{{"path", c.path}, {"dev", c.dev}, {"ino", c.ino}, {"fp", c.fp}, {"fp_len", c.fp_len}, {"offset", c.offset}};
    if (c.inflight) {
      e["inflight_start"] = c.inflight_start;
      e["inflight_end"] = c.inflight_end;
    }
    files_json.push_back(std::move(e));
  }
  return WriteFileAtomically(options.checkpoint_file, nlohmann::json{{"version", 1}, {"files", files_json}}.dump() + "\n");
}

void FileTailer::Impl::Track(const std::string& path, const struct stat& st, const FileSourceOptions& cfg,
                             Source* source, bool rotated) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("ingest: cannot open {}: {}", path, std::strerror(errno));
    return;
  }
  auto f = std::make_shared<TrackedFile>();
  f->cfg = &cfg;
  f->source = source;
  f->path = path;
  f->dev = static_cast<std::uint64_t>(st.st_dev);
  f->ino = static_cast<std::uint64_t>(st.st_ino);
  f->fd = fd;
  f->rotated = rotated;
  f->splitter = LineSplitter(cfg.max_message_bytes);
  f->last_size = static_cast<std::uint64_t>(st.st_size);
  const std::string key = Key(f->dev, f->ino);
  auto it = saved.find(key);
  bool resumed = false;
  if (it != saved.end()) {
    const Checkpoint& c = it->second;
    const std::string head = PRead(fd, 0, c.fp_len);
    if (head.size() == c.fp_len && Hex(Fnv1a(head)) == c.fp && static_cast<std::uint64_t>(st.st_size) >= c.offset) {
      f->offset = c.offset;
      f->path = c.path;  // events keep the name the file had when the batch was read
      if (c.inflight) {
        // A batch was in flight when medsoc stopped: was it stored?
        bool stored = false;
        if (stored_check) {
          auto r = stored_check(cfg.tenant, c.path, c.inflight_start);
          if (r.ok()) {
            stored = *r;
          } else {
            spdlog::warn("ingest: cannot check whether {}@{} is stored ({}); reading it again", c.path,
                         c.inflight_start, r.error().ToString());
          }
        }
        f->offset = stored ? c.inflight_end : c.inflight_start;
      }
      f->path = path;
      resumed = true;
      spdlog::info("ingest: resuming {} at offset {}", path, f->offset);
    } else {
      spdlog::info("ingest: {} has the inode of a checkpointed file but other content (recycled inode or "
                   "truncated while stopped): reading it from the start",
                   path);
    }
    saved.erase(it);
  }
  if (!resumed) {
    // A file first seen on a later poll is new (created after start): read it whole. At the very
    // first start, start_at_beginning decides.
    f->offset = (cfg.start_at_beginning || had_checkpoint_file) ? 0 : static_cast<std::uint64_t>(st.st_size);
  }
  f->fp_len = std::min<std::uint64_t>(kFingerprintBytes, static_cast<std::uint64_t>(st.st_size));
  f->fp = Hex(Fnv1a(PRead(fd, 0, f->fp_len)));
  files[key] = std::move(f);
}

void FileTailer::Impl::Discover(bool first) {
  std::map<std::string, bool> seen;  // keys matched by a glob now
  for (const auto& [cfg, source] : configs) {
    glob_t g{};
    const int rc = ::glob(cfg.path.c_str(), GLOB_NOSORT, nullptr, &g);
    if (rc == 0) {
      std::vector<std::string> paths(g.gl_pathv, g.gl_pathv + g.gl_pathc);
      std::sort(paths.begin(), paths.end());
      for (const auto& path : paths) {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        // The checkpoint file itself never is a source.
        if (path == options.checkpoint_file || path == options.checkpoint_file + ".tmp") continue;
        const std::string key = Key(static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino));
        if (seen.count(key)) continue;  // matched by an earlier pattern
        seen[key] = true;
        auto it = files.find(key);
        if (it == files.end()) {
          Track(path, st, cfg, source, false);
        } else {
          it->second->path = path;
          it->second->rotated = false;
        }
      }
    }
    globfree(&g);
  }
  for (auto& [key, f] : files) {
    if (!seen.count(key) && !f->rotated) {
      f->rotated = true;
      f->last_growth = std::chrono::steady_clock::now();
      spdlog::info("ingest: {} was rotated or removed; reading the old file to its end", f->path);
    }
  }
  if (first) {
    // Checkpointed files the globs no longer match: rotated while medsoc was stopped? Look for the
    // inode in the file's directory and finish reading it.
    std::vector<Checkpoint> orphans;
    for (const auto& [key, c] : saved) orphans.push_back(c);
    for (const auto& c : orphans) {
      const std::size_t slash = c.path.rfind('/');
      const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : c.path.substr(0, slash));
      DIR* d = ::opendir(dir.c_str());
      if (!d) continue;
      while (dirent* ent = ::readdir(d)) {
        if (ent->d_ino != c.ino) continue;
        const std::string path = dir + "/" + ent->d_name;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_dev) != c.dev) continue;
        for (const auto& [cfg, source] : configs) {
          // Attribute it to the source whose pattern matched its old path.
          if (::fnmatch(cfg.path.c_str(), c.path.c_str(), 0) == 0) {
            spdlog::info("ingest: {} was rotated to {} while stopped; reading the rest", c.path, path);
            Track(path, st, cfg, source, true);
            break;
          }
        }
        break;
      }
      ::closedir(d);
    }
  }
}

// Copytruncate and in-place rewrites: the file is shorter than our offset, or its first bytes
// changed. Only checked when nothing is in flight (the ack would otherwise move the offset).
void FileTailer::Impl::VerifyIdentity(TrackedFile& f) {
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) return;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > f.last_size) f.last_growth = std::chrono::steady_clock::now();
  const bool shrunk = size < f.last_size || size < f.offset;
  f.last_size = size;
  bool changed = shrunk;
  if (!changed && f.fp_len > 0) changed = Hex(Fnv1a(PRead(f.fd, 0, f.fp_len))) != f.fp;
  if (changed) {
    spdlog::info("ingest: {} was truncated (copytruncate?) at offset {}; reading from the start", f.path, f.offset);
    f.offset = 0;
    f.splitter.Reset();
    f.pending.reset();
    f.fp_len = std::min<std::uint64_t>(kFingerprintBytes, size);
    f.fp = Hex(Fnv1a(PRead(f.fd, 0, f.fp_len)));
  }
  if (f.fp_len < kFingerprintBytes && size > f.fp_len) {
    f.fp_len = std::min<std::uint64_t>(kFingerprintBytes, size);
    f.fp = Hex(Fnv1a(PRead(f.fd, 0, f.fp_len)));
  }
}

// Builds the next batch of complete lines from f.offset. True when a batch was built.
//
// Audit records (sources whose format is auto, auditd or a syslog format) are joined by their
// msg=audit(TS:SERIAL) into one event (AuditdJoiner). The joiner lives only for one read: a batch
// ends before the first line of any event that is not complete yet (its EOE not read), so the
// checkpoint never passes a line that is not in a stored event; those lines are read again on the
// next round. An event held back at the same offset for longer than the joiner's timeout, at the
// end of a rotated file, or one that fills a whole batch, is emitted as far as it got.
bool FileTailer::Impl::ReadBatch(TrackedFile& f, bool at_close) {
  struct Line {
    std::string_view text;
    std::uint64_t start = 0, end = 0;
    bool truncated = false;
  };
  std::vector<Line> lines;
  std::deque<std::string> chunks;  // the lines view into these
  std::uint64_t pos = f.offset;
  std::uint64_t end = f.offset;
  const core::Timestamp now = core::Now();
  const std::string& tenant = f.cfg->tenant;
  const std::string& source_name = f.cfg->source.empty() ? f.cfg->path : f.cfg->source;
  bool full = false;
  while (!full) {
    std::string chunk = PRead(f.fd, pos, options.read_chunk_bytes);
    if (chunk.empty()) break;
    chunks.push_back(std::move(chunk));
    const std::string& buf = chunks.back();
    std::uint64_t line_start = pos;
    bool last_cut_at_end = false;
    const std::size_t consumed = f.splitter.Split(buf, pos, [&](const Frame& fr, std::uint64_t line_end) {
      if (full) return;
      lines.push_back(Line{fr.data, line_start, line_end, fr.truncated});
      line_start = line_end;
      end = line_end;
      last_cut_at_end = fr.truncated && line_end == pos + buf.size();
      if (lines.size() >= options.batch_events) full = true;
    });
    if (full) {
      // Lines after the batch's last were seen but not taken: the next read starts at `end`.
      f.splitter.set_skipping(last_cut_at_end);
      break;
    }
    if (consumed == 0) break;  // only an incomplete line remains
    pos += consumed;
    end = std::max(end, pos);
    if (buf.size() < options.read_chunk_bytes) break;  // end of file
  }
  if (at_close) {
    // The last, unterminated line of a rotated file that will not grow any more.
    chunks.push_back(PRead(f.fd, end, 64 * 1024 + 1));
    const std::string& rest = chunks.back();
    std::string_view line = TrimLineEnd(rest);
    if (!line.empty() && line.find('\n') == std::string_view::npos) {
      const bool cut = line.size() > f.cfg->max_message_bytes;
      if (cut) line = line.substr(0, f.cfg->max_message_bytes);
      lines.push_back(Line{line, end, end + rest.size(), cut});
      end += rest.size();
    }
  }

  // Lines -> events (one per line, or one per joined audit event).
  struct Out {
    std::string joined;       // the joined text (audit events), else empty
    std::string_view text;    // a line's text when not joined
    std::size_t first = 0, last = 0;  // line indexes
    bool truncated = false;
  };
  std::vector<Out> outs;
  outs.reserve(lines.size());
  std::size_t cut = lines.size();  // lines from this index on are left for the next round
  const bool join = text::AuditdJoiner::AppliesToFormat(f.source->spec().format);
  if (join) {
    text::AuditdJoiner joiner;
    auto emit = [&](std::string_view joined, const std::vector<std::uint64_t>& tags) {
      Out o;
      o.first = static_cast<std::size_t>(tags.front());
      o.last = static_cast<std::size_t>(tags.back());
      if (tags.size() == 1 && lines[o.first].text == joined) {
        o.text = lines[o.first].text;
      } else {
        o.joined.assign(joined);
      }
      outs.push_back(std::move(o));
    };
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const Line& l = lines[i];
      if (!l.truncated && text::AuditdJoiner::IsRecord(l.text)) {
        joiner.Add(l.text, i, now, emit);
      } else {
        outs.push_back(Out{{}, l.text, i, i, l.truncated});
      }
    }
    if (joiner.open_groups() > 0) {
      joiner.ForEachOpen([&](const std::vector<std::uint64_t>& tags) {
        cut = std::min(cut, static_cast<std::size_t>(tags.front()));
      });
      // An emitted event that has lines on both sides of the cut goes back too (interleaved events).
      for (bool moved = true; moved;) {
        moved = false;
        for (const Out& o : outs) {
          if (o.last >= cut && o.first < cut) {
            cut = o.first;
            moved = true;
          }
        }
      }
      const auto steady = std::chrono::steady_clock::now();
      const std::uint64_t hold_at = lines[cut].start;
      bool flush = at_close || (cut == 0 && full);  // a rotated file's end; an event as large as a batch
      if (cut > 0 && lines[cut - 1].truncated) flush = true;  // no clean line start to resume at
      if (!flush && f.hold_offset == hold_at &&
          steady - f.hold_since >= std::chrono::nanoseconds(joiner.options().timeout_ns)) {
        flush = true;  // waited long enough for the rest of the event
      }
      if (flush) {
        joiner.FlushAll(emit);
        cut = lines.size();
      } else if (f.hold_offset != hold_at) {
        f.hold_offset = hold_at;
        f.hold_since = steady;
      }
    }
  } else {
    for (std::size_t i = 0; i < lines.size(); ++i) outs.push_back(Out{{}, lines[i].text, i, i, lines[i].truncated});
  }
  if (cut < lines.size()) {
    end = lines[cut].start;
    f.splitter.set_skipping(false);  // a line start
  } else {
    f.hold_offset = kNoHold;
  }

  Work work;
  work.source = f.source;
  work.file_path = f.path;
  std::uint64_t first_offset = end;
  for (const Out& o : outs) {
    if (o.last >= cut) continue;
    const std::string_view text = o.joined.empty() ? o.text : std::string_view(o.joined);
    event::Event& e = work.batch.Add();
    e.set_raw(text);
    e.set_tenant_id(tenant);
    e.set_source_name(source_name);
    e.set_ingest_time(now);
    work.flags.push_back(o.truncated ? kFlagTruncated : kFlagNone);
    work.offsets.push_back(lines[o.first].start);
    first_offset = std::min(first_offset, lines[o.first].start);
    SourceCounters& c = f.source->counters();
    c.received.fetch_add(1, std::memory_order_relaxed);
    c.bytes.fetch_add(text.size(), std::memory_order_relaxed);
    if (o.truncated) c.truncated.fetch_add(1, std::memory_order_relaxed);
  }
  if (work.batch.empty()) {
    if (end > f.offset) f.offset = end;  // skipped the remainder of an over-long line, or lone EOEs
    return false;
  }
  f.inflight = true;
  // The lines before the first event's (if any) are in no event (lone EOE records): the crash
  // check asks about the first line that is.
  f.inflight_start = first_offset;
  f.inflight_end = end;
  std::weak_ptr<TrackedFile> weak = files[Key(f.dev, f.ino)];
  work.ack = [this, weak](const Status& st, const Work&) {
    if (auto tf = weak.lock()) {
      std::lock_guard lock(mu);
      tf->ack_ready = true;
      tf->ack_status = st;
      acks_pending = true;
    }
    cv.notify_all();
  };
  f.pending = std::move(work);
  return true;
}

void FileTailer::Impl::Submit(TrackedFile& f) {
  if (!f.pending) return;
  if (pipeline.TrySubmit(*f.pending)) f.pending.reset();
  // else: the pipeline is full; the tail pauses and retries on the next round.
}

void FileTailer::Impl::ProcessAcks() {
  bool dirty = false;
  {
    std::lock_guard lock(mu);
    if (!acks_pending) return;
    acks_pending = false;
    for (auto& [key, f] : files) {
      if (!f->ack_ready) continue;
      f->ack_ready = false;
      if (f->ack_status.ok()) {
        f->offset = f->inflight_end;
      } else {
        spdlog::warn("ingest: storing lines of {} failed ({}); reading them again", f->path,
                     f->ack_status.error().ToString());
      }
      f->inflight = false;
      dirty = true;
    }
  }
  if (dirty) {
    if (auto st = Save(); !st.ok()) spdlog::error("ingest: saving checkpoints: {}", st.error().ToString());
  }
}

void FileTailer::Impl::CloseRotated() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = files.begin(); it != files.end();) {
    TrackedFile& f = *it->second;
    if (f.rotated && !f.inflight && !f.pending &&
        now - f.last_growth > std::chrono::milliseconds(options.rotate_wait_ms)) {
      struct stat st {};
      if (::fstat(f.fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > f.offset) {
        // Unread data: the final unterminated line, or more lines. Read it before closing.
        if (ReadBatch(f, true)) {
          if (auto s = Save(); !s.ok()) spdlog::error("ingest: saving checkpoints: {}", s.error().ToString());
          Submit(f);
          ++it;
          continue;
        }
      }
      spdlog::info("ingest: finished rotated file {}", f.path);
      it = files.erase(it);
      if (auto s = Save(); !s.ok()) spdlog::error("ingest: saving checkpoints: {}", s.error().ToString());
      continue;
    }
    ++it;
  }
}

void FileTailer::Impl::Run() {
  Discover(true);
  if (auto st = Save(); !st.ok()) spdlog::error("ingest: saving checkpoints: {}", st.error().ToString());
  auto last_discover = std::chrono::steady_clock::now();
  while (true) {
    {
      std::lock_guard lock(mu);
      if (stop) break;
    }
    ProcessAcks();
    const auto now = std::chrono::steady_clock::now();
    if (now - last_discover >= std::chrono::milliseconds(poll_ms)) {
      Discover(false);
      last_discover = now;
    }
    bool built = false;
    for (auto& [key, f] : files) {
      if (f->inflight) continue;
      VerifyIdentity(*f);
      built = ReadBatch(*f, false) || built;
    }
    // The in-flight ranges must be durable before the batches can be stored.
    if (built) {
      if (auto st = Save(); !st.ok()) spdlog::error("ingest: saving checkpoints: {}", st.error().ToString());
    }
    bool refused = false;
    for (auto& [key, f] : files) {
      Submit(*f);
      refused = refused || f->pending.has_value();
    }
    CloseRotated();
    tracked.store(files.size());
    std::unique_lock lock(mu);
    if (stop) break;
    // Wake for an ack (the file can go on at once) or poll for growth.
    cv.wait_for(lock, refused ? std::chrono::milliseconds(20) : std::chrono::milliseconds(poll_ms),
                [this] { return stop || acks_pending; });
  }
}

FileTailer::FileTailer(Pipeline& pipeline, FileTailOptions options, StoredCheck stored_check)
    : impl_(std::make_unique<Impl>(pipeline, std::move(options), std::move(stored_check))) {}

FileTailer::~FileTailer() { Stop(0); }

Status FileTailer::Add(const FileSourceOptions& file, Source* source) {
  MEDSOC_ASSERT(source != nullptr);
  if (file.path.empty()) return Error(ErrorCode::kInvalidArgument, "ingest file source without a path");
  impl_->configs.emplace_back(file, source);
  impl_->poll_ms = std::min(impl_->poll_ms, std::max(10, file.poll_interval_ms));
  return Ok();
}

Status FileTailer::Start() {
  if (impl_->options.checkpoint_file.empty())
    return Error(ErrorCode::kInvalidArgument, "file tail: no checkpoint file configured");
  if (impl_->configs.empty()) return Ok();
  MEDSOC_TRY(impl_->Load());
  // Configs are stored in a vector that no longer changes: pointers into it stay valid.
  impl_->thread = std::thread([this] { impl_->Run(); });
  return Ok();
}

void FileTailer::Stop(int grace_ms) {
  if (!impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  impl_->thread.join();
  // Wait for the batches in flight so that their checkpoints are saved.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (true) {
    bool inflight = false;
    {
      std::unique_lock lock(impl_->mu);
      impl_->cv.wait_until(lock, deadline, [this] {
        for (auto& [k, f] : impl_->files)
          if (f->inflight && !f->pending && !f->ack_ready) return false;
        return true;
      });
    }
    impl_->ProcessAcks();
    for (auto& [k, f] : impl_->files)
      if (f->inflight && !f->pending) inflight = true;
    if (!inflight || std::chrono::steady_clock::now() >= deadline) break;
  }
  if (auto st = impl_->Save(); !st.ok()) spdlog::error("ingest: saving checkpoints: {}", st.error().ToString());
}

std::size_t FileTailer::tracked_files() const { return impl_->tracked.load(); }

}  // namespace medsoc::ingest
