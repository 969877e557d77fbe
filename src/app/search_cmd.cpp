// `medsoc search`; see search_cmd.h.
#include "app/search_cmd.h"

#include <cstdio>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "store/events/sqlite_event_store.h"
#include "store/events/sqlite_query.h"

namespace medsoc::app {
namespace {

using store::events::EventQuery;
using store::events::StoredEvent;

int BadQuery(const std::string& query, const Error& e) {
  std::fprintf(stderr, "medsoc search: %s\n", e.ToString().c_str());
  if (e.pos().has_value() && e.pos()->file == "query" && e.pos()->column > 0) {
    std::fprintf(stderr, "  %s\n  ", query.c_str());
    for (int i = 1; i < e.pos()->column; ++i) std::fputc(' ', stderr);
    std::fputs("^\n", stderr);
  }
  return 2;
}

std::string Field(const nlohmann::json& doc, const char* name) {
  auto f = doc.find("fields");
  if (f == doc.end() || !f->is_object()) return "";
  auto it = f->find(name);
  if (it == f->end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string Csv(std::string_view s) {
  const bool formula = !s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@');
  if (!formula && s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  if (formula) out += "'";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// One line of the table: time, host, source ip, user, then the message (or raw), cut to the
// terminal-friendly width.
void PrintRow(const StoredEvent& e) {
  auto doc = nlohmann::json::parse(e.json, nullptr, false);
  std::string msg = doc.is_object() ? Field(doc, "message") : "";
  if (msg.empty() && doc.is_object()) msg = doc.value("raw", "");
  for (char& c : msg)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  if (msg.size() > 160) {
    std::size_t cut = 160;
    while (cut > 0 && (static_cast<unsigned char>(msg[cut]) & 0xC0) == 0x80) --cut;  // whole code points
    msg = msg.substr(0, cut) + "...";
  }
  std::printf("%-24s  %-16s  %-15s  %-12s  %s\n", core::FormatRfc3339(e.time, 3).c_str(),
              doc.is_object() ? Field(doc, "host.name").c_str() : "", doc.is_object() ? Field(doc, "source.ip").c_str() : "",
              doc.is_object() ? Field(doc, "user.name").c_str() : "", msg.c_str());
}

}  // namespace

int RunSearch(const GlobalFlags& flags, const SearchFlags& search) {
  if (search.format != "table" && search.format != "ndjson" && search.format != "csv") {
    std::fprintf(stderr, "medsoc search: --format must be table, ndjson or csv\n");
    return 2;
  }
  if (search.limit < 0) {
    std::fprintf(stderr, "medsoc search: --limit must be 0 (all) or more\n");
    return 2;
  }
  auto options = LoadOptions(flags);
  if (!options.ok()) {
    std::fprintf(stderr, "medsoc search: %s\n", options.error().ToString().c_str());
    return 1;
  }
  EventQuery q;
  q.now = core::Now();
  q.query = search.query;
  for (auto [text, out, name] : {std::tuple{&search.from, &q.from, "--from"}, std::tuple{&search.to, &q.to, "--to"}}) {
    if (text->empty()) continue;
    auto t = store::events::ParseQueryTime(*text, q.now, 1);
    if (!t.ok()) {
      std::fprintf(stderr, "medsoc search: %s: %s\n", name, t.error().message().c_str());
      return 2;
    }
    *out = *t;
  }
  auto store = store::events::SqliteEventStore::Open(options->data_dir, options->events);
  if (!store.ok()) {
    std::fprintf(stderr, "medsoc search: %s\n", store.error().ToString().c_str());
    return 1;
  }
  const auto scope = store::TenantScope::Of(search.tenant.empty() ? "default" : search.tenant);
  std::int64_t printed = 0;
  auto st = (*store)->Export(scope, q, [&](const StoredEvent& e) {
    if (printed == 0 && search.format == "table")  // headers with the first row: a bad query prints none
      std::printf("%-24s  %-16s  %-15s  %-12s  %s\n", "time", "host.name", "source.ip", "user.name", "message");
    else if (printed == 0 && search.format == "csv")
      std::printf("id,time,host.name,source.ip,user.name,event.code,message\r\n");
    if (search.format == "ndjson") {
      std::fwrite(e.json.data(), 1, e.json.size(), stdout);
      std::fputc('\n', stdout);
    } else if (search.format == "csv") {
      auto doc = nlohmann::json::parse(e.json, nullptr, false);
      auto f = [&](const char* n) { return doc.is_object() ? Csv(Field(doc, n)) : std::string(); };
      std::printf("%s,%s,%s,%s,%s,%s,%s\r\n", e.id.c_str(), core::FormatRfc3339(e.time, 3).c_str(), f("host.name").c_str(),
                  f("source.ip").c_str(), f("user.name").c_str(), f("event.code").c_str(), f("message").c_str());
    } else {
      PrintRow(e);
    }
    ++printed;
    return search.limit == 0 || printed < search.limit;
  });
  if (!st.ok()) {
    if (st.error().pos().has_value()) return BadQuery(search.query, st.error());
    std::fprintf(stderr, "medsoc search: %s\n", st.error().ToString().c_str());
    return st.error().code() == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  if (search.format == "table") std::fprintf(stderr, "%lld event(s)\n", static_cast<long long>(printed));
  return 0;
}

}  // namespace medsoc::app
