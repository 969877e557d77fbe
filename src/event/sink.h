// EventSink: where the pipeline's last stage hands batches (the event store; later also
// forwarding). Write returns only when the batch is durable: that is what lets HTTP ingest answer
// 2xx and file sources advance their checkpoints.
//
// Preparation: a sink may do part of its work ahead of Write and off the writing thread. The
// pipeline calls Prepare on its parse workers (in parallel, after the transform stages), keeps the
// result with the batch and hands both to WritePrepared on the sink thread. The event store
// encodes and compresses its blocks there, so the one thread that commits does little else and
// encoding the next batches overlaps the commit (and its fsync) of the current one.
//
// Group commit: when several prepared batches are waiting, the pipeline hands them to WriteGroup
// together (up to write_group_limit()): the event store writes them in one transaction per
// partition, so they share one commit and one fsync.
//
// Thread-safety: implementations document their own; the pipeline calls Write/WritePrepared/
// WriteGroup from one thread and Prepare from several.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "core/result.h"
#include "event/batch.h"

namespace medsoc::event {

// What a sink prepared for one batch (opaque to everyone else).
class PreparedBatch {
 public:
  virtual ~PreparedBatch() = default;
};

// One batch of a group write, with what Prepare returned for it (or null).
struct PreparedWrite {
  const Batch* batch;
  const PreparedBatch* prepared;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Stores every event of the batch (parsed or raw-with-error). On an error nothing of the batch
  // is acknowledged (the caller retries or refuses upstream); no partial batch is committed.
  virtual Status Write(const Batch& batch) = 0;

  // Work on `batch` that can be done before WritePrepared, from any thread; nullptr when there is
  // none (or it failed: WritePrepared then does everything). The batch must not change afterwards.
  virtual std::shared_ptr<const PreparedBatch> Prepare(const Batch& batch) {
    (void)batch;
    return nullptr;
  }
  // Write(batch), given what Prepare returned for this batch (nullptr: nothing). May be called
  // again with the same `prepared` after a failure.
  virtual Status WritePrepared(const Batch& batch, const PreparedBatch* prepared) {
    (void)prepared;
    return Write(batch);
  }

  // Group commit: how many batches WriteGroup takes at once (1: the sink does not group).
  virtual std::size_t write_group_limit() const { return 1; }
  // Stores several batches as one unit: every event of every batch is durable, or (on an error)
  // none is. Called only with at most write_group_limit() batches; the default handles one.
  virtual Status WriteGroup(std::span<const PreparedWrite> writes) {
    Status st = Ok();
    for (const PreparedWrite& w : writes) {
      st = WritePrepared(*w.batch, w.prepared);
      if (!st.ok()) break;
    }
    return st;
  }
};

}  // namespace medsoc::event
