#include "event/batch.h"

#include <gtest/gtest.h>

#include <string>

namespace medsoc::event {
namespace {

TEST(BatchArenaTest, CopyAndStableAddresses) {
  Arena a(256, 1024);
  std::vector<std::string_view> views;
  for (int i = 0; i < 1000; ++i) views.push_back(a.Copy("string number " + std::to_string(i)));
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(views[i], "string number " + std::to_string(i));
  EXPECT_TRUE(a.Owns(views[0]));
  EXPECT_FALSE(a.Owns("static"));
  std::string big(10000, 'b');
  std::string_view bv = a.Copy(big);  // large: own block
  EXPECT_EQ(bv, big);
  EXPECT_EQ(a.Copy(""), std::string_view());
  EXPECT_GT(a.bytes_used(), 10000u);
  a.Reset();
  EXPECT_EQ(a.bytes_used(), 0u);
  EXPECT_LE(a.bytes_reserved(), 1024u);  // large block freed, regular ones trimmed to the limit
}

TEST(BatchTest, AddFillIterate) {
  FieldTable table;
  const FieldId msg = *table.Intern("message");
  Batch batch;
  for (int i = 0; i < 100; ++i) {
    Event& e = batch.Add();
    e.set_raw("line " + std::to_string(i));
    e.Set(msg, Value::String(e.raw()));
  }
  ASSERT_EQ(batch.size(), 100u);
  int i = 0;
  for (const Event& e : batch) {
    EXPECT_EQ(e.raw(), "line " + std::to_string(i));
    EXPECT_EQ(e.Get(msg).str(), e.raw());
    ++i;
  }
  batch.PopBack();
  EXPECT_EQ(batch.size(), 99u);
}

TEST(BatchTest, ClearReusesEventsAndArena) {
  FieldTable table;
  std::vector<FieldId> ids;
  for (int f = 0; f < 20; ++f) ids.push_back(*table.Intern("f" + std::to_string(f)));
  Batch batch(BatchOptions{.arena_block_size = 4096, .arena_max_retained = 1 << 20, .reserve_events = 0});
  auto fill = [&](int round) {
    for (int i = 0; i < 500; ++i) {
      Event& e = batch.Add();
      e.set_raw("round " + std::to_string(round) + " event " + std::to_string(i));
      for (FieldId id : ids) e.Set(id, Value::Int(i));
    }
  };
  fill(0);
  const Event* first = &batch[0];
  const std::size_t reserved = batch.arena().bytes_reserved();
  batch.Clear();
  EXPECT_TRUE(batch.empty());
  fill(1);
  EXPECT_EQ(&batch[0], first);  // same event objects
  EXPECT_EQ(batch.arena().bytes_reserved(), reserved);  // no new arena blocks
  EXPECT_EQ(batch[499].raw(), "round 1 event 499");
  EXPECT_EQ(batch[499].field_count(), 20u);  // reset, not accumulated
  EXPECT_FALSE(batch[0].has_parse_error());
}

TEST(BatchTest, MoveKeepsViewsValid) {
  Batch a;
  Event& e = a.Add();
  e.set_raw("moved");
  std::string_view before = a[0].raw();
  Batch b = std::move(a);
  EXPECT_EQ(b[0].raw().data(), before.data());
  EXPECT_EQ(b[0].raw(), "moved");
  b[0].set_source_name("after-move");  // still bound to the (moved) arena
  EXPECT_TRUE(b.arena().Owns(b[0].source_name()));
}

}  // namespace
}  // namespace medsoc::event
