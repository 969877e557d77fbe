// Test helpers for ingest unit tests: a recording EventSink (optionally slow or failing) and a
// trivial parser ("testfmt": accepts messages starting with "ok", fails others).
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/registry.h"
#include "event/sink.h"
#include "ingest/parse/parser.h"

namespace medsoc::ingest::testing {

struct StoredRow {
  std::string raw, tenant, source, error;
  std::vector<std::string> tags;
  std::string file_path;
  std::int64_t offset = -1;
  std::string sender, dataset;  // log.source.address, event.dataset
};

class RecordingSink : public event::EventSink {
 public:
  Status Write(const event::Batch& batch) override {
    {
      std::unique_lock lock(mu_);
      ++writes_;
      cv_.notify_all();
      gate_cv_.wait(lock, [this] { return open_; });
      if (fail_next_ > 0) {
        --fail_next_;
        return Error(ErrorCode::kIo, "test sink failure");
      }
    }
    auto& table = event::DefaultFieldTable();
    const event::FieldId tags = table.Find("tags"), path = table.Find("log.file.path"), off = table.Find("log.offset"),
                         sender = table.Find("log.source.address"), dataset = table.Find("event.dataset");
    std::lock_guard lock(mu_);
    for (const auto& e : batch) {
      StoredRow r{std::string(e.raw()), std::string(e.tenant_id()), std::string(e.source_name()),
                  std::string(e.parse_error()), {}, {}, -1, {}, {}};
      for (auto f : e.fields()) {
        if (f.id == tags && f.value.is_string()) r.tags.emplace_back(f.value.str());
        if (f.id == path && f.value.is_string()) r.file_path = std::string(f.value.str());
        if (f.id == off) r.offset = f.value.AsInt().value_or(-1);
        if (f.id == sender) r.sender = f.value.is_string() ? std::string(f.value.str()) : f.value.ip().ToString();
        if (f.id == dataset && f.value.is_string()) r.dataset = std::string(f.value.str());
      }
      rows_.push_back(std::move(r));
    }
    cv_.notify_all();
    return Ok();
  }

  // Blocks Write until Open() (a stalled store).
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    gate_cv_.notify_all();
  }
  void FailNext(int n) {
    std::lock_guard lock(mu_);
    fail_next_ = n;
  }
  std::vector<StoredRow> rows() const {
    std::lock_guard lock(mu_);
    return rows_;
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return rows_.size();
  }
  int writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  // Waits until at least n rows are stored (bounded by a generous deadline to fail, not hang).
  bool WaitFor(std::size_t n, int seconds = 30) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(seconds), [&] { return rows_.size() >= n; });
  }
  bool WaitForWrites(int n, int seconds = 30) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(seconds), [&] { return writes_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_, gate_cv_;
  std::vector<StoredRow> rows_;
  bool open_ = true;
  int fail_next_ = 0;
  int writes_ = 0;
};

class TestParser : public Parser {
 public:
  std::string_view name() const override { return "testfmt"; }
  Status Parse(std::string_view message, const ParseContext&, event::Event&) override {
    if (message.substr(0, 2) == "ok") return Ok();
    return Error(ErrorCode::kParse, "byte 0: not ok");
  }
  int Detect(std::string_view sample) const override { return sample.substr(0, 2) == "ok" ? 90 : 0; }
};

inline void RegisterTestParser(core::Registry& registry) {
  (void)registry.Add<Parser>("testfmt", [] { return std::unique_ptr<Parser>(std::make_unique<TestParser>()); });
}

}  // namespace medsoc::ingest::testing
