#include "ingest/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <span>

#include "core/time.h"
#include "ingest/sources/test_util.h"

namespace medsoc::ingest {
namespace {

using testing::RecordingSink;

Work MakeWork(Source* src, const std::vector<std::string>& msgs, std::vector<std::uint8_t> flags = {}) {
  Work w;
  w.source = src;
  for (const auto& m : msgs) {
    auto& e = w.batch.Add();
    e.set_raw(m);
    e.set_tenant_id("t1");
    e.set_source_name("s");
    e.set_ingest_time(core::Now());
  }
  w.flags = std::move(flags);
  return w;
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::RegisterTestParser(registry_); }
  core::Registry registry_;
  RecordingSink sink_;
};

TEST_F(PipelineTest, ParseFailuresAreKeptRawWithTheirError) {
  Pipeline p({.parse_workers = 2}, registry_, sink_);
  auto src = p.AddSource({.name = "a", .format = "testfmt"});
  ASSERT_TRUE(src.ok());
  ASSERT_TRUE(p.Start().ok());
  std::promise<std::pair<bool, std::uint64_t>> acked;
  Work w = MakeWork(*src, {"ok 1", "bad 2", "ok 3"});
  w.ack = [&](const Status& st, const Work& done) { acked.set_value({st.ok(), done.failed_to_parse}); };
  ASSERT_TRUE(p.TrySubmit(w));
  auto [ok, failed] = acked.get_future().get();
  EXPECT_TRUE(ok);
  EXPECT_EQ(failed, 1u);
  // The ack comes after the sink stored the batch.
  auto rows = sink_.rows();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1].raw, "bad 2");
  EXPECT_NE(rows[1].error.find("testfmt: byte 0"), std::string::npos);
  EXPECT_TRUE(rows[0].error.empty());
  p.Stop();
  EXPECT_EQ((*src)->counters().parsed.load(), 2u);
  EXPECT_EQ((*src)->counters().failed.load(), 1u);
  EXPECT_EQ((*src)->counters().stored.load(), 3u);
}

TEST_F(PipelineTest, TruncatedAndInvalidUtf8AreTagged) {
  Pipeline p({.parse_workers = 1}, registry_, sink_);
  auto src = p.AddSource({.name = "a", .format = "auto"});
  ASSERT_TRUE(src.ok());
  ASSERT_TRUE(p.Start().ok());
  Work w = MakeWork(*src, {"ok cut", std::string("ok \xff\xfe bytes"), "zzz"}, {kFlagTruncated, 0, 0});
  ASSERT_TRUE(p.TrySubmit(w));
  ASSERT_TRUE(sink_.WaitFor(3));
  p.Stop();
  auto rows = sink_.rows();
  EXPECT_EQ(rows[0].tags, std::vector<std::string>{"truncated"});
  EXPECT_EQ(rows[1].tags, std::vector<std::string>{"invalid_utf8"});
  EXPECT_EQ(rows[1].raw, std::string("ok \xff\xfe bytes"));  // bytes kept as received
  EXPECT_FALSE(rows[2].error.empty());                       // auto found no parser: raw with error
}

TEST_F(PipelineTest, UnknownFormatIsRefused) {
  Pipeline p({}, registry_, sink_);
  EXPECT_FALSE(p.AddSource({.name = "a", .format = "nope"}).ok());
  EXPECT_TRUE(p.AddSource({.name = "a", .format = "testfmt"}).ok());
  EXPECT_FALSE(p.AddSource({.name = "a", .format = "testfmt"}).ok());
}

TEST_F(PipelineTest, FullQueuesRefuseSubmissionUntilTheSinkMoves) {
  sink_.Close();  // a stalled store
  Pipeline p({.parse_workers = 1, .parse_queue_batches = 1, .sink_queue_batches = 1}, registry_, sink_);
  auto src = p.AddSource({.name = "a", .format = "testfmt"});
  ASSERT_TRUE(p.Start().ok());
  int accepted = 0;
  // At most: one in the sink, one in the sink queue, one in a worker, one in the parse queue.
  for (int i = 0; i < 50; ++i) {
    Work w = MakeWork(*src, {"ok"});
    if (p.TrySubmit(w)) ++accepted;
  }
  EXPECT_LE(accepted, 4);
  EXPECT_GE(accepted, 1);
  sink_.Open();
  ASSERT_TRUE(sink_.WaitFor(static_cast<std::size_t>(accepted)));
  Work w = MakeWork(*src, {"ok"});
  // Room again (the queue drains).
  while (!p.TrySubmit(w)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  p.Stop();
  EXPECT_EQ(sink_.size(), static_cast<std::size_t>(accepted + 1));
}

TEST_F(PipelineTest, FailedWritesAreRetriedUnlessFailFast) {
  Pipeline p({.parse_workers = 1, .sink_retry_max_millis = 10}, registry_, sink_);
  auto src = p.AddSource({.name = "a", .format = "testfmt"});
  ASSERT_TRUE(p.Start().ok());
  sink_.FailNext(2);
  std::promise<bool> acked;
  Work w = MakeWork(*src, {"ok"});
  w.ack = [&](const Status& st, const Work&) { acked.set_value(st.ok()); };
  ASSERT_TRUE(p.TrySubmit(w));
  EXPECT_TRUE(acked.get_future().get());
  EXPECT_EQ(sink_.size(), 1u);

  sink_.FailNext(1);
  std::promise<bool> acked2;
  Work w2 = MakeWork(*src, {"ok"});
  w2.fail_fast = true;
  w2.ack = [&](const Status& st, const Work&) { acked2.set_value(st.ok()); };
  ASSERT_TRUE(p.TrySubmit(w2));
  EXPECT_FALSE(acked2.get_future().get());
  p.Stop();
  EXPECT_EQ(sink_.size(), 1u);
}

// A sink that takes groups of up to four batches and records their sizes.
class GroupingSink : public RecordingSink {
 public:
  std::size_t write_group_limit() const override { return 4; }
  Status WriteGroup(std::span<const event::PreparedWrite> writes) override {
    {
      std::lock_guard lock(group_mu_);
      groups_.push_back(writes.size());
    }
    for (const auto& w : writes) MEDSOC_TRY(Write(*w.batch));
    return Ok();
  }
  std::vector<std::size_t> groups() const {
    std::lock_guard lock(group_mu_);
    return groups_;
  }

 private:
  mutable std::mutex group_mu_;
  std::vector<std::size_t> groups_;
};

TEST_F(PipelineTest, WaitingBatchesAreWrittenAsGroupsButFailFastOnesAlone) {
  GroupingSink sink;
  sink.Close();  // the first write blocks until the rest is queued behind it
  Pipeline p({.parse_workers = 1, .sink_queue_batches = 32}, registry_, sink);
  auto src = p.AddSource({.name = "a", .format = "testfmt"});
  ASSERT_TRUE(p.Start().ok());
  std::atomic<int> ok{0}, failed{0};
  auto submit = [&](bool fail_fast) {
    Work w = MakeWork(*src, {"ok"});
    w.fail_fast = fail_fast;
    w.ack = [&](const Status& st, const Work&) { (st.ok() ? ok : failed).fetch_add(1); };
    ASSERT_TRUE(p.TrySubmit(w));
  };
  submit(false);
  ASSERT_TRUE(sink.WaitForWrites(1));
  for (int i = 0; i < 9; ++i) submit(false);
  submit(true);
  for (int i = 0; i < 5000 && p.sink_queue_depth() < 10; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(p.sink_queue_depth(), 10u);
  sink.Open();
  ASSERT_TRUE(sink.WaitFor(11));
  p.Stop();
  // The first alone (it was being written), then 4 + 4 + 1 (the next is fail_fast), then the
  // fail_fast one alone: every batch acknowledged once.
  EXPECT_EQ(sink.groups(), (std::vector<std::size_t>{4, 4}));
  EXPECT_EQ(sink.writes(), 11);
  EXPECT_EQ(ok.load(), 11);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ((*src)->counters().stored.load(), 11u);
}

TEST_F(PipelineTest, StopDrainsEverythingQueued) {
  Pipeline p({.parse_workers = 2, .parse_queue_batches = 100}, registry_, sink_);
  auto src = p.AddSource({.name = "a", .format = "testfmt"});
  ASSERT_TRUE(p.Start().ok());
  for (int i = 0; i < 50; ++i) {
    Work w = MakeWork(*src, {"ok a", "ok b"});
    ASSERT_TRUE(p.TrySubmit(w));
  }
  p.Stop();
  EXPECT_EQ(sink_.size(), 100u);
}

class CountingStage : public TransformStage {
 public:
  explicit CountingStage(std::atomic<int>& n) : n_(n) {}
  std::string_view name() const override { return "count"; }
  Status Process(event::Batch& b) override {
    n_ += static_cast<int>(b.size());
    return Ok();
  }

 private:
  std::atomic<int>& n_;
};

TEST_F(PipelineTest, TransformStagesRunBetweenParseAndSink) {
  std::atomic<int> seen{0};
  Pipeline p({.parse_workers = 2}, registry_, sink_);
  p.AddStage([&] { return std::make_unique<CountingStage>(seen); });
  auto src = p.AddSource({.name = "a", .format = "testfmt"});
  ASSERT_TRUE(p.Start().ok());
  Work w = MakeWork(*src, {"ok", "ok"});
  ASSERT_TRUE(p.TrySubmit(w));
  p.Stop();
  EXPECT_EQ(seen.load(), 2);
}

class FakeMetrics : public MetricsSink {
 public:
  void AddCounter(const std::string& name, const std::map<std::string, std::string>& labels, double by) override {
    std::lock_guard lock(mu);
    counters[name + "/" + (labels.empty() ? "" : labels.begin()->second)] += by;
  }
  void AddGauge(const std::string& name, const std::string&, std::function<double()> read) override {
    std::lock_guard lock(mu);
    gauges[name] = std::move(read);
  }
  std::mutex mu;
  std::map<std::string, double> counters;
  std::map<std::string, std::function<double()>> gauges;
};

TEST_F(PipelineTest, MetricsArePublishedAsDeltas) {
  FakeMetrics m;
  Pipeline p({.parse_workers = 1}, registry_, sink_);
  p.SetMetricsSink(&m);
  auto src = p.AddSource({.name = "a", .format = "testfmt"});
  ASSERT_TRUE(p.Start().ok());
  (*src)->counters().received += 2;
  Work w = MakeWork(*src, {"ok", "no"});
  ASSERT_TRUE(p.TrySubmit(w));
  ASSERT_TRUE(sink_.WaitFor(2));
  p.Stop();  // publishes a last time
  p.PublishMetrics();  // nothing new: no double counting
  EXPECT_EQ(m.counters["medsoc_ingest_received_total/a"], 2);
  EXPECT_EQ(m.counters["medsoc_ingest_failed_to_parse_total/a"], 1);
  EXPECT_EQ(m.counters["medsoc_ingest_stored_total/a"], 2);
  EXPECT_EQ(m.counters["medsoc_ingest_stage_batches_total/sink"], 1);
  ASSERT_TRUE(m.gauges.count("medsoc_ingest_parse_queue_batches"));
  EXPECT_EQ(m.gauges["medsoc_ingest_parse_queue_batches"](), 0);
}

TEST(IngestHelpersTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain ascii text that is long enough"));
  EXPECT_TRUE(IsValidUtf8("医院安全运营"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("abc\xe4\xbd"));       // truncated sequence
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
}

TEST(IngestHelpersTest, Timezones) {
  EXPECT_EQ(*ParseTimezone("+08:00"), 480);
  EXPECT_EQ(*ParseTimezone("-0530"), -330);
  EXPECT_EQ(*ParseTimezone("UTC"), 0);
  EXPECT_EQ(*ParseTimezone("Asia/Shanghai"), 480);
  EXPECT_FALSE(ParseTimezone("+25:00").ok());
  EXPECT_FALSE(ParseTimezone("Europe/Nowhere").ok());
  EXPECT_FALSE(ParseTimezone("8").ok());
}

}  // namespace
}  // namespace medsoc::ingest

namespace medsoc::ingest {
namespace {
TEST(IngestHelpersTest, DatasetNames) {
  EXPECT_TRUE(IsValidDataset("his.audit"));
  EXPECT_TRUE(IsValidDataset("hl7.interface"));
  EXPECT_TRUE(IsValidDataset("fortigate.traffic-v2_1"));
  EXPECT_FALSE(IsValidDataset(""));
  EXPECT_FALSE(IsValidDataset("His.Audit"));
  EXPECT_FALSE(IsValidDataset(".audit"));
  EXPECT_FALSE(IsValidDataset("his audit"));
  EXPECT_FALSE(IsValidDataset(std::string(65, 'a')));
}
}  // namespace
}  // namespace medsoc::ingest
