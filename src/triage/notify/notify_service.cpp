#include "triage/notify/notify_service.h"

#include <algorithm>
#include <cstdio>

#include "core/ids.h"
#include <spdlog/spdlog.h>

namespace medsoc::triage::notify {

using nlohmann::json;
using store::TenantScope;
using store::sqlite::Database;
using store::sqlite::Statement;
using store::sqlite::Transaction;

struct NotificationService::OutboxRow {
  std::int64_t seq = 0;
  std::string tenant_id, event, incident_id;
  json detail;
  core::Timestamp created_at;
};

namespace {

constexpr const char* kChannelColumns =
    "tenant_id, id, name, kind, config, secret_sealed, secret_names, enabled, created_at, updated_at";
constexpr const char* kRouteColumns =
    "tenant_id, id, name, channel_id, min_severity, asset_group, start_minute, end_minute, events, rate_per_hour, "
    "enabled, created_at";
constexpr const char* kDeliveryColumns =
    "tenant_id, id, channel_id, route_id, event, incident_id, recipient, dedup_key, status, attempts, "
    "next_attempt_at, last_error, response_code, created_at, updated_at, sent_at";

std::string LocalTime(core::Timestamp t, int offset_minutes) {
  if (t.ns == 0) return {};
  const std::int64_t secs = t.seconds() + std::int64_t{offset_minutes} * 60;
  std::int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  core::CivilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld (UTC%+d)", static_cast<long long>(y), m, d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60), offset_minutes / 60);
  return buf;
}

int LocalMinute(core::Timestamp t, int offset_minutes) {
  std::int64_t secs = t.seconds() + std::int64_t{offset_minutes} * 60;
  std::int64_t rem = ((secs % 86400) + 86400) % 86400;
  return static_cast<int>(rem / 60);
}

bool InTimeOfDay(int minute, int start, int end) {
  if (start == end) return start == 0 || start == 1440 ? true : false;
  if (start < end) return minute >= start && minute < end;
  return minute >= start || minute < end;  // wraps midnight: 22:00-08:00
}

std::string_view EventNameZh(std::string_view event) {
  if (event == "incident.created") return "新安全事件";
  if (event == "incident.escalated") return "安全事件升级";
  if (event == "sla.breach") return "SLA 超时升级";
  if (event == "test") return "测试通知";
  return event;
}

std::string Join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : std::string(sep)) + s;
  return out;
}

Result<std::vector<std::string>> JsonStrings(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& x : j)
    if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

ChannelView ReadChannel(Statement& q, std::string& sealed) {
  ChannelView v;
  Channel& c = v.channel;
  c.tenant_id = q.ColumnText(0);
  c.id = q.ColumnText(1);
  c.name = q.ColumnText(2);
  c.kind = ParseChannelKind(q.ColumnText(3)).value_or(ChannelKind::kWebhook);
  c.config = json::parse(q.ColumnText(4), nullptr, false);
  if (!c.config.is_object()) c.config = json::object();
  sealed = q.ColumnText(5);
  v.secret_names = JsonStrings(q.ColumnText(6)).value();
  c.enabled = q.ColumnInt64(7) != 0;
  c.created_at = {q.ColumnInt64(8)};
  v.updated_at = {q.ColumnInt64(9)};
  return v;
}

Route ReadRoute(Statement& q) {
  Route r;
  r.tenant_id = q.ColumnText(0);
  r.id = q.ColumnText(1);
  r.name = q.ColumnText(2);
  r.channel_id = q.ColumnText(3);
  r.min_severity = ParseSeverity(q.ColumnText(4)).value_or(Severity::kHigh);
  r.asset_group = q.ColumnText(5);
  r.start_minute = static_cast<int>(q.ColumnInt64(6));
  r.end_minute = static_cast<int>(q.ColumnInt64(7));
  r.events = JsonStrings(q.ColumnText(8)).value();
  r.rate_per_hour = static_cast<int>(q.ColumnInt64(9));
  r.enabled = q.ColumnInt64(10) != 0;
  r.created_at = {q.ColumnInt64(11)};
  return r;
}

Delivery ReadDelivery(Statement& q) {
  Delivery d;
  d.tenant_id = q.ColumnText(0);
  d.id = q.ColumnText(1);
  d.channel_id = q.ColumnText(2);
  d.route_id = q.ColumnText(3);
  d.event = q.ColumnText(4);
  d.incident_id = q.ColumnText(5);
  d.recipient = q.ColumnText(6);
  d.dedup_key = q.ColumnText(7);
  d.status = q.ColumnText(8);
  d.attempts = static_cast<int>(q.ColumnInt64(9));
  d.next_attempt_at = {q.ColumnInt64(10)};
  d.last_error = q.ColumnText(11);
  d.response_code = static_cast<long>(q.ColumnInt64(12));
  d.created_at = {q.ColumnInt64(13)};
  d.updated_at = {q.ColumnInt64(14)};
  d.sent_at = {q.ColumnInt64(15)};
  return d;
}

Status ValidateRoute(const Route& r) {
  std::vector<std::string> p;
  if (r.channel_id.empty()) p.push_back("channel_id: required");
  if (r.start_minute < 0 || r.start_minute > 1440 || r.end_minute < 0 || r.end_minute > 1440)
    p.push_back("start_minute/end_minute: 0..1440");
  if (r.rate_per_hour < 0 || r.rate_per_hour > 100000) p.push_back("rate_per_hour: 0..100000");
  if (r.events.empty()) p.push_back("events: at least one");
  for (const auto& e : r.events)
    if (e != "incident.created" && e != "incident.escalated" && e != "sla.breach")
      p.push_back("events: unknown event '" + e + "' (incident.created, incident.escalated, sla.breach)");
  if (r.name.size() > 200) p.push_back("name: at most 200 characters");
  if (p.empty()) return Status();
  return Error(ErrorCode::kInvalidArgument, Join(p, "; "));
}

std::string SafeString(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

NotificationService::NotificationService(std::unique_ptr<Database> db, TriageService& triage,
                                         const core::SecretBox& secrets, NotifyOptions options,
                                         std::unique_ptr<Transport> transport)
    : db_(std::move(db)), triage_(triage), secrets_(secrets), options_(std::move(options)),
      transport_(std::move(transport)) {}

NotificationService::~NotificationService() = default;

Result<std::unique_ptr<NotificationService>> NotificationService::Open(const std::string& db_path, TriageService& triage,
                                                                       const core::SecretBox& secrets,
                                                                       NotifyOptions options,
                                                                       std::unique_ptr<Transport> transport) {
  MEDSOC_ASSIGN_OR_RETURN(auto db, Database::Open(db_path, {.busy_timeout_ms = 5000}));
  if (!transport) transport = std::make_unique<CurlTransport>(options.transport);
  return std::unique_ptr<NotificationService>(
      new NotificationService(std::move(db), triage, secrets, std::move(options), std::move(transport)));
}

// ---------------------------------------------------------------- channels

Result<ChannelView> NotificationService::CreateChannel(const TenantScope& scope, Channel c) {
  c.id = core::NewId();
  c.tenant_id = scope.tenant_id();
  c.created_at = core::Now();
  std::erase_if(c.secrets, [](const auto& kv) { return kv.second.empty(); });
  MEDSOC_TRY(ValidateChannel(c));
  json secret_obj = json::object();
  std::vector<std::string> names;
  for (const auto& [k, v] : c.secrets) {
    secret_obj[k] = v;
    names.push_back(k);
  }
  const std::string sealed = c.secrets.empty() ? std::string() : secrets_.Seal(secret_obj.dump());
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("INSERT INTO notify_channels (") + kChannelColumns +
                                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(q->BindAll(c.tenant_id, c.id, c.name, ChannelKindName(c.kind), c.config.dump(), sealed, json(names).dump(),
                        c.enabled ? 1 : 0, c.created_at.ns, c.created_at.ns));
  MEDSOC_TRY(q->Run());
  ChannelView v;
  v.channel = std::move(c);
  v.channel.secrets.clear();
  v.secret_names = std::move(names);
  v.updated_at = v.channel.created_at;
  return v;
}

Result<std::optional<Channel>> NotificationService::LoadChannel(const std::string& tenant, const std::string& id,
                                                                bool with_secrets) {
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kChannelColumns +
                                               " FROM notify_channels WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(tenant, id));
  MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<Channel>();
  std::string sealed;
  ChannelView v = ReadChannel(*q, sealed);
  if (with_secrets && !sealed.empty()) {
    auto plain = secrets_.Open(sealed);
    if (!plain.ok())
      return Error(ErrorCode::kFailedPrecondition, "channel secrets cannot be opened with this master key");
    auto obj = json::parse(*plain, nullptr, false);
    if (obj.is_object())
      for (auto it = obj.begin(); it != obj.end(); ++it)
        if (it->is_string()) v.channel.secrets[it.key()] = it->get<std::string>();
  }
  return std::optional<Channel>(std::move(v.channel));
}

Result<std::vector<ChannelView>> NotificationService::ListChannels(const TenantScope& scope) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kChannelColumns +
                                               " FROM notify_channels WHERE tenant_id = ? ORDER BY created_at, id"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id()));
  std::vector<ChannelView> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    std::string sealed;
    out.push_back(ReadChannel(*q, sealed));
  }
  return out;
}

Result<std::optional<ChannelView>> NotificationService::GetChannel(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kChannelColumns +
                                               " FROM notify_channels WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), id));
  MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<ChannelView>();
  std::string sealed;
  return std::optional<ChannelView>(ReadChannel(*q, sealed));
}

Result<ChannelView> NotificationService::UpdateChannel(const TenantScope& scope, const std::string& id,
                                                       const ChannelPatch& patch) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto loaded, LoadChannel(scope.tenant_id(), id, true));
  if (!loaded) return Error(ErrorCode::kNotFound, "no channel " + id);
  Channel c = std::move(*loaded);
  if (patch.name) c.name = *patch.name;
  if (patch.config) c.config = *patch.config;
  if (patch.enabled) c.enabled = *patch.enabled;
  if (patch.secrets)
    for (const auto& [k, v] : *patch.secrets) {
      if (v.empty()) c.secrets.erase(k);
      else c.secrets[k] = v;
    }
  MEDSOC_TRY(ValidateChannel(c));
  json secret_obj = json::object();
  std::vector<std::string> names;
  for (const auto& [k, v] : c.secrets) {
    secret_obj[k] = v;
    names.push_back(k);
  }
  const std::string sealed = c.secrets.empty() ? std::string() : secrets_.Seal(secret_obj.dump());
  const core::Timestamp now = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("UPDATE notify_channels SET name = ?, config = ?, secret_sealed = ?, "
                                               "secret_names = ?, enabled = ?, updated_at = ? WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(c.name, c.config.dump(), sealed, json(names).dump(), c.enabled ? 1 : 0, now.ns, scope.tenant_id(), id));
  MEDSOC_TRY(q->Run());
  ChannelView v;
  v.channel = std::move(c);
  v.channel.secrets.clear();
  v.secret_names = std::move(names);
  v.updated_at = now;
  return v;
}

Status NotificationService::DeleteChannel(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
  MEDSOC_ASSIGN_OR_RETURN(auto r, db_->Prepare("DELETE FROM notify_routes WHERE tenant_id = ? AND channel_id = ?"));
  MEDSOC_TRY(r->BindAll(scope.tenant_id(), id));
  MEDSOC_TRY(r->Run());
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM notify_channels WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), id));
  MEDSOC_TRY(q->Run());
  if (db_->Changes() == 0) return Error(ErrorCode::kNotFound, "no channel " + id);
  return tx.Commit();
}

// ---------------------------------------------------------------- routes

Result<Route> NotificationService::CreateRoute(const TenantScope& scope, Route r) {
  MEDSOC_TRY(ValidateRoute(r));
  r.id = core::NewId();
  r.tenant_id = scope.tenant_id();
  r.created_at = core::Now();
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto ch, LoadChannel(r.tenant_id, r.channel_id, false));
  if (!ch) return Error(ErrorCode::kNotFound, "no channel " + r.channel_id);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("INSERT INTO notify_routes (") + kRouteColumns +
                                               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(q->BindAll(r.tenant_id, r.id, r.name, r.channel_id, SeverityName(r.min_severity), r.asset_group,
                        r.start_minute, r.end_minute, json(r.events).dump(), r.rate_per_hour, r.enabled ? 1 : 0,
                        r.created_at.ns));
  MEDSOC_TRY(q->Run());
  return r;
}

Result<std::vector<Route>> NotificationService::ListRoutes(const TenantScope& scope) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kRouteColumns +
                                               " FROM notify_routes WHERE tenant_id = ? ORDER BY created_at, id"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id()));
  std::vector<Route> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back(ReadRoute(*q));
  }
  return out;
}

Result<Route> NotificationService::UpdateRoute(const TenantScope& scope, const std::string& id, Route r) {
  MEDSOC_TRY(ValidateRoute(r));
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto ch, LoadChannel(scope.tenant_id(), r.channel_id, false));
  if (!ch) return Error(ErrorCode::kNotFound, "no channel " + r.channel_id);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(
      "UPDATE notify_routes SET name = ?, channel_id = ?, min_severity = ?, asset_group = ?, start_minute = ?, "
      "end_minute = ?, events = ?, rate_per_hour = ?, enabled = ? WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(r.name, r.channel_id, SeverityName(r.min_severity), r.asset_group, r.start_minute, r.end_minute,
                        json(r.events).dump(), r.rate_per_hour, r.enabled ? 1 : 0, scope.tenant_id(), id));
  MEDSOC_TRY(q->Run());
  if (db_->Changes() == 0) return Error(ErrorCode::kNotFound, "no route " + id);
  r.id = id;
  r.tenant_id = scope.tenant_id();
  return r;
}

Status NotificationService::DeleteRoute(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("DELETE FROM notify_routes WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), id));
  MEDSOC_TRY(q->Run());
  if (db_->Changes() == 0) return Error(ErrorCode::kNotFound, "no route " + id);
  return Status();
}

// ---------------------------------------------------------------- delivery log

Result<std::vector<Delivery>> NotificationService::ListDeliveries(const TenantScope& scope, const DeliveryQuery& dq) {
  std::lock_guard lock(mu_);
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kDeliveryColumns +
                                               " FROM notify_deliveries WHERE tenant_id = ?1 AND (?2 = '' OR status = ?2) "
                                               "AND (?3 = '' OR channel_id = ?3) AND (?4 = '' OR incident_id = ?4) "
                                               "ORDER BY created_at DESC, id DESC LIMIT ?5"));
  MEDSOC_TRY(q->BindAll(scope.tenant_id(), dq.status, dq.channel_id, dq.incident_id, std::clamp(dq.limit, 1, 1000)));
  std::vector<Delivery> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    out.push_back(ReadDelivery(*q));
  }
  return out;
}

Status NotificationService::InsertDelivery(const Delivery& d, const std::string& payload) {
  MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("INSERT INTO notify_deliveries (") + kDeliveryColumns +
                                               ", payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  MEDSOC_TRY(q->BindAll(d.tenant_id, d.id, d.channel_id, d.route_id, d.event, d.incident_id, d.recipient, d.dedup_key,
                        d.status, d.attempts, d.next_attempt_at.ns, d.last_error, static_cast<std::int64_t>(d.response_code),
                        d.created_at.ns, d.updated_at.ns, d.sent_at.ns, payload));
  return q->Run();
}

Result<Delivery> NotificationService::TestSend(const TenantScope& scope, const std::string& channel_id,
                                               core::Timestamp now) {
  std::optional<Channel> ch;
  {
    std::lock_guard lock(mu_);
    MEDSOC_ASSIGN_OR_RETURN(ch, LoadChannel(scope.tenant_id(), channel_id, true));
  }
  if (!ch) return Error(ErrorCode::kNotFound, "no channel " + channel_id);
  TemplateVars vars = {{"event", "test"},
                       {"event_zh", std::string(EventNameZh("test"))},
                       {"tenant", scope.tenant_id()},
                       {"sent_at", LocalTime(now, options_.utc_offset_minutes)},
                       {"incident.id", "test"},
                       {"incident.number", "INC-000000"},
                       {"incident.title", "medsoc 测试通知 / test notification"},
                       {"incident.severity", "low"},
                       {"incident.severity_zh", "低"},
                       {"incident.status", "new"}};
  std::vector<std::string> phones = ch->config.contains("to") && ch->config["to"].is_array()
                                        ? ch->config["to"].get<std::vector<std::string>>()
                                        : std::vector<std::string>{};
  if (ch->kind == ChannelKind::kSms && !phones.empty()) vars["recipient.phone"] = phones.front();
  Delivery d;
  d.id = core::NewId();
  d.tenant_id = scope.tenant_id();
  d.channel_id = channel_id;
  d.event = "test";
  d.recipient = ch->kind == ChannelKind::kSms ? vars["recipient.phone"] : "";
  d.dedup_key = "test:" + d.id;
  d.attempts = 1;
  d.created_at = d.updated_at = now;
  auto out = BuildOutbound(*ch, vars, now);
  if (!out.ok()) {
    d.status = "failed";
    d.last_error = out.error().message();
  } else {
    SendOutcome r = transport_->Send(*out);
    d.status = r.ok ? "sent" : "failed";
    d.last_error = r.error;
    d.response_code = r.response_code;
    if (r.ok) d.sent_at = now;
  }
  std::lock_guard lock(mu_);
  MEDSOC_TRY(InsertDelivery(d, json(vars).dump()));
  return d;
}

// ---------------------------------------------------------------- housekeeping

Result<TickSummary> NotificationService::Tick(core::Timestamp now) {
  std::unique_lock tick(tick_mu_, std::try_to_lock);
  if (!tick.owns_lock()) return TickSummary{};
  MEDSOC_ASSIGN_OR_RETURN(auto escalations, triage_.CheckSla(now));
  MEDSOC_ASSIGN_OR_RETURN(TickSummary sum, FanOut(now));
  sum.escalations = static_cast<int>(escalations.size());
  MEDSOC_ASSIGN_OR_RETURN(TickSummary del, DeliverDue(now));
  sum.sent = del.sent;
  sum.retried = del.retried;
  sum.failed = del.failed;
  return sum;
}

Result<TemplateVars> NotificationService::EventVars(const OutboxRow& row, core::Timestamp now) {
  const TenantScope scope = TenantScope::Of(row.tenant_id);
  MEDSOC_ASSIGN_OR_RETURN(auto view, triage_.GetIncident(scope, row.incident_id));
  if (!view) return Error(ErrorCode::kNotFound, "incident " + row.incident_id + " is gone");
  const Incident& inc = view->incident;
  char number[32];
  std::snprintf(number, sizeof number, "INC-%06lld", static_cast<long long>(view->number));
  char score[32];
  std::snprintf(score, sizeof score, "%.0f", inc.score);
  TemplateVars v = {
      {"event", row.event},
      {"event_zh", std::string(EventNameZh(row.event))},
      {"tenant", row.tenant_id},
      {"incident.id", inc.id},
      {"incident.number", number},
      {"incident.title", inc.title},
      {"incident.severity", std::string(SeverityName(inc.severity))},
      {"incident.severity_zh", std::string(SeverityNameZh(inc.severity))},
      {"incident.status", std::string(IncidentStatusName(inc.status))},
      {"incident.score", score},
      {"incident.entities", Join(inc.entity_keys)},
      {"incident.tactics", Join(inc.tactics, " → ")},
      {"incident.alert_count", std::to_string(inc.alert_ids.size())},
      {"incident.created_at", LocalTime(inc.created_at, options_.utc_offset_minutes)},
      {"incident.owner", inc.owner},
      {"incident.url", options_.portal_url.empty() ? "" : options_.portal_url + "/incidents/" + inc.id},
  };
  std::vector<std::string> names, phones;
  if (row.event == "sla.breach") {
    v["sla.clock"] = SafeString(row.detail, "clock");
    v["sla.tier"] = std::to_string(row.detail.value("tier", 0));
    const auto due = row.detail.find("due_at_ns");
    if (due != row.detail.end() && due->is_number_integer())
      v["sla.deadline"] = LocalTime({due->get<std::int64_t>()}, options_.utc_offset_minutes);
    if (auto p = row.detail.find("oncall"); p != row.detail.end() && p->is_array())
      for (const auto& person : *p) {
        const std::string display = SafeString(person, "display");
        names.push_back(display.empty() ? SafeString(person, "user_id") : display);
        if (auto ph = SafeString(person, "phone"); !ph.empty()) phones.push_back(ph);
      }
  } else {
    // The first clock still running is the one the responder has to beat.
    MEDSOC_ASSIGN_OR_RETURN(auto clocks, triage_.IncidentSla(scope, inc.id, now));
    for (const auto& c : clocks)
      if (c.met_at.ns == 0) {
        v["sla.clock"] = c.name;
        v["sla.deadline"] = LocalTime(c.due_at, options_.utc_offset_minutes);
        break;
      }
    v["sla.tier"] = std::to_string(view->escalation_tier);
    MEDSOC_ASSIGN_OR_RETURN(auto duty, triage_.OnDutyNow(scope, now, view->escalation_tier));
    for (const auto& s : duty) {
      names.push_back(s.display.empty() ? s.user_id : s.display);
      if (!s.phone.empty()) phones.push_back(s.phone);
    }
  }
  v["oncall.names"] = Join(names);
  v["oncall.phones"] = Join(phones);
  return v;
}

Result<TickSummary> NotificationService::FanOut(core::Timestamp now) {
  TickSummary sum;
  std::vector<OutboxRow> rows;
  {
    std::lock_guard lock(mu_);
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare("SELECT seq, tenant_id, event, incident_id, detail, created_at "
                                                 "FROM notify_outbox ORDER BY seq LIMIT 500"));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      OutboxRow r{q->ColumnInt64(0), q->ColumnText(1), q->ColumnText(2), q->ColumnText(3),
                  json::parse(q->ColumnText(4), nullptr, false), {q->ColumnInt64(5)}};
      if (!r.detail.is_object()) r.detail = json::object();
      rows.push_back(std::move(r));
    }
  }
  for (const auto& row : rows) {
    // Read what the message needs before taking the write lock (the triage service has its own).
    auto vars = EventVars(row, now);
    std::vector<std::string> groups;
    if (vars.ok()) {
      MEDSOC_ASSIGN_OR_RETURN(auto assets, triage_.ListAssets(TenantScope::Of(row.tenant_id)));
      MEDSOC_ASSIGN_OR_RETURN(auto view, triage_.GetIncident(TenantScope::Of(row.tenant_id), row.incident_id));
      if (view)
        for (const auto& a : assets)
          if (!a.asset_group.empty() &&
              std::find(view->incident.entity_keys.begin(), view->incident.entity_keys.end(), "asset:" + a.id) !=
                  view->incident.entity_keys.end())
            groups.push_back(a.asset_group);
    } else {
      spdlog::warn("notify: dropping {} for incident {}: {}", row.event, row.incident_id, vars.error().message());
    }
    std::lock_guard lock(mu_);
    MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*db_));
    if (vars.ok()) MEDSOC_TRY(FanOutOne(row, *vars, groups, now, sum));
    MEDSOC_ASSIGN_OR_RETURN(auto del, db_->Prepare("DELETE FROM notify_outbox WHERE seq = ?"));
    MEDSOC_TRY(del->BindAll(row.seq));
    MEDSOC_TRY(del->Run());
    MEDSOC_TRY(tx.Commit());
    ++sum.events;
  }
  return sum;
}

// REQUIRES: mu_ held, inside a transaction.
Status NotificationService::FanOutOne(const OutboxRow& row, const TemplateVars& vars,
                                      const std::vector<std::string>& asset_groups, core::Timestamp now,
                                      TickSummary& sum) {
  const Severity severity = ParseSeverity(vars.at("incident.severity")).value_or(Severity::kLow);
  const int minute = LocalMinute(now, options_.utc_offset_minutes);
  std::string dedup_key = row.event + ":" + row.incident_id;
  if (row.event == "sla.breach") dedup_key += ":" + vars.at("sla.clock");
  if (row.event == "incident.escalated") dedup_key += ":" + vars.at("incident.severity");

  MEDSOC_ASSIGN_OR_RETURN(auto rq, db_->Prepare(std::string("SELECT ") + kRouteColumns +
                                                " FROM notify_routes WHERE tenant_id = ? AND enabled = 1 ORDER BY created_at, id"));
  MEDSOC_TRY(rq->BindAll(row.tenant_id));
  std::vector<Route> routes;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool r, rq->Step());
    if (!r) break;
    routes.push_back(ReadRoute(*rq));
  }
  for (const Route& route : routes) {
    if (std::find(route.events.begin(), route.events.end(), row.event) == route.events.end()) continue;
    if (severity < route.min_severity) continue;
    if (!route.asset_group.empty() &&
        std::find(asset_groups.begin(), asset_groups.end(), route.asset_group) == asset_groups.end())
      continue;
    if (!InTimeOfDay(minute, route.start_minute, route.end_minute)) continue;
    MEDSOC_ASSIGN_OR_RETURN(auto ch, LoadChannel(row.tenant_id, route.channel_id, false));
    if (!ch || !ch->enabled) continue;

    std::vector<std::string> recipients = {""};
    if (ch->kind == ChannelKind::kSms) {
      recipients.clear();
      if (auto to = ch->config.find("to"); to != ch->config.end() && to->is_array())
        for (const auto& x : *to)
          if (x.is_string()) recipients.push_back(x.get<std::string>());
      if (ch->config.value("to_oncall", false)) {
        const std::string phones = vars.at("oncall.phones");
        std::size_t start = 0;
        while (start < phones.size()) {
          auto end = phones.find(", ", start);
          if (end == std::string::npos) end = phones.size();
          recipients.push_back(phones.substr(start, end - start));
          start = end + 2;
        }
      }
      std::sort(recipients.begin(), recipients.end());
      recipients.erase(std::unique(recipients.begin(), recipients.end()), recipients.end());
    }
    if (recipients.empty()) {
      Delivery d{core::NewId(), row.tenant_id, ch->id, route.id, row.event, row.incident_id, "", dedup_key, "failed"};
      d.created_at = d.updated_at = now;
      d.last_error = "no recipient (nobody with a phone number on duty)";
      MEDSOC_TRY(InsertDelivery(d, json(vars).dump()));
      ++sum.failed;
      continue;
    }
    for (const auto& recipient : recipients) {
      Delivery d{core::NewId(), row.tenant_id, ch->id, route.id, row.event, row.incident_id, recipient, dedup_key, "pending"};
      d.created_at = d.updated_at = d.next_attempt_at = now;
      // Dedup: this message already went (or is going) to this channel and recipient.
      MEDSOC_ASSIGN_OR_RETURN(auto dq, db_->Prepare("SELECT count(*) FROM notify_deliveries WHERE tenant_id = ? AND "
                                                    "channel_id = ? AND dedup_key = ? AND recipient = ? AND status IN "
                                                    "('pending','sent') AND created_at >= ?"));
      MEDSOC_TRY(dq->BindAll(row.tenant_id, ch->id, dedup_key, recipient, (now - options_.dedup_window_ns).ns));
      MEDSOC_ASSIGN_OR_RETURN(bool drow, dq->Step());
      const bool duplicate = drow && dq->ColumnInt64(0) > 0;
      bool limited = false;
      if (!duplicate && route.rate_per_hour > 0) {
        MEDSOC_ASSIGN_OR_RETURN(auto cq, db_->Prepare("SELECT count(*) FROM notify_deliveries WHERE tenant_id = ? AND "
                                                      "channel_id = ? AND status IN ('pending','sent','failed') AND "
                                                      "event <> 'test' AND created_at > ?"));
        MEDSOC_TRY(cq->BindAll(row.tenant_id, ch->id, (now - core::Hours(1)).ns));
        MEDSOC_ASSIGN_OR_RETURN(bool crow, cq->Step());
        limited = crow && cq->ColumnInt64(0) >= route.rate_per_hour;
      }
      if (duplicate) d.status = "deduplicated";
      else if (limited) d.status = "rate_limited";
      else ++sum.queued;
      if (d.status != "pending") d.next_attempt_at = {};
      TemplateVars payload = vars;
      if (!recipient.empty()) payload["recipient.phone"] = recipient;
      MEDSOC_TRY(InsertDelivery(d, json(payload).dump()));
    }
  }
  return Status();
}

Result<TickSummary> NotificationService::DeliverDue(core::Timestamp now) {
  TickSummary sum;
  struct Due {
    Delivery d;
    std::string payload;
  };
  std::vector<Due> due;
  {
    std::lock_guard lock(mu_);
    MEDSOC_ASSIGN_OR_RETURN(auto q, db_->Prepare(std::string("SELECT ") + kDeliveryColumns +
                                                 ", payload FROM notify_deliveries WHERE status = 'pending' AND "
                                                 "next_attempt_at <= ? ORDER BY next_attempt_at, created_at LIMIT ?"));
    MEDSOC_TRY(q->BindAll(now.ns, options_.batch));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, q->Step());
      if (!row) break;
      due.push_back({ReadDelivery(*q), q->ColumnText(16)});
    }
  }
  std::map<std::pair<std::string, std::string>, std::optional<Channel>> channels;
  for (auto& [d, payload] : due) {
    auto key = std::make_pair(d.tenant_id, d.channel_id);
    SendOutcome r;
    auto it = channels.find(key);
    if (it == channels.end()) {
      std::lock_guard lock(mu_);
      auto ch = LoadChannel(d.tenant_id, d.channel_id, true);
      if (!ch.ok()) {
        r.error = ch.error().message();
        r.retryable = false;
        it = channels.emplace(key, std::nullopt).first;
      } else {
        it = channels.emplace(key, std::move(*ch)).first;
        if (!it->second) r.error = "channel deleted";
      }
    }
    if (it->second && !it->second->enabled) r.error = "channel disabled";
    if (it->second && it->second->enabled) {
      TemplateVars vars;
      auto pj = json::parse(payload, nullptr, false);
      if (pj.is_object())
        for (auto v = pj.begin(); v != pj.end(); ++v)
          if (v->is_string()) vars[v.key()] = v->get<std::string>();
      vars["sent_at"] = LocalTime(now, options_.utc_offset_minutes);
      auto out = BuildOutbound(*it->second, vars, now);
      if (!out.ok()) {
        r.error = out.error().message();
        r.retryable = false;
      } else {
        r = transport_->Send(*out);
      }
    } else if (r.error.empty()) {
      r.error = "channel unavailable";
    }
    if (!it->second || !it->second->enabled) r.retryable = false;

    d.attempts += 1;
    d.updated_at = now;
    d.response_code = r.response_code;
    d.last_error = r.error;
    if (r.ok) {
      d.status = "sent";
      d.sent_at = now;
      d.next_attempt_at = {};
      ++sum.sent;
    } else if (r.retryable && d.attempts < options_.max_attempts) {
      std::int64_t backoff = options_.backoff_base_ns;
      for (int i = 1; i < d.attempts && backoff < options_.backoff_max_ns; ++i) backoff *= 2;
      d.next_attempt_at = now + std::min(backoff, options_.backoff_max_ns);
      ++sum.retried;
    } else {
      d.status = "failed";
      d.next_attempt_at = {};
      ++sum.failed;
      spdlog::warn("notify: delivery {} on channel {} failed after {} attempts: {}", d.id, d.channel_id, d.attempts,
                      d.last_error);
    }
    std::lock_guard lock(mu_);
    MEDSOC_ASSIGN_OR_RETURN(auto u, db_->Prepare("UPDATE notify_deliveries SET status = ?, attempts = ?, next_attempt_at = "
                                                 "?, last_error = ?, response_code = ?, updated_at = ?, sent_at = ? "
                                                 "WHERE tenant_id = ? AND id = ?"));
    MEDSOC_TRY(u->BindAll(d.status, d.attempts, d.next_attempt_at.ns, d.last_error.substr(0, 1000),
                          static_cast<std::int64_t>(d.response_code), d.updated_at.ns, d.sent_at.ns, d.tenant_id, d.id));
    MEDSOC_TRY(u->Run());
  }
  return sum;
}

}  // namespace medsoc::triage::notify
