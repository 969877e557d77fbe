#include "event/field.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace medsoc::event {
namespace {

TEST(FieldTableTest, InternIsIdempotentAndDense) {
  FieldTable t;
  auto a = t.Intern("source.ip");
  auto b = t.Intern("destination.ip");
  auto a2 = t.Intern("source.ip");
  ASSERT_TRUE(a.ok() && b.ok() && a2.ok());
  EXPECT_EQ(a->value, 0u);
  EXPECT_EQ(b->value, 1u);
  EXPECT_EQ(*a, *a2);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Name(*a), "source.ip");
  EXPECT_EQ(t.Find("destination.ip"), *b);
  EXPECT_FALSE(t.Find("user.name").valid());
  EXPECT_FALSE(t.Find("").valid());
}

TEST(FieldTableTest, RejectsBadNames) {
  FieldTable t;
  EXPECT_EQ(t.Intern("").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.Intern(std::string(FieldTable::kMaxNameLength + 1, 'a')).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(t.Intern(std::string(FieldTable::kMaxNameLength, 'a')).ok());
}

TEST(FieldTableTest, NamesSurviveIndexGrowth) {
  FieldTable t;
  std::vector<FieldId> ids;
  for (int i = 0; i < 10000; ++i) ids.push_back(*t.Intern("vendor.field_" + std::to_string(i)));
  for (int i = 0; i < 10000; ++i) {
    EXPECT_EQ(ids[i].value, static_cast<std::uint32_t>(i));
    ASSERT_EQ(t.Name(ids[i]), "vendor.field_" + std::to_string(i));
    ASSERT_EQ(t.Find("vendor.field_" + std::to_string(i)), ids[i]);
  }
}

TEST(FieldTableTest, DefaultTableIsShared) {
  auto id = DefaultFieldTable().Intern("field_test.default");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(&DefaultFieldTable(), &DefaultFieldTable());
  EXPECT_EQ(DefaultFieldTable().Find("field_test.default"), *id);
}

// Many threads intern overlapping name sets while others read; every thread must see the same id
// for the same name, and every id must map back to its name.
TEST(FieldTableTest, ConcurrentInternAndLookup) {
  FieldTable t;
  constexpr int kThreads = 8;
  constexpr int kNames = 3000;
  std::vector<std::vector<FieldId>> seen(kThreads, std::vector<FieldId>(kNames));
  std::atomic<bool> go{false};
  std::atomic<bool> stop_readers{false};
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      while (!go.load()) std::this_thread::yield();
      for (int k = 0; k < kNames; ++k) {
        // Each thread walks the names in a different order so inserts race.
        const int i = (k * 7 + th * 613) % kNames;
        auto id = t.Intern("n." + std::to_string(i));
        ASSERT_TRUE(id.ok());
        seen[th][i] = *id;
        ASSERT_EQ(t.Name(*id), "n." + std::to_string(i));
      }
    });
  }
  std::atomic<long> reads{0};
  std::thread reader([&] {
    while (!go.load()) std::this_thread::yield();
    while (!stop_readers.load()) {
      const std::size_t n = t.size();
      for (std::uint32_t i = 0; i < n; i += 97) {
        std::string_view name = t.Name(FieldId{i});
        ASSERT_EQ(t.Find(name), FieldId{i});
        ++reads;
      }
    }
  });
  go.store(true);
  for (auto& th : threads) th.join();
  stop_readers.store(true);
  reader.join();
  EXPECT_EQ(t.size(), static_cast<std::size_t>(kNames));
  for (int i = 0; i < kNames; ++i)
    for (int th = 1; th < kThreads; ++th) ASSERT_EQ(seen[th][i], seen[0][i]) << i;
}

}  // namespace
}  // namespace medsoc::event
