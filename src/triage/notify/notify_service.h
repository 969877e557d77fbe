// NotificationService: tells people about incidents. Channels (e-mail, WeCom, DingTalk, Feishu,
// generic webhook, SMS gateway), routes from events to channels, and the delivery log that doubles
// as the persisted retry queue.
//
//   TriageService ──(same transaction)──► notify_outbox ──Tick: FanOut──► notify_deliveries ──Tick: Deliver──► receiver
//     incident.created / incident.escalated       routes: tenant, min severity,     pending → sent
//     (ingest), sla.breach (CheckSla)             asset group, time of day;         pending → pending (retry,
//                                                 dedup, rate limit                 backoff) → failed
//
// Events: incident.created, incident.escalated (severity rose), sla.breach (a clock breached; the
// message names the on-duty people of the next tier; SMS channels with to_oncall text them,
// DingTalk/WeCom @-mention their mobiles).
//
// Dedup: one delivery per channel, recipient and dedup key ("sla.breach:<incident>:<clock>") within
// dedup_window; repeats are logged as "deduplicated". Rate limit: a route's rate_per_hour caps the
// deliveries its channel takes in any hour; the excess is logged as "rate_limited" and not sent.
// Retries: a retryable failure is tried again after backoff_base * 2^(attempts-1), capped at
// backoff_max, up to max_attempts; then "failed". Pending rows survive a restart.
//
// Secrets: a channel's secrets are sealed with the master key (core::SecretBox) in the database and
// opened only to send; the API sees their names with the value "(set)".
//
// Thread-safety: all methods are safe to call from any thread; Tick() runs one at a time (a second
// concurrent call returns at once with an empty summary). Network I/O happens outside the lock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto.h"
#include "core/result.h"
#include "store/sqlite/db.h"
#include "store/tenant.h"
#include "triage/notify/channel.h"
#include "triage/notify/transport.h"
#include "triage/service.h"

namespace medsoc::triage::notify {

struct NotifyOptions {
  int max_attempts = 6;                                // then "failed"
  std::int64_t backoff_base_ns = core::Seconds(30);    // first retry after 30 s, then 60, 120 ...
  std::int64_t backoff_max_ns = core::Hours(1);
  std::int64_t dedup_window_ns = core::Hours(24);
  int utc_offset_minutes = 480;                        // routes' time of day (China Standard Time)
  int batch = 50;                                      // deliveries attempted per Tick
  std::string portal_url;                              // "https://soc.hospital.cn": incident links
  TransportOptions transport;
};

// A channel as the API shows it: secrets by name only.
struct ChannelView {
  Channel channel;                        // channel.secrets is empty
  std::vector<std::string> secret_names;  // shown as "(set)"
  core::Timestamp updated_at;
};

struct ChannelPatch {
  std::optional<std::string> name;
  std::optional<nlohmann::json> config;
  // Merged into the stored secrets; an empty value removes that secret.
  std::optional<std::map<std::string, std::string>> secrets;
  std::optional<bool> enabled;
};

struct Route {
  std::string id;
  std::string tenant_id;
  std::string name;
  std::string channel_id;
  Severity min_severity = Severity::kHigh;
  std::string asset_group;         // empty: any
  int start_minute = 0;            // local time of day, [start, end); start > end wraps midnight
  int end_minute = 1440;
  std::vector<std::string> events = {"incident.created", "incident.escalated", "sla.breach"};
  int rate_per_hour = 30;          // 0: unlimited
  bool enabled = true;
  core::Timestamp created_at;
};

struct Delivery {
  std::string id, tenant_id, channel_id, route_id, event, incident_id, recipient, dedup_key, status;
  int attempts = 0;
  core::Timestamp next_attempt_at, created_at, updated_at, sent_at;
  std::string last_error;
  long response_code = 0;
};

struct DeliveryQuery {
  std::string status, channel_id, incident_id;  // empty: any
  int limit = 100;                              // capped at 1000
};

struct TickSummary {
  int escalations = 0;   // SLA breaches found by CheckSla
  int events = 0;        // outbox rows fanned out
  int queued = 0;        // deliveries created as pending
  int sent = 0, retried = 0, failed = 0;
};

class NotificationService {
 public:
  // Opens its own connection to `db_path` (the state database, migrated to the triage schema).
  // `transport` defaults to CurlTransport. REQUIRES: triage and secrets outlive the service.
  static Result<std::unique_ptr<NotificationService>> Open(const std::string& db_path, TriageService& triage,
                                                           const core::SecretBox& secrets, NotifyOptions options = {},
                                                           std::unique_ptr<Transport> transport = nullptr);
  ~NotificationService();

  // --- channels ---
  Result<ChannelView> CreateChannel(const store::TenantScope& scope, Channel c);
  Result<std::vector<ChannelView>> ListChannels(const store::TenantScope& scope);
  Result<std::optional<ChannelView>> GetChannel(const store::TenantScope& scope, const std::string& id);
  Result<ChannelView> UpdateChannel(const store::TenantScope& scope, const std::string& id, const ChannelPatch& patch);
  // Deletes the channel and its routes; its delivery log stays.
  Status DeleteChannel(const store::TenantScope& scope, const std::string& id);

  // --- routes ---
  Result<Route> CreateRoute(const store::TenantScope& scope, Route r);
  Result<std::vector<Route>> ListRoutes(const store::TenantScope& scope);
  Result<Route> UpdateRoute(const store::TenantScope& scope, const std::string& id, Route r);
  Status DeleteRoute(const store::TenantScope& scope, const std::string& id);

  // --- delivery log ---
  Result<std::vector<Delivery>> ListDeliveries(const store::TenantScope& scope, const DeliveryQuery& q);
  // Sends a sample message now (no retries) and logs it as event "test".
  Result<Delivery> TestSend(const store::TenantScope& scope, const std::string& channel_id, core::Timestamp now);

  // --- housekeeping --- CheckSla(now), fan out the outbox, attempt due deliveries.
  Result<TickSummary> Tick(core::Timestamp now);
  // The two halves of Tick (tests drive them separately).
  Result<TickSummary> FanOut(core::Timestamp now);
  Result<TickSummary> DeliverDue(core::Timestamp now);

 private:
  struct OutboxRow;
  NotificationService(std::unique_ptr<store::sqlite::Database> db, TriageService& triage,
                      const core::SecretBox& secrets, NotifyOptions options, std::unique_ptr<Transport> transport);

  Result<std::optional<Channel>> LoadChannel(const std::string& tenant, const std::string& id, bool with_secrets);
  Result<TemplateVars> EventVars(const OutboxRow& row, core::Timestamp now);
  Status FanOutOne(const OutboxRow& row, const TemplateVars& vars, const std::vector<std::string>& asset_groups,
                   core::Timestamp now, TickSummary& sum);
  Status InsertDelivery(const Delivery& d, const std::string& payload);

  std::mutex mu_;       // db_
  std::mutex tick_mu_;  // one Tick at a time
  std::unique_ptr<store::sqlite::Database> db_;
  TriageService& triage_;
  const core::SecretBox& secrets_;
  NotifyOptions options_;
  std::unique_ptr<Transport> transport_;
};

}  // namespace medsoc::triage::notify
