// Event search routes; see routes_events.h.
#include "api/routes_events.h"

#include <map>
#include <memory>
#include <optional>

#include "core/time.h"
#include "store/events/sqlite_query.h"

namespace medsoc::api {
namespace {

using auth::Permission;
using store::events::EventQuery;

// 400 with the query column when the error has one.
Response EventsError(const Error& e) {
  if (e.code() == ErrorCode::kInvalidArgument && e.pos().has_value()) {
    nlohmann::json body = {{"error",
                            {{"code", "invalid_argument"}, {"message", e.ToString()}, {"column", e.pos()->column}}}};
    return JsonResponse(400, body);
  }
  return ErrorFrom(e);
}

Result<core::Timestamp> TimeArg(const Request& req, std::string_view name, core::Timestamp now) {
  auto v = req.Query(name);
  if (!v || v->empty()) return core::Timestamp{};
  auto t = store::events::ParseQueryTime(*v, now, 1);
  if (!t.ok())
    return Error(ErrorCode::kInvalidArgument, "query parameter '" + std::string(name) + "': " + t.error().message());
  return *t;
}

Result<std::int64_t> IntArg(const Request& req, std::string_view name, std::int64_t fallback, std::int64_t lo,
                            std::int64_t hi) {
  auto v = req.Query(name);
  if (!v || v->empty()) return fallback;
  std::int64_t out = 0;
  for (char c : *v) {
    if (c < '0' || c > '9' || out > hi)
      return Error(ErrorCode::kInvalidArgument, "query parameter '" + std::string(name) + "' must be an integer");
    out = out * 10 + (c - '0');
  }
  if (out < lo || out > hi)
    return Error(ErrorCode::kInvalidArgument, "query parameter '" + std::string(name) + "' must be between " +
                                                  std::to_string(lo) + " and " + std::to_string(hi));
  return out;
}

// q, from, to and now from the request.
Result<EventQuery> BaseQuery(const Request& req) {
  EventQuery q;
  q.now = core::Now();
  q.query = std::string(req.Query("q").value_or(""));
  MEDSOC_ASSIGN_OR_RETURN(q.from, TimeArg(req, "from", q.now));
  MEDSOC_ASSIGN_OR_RETURN(q.to, TimeArg(req, "to", q.now));
  if (q.from.ns != 0 && q.to.ns != 0 && q.from >= q.to)
    return Error(ErrorCode::kInvalidArgument, "'from' must be before 'to'");
  return q;
}

std::vector<QueryParamDoc> WindowParams() {
  return {{.name = "q", .description = "query (docs/search.md); empty: every event"},
          {.name = "from", .description = "RFC 3339, a date, or now-1h; inclusive; default: to minus 24 h"},
          {.name = "to", .description = "RFC 3339, a date, or now; exclusive; default: now + 1 day"}};
}

void CsvCell(std::string_view s, std::string& out) {
  const bool quote = s.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'));
  if (!quote) {
    out += s;
    return;
  }
  out.push_back('"');
  // A leading = + - @ would be run as a formula by spreadsheet programs: prefix a quote.
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@')) out.push_back('\'');
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

constexpr const char* kCsvFields[] = {"host.name", "user.name", "source.ip", "destination.ip", "event.code",
                                      "event.action", "event.outcome", "message"};

std::string FieldText(const nlohmann::json& doc, const char* name) {
  auto fields = doc.find("fields");
  if (fields == doc.end() || !fields->is_object()) return "";
  auto it = fields->find(name);
  if (it == fields->end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Rows of one export per page of the store's search; each page becomes one chunk of the response.
constexpr std::int64_t kExportPage = 1000;

struct ExportState {
  store::TenantScope scope = store::TenantScope::Of("-");
  EventQuery query;
  bool csv = false;
  std::int64_t limit = 0;  // 0: every matching event
  std::int64_t rows = 0;
  std::optional<store::events::SearchPage> first;  // read by the handler
  bool header_done = false;

  void AppendRow(const store::events::StoredEvent& e, std::string& out) const {
    if (!csv) {
      out += e.json;
      out += "\n";
      return;
    }
    auto doc = nlohmann::json::parse(e.json, nullptr, false);
    CsvCell(e.id, out);
    out += ",";
    CsvCell(core::FormatRfc3339(e.time, 3), out);
    out += ",";
    CsvCell(doc.is_object() ? doc.value("source", "") : "", out);
    for (const char* f : kCsvFields) {
      out += ",";
      CsvCell(doc.is_object() ? FieldText(doc, f) : "", out);
    }
    out += "\r\n";
  }

  // The next chunk: the CSV header with the first page, then one page per call. False after the last.
  Result<bool> Next(store::events::EventStore& events, std::string& out) {
    if (csv && !header_done) {
      out += "id,time,source";
      for (const char* f : kCsvFields) out += std::string(",") + f;
      out += "\r\n";
    }
    header_done = true;
    store::events::SearchPage page;
    if (first) {
      page = std::move(*first);
      first.reset();
    } else {
      const std::int64_t want = limit > 0 ? std::min(kExportPage, limit - rows) : kExportPage;
      query.limit = static_cast<int>(want);
      MEDSOC_ASSIGN_OR_RETURN(page, events.Search(scope, query));
    }
    for (const auto& e : page.items) {
      if (limit > 0 && rows >= limit) break;
      AppendRow(e, out);
      ++rows;
    }
    query.cursor = page.next_cursor;
    return !(query.cursor.empty() || (limit > 0 && rows >= limit));
  }
};

}  // namespace

Result<std::int64_t> ParseInterval(std::string_view text, std::int64_t window_ns) {
  if (text.empty() || text == "auto") {
    // About 60 buckets, rounded up to a readable step.
    static constexpr std::int64_t kSteps[] = {core::Seconds(1),  core::Seconds(5),  core::Seconds(10), core::Seconds(30),
                                              core::Minutes(1),  core::Minutes(5),  core::Minutes(10), core::Minutes(30),
                                              core::Hours(1),    core::Hours(3),    core::Hours(6),    core::Hours(12),
                                              core::Days(1),     core::Days(7)};
    for (std::int64_t step : kSteps)
      if (window_ns / step <= 60) return step;
    return core::Days(30);
  }
  std::int64_t n = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && n < 1'000'000; ++i) n = n * 10 + (text[i] - '0');
  if (i == 0 || i + 1 != text.size() || n == 0)
    return Error(ErrorCode::kInvalidArgument, "interval must look like 30s, 5m, 1h or 1d, or be auto");
  switch (text[i]) {
    case 's': return core::Seconds(n);
    case 'm': return core::Minutes(n);
    case 'h': return core::Hours(n);
    case 'd': return core::Days(n);
    default: return Error(ErrorCode::kInvalidArgument, "interval must look like 30s, 5m, 1h or 1d, or be auto");
  }
}

void RegisterEventRoutes(Router& router, ApiServices&, store::events::EventStore& events) {
  auto search_params = WindowParams();
  search_params.push_back({.name = "limit", .type = "integer", .description = "page size 1-1000, default 100"});
  search_params.push_back({.name = "cursor", .description = "next_cursor of the previous page"});
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/events",
              .permission = Permission::kEventsRead,
              .summary = "Search events, newest first, with cursor paging",
              .tag = "events",
              .query_params = search_params,
              .response_schema = R"({"type":"object","properties":{"items":{"type":"array","items":{"type":"object"}},
                "next_cursor":{"type":["string","null"]}}})"},
             [&events](RequestContext& ctx) {
               auto q = BaseQuery(ctx.request());
               if (!q.ok()) return ErrorFrom(q.error());
               auto limit = IntArg(ctx.request(), "limit", 100, 1, 1000);
               if (!limit.ok()) return ErrorFrom(limit.error());
               q->limit = static_cast<int>(*limit);
               q->cursor = std::string(ctx.request().Query("cursor").value_or(""));
               auto page = events.Search(ctx.scope(), *q);
               if (!page.ok()) return EventsError(page.error());
               Response r;
               r.body = "{\"items\":[";
               for (std::size_t i = 0; i < page->items.size(); ++i) {
                 if (i > 0) r.body += ",";
                 r.body += page->items[i].json;
               }
               r.body += "],\"next_cursor\":";
               r.body += page->next_cursor.empty() ? "null" : "\"" + page->next_cursor + "\"";
               r.body += "}";
               return r;
             });

  auto histogram_params = WindowParams();
  histogram_params.push_back({.name = "interval", .description = "bucket width: 30s, 5m, 1h, 1d or auto (default)"});
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/events/histogram",
              .permission = Permission::kEventsRead,
              .summary = "Matching events counted per time bucket (every bucket, zeros included)",
              .tag = "events",
              .query_params = histogram_params,
              .response_schema = R"({"type":"array","items":{"type":"object","properties":{
                "time":{"type":"string"},"count":{"type":"integer"}}}})"},
             [&events](RequestContext& ctx) {
               auto q = BaseQuery(ctx.request());
               if (!q.ok()) return ErrorFrom(q.error());
               const std::int64_t to = q->to.ns != 0 ? q->to.ns : q->now.ns;
               const std::int64_t from = q->from.ns != 0 ? q->from.ns : to - core::Days(1);
               if (q->to.ns == 0) q->to = {to};
               if (q->from.ns == 0) q->from = {from};
               auto interval = ParseInterval(ctx.request().Query("interval").value_or(""), to - from);
               if (!interval.ok()) return ErrorFrom(interval.error());
               auto buckets = events.Histogram(ctx.scope(), *q, *interval);
               if (!buckets.ok()) return EventsError(buckets.error());
               nlohmann::json out = nlohmann::json::array();
               for (const auto& b : *buckets) out.push_back({{"time", core::FormatRfc3339(b.start, 0)}, {"count", b.count}});
               return JsonResponse(200, out);
             });

  auto export_params = WindowParams();
  export_params.push_back({.name = "format", .description = "ndjson (default) or csv"});
  export_params.push_back(
      {.name = "limit", .type = "integer", .description = "at most this many events (newest first); default: all"});
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/events/export",
              .permission = Permission::kEventsRead,
              .summary = "Every matching event as NDJSON or CSV, newest first, streamed (chunked transfer)",
              .tag = "events",
              .query_params = export_params,
              .content_type = "application/x-ndjson"},
             [&events](RequestContext& ctx) {
               auto q = BaseQuery(ctx.request());
               if (!q.ok()) return ErrorFrom(q.error());
               const std::string format(ctx.request().Query("format").value_or("ndjson"));
               if (format != "ndjson" && format != "csv")
                 return ErrorResponse(400, "invalid_argument", "format must be ndjson or csv");
               auto limit = IntArg(ctx.request(), "limit", 0, 1, INT64_MAX / 2);
               if (!limit.ok()) return ErrorFrom(limit.error());
               // The export pages through the store with its search cursor, one page per chunk
               // written to the client, so memory stays bounded by a page whatever the size.
               auto state = std::make_shared<ExportState>();
               state->scope = ctx.scope();
               state->query = std::move(*q);
               state->csv = format == "csv";
               state->limit = *limit;
               // The first page is read here so that a bad query is a 400, not a cut stream.
               state->query.limit = static_cast<int>(state->limit > 0 ? std::min<std::int64_t>(state->limit, kExportPage)
                                                                      : kExportPage);
               auto first = events.Search(state->scope, state->query);
               if (!first.ok()) return EventsError(first.error());
               state->first = std::move(*first);
               Response r;
               r.content_type = state->csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
               r.stream = [state, &events](std::string& out) { return state->Next(events, out); };
               r.SetHeader("Content-Disposition",
                           std::string("attachment; filename=\"medsoc-events.") + (state->csv ? "csv" : "ndjson") + "\"");
               ctx.audit_detail = "export " + format + (state->limit > 0 ? " limit=" + std::to_string(state->limit) : "") +
                                  " q=" + state->query.query;
               return r;
             });

  auto field_params = WindowParams();
  field_params.push_back({.name = "sample", .type = "integer", .description = "newest events to look at, 1-5000, default 500"});
  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/events/fields",
              .permission = Permission::kEventsRead,
              .summary = "Field names with how many of the newest matching events carry them (the search sidebar)",
              .tag = "events",
              .query_params = field_params,
              .response_schema = R"({"type":"object","properties":{"sampled":{"type":"integer"},
                "items":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"},
                "count":{"type":"integer"},"original":{"type":"boolean"}}}}}})"},
             [&events](RequestContext& ctx) {
               auto q = BaseQuery(ctx.request());
               if (!q.ok()) return ErrorFrom(q.error());
               auto sample = IntArg(ctx.request(), "sample", 500, 1, 5000);
               if (!sample.ok()) return ErrorFrom(sample.error());
               q->limit = static_cast<int>(*sample);
               auto page = events.Search(ctx.scope(), *q);
               if (!page.ok()) return EventsError(page.error());
               std::map<std::pair<std::string, bool>, std::int64_t> counts;
               for (const auto& e : page->items) {
                 auto doc = nlohmann::json::parse(e.json, nullptr, false);
                 if (!doc.is_object()) continue;
                 for (const char* space : {"fields", "original"}) {
                   auto it = doc.find(space);
                   if (it == doc.end() || !it->is_object()) continue;
                   for (const auto& [k, v] : it->items()) ++counts[{k, space[0] == 'o'}];
                 }
               }
               std::vector<std::pair<std::pair<std::string, bool>, std::int64_t>> sorted(counts.begin(), counts.end());
               std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
               nlohmann::json items = nlohmann::json::array();
               for (const auto& [key, n] : sorted) items.push_back({{"name", key.first}, {"count", n}, {"original", key.second}});
               return JsonResponse(200, {{"sampled", page->items.size()}, {"items", items}});
             });

  router.Add({.method = Method::kGet,
              .pattern = "/api/v1/events/{id}",
              .permission = Permission::kEventsRead,
              .summary = "One event by id (404 for an id of another tenant)",
              .tag = "events"},
             [&events](RequestContext& ctx) {
               auto e = events.Get(ctx.scope(), ctx.request().path_params["id"]);
               if (!e.ok()) return EventsError(e.error());
               Response r;
               r.body = e->json;
               return r;
             });
}

}  // namespace medsoc::api
