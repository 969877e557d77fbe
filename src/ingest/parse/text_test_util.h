// Helpers for the text parser unit tests (test-only header).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "event/event.h"
#include "event/field.h"
#include "ingest/parse/parser.h"
#include "ingest/parse/text_common.h"

namespace medsoc::ingest::text::testing {

// 2024-03-10T00:00:00Z: the reference "now" of the fixtures.
inline constexpr std::int64_t kNowSeconds = 1'710'028'800;

inline ParseContext Ctx(int tz = 480) {
  ParseContext ctx;
  ctx.source_name = "test";
  ctx.tz_offset_minutes = tz;
  ctx.now = core::Timestamp::FromSeconds(kNowSeconds);
  return ctx;
}

// Parses `line` as the pipeline does: raw() set first, then Parse(raw()).
inline Status ParseLine(Parser& p, std::string_view line, event::Event& e, const ParseContext& ctx = Ctx()) {
  e.Reset();
  e.set_raw(line);
  return p.Parse(e.raw(), ctx, e);
}

// The first value of a normalized (or original) field as text; "" when absent.
inline std::string Get(const event::Event& e, std::string_view name,
                       event::FieldSpace space = event::FieldSpace::kNormalized) {
  const auto id = event::DefaultFieldTable().Find(name);
  if (!id.valid()) return "";
  const event::Value* v = e.Find(id, space);
  if (v == nullptr) return "";
  event::TextBuffer buf;
  return std::string(v->AsText(buf));
}
inline std::string Orig(const event::Event& e, std::string_view name) {
  return Get(e, name, event::FieldSpace::kOriginal);
}
inline std::size_t Count(const event::Event& e, std::string_view name) {
  const auto id = event::DefaultFieldTable().Find(name);
  std::size_t n = 0;
  for (event::FieldView f : e.fields())
    if (f.id == id && f.space == event::FieldSpace::kNormalized) ++n;
  return n;
}
inline bool HasFlag(const event::Event& e, std::string_view flag) {
  const auto id = F().log_flags;
  for (event::FieldView f : e.fields())
    if (f.id == id && f.value.is_string() && f.value.str() == flag) return true;
  return false;
}
inline std::string Utc(const event::Event& e) { return core::FormatRfc3339(e.time(), 3); }

}  // namespace medsoc::ingest::text::testing
