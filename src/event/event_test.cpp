#include "event/event.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace medsoc::event {
namespace {

class EventTest : public ::testing::Test {
 protected:
  FieldId Id(std::string_view name) { return *table_.Intern(name); }
  FieldTable table_;
};

TEST_F(EventTest, EnvelopeIsCopied) {
  Event e;
  std::string tmp = "<134>Mar  3 10:01:02 fw1 deny src=10.0.0.1";
  e.set_raw(tmp);
  e.set_tenant_id("hospital-a");
  e.set_source_name("syslog-udp");
  e.set_time_text("Mar  3 10:01:02");
  e.set_time({5});
  e.set_ingest_time({6});
  tmp.assign(tmp.size(), 'x');  // the event must not view the caller's buffer
  EXPECT_EQ(e.raw(), "<134>Mar  3 10:01:02 fw1 deny src=10.0.0.1");
  EXPECT_EQ(e.tenant_id(), "hospital-a");
  EXPECT_EQ(e.source_name(), "syslog-udp");
  EXPECT_EQ(e.time_text(), "Mar  3 10:01:02");
  EXPECT_EQ(e.time().ns, 5);
  EXPECT_EQ(e.ingest_time().ns, 6);
  EXPECT_FALSE(e.has_parse_error());
  e.set_parse_error("no syslog header");
  EXPECT_TRUE(e.has_parse_error());
  EXPECT_EQ(e.parse_error(), "no syslog header");
  e.clear_parse_error();
  EXPECT_FALSE(e.has_parse_error());
}

TEST_F(EventTest, SetFindAppendRemove) {
  Event e;
  const FieldId ip = Id("source.ip"), port = Id("source.port"), rel = Id("related.ip"), user = Id("user.name");
  e.Set(ip, Value::Ip(*IpAddress::Parse("10.0.0.1")));
  e.Set(port, Value::Int(443));
  EXPECT_EQ(e.field_count(), 2u);
  ASSERT_NE(e.Find(port), nullptr);
  EXPECT_EQ(e.Find(port)->int_value(), 443);
  EXPECT_EQ(e.Find(user), nullptr);
  EXPECT_TRUE(e.Get(user).is_null());
  e.Set(port, Value::Int(8443));  // replaces
  EXPECT_EQ(e.field_count(), 2u);
  EXPECT_EQ(e.Get(port).int_value(), 8443);

  e.Append(rel, Value::String("10.0.0.1"));
  e.Append(rel, Value::String("10.0.0.2"));
  EXPECT_EQ(e.Get(rel).str(), "10.0.0.1");  // first
  EXPECT_EQ(e.Remove(rel), 2u);
  EXPECT_FALSE(e.Has(rel));
  EXPECT_TRUE(e.Has(ip));
  EXPECT_EQ(e.field_count(), 2u);
  e.FindMutable(port)->operator=(Value::Int(1));
  EXPECT_EQ(e.Get(port).int_value(), 1);
}

TEST_F(EventTest, OriginalFieldsAreASeparateNamespace) {
  Event e;
  const FieldId message = Id("message"), event_id = Id("EventID");
  e.SetString(message, "normalized text");
  e.SetOriginal(message, Value::String("vendor message"));
  e.SetOriginal(event_id, Value::Int(4688));
  EXPECT_EQ(e.Get(message).str(), "normalized text");
  EXPECT_EQ(e.FindOriginal(message)->str(), "vendor message");
  EXPECT_FALSE(e.Has(event_id));
  EXPECT_EQ(e.FindOriginal(event_id)->int_value(), 4688);
  int originals = 0;
  for (FieldView f : e.fields()) originals += f.space == FieldSpace::kOriginal;
  EXPECT_EQ(originals, 2);
  EXPECT_EQ(e.Remove(message, FieldSpace::kOriginal), 1u);
  EXPECT_TRUE(e.Has(message));
}

TEST_F(EventTest, LookupWithManyFieldsAndMaskCollisions) {
  Event e;
  std::vector<FieldId> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(Id("f" + std::to_string(i)));
  for (int i = 0; i < 200; i += 2) e.Set(ids[i], Value::Int(i));  // every second one
  for (int i = 0; i < 200; ++i) {
    const Value* v = e.Find(ids[i]);
    if (i % 2 == 0) {
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(v->int_value(), i);
    } else {
      EXPECT_EQ(v, nullptr) << i;
    }
    EXPECT_EQ(e.FindOriginal(ids[i]), nullptr);
  }
  int n = 0;
  for (FieldView f : e.fields()) {
    EXPECT_EQ(f.id, ids[static_cast<std::size_t>(n * 2)]);  // insertion order
    ++n;
  }
  EXPECT_EQ(n, 100);
}

TEST_F(EventTest, ResetKeepsNothingVisible) {
  Event e;
  e.set_raw("x");
  e.Set(Id("a"), Value::Int(1));
  e.set_parse_error("bad");
  e.Reset();
  EXPECT_EQ(e.raw(), "");
  EXPECT_EQ(e.field_count(), 0u);
  EXPECT_FALSE(e.Has(Id("a")));
  EXPECT_FALSE(e.has_parse_error());
}

TEST_F(EventTest, CloneIsIndependentAndRebasesRawViews) {
  Arena arena;
  auto clone = [&] {
    Event e(&arena);
    e.set_raw("user=alice action=login");
    e.Set(Id("user.name"), Value::String(e.raw().substr(5, 5)));
    e.SetString(Id("event.action"), "login");
    e.set_tenant_id("t1");
    return e.Clone();
  }();
  arena.Reset();
  Arena scribble;  // reuse of freed memory must not affect the clone
  scribble.Copy(std::string(1000, 'z'));
  EXPECT_EQ(clone.raw(), "user=alice action=login");
  EXPECT_EQ(clone.Get(Id("user.name")).str(), "alice");
  EXPECT_EQ(clone.Get(Id("user.name")).str().data(), clone.raw().data() + 5);
  EXPECT_EQ(clone.Get(Id("event.action")).str(), "login");
  EXPECT_EQ(clone.tenant_id(), "t1");
}

TEST_F(EventTest, MoveKeepsStrings) {
  Event a;
  a.set_raw("hello");
  a.SetString(Id("message"), "world");
  Event b = std::move(a);
  EXPECT_EQ(b.raw(), "hello");
  EXPECT_EQ(b.Get(Id("message")).str(), "world");
}

}  // namespace
}  // namespace medsoc::event

namespace medsoc::event {
namespace {

// Exercises both lookup paths (direct table for small normalized ids, scan for the rest) and the
// direct table's overflow marker past position 253, through Set/Append/Remove/Reset.
TEST_F(EventTest, DirectAndScanPathsAgreeWithAModel) {
  std::vector<FieldId> ids;
  for (int i = 0; i < 400; ++i) ids.push_back(Id("m" + std::to_string(i)));  // ids 0..399
  ASSERT_EQ(ids[399].value, 399u);
  Event e;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::pair<std::uint32_t, std::int64_t>> model;  // (key, first value), in order
    auto check = [&] {
      for (int i = 0; i < 400; ++i) {
        for (FieldSpace sp : {FieldSpace::kNormalized, FieldSpace::kOriginal}) {
          const std::uint32_t key = ids[i].value | (sp == FieldSpace::kOriginal ? 0x80000000u : 0u);
          const Value* v = e.Find(ids[i], sp);
          auto it = std::find_if(model.begin(), model.end(), [&](auto& p) { return p.first == key; });
          if (it == model.end()) {
            ASSERT_EQ(v, nullptr) << "round " << round << " id " << i;
          } else {
            ASSERT_NE(v, nullptr) << "round " << round << " id " << i;
            ASSERT_EQ(v->int_value(), it->second) << "round " << round << " id " << i;
          }
        }
      }
    };
    // 300 fields: ids in a scrambled order, some originals, a few repeats.
    for (int n = 0; n < 300; ++n) {
      const int i = (n * 37 + round * 11) % 400;
      const FieldSpace sp = n % 5 == 0 ? FieldSpace::kOriginal : FieldSpace::kNormalized;
      const std::uint32_t key = ids[i].value | (sp == FieldSpace::kOriginal ? 0x80000000u : 0u);
      e.Append(ids[i], Value::Int(n), sp);
      if (std::none_of(model.begin(), model.end(), [&](auto& p) { return p.first == key; }))
        model.emplace_back(key, n);
    }
    check();
    // Remove a few early ones so that later positions shift below the overflow marker.
    for (int n = 0; n < 10; ++n) {
      const int i = (n * 37 + round * 11) % 400;
      const FieldSpace sp = n % 5 == 0 ? FieldSpace::kOriginal : FieldSpace::kNormalized;
      const std::uint32_t key = ids[i].value | (sp == FieldSpace::kOriginal ? 0x80000000u : 0u);
      e.Remove(ids[i], sp);
      std::erase_if(model, [&](auto& p) { return p.first == key; });
    }
    check();
    e.Reset();
    model.clear();
    check();
  }
}

}  // namespace
}  // namespace medsoc::event
