// Test helpers for the JSON-family parser tests.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "event/event.h"
#include "event/field.h"
#include "ingest/parse/json/parsers.h"

namespace medsoc::ingest::json::testing {

inline event::FieldId Fid(std::string_view name) { return *event::DefaultFieldTable().Intern(name); }

// Text of a field (first value), "" when absent.
inline std::string Text(const event::Event& e, std::string_view name,
                        event::FieldSpace space = event::FieldSpace::kNormalized) {
  const event::Value* v = e.Find(Fid(name), space);
  if (!v) return "<absent>";
  event::TextBuffer buf;
  return std::string(v->AsText(buf));
}
inline std::string Orig(const event::Event& e, std::string_view name) {
  return Text(e, name, event::FieldSpace::kOriginal);
}

// Parses `msg` like the pipeline does: raw set first, then Parse on raw().
inline Status ParseInto(Parser& p, std::string_view msg, event::Event& e, const ParseContext& ctx = {}) {
  e.Reset();
  e.set_raw(msg);
  return p.Parse(e.raw(), ctx, e);
}

}  // namespace medsoc::ingest::json::testing
