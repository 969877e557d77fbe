// EventSink: where the pipeline's last stage hands batches (the event store; later also
// forwarding). Write returns only when the batch is durable: that is what lets HTTP ingest answer
// 2xx and file sources advance their checkpoints.
//
// Thread-safety: implementations document their own; the pipeline calls Write from one thread.
#pragma once

#include "core/result.h"
#include "event/batch.h"

namespace medsoc::event {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Stores every event of the batch (parsed or raw-with-error). On an error nothing of the batch
  // is acknowledged (the caller retries or refuses upstream); no partial batch is committed.
  virtual Status Write(const Batch& batch) = 0;
};

}  // namespace medsoc::event
