// AssetLedger: the asset inventory (资产台账) over the state database.
//
// Merge rules, the heart of the ledger:
//   * Manual and import are curated sources. An observation (scan, agent, log) never overwrites a
//     curated value: when it disagrees, a Review is queued (one pending review per asset,
//     attribute and proposed value) and the curated value stays until someone accepts it.
//   * An observation overwrites values that came from observations, and fills empty attributes.
//   * List attributes (ips, macs, tags) observed by a scan are merged (union), except that a new
//     MAC on an asset whose MACs are curated goes to review (a swapped device is worth a look).
//   * Services are keyed by (port, proto). An observation of a scan that covered a port closes an
//     open, observed service it did not see there (service_closed); a new one is service_opened; a
//     changed product/version is version_changed. Curated service rows follow the curated rule.
//   * Every change of a value is appended to asset_history with source, actor and time.
//   * The changes feed (asset_changes) records new_asset, gone, back, service_opened/closed,
//     version_changed, unknown_in_logs, new_exposure; a ChangeListener sees each change after its
//     transaction commits (the app turns them into pipeline events).
//
// Tenant isolation: every method takes a TenantScope and touches only that tenant's rows; an id
// of another tenant behaves as absent.
//
// Thread-safety: safe to call from any thread (one connection behind a mutex, like
// SqliteStateStore). Its own connection to state.db; other processes may write concurrently
// (BEGIN IMMEDIATE + busy_timeout).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "assets/model.h"
#include "core/result.h"
#include "store/sqlite/db.h"
#include "store/tenant.h"

namespace medsoc::assets {

// A set of attribute values to apply (name -> raw value; normalized by the ledger).
using AttributeMap = std::map<std::string, std::string>;

struct AssetQuery {
  std::string kind;             // exact attribute values; empty: any
  std::string zone;
  std::string business_system;
  std::string status;           // active, offline, retired; empty: any but retired
  std::string text;             // substring of name, hostname, IPs or MACs (case-insensitive)
  std::string ip;               // exact address
  std::string after_id;         // cursor: ids greater than this
  int limit = 100;              // <= 0: 100; capped at 10000
};

// What a scanner, agent or log source saw of one host.
struct Observation {
  std::string ip;                 // required
  std::string mac;                // optional
  AttributeMap attrs;             // hostname, os, os_version, mac_vendor, kind, vendor, model ...
  std::vector<Service> services;  // open services seen
  std::vector<Software> software;
};

struct ObserveContext {
  Source source = Source::kScan;
  std::string actor;    // "scan:<id>", "agent:<host>"
  std::string scan_id;  // "" outside a scan
  core::Timestamp at;   // 0: now
  // Ports this observation covered ("80/tcp"): an open observed service on one of them that the
  // observation lacks is closed. Empty: no service is closed.
  std::vector<std::string> covered_ports;
};

struct ObserveOutcome {
  std::string asset_id;
  bool created = false;
  int changes = 0;  // entries added to the changes feed
  int reviews = 0;  // values queued for review
};

struct ImportRow {
  int line = 0;             // source line (CSV) or row (XLSX), for messages
  std::string id;           // 资产编号, optional: update that asset
  std::string status;       // optional
  AttributeMap attrs;
  std::vector<Service> services;
  std::vector<Software> software;
};

struct ImportReport {
  int created = 0;
  int updated = 0;
  int unchanged = 0;
  std::vector<Error> errors;  // per row, with file:line; the other rows are imported
};

using ChangeListener = std::function<void(const std::string& tenant_id, const Change& change)>;

// A change as one ECS-style JSON event for the pipeline (the NDJSON ingest format):
// @timestamp, event.kind "event", event.module "medsoc", event.dataset "assets.change",
// event.action (new_asset, service_opened ...), event.category ["host"] (["network"] for
// services and exposures), event.type, host.id (asset id), host.ip, medsoc.tenant,
// medsoc.scan_id, and the change's detail under medsoc.asset_change.
std::string ChangeEventJson(const std::string& tenant_id, const Change& change);

class AssetLedger {
 public:
  // Opens its own connection to the state database at `path` and brings the schema up to date
  // (store migrations plus the assets migration; idempotent). ":memory:" gives a private ledger
  // for tests, with the default tenant.
  static Result<std::unique_ptr<AssetLedger>> Open(const std::string& path, int busy_timeout_ms = 5000);

  // Called after each committed change, on the calling thread and with the ledger's lock held:
  // the listener must not call back into the ledger (queue the change and return).
  void SetChangeListener(ChangeListener listener);

  // --- assets ---
  // Creates an asset with `attrs` from a curated source (manual or import). name or ips required.
  Result<Asset> Create(const store::TenantScope& scope, const AttributeMap& attrs, Source source,
                       const std::string& actor);
  // Sets attributes (empty value clears). A manual edit resolves pending reviews of the same
  // attributes as rejected (the human decided). kNotFound when absent.
  Result<Asset> Update(const store::TenantScope& scope, const std::string& id, const AttributeMap& attrs,
                       Source source, const std::string& actor, const std::string& note = "");
  Status SetStatus(const store::TenantScope& scope, const std::string& id, AssetStatus status,
                   const std::string& actor);
  // Deletes the asset and its rows (history stays).
  Status Delete(const store::TenantScope& scope, const std::string& id, const std::string& actor);
  Result<std::optional<Asset>> Get(const store::TenantScope& scope, const std::string& id);
  Result<std::optional<Asset>> FindByAddress(const store::TenantScope& scope, const std::string& ip_or_mac);
  Result<std::vector<Asset>> List(const store::TenantScope& scope, const AssetQuery& query);
  Result<std::int64_t> Count(const store::TenantScope& scope);
  // Manual service and software rows (curated).
  Status PutService(const store::TenantScope& scope, const std::string& id, const Service& service,
                    Source source, const std::string& actor);
  Status PutSoftware(const store::TenantScope& scope, const std::string& id, const Software& software,
                     Source source, const std::string& actor);
  Result<std::vector<HistoryEntry>> History(const store::TenantScope& scope, const std::string& id, int limit = 200);

  // --- observations ---
  Result<ObserveOutcome> Observe(const store::TenantScope& scope, const Observation& obs, const ObserveContext& ctx);
  // After a scan: every active asset with an IP for which `in_scope(ip)` holds and which is not in
  // `seen_ips` becomes offline (change "gone"). Returns how many.
  Result<int> MarkUnseen(const store::TenantScope& scope, const std::function<bool(const std::string&)>& in_scope,
                         const std::vector<std::string>& seen_ips, const std::string& scan_id);
  // Addresses seen in events: each one no asset has is recorded as unknown_in_logs, at most once
  // per address per day. Returns the unknown ones recorded now.
  Result<std::vector<std::string>> NoteAddressesSeen(const store::TenantScope& scope,
                                                     const std::vector<std::string>& ips, const std::string& context);

  // --- reviews ---
  Result<std::vector<Review>> ListReviews(const store::TenantScope& scope, const std::string& status = "pending");
  // Accept applies the proposed value as the observation's source; reject keeps the current one.
  Status DecideReview(const store::TenantScope& scope, const std::string& review_id, bool accept,
                      const std::string& actor);

  // --- import ---
  // Matches each row to an asset by id, else by IP, else by MAC, else by exact name; updates it
  // with source import, or creates it. Business systems named in rows are created when missing.
  Result<ImportReport> Import(const store::TenantScope& scope, const std::vector<ImportRow>& rows,
                              const std::string& actor, const std::string& file);

  // --- business systems ---
  Result<BusinessSystem> PutBusinessSystem(const store::TenantScope& scope, BusinessSystem system);  // by name
  Result<std::vector<BusinessSystem>> ListBusinessSystems(const store::TenantScope& scope);
  Result<std::optional<BusinessSystem>> GetBusinessSystem(const store::TenantScope& scope, const std::string& id_or_name);
  Status DeleteBusinessSystem(const store::TenantScope& scope, const std::string& id);  // kFailedPrecondition when in use

  // --- scans ---
  Result<ScanRecord> BeginScan(const store::TenantScope& scope, const std::string& started_by, const std::string& kind,
                               const std::string& scope_json);
  Status FinishScan(const store::TenantScope& scope, const ScanRecord& record);
  Result<std::vector<ScanRecord>> ListScans(const store::TenantScope& scope, int limit = 100);
  Result<std::optional<ScanRecord>> GetScan(const store::TenantScope& scope, const std::string& id);

  // --- changes feed ---
  Result<std::vector<Change>> ListChanges(const store::TenantScope& scope, std::int64_t after_seq, int limit = 200);

  // --- exposure ledger and domains ---
  Status PutExposure(const store::TenantScope& scope, Exposure exposure);
  Result<std::vector<Exposure>> ListExposures(const store::TenantScope& scope);
  Status DeleteExposure(const store::TenantScope& scope, const std::string& public_ip, std::uint16_t port,
                        const std::string& proto);
  // An external scan saw these public ip:port/proto open. Known ones get last_seen; unknown ones
  // are added (source scan, not approved) and recorded as new_exposure changes. Returns the new ones.
  Result<std::vector<Exposure>> ObserveExternal(const store::TenantScope& scope, const std::vector<Exposure>& seen,
                                                const std::string& scan_id);
  Status PutDomain(const store::TenantScope& scope, const Domain& domain);
  Result<std::vector<Domain>> ListDomains(const store::TenantScope& scope);
  // Names seen by a scan (certificate SANs, reverse DNS): each is lower-cased and checked (letters,
  // digits, '-', '_', '.', a leading "*."; at most 253 characters; IP addresses are skipped). A
  // known name gets the addresses merged in, an asset when it had none, and last_seen; an unknown
  // one is added with the given source. Returns how many were new.
  Result<int> ObserveDomains(const store::TenantScope& scope, const std::vector<Domain>& seen);

  // --- scan schedules ---
  // Stored per tenant as JSON text in the settings table (key "assets.scan_schedule/<name>");
  // ScanService checks and interprets them. Delete: kNotFound when absent.
  Status PutScheduleJson(const store::TenantScope& scope, const std::string& name, const std::string& json);
  Result<std::vector<std::pair<std::string, std::string>>> ListScheduleJson(const store::TenantScope& scope);
  Status DeleteSchedule(const store::TenantScope& scope, const std::string& name);
  struct StoredSchedule {
    std::string tenant, name, json;
  };
  // Every tenant's schedules (the server's scheduler).
  Result<std::vector<StoredSchedule>> AllScheduleJson();

  ~AssetLedger();

 private:
  explicit AssetLedger(std::unique_ptr<store::sqlite::Database> db);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace medsoc::assets
