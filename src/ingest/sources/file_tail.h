// File sources: tail files (paths or globs) line by line, with checkpoints that survive rotation,
// truncation and restarts.
//
// Identity and checkpoints. A file is tracked by (device, inode) plus a fingerprint (FNV-1a of its
// first up to 1 KiB), so a rename keeps its position and a recycled inode is recognised as a new
// file. The checkpoint of each file (path, device, inode, fingerprint, acknowledged offset, and
// the batch in flight) is persisted atomically (temporary file, fsync, rename, fsync of the
// directory) in a JSON file:
//
//   {"version":1,"files":[{"path":"/var/log/a.log","dev":2049,"ino":131,"fp":"9f0c...","fp_len":1024,
//                          "offset":81920,"inflight_start":81920,"inflight_end":90112}]}
//
// Delivery. One batch per file is in flight at a time. Before a batch is handed to the pipeline its
// range is recorded as in flight; when the sink acknowledges it (durable), the offset advances to
// its end and the in-flight range is cleared. After a crash, a file whose checkpoint shows a batch
// in flight asks `StoredCheck` (the event store, wired by app/) whether the first line of that
// batch is stored: yes -> resume after the batch, no -> resume at its start. Every line is then
// stored exactly once. Without a StoredCheck, the batch is read again: at least once, with at most
// one batch per file duplicated per crash.
//
// Rotation. rename+create: the old file stays open and is read to its end; it is closed when it
// has not grown for `rotate_wait_ms` after its path went to another file. copytruncate: a file
// shorter than the read offset was truncated; reading restarts at 0 (lines the writer appended
// between logrotate's copy and its truncate are lost: that is inherent to copytruncate). After a
// restart, a checkpointed file no longer matched by the glob is looked for by inode in its
// directory (a rotated app.log.1), and its remaining lines are read.
//
// Audit records (format auto, auditd or a syslog format) are joined per kernel event; a batch ends
// before the first line of an audit event not complete yet, so the checkpoint never passes it (see
// ReadBatch in file_tail.cpp).
//
// Partial lines: a line without its LF is not read until the LF arrives, except at the end of a
// rotated file being closed, where it is emitted as is.
//
// Thread-safety: Start/Stop from one controlling thread; one internal thread does the work; acks
// arrive on the pipeline's sink thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "ingest/options.h"
#include "ingest/pipeline.h"

namespace medsoc::ingest {

// Is the line of `path` at byte `offset` (file identity `dev`/`ino`) already in the event store?
// The events carry log.file.path and log.offset.
using StoredCheck = std::function<Result<bool>(const std::string& tenant, const std::string& path, std::uint64_t offset)>;

struct FileTailOptions {
  std::string checkpoint_file;   // REQUIRED: where checkpoints are persisted
  std::size_t batch_events = 2048;
  int rotate_wait_ms = 5000;     // a rotated-away file that has not grown this long is closed
  std::size_t read_chunk_bytes = 256 * 1024;
};

class FileTailer {
 public:
  FileTailer(Pipeline& pipeline, FileTailOptions options, StoredCheck stored_check = nullptr);
  ~FileTailer();
  FileTailer(const FileTailer&) = delete;
  FileTailer& operator=(const FileTailer&) = delete;

  // Adds a file source (a path or a glob). `source` is its pipeline source.
  Status Add(const FileSourceOptions& file, Source* source);

  // Loads the checkpoint file (a corrupt one is an error naming it) and starts the tail thread.
  Status Start();
  // Stops reading; waits (up to `grace_ms`) for the batch in flight of each file to be
  // acknowledged so its checkpoint is saved, then saves checkpoints. Idempotent.
  void Stop(int grace_ms = 10000);

  // For tests and metrics: files currently tracked.
  std::size_t tracked_files() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace medsoc::ingest
