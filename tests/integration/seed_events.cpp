// medsoc_seed_events: test support for tests/integration/test_events_api.py. Reads events as NDJSON
// on standard input and writes them through the real SqliteEventStore::Write into
// <data>/events, so the HTTP tests read exactly what the store writes (no copy of its schema).
// Not part of the product.
//
//   medsoc_seed_events DATA_DIR < events.ndjson
//   {"tenant":"default","time":"2024-03-01T08:00:00Z","source":"s","raw":"...","message":"...",
//    "parse_error":"...","fields":{"host.name":"web01","source.port":443,"source.ip":"10.0.0.1"}}
// Field values: strings (IP-looking strings of *.ip fields become IPs), integers, booleans.
#include <cstdio>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "event/batch.h"
#include "event/field.h"
#include "store/events/sqlite_event_store.h"

int main(int argc, char** argv) {
  using namespace medsoc;
  if (argc != 2) {
    std::fprintf(stderr, "usage: medsoc_seed_events DATA_DIR < events.ndjson\n");
    return 2;
  }
  auto store = store::events::SqliteEventStore::Open(argv[1], {}, {});
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.error().ToString().c_str());
    return 1;
  }
  auto& table = event::DefaultFieldTable();
  event::Batch batch;
  std::string line;
  int n = 0;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) {
      std::fprintf(stderr, "line %d: not a JSON object\n", n + 1);
      return 2;
    }
    event::Event& e = batch.Add();
    e.set_tenant_id(j.value("tenant", "default"));
    auto t = core::ParseRfc3339(j.value("time", ""));
    e.set_time(t.ok() ? *t : core::Now());
    e.set_ingest_time(core::Now());
    e.set_source_name(j.value("source", "seed"));
    e.set_raw(j.value("raw", j.value("message", "")));
    if (j.contains("parse_error")) e.set_parse_error(j["parse_error"].get<std::string>());
    if (j.contains("message")) e.SetString(*table.Intern("message"), j["message"].get<std::string>());
    const nlohmann::json fields = j.value("fields", nlohmann::json::object());
    for (const auto& [k, v] : fields.items()) {
      const event::FieldId id = *table.Intern(k);
      if (v.is_string()) {
        const std::string s = v.get<std::string>();
        auto ip = event::IpAddress::Parse(s);
        if (ip && k.size() > 3 && k.substr(k.size() - 3) == ".ip") e.Set(id, event::Value::Ip(*ip));
        else e.SetString(id, s);
      } else if (v.is_number_integer()) {
        e.Set(id, event::Value::Int(v.get<std::int64_t>()));
      } else if (v.is_boolean()) {
        e.Set(id, event::Value::Bool(v.get<bool>()));
      }
    }
    ++n;
  }
  if (auto st = (*store)->Write(batch); !st.ok()) {
    std::fprintf(stderr, "%s\n", st.error().ToString().c_str());
    return 1;
  }
  std::printf("stored %d events\n", n);
  return 0;
}
