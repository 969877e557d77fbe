#include "assets/ledger.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "assets/assets_migration.h"
#include "core/ids.h"
#include "core/time.h"

namespace medsoc::assets {

using store::TenantScope;
using store::sqlite::Database;
using store::sqlite::Transaction;
using Json = nlohmann::json;

namespace {

std::string ServiceKey(std::uint16_t port, const std::string& proto) { return std::to_string(port) + "/" + proto; }

Json TlsToJson(const TlsInfo& t) {
  return {{"version", t.version}, {"versions", t.versions}, {"cipher", t.cipher},     {"subject", t.subject},
          {"issuer", t.issuer},   {"sans", t.sans},         {"not_before", t.not_before}, {"not_after", t.not_after},
          {"sha256", t.sha256},   {"self_signed", t.self_signed}};
}

std::optional<TlsInfo> TlsFromJson(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  TlsInfo t;
  t.version = j.value("version", "");
  t.versions = j.value("versions", std::vector<std::string>{});
  t.cipher = j.value("cipher", "");
  t.subject = j.value("subject", "");
  t.issuer = j.value("issuer", "");
  t.sans = j.value("sans", std::vector<std::string>{});
  t.not_before = j.value("not_before", "");
  t.not_after = j.value("not_after", "");
  t.sha256 = j.value("sha256", "");
  t.self_signed = j.value("self_signed", false);
  return t;
}

std::string ServiceSummary(const Service& s) {
  Json j = {{"service", s.service}, {"product", s.product}, {"version", s.version}, {"cpe", s.cpe}};
  return j.dump();
}

// Guess the asset kind from what was seen, for new assets only (curated kinds always win).
std::string GuessKind(const Observation& obs) {
  std::set<std::string> names;
  for (const auto& s : obs.services) names.insert(s.service);
  if (names.count("dicom")) return "dicom_node";
  if (names.count("hl7-mllp")) return "server";
  if (names.count("modbus") || names.count("bacnet") || names.count("s7comm")) return "plc";
  if (names.count("ipp") || names.count("jetdirect") || names.count("lpd") || names.count("pjl")) return "printer";
  for (const char* db : {"mysql", "postgresql", "ms-sql", "oracle-tns", "mongodb", "redis"})
    if (names.count(db)) return "server";
  if (names.count("rdp") || names.count("microsoft-ds")) return names.count("http") ? "server" : "workstation";
  if (!names.empty()) return "server";
  return "unknown";
}

}  // namespace

struct AssetLedger::Impl {
  std::mutex mu;
  std::unique_ptr<Database> db;
  ChangeListener listener;
  std::vector<std::pair<std::string, Change>> pending_changes;  // published after commit

  // ---- small SQL helpers ----
  template <typename... Args>
  Status Exec(std::string_view sql, const Args&... args) {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db->Prepare(sql));
    MEDSOC_TRY(st->BindAll(args...));
    return st->Run();
  }

  void Publish() {
    auto changes = std::move(pending_changes);
    pending_changes.clear();
    if (!listener) return;
    for (const auto& [tenant, c] : changes) listener(tenant, c);
  }

  Status AddChange(const std::string& tenant, ChangeKind kind, const std::string& asset_id, const std::string& address,
                   const Json& detail, const std::string& scan_id, core::Timestamp at) {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db->Prepare("INSERT INTO asset_changes (tenant_id, at, kind, asset_id, address, "
                                                 "detail, scan_id) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    std::string d = detail.dump();
    MEDSOC_TRY(st->BindAll(tenant, at.ns, ChangeKindName(kind), asset_id, address, d, scan_id));
    MEDSOC_TRY(st->Run());
    Change c{sqlite3_last_insert_rowid_safe(), at, kind, asset_id, address, d, scan_id};
    pending_changes.emplace_back(tenant, std::move(c));
    return Ok();
  }

  std::int64_t sqlite3_last_insert_rowid_safe();

  Status AddHistory(const std::string& tenant, const std::string& asset_id, core::Timestamp at, std::string_view attribute,
                    std::string_view old_value, std::string_view new_value, std::string_view source,
                    std::string_view actor, std::string_view note) {
    return Exec("INSERT INTO asset_history (tenant_id, asset_id, at, attribute, old_value, new_value, source, actor, "
                "note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tenant, asset_id, at.ns, attribute, old_value, new_value, source, actor, note);
  }

  Result<std::optional<Asset>> Load(const std::string& tenant, const std::string& id) {
    Asset a;
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, db->Prepare("SELECT status, first_seen, last_seen, created_at, updated_at "
                                                   "FROM assets WHERE tenant_id = ? AND id = ?"));
      MEDSOC_TRY(st->BindAll(tenant, id));
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) return std::optional<Asset>();
      a.id = id;
      a.status = ParseStatus(st->ColumnText(0)).value_or(AssetStatus::kActive);
      a.first_seen = {st->ColumnInt64(1)};
      a.last_seen = {st->ColumnInt64(2)};
      a.created_at = {st->ColumnInt64(3)};
      a.updated_at = {st->ColumnInt64(4)};
    }
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, db->Prepare("SELECT name, value, source, updated_at, updated_by FROM "
                                                   "asset_attributes WHERE tenant_id = ? AND asset_id = ?"));
      MEDSOC_TRY(st->BindAll(tenant, id));
      while (true) {
        MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        a.attrs[st->ColumnText(0)] = {st->ColumnText(1), ParseSource(st->ColumnText(2)).value_or(Source::kManual),
                                      {st->ColumnInt64(3)}, st->ColumnText(4)};
      }
    }
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, db->Prepare(
          "SELECT port, proto, state, service, product, version, cpe, banner, tls, extra, source, first_seen, last_seen "
          "FROM asset_services WHERE tenant_id = ? AND asset_id = ? ORDER BY proto, port"));
      MEDSOC_TRY(st->BindAll(tenant, id));
      while (true) {
        MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        Service s;
        s.port = static_cast<std::uint16_t>(st->ColumnInt64(0));
        s.proto = st->ColumnText(1);
        s.open = st->ColumnText(2) == "open";
        s.service = st->ColumnText(3);
        s.product = st->ColumnText(4);
        s.version = st->ColumnText(5);
        s.cpe = st->ColumnText(6);
        s.banner = st->ColumnText(7);
        s.tls = TlsFromJson(st->ColumnText(8));
        auto extra = Json::parse(st->ColumnText(9), nullptr, false);
        if (extra.is_object())
          for (auto it = extra.begin(); it != extra.end(); ++it)
            if (it.value().is_string()) s.extra[it.key()] = it.value().get<std::string>();
        s.source = ParseSource(st->ColumnText(10)).value_or(Source::kScan);
        s.first_seen = {st->ColumnInt64(11)};
        s.last_seen = {st->ColumnInt64(12)};
        a.services.push_back(std::move(s));
      }
    }
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, db->Prepare("SELECT name, version, cpe, purl, source, first_seen, last_seen FROM "
                                                   "asset_software WHERE tenant_id = ? AND asset_id = ? ORDER BY name"));
      MEDSOC_TRY(st->BindAll(tenant, id));
      while (true) {
        MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
        if (!row) break;
        a.software.push_back({st->ColumnText(0), st->ColumnText(1), st->ColumnText(2), st->ColumnText(3),
                              ParseSource(st->ColumnText(4)).value_or(Source::kManual),
                              {st->ColumnInt64(5)}, {st->ColumnInt64(6)}});
      }
    }
    return std::optional<Asset>(std::move(a));
  }

  Result<std::string> AssetByAddress(const std::string& tenant, std::string_view kind, const std::string& address) {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db->Prepare(
        "SELECT asset_id FROM asset_addresses WHERE tenant_id = ? AND kind = ? AND address = ?"));
    MEDSOC_TRY(st->BindAll(tenant, kind, address));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    return row ? st->ColumnText(0) : std::string();
  }

  // Rewrites the address index of one asset for `kind` ("ip"/"mac") from a JSON list.
  Status SyncAddresses(const std::string& tenant, const std::string& asset_id, std::string_view kind,
                       const std::string& json_list) {
    MEDSOC_TRY(Exec("DELETE FROM asset_addresses WHERE tenant_id = ? AND asset_id = ? AND kind = ?", tenant, asset_id,
                    kind));
    for (const auto& addr : ListFromJson(json_list)) {
      MEDSOC_ASSIGN_OR_RETURN(std::string owner, AssetByAddress(tenant, kind, addr));
      if (!owner.empty() && owner != asset_id)
        return Error(ErrorCode::kAlreadyExists, std::string(kind == "ip" ? "IP" : "MAC") + " address " + addr +
                                                    " already belongs to asset " + owner);
      MEDSOC_TRY(Exec("INSERT INTO asset_addresses (tenant_id, kind, address, asset_id) VALUES (?, ?, ?, ?)", tenant,
                      kind, addr, asset_id));
    }
    return Ok();
  }

  // Writes one attribute (normalized value; empty clears) with history. No curated check here.
  Status WriteAttr(const std::string& tenant, Asset& a, const std::string& name, const std::string& value,
                   Source source, core::Timestamp at, const std::string& by, const std::string& note) {
    auto it = a.attrs.find(name);
    const std::string old = it == a.attrs.end() ? "" : it->second.value;
    if (old == value) {
      if (it != a.attrs.end() && !value.empty() && it->second.source == source && !IsCurated(source)) {
        // Same value confirmed by the same source: refresh its time, no history.
        MEDSOC_TRY(Exec("UPDATE asset_attributes SET updated_at = ?, updated_by = ? WHERE tenant_id = ? AND "
                        "asset_id = ? AND name = ?", at.ns, by, tenant, a.id, name));
        it->second.at = at;
      } else if (it != a.attrs.end() && !value.empty() && IsCurated(source) && !IsCurated(it->second.source)) {
        // A human confirmed an observed value: it becomes curated.
        MEDSOC_TRY(Exec("UPDATE asset_attributes SET source = ?, updated_at = ?, updated_by = ? WHERE tenant_id = ? "
                        "AND asset_id = ? AND name = ?", SourceName(source), at.ns, by, tenant, a.id, name));
        it->second = {value, source, at, by};
      }
      return Ok();
    }
    if (value.empty()) {
      MEDSOC_TRY(Exec("DELETE FROM asset_attributes WHERE tenant_id = ? AND asset_id = ? AND name = ?", tenant, a.id,
                      name));
      a.attrs.erase(name);
    } else {
      MEDSOC_TRY(Exec("INSERT INTO asset_attributes (tenant_id, asset_id, name, value, source, updated_at, updated_by) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, asset_id, name) DO UPDATE SET "
                      "value = excluded.value, source = excluded.source, updated_at = excluded.updated_at, "
                      "updated_by = excluded.updated_by",
                      tenant, a.id, name, value, SourceName(source), at.ns, by));
      a.attrs[name] = {value, source, at, by};
    }
    if (name == "ips") MEDSOC_TRY(SyncAddresses(tenant, a.id, "ip", value));
    if (name == "macs") MEDSOC_TRY(SyncAddresses(tenant, a.id, "mac", value));
    return AddHistory(tenant, a.id, at, name, old, value, SourceName(source), by, note);
  }

  Status Touch(const std::string& tenant, const std::string& id, core::Timestamp at) {
    return Exec("UPDATE assets SET updated_at = ? WHERE tenant_id = ? AND id = ?", at.ns, tenant, id);
  }

  Result<bool> BusinessSystemExists(const std::string& tenant, const std::string& name) {
    MEDSOC_ASSIGN_OR_RETURN(auto st, db->Prepare("SELECT 1 FROM business_systems WHERE tenant_id = ? AND name = ?"));
    MEDSOC_TRY(st->BindAll(tenant, name));
    return st->Step();
  }

  // Normalizes and applies curated attributes; REQUIRES: in a transaction.
  Status ApplyCurated(const std::string& tenant, Asset& a, const AttributeMap& attrs, Source source,
                      const std::string& actor, const std::string& note, core::Timestamp at, bool create_systems) {
    for (const auto& [name, raw] : attrs) {
      const AttributeSpec* spec = FindAttribute(name);
      if (!spec) return Error(ErrorCode::kInvalidArgument, "unknown attribute '" + name + "'");
      MEDSOC_ASSIGN_OR_RETURN(std::string value, NormalizeValue(*spec, raw));
      if (name == "business_system" && !value.empty()) {
        MEDSOC_ASSIGN_OR_RETURN(bool exists, BusinessSystemExists(tenant, value));
        if (!exists) {
          if (!create_systems)
            return Error(ErrorCode::kInvalidArgument, "business system '" + value + "' does not exist");
          MEDSOC_TRY(Exec("INSERT INTO business_systems (id, tenant_id, name, mlps_level, owner_department, owner, "
                          "description, created_at, updated_at) VALUES (?, ?, ?, 0, '', '', '', ?, ?)",
                          core::NewId(), tenant, value, at.ns, at.ns));
        }
      }
      MEDSOC_TRY(WriteAttr(tenant, a, name, value, source, at, actor, note));
      // A human decision settles pending reviews of this attribute.
      MEDSOC_TRY(Exec("UPDATE asset_reviews SET status = 'rejected', decided_at = ?, decided_by = ? WHERE tenant_id = ? "
                      "AND asset_id = ? AND attribute = ? AND status = 'pending'",
                      at.ns, actor, tenant, a.id, name));
    }
    return Ok();
  }

  Result<bool> QueueReview(const std::string& tenant, const std::string& asset_id, const std::string& attribute,
                           const std::string& current, const std::string& proposed, Source source,
                           const std::string& by, core::Timestamp at) {
    {
      MEDSOC_ASSIGN_OR_RETURN(auto st, db->Prepare("SELECT 1 FROM asset_reviews WHERE tenant_id = ? AND asset_id = ? "
                                                   "AND attribute = ? AND status IN ('pending', 'rejected') AND "
                                                   "proposed = ? AND current = ?"));
      MEDSOC_TRY(st->BindAll(tenant, asset_id, attribute, proposed, current));
      MEDSOC_ASSIGN_OR_RETURN(bool dup, st->Step());
      if (dup) return false;  // already pending, or a human already said no to exactly this
    }
    MEDSOC_TRY(Exec("INSERT INTO asset_reviews (id, tenant_id, asset_id, attribute, current, proposed, source, "
                    "proposed_at, proposed_by, status, decided_at, decided_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                    "'pending', 0, '')",
                    core::NewId(), tenant, asset_id, attribute, current, proposed, SourceName(source), at.ns, by));
    return true;
  }

  Status WriteService(const std::string& tenant, const std::string& asset_id, const Service& s, bool open,
                      core::Timestamp first_seen, core::Timestamp last_seen) {
    Json extra = Json::object();
    for (const auto& [k, v] : s.extra) extra[k] = v;
    return Exec("INSERT INTO asset_services (tenant_id, asset_id, port, proto, state, service, product, version, cpe, "
                "banner, tls, extra, source, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant_id, asset_id, port, proto) DO UPDATE SET state = excluded.state, "
                "service = excluded.service, product = excluded.product, version = excluded.version, "
                "cpe = excluded.cpe, banner = excluded.banner, tls = excluded.tls, extra = excluded.extra, "
                "source = excluded.source, last_seen = excluded.last_seen",
                tenant, asset_id, static_cast<int>(s.port), s.proto, open ? "open" : "closed", s.service, s.product,
                s.version, s.cpe, s.banner.substr(0, 1024), s.tls ? TlsToJson(*s.tls).dump() : std::string(),
                extra.empty() ? std::string() : extra.dump(), SourceName(s.source), first_seen.ns, last_seen.ns);
  }

  Status WriteSoftware(const std::string& tenant, const std::string& asset_id, const Software& sw) {
    return Exec("INSERT INTO asset_software (tenant_id, asset_id, name, version, cpe, purl, source, first_seen, "
                "last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, asset_id, name, version) DO "
                "UPDATE SET cpe = excluded.cpe, purl = excluded.purl, source = excluded.source, "
                "last_seen = excluded.last_seen",
                tenant, asset_id, sw.name, sw.version, sw.cpe, sw.purl, SourceName(sw.source), sw.first_seen.ns,
                sw.last_seen.ns);
  }

  Result<Asset> NewAsset(const std::string& tenant, core::Timestamp at, const std::string& actor, Source source) {
    Asset a;
    a.id = core::NewId();
    a.first_seen = a.last_seen = a.created_at = a.updated_at = at;
    // Curated assets have not been "seen" yet.
    if (IsCurated(source)) a.first_seen = a.last_seen = {0};
    MEDSOC_TRY(Exec("INSERT INTO assets (id, tenant_id, status, first_seen, last_seen, created_at, updated_at) VALUES "
                    "(?, ?, 'active', ?, ?, ?, ?)",
                    a.id, tenant, a.first_seen.ns, a.last_seen.ns, at.ns, at.ns));
    MEDSOC_TRY(AddHistory(tenant, a.id, at, "asset", "", "created", SourceName(source), actor, ""));
    return a;
  }
};

std::int64_t AssetLedger::Impl::sqlite3_last_insert_rowid_safe() {
  auto st = db->Prepare("SELECT last_insert_rowid()");
  if (!st.ok()) return 0;
  auto row = (*st)->Step();
  return row.ok() && *row ? (*st)->ColumnInt64(0) : 0;
}

std::string ChangeEventJson(const std::string& tenant_id, const Change& c) {
  const std::string_view action = ChangeKindName(c.kind);
  const bool network = c.kind == ChangeKind::kServiceOpened || c.kind == ChangeKind::kServiceClosed ||
                       c.kind == ChangeKind::kVersionChanged || c.kind == ChangeKind::kNewExposure;
  const char* type = c.kind == ChangeKind::kNewAsset || c.kind == ChangeKind::kServiceOpened ||
                             c.kind == ChangeKind::kNewExposure
                         ? "creation"
                     : c.kind == ChangeKind::kGone || c.kind == ChangeKind::kServiceClosed ? "deletion"
                     : c.kind == ChangeKind::kUnknownInLogs                                  ? "info"
                                                                                             : "change";
  Json detail = Json::parse(c.detail, nullptr, false);
  Json j = {{"@timestamp", core::FormatRfc3339(c.at)},
            {"event", {{"kind", "event"}, {"module", "medsoc"}, {"dataset", "assets.change"}, {"action", action},
                       {"category", Json::array({network ? "network" : "host"})}, {"type", Json::array({type})}}},
            {"medsoc", {{"tenant", tenant_id}, {"scan_id", c.scan_id}, {"change_seq", c.seq},
                        {"asset_change", detail.is_discarded() ? Json::object() : detail}}}};
  if (!c.asset_id.empty()) j["host"]["id"] = c.asset_id;
  if (!c.address.empty()) j["host"]["ip"] = Json::array({c.address});
  return j.dump();
}

AssetLedger::AssetLedger(std::unique_ptr<Database> db) : impl_(std::make_unique<Impl>()) { impl_->db = std::move(db); }
AssetLedger::~AssetLedger() = default;

Result<std::unique_ptr<AssetLedger>> AssetLedger::Open(const std::string& path, int busy_timeout_ms) {
  store::sqlite::ConnectionOptions options;
  options.busy_timeout_ms = busy_timeout_ms;
  MEDSOC_ASSIGN_OR_RETURN(auto db, Database::Open(path, options));
  auto migrations = AssetsSchemaMigrations();
  MEDSOC_TRY(store::sqlite::RunMigrations(*db, migrations));
  return std::unique_ptr<AssetLedger>(new AssetLedger(std::move(db)));
}

void AssetLedger::SetChangeListener(ChangeListener listener) {
  std::lock_guard lock(impl_->mu);
  impl_->listener = std::move(listener);
}

Result<Asset> AssetLedger::Create(const TenantScope& scope, const AttributeMap& attrs, Source source,
                                  const std::string& actor) {
  const std::string& t = scope.tenant_id();
  auto has = [&](const char* k) { auto it = attrs.find(k); return it != attrs.end() && !it->second.empty(); };
  if (!has("name") && !has("ips") && !has("hostname"))
    return Error(ErrorCode::kInvalidArgument, "an asset needs a name, an IP address or a hostname");
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_ASSIGN_OR_RETURN(Asset a, impl_->NewAsset(t, at, actor, source));
  MEDSOC_TRY(impl_->ApplyCurated(t, a, attrs, source, actor, "", at, false));
  MEDSOC_TRY(tx.Commit());
  impl_->pending_changes.clear();
  MEDSOC_ASSIGN_OR_RETURN(auto loaded, impl_->Load(t, a.id));
  return std::move(*loaded);
}

Result<Asset> AssetLedger::Update(const TenantScope& scope, const std::string& id, const AttributeMap& attrs,
                                  Source source, const std::string& actor, const std::string& note) {
  const std::string& t = scope.tenant_id();
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_ASSIGN_OR_RETURN(auto a, impl_->Load(t, id));
  if (!a) return Error(ErrorCode::kNotFound, "asset " + id + " not found");
  MEDSOC_TRY(impl_->ApplyCurated(t, *a, attrs, source, actor, note, at, false));
  MEDSOC_TRY(impl_->Touch(t, id, at));
  MEDSOC_TRY(tx.Commit());
  MEDSOC_ASSIGN_OR_RETURN(auto loaded, impl_->Load(t, id));
  return std::move(*loaded);
}

Status AssetLedger::SetStatus(const TenantScope& scope, const std::string& id, AssetStatus status,
                              const std::string& actor) {
  const std::string& t = scope.tenant_id();
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_ASSIGN_OR_RETURN(auto a, impl_->Load(t, id));
  if (!a) return Error(ErrorCode::kNotFound, "asset " + id + " not found");
  if (a->status == status) return Ok();
  MEDSOC_TRY(impl_->Exec("UPDATE assets SET status = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                         StatusName(status), at.ns, t, id));
  MEDSOC_TRY(impl_->AddHistory(t, id, at, "status", StatusName(a->status), StatusName(status), "manual", actor, ""));
  return tx.Commit();
}

Status AssetLedger::Delete(const TenantScope& scope, const std::string& id, const std::string& actor) {
  const std::string& t = scope.tenant_id();
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_ASSIGN_OR_RETURN(auto a, impl_->Load(t, id));
  if (!a) return Error(ErrorCode::kNotFound, "asset " + id + " not found");
  MEDSOC_TRY(impl_->Exec("DELETE FROM assets WHERE tenant_id = ? AND id = ?", t, id));
  MEDSOC_TRY(impl_->AddHistory(t, id, core::Now(), "asset", a->Get("name"), "deleted", "manual", actor, ""));
  return tx.Commit();
}

Result<std::optional<Asset>> AssetLedger::Get(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(impl_->mu);
  return impl_->Load(scope.tenant_id(), id);
}

Result<std::optional<Asset>> AssetLedger::FindByAddress(const TenantScope& scope, const std::string& address) {
  std::lock_guard lock(impl_->mu);
  std::string id;
  if (auto ip = NormalizeIp(address)) {
    MEDSOC_ASSIGN_OR_RETURN(id, impl_->AssetByAddress(scope.tenant_id(), "ip", *ip));
  } else if (auto mac = NormalizeMac(address)) {
    MEDSOC_ASSIGN_OR_RETURN(id, impl_->AssetByAddress(scope.tenant_id(), "mac", *mac));
  } else {
    return Error(ErrorCode::kInvalidArgument, "'" + address + "' is neither an IP nor a MAC address");
  }
  if (id.empty()) return std::optional<Asset>();
  return impl_->Load(scope.tenant_id(), id);
}

Result<std::vector<Asset>> AssetLedger::List(const TenantScope& scope, const AssetQuery& q) {
  const std::string& t = scope.tenant_id();
  int limit = q.limit <= 0 ? 100 : std::min(q.limit, 10000);
  std::lock_guard lock(impl_->mu);
  static constexpr std::string_view kSql =
      "SELECT a.id FROM assets a WHERE a.tenant_id = :t AND a.id > :after "
      "AND (:status = '' AND a.status <> 'retired' OR a.status = :status) "
      "AND (:kind = '' OR EXISTS (SELECT 1 FROM asset_attributes x WHERE x.tenant_id = a.tenant_id AND "
      "  x.asset_id = a.id AND x.name = 'kind' AND x.value = :kind)) "
      "AND (:zone = '' OR EXISTS (SELECT 1 FROM asset_attributes x WHERE x.tenant_id = a.tenant_id AND "
      "  x.asset_id = a.id AND x.name = 'zone' AND x.value = :zone)) "
      "AND (:bs = '' OR EXISTS (SELECT 1 FROM asset_attributes x WHERE x.tenant_id = a.tenant_id AND "
      "  x.asset_id = a.id AND x.name = 'business_system' AND x.value = :bs)) "
      "AND (:ip = '' OR EXISTS (SELECT 1 FROM asset_addresses x WHERE x.tenant_id = a.tenant_id AND "
      "  x.kind = 'ip' AND x.address = :ip AND x.asset_id = a.id)) "
      "AND (:text = '' OR EXISTS (SELECT 1 FROM asset_attributes x WHERE x.tenant_id = a.tenant_id AND "
      "  x.asset_id = a.id AND x.name IN ('name', 'hostname', 'ips', 'macs') AND "
      "  instr(lower(x.value), lower(:text)) > 0)) "
      "ORDER BY a.id LIMIT :limit";
  std::vector<std::string> ids;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare(kSql));
    std::string ip = q.ip.empty() ? "" : NormalizeIp(q.ip).value_or(q.ip);
    MEDSOC_TRY(st->BindText(":t", t));
    MEDSOC_TRY(st->BindText(":after", q.after_id));
    MEDSOC_TRY(st->BindText(":status", q.status));
    MEDSOC_TRY(st->BindText(":kind", q.kind));
    MEDSOC_TRY(st->BindText(":zone", q.zone));
    MEDSOC_TRY(st->BindText(":bs", q.business_system));
    MEDSOC_TRY(st->BindText(":ip", ip));
    MEDSOC_TRY(st->BindText(":text", q.text));
    MEDSOC_TRY(st->BindInt64(":limit", limit));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      ids.push_back(st->ColumnText(0));
    }
  }
  std::vector<Asset> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    MEDSOC_ASSIGN_OR_RETURN(auto a, impl_->Load(t, id));
    if (a) out.push_back(std::move(*a));
  }
  return out;
}

Result<std::int64_t> AssetLedger::Count(const TenantScope& scope) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT count(*) FROM assets WHERE tenant_id = ?"));
  MEDSOC_TRY(st->BindAll(scope.tenant_id()));
  MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
  return row ? st->ColumnInt64(0) : 0;
}

Status AssetLedger::PutService(const TenantScope& scope, const std::string& id, const Service& service, Source source,
                               const std::string& actor) {
  const std::string& t = scope.tenant_id();
  if (service.proto != "tcp" && service.proto != "udp")
    return Error(ErrorCode::kInvalidArgument, "service proto must be tcp or udp");
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_ASSIGN_OR_RETURN(auto a, impl_->Load(t, id));
  if (!a) return Error(ErrorCode::kNotFound, "asset " + id + " not found");
  Service s = service;
  s.source = source;
  std::string old;
  core::Timestamp first = at;
  for (const auto& e : a->services)
    if (e.port == s.port && e.proto == s.proto) {
      old = ServiceSummary(e);
      first = e.first_seen;
    }
  MEDSOC_TRY(impl_->WriteService(t, id, s, s.open, first, at));
  MEDSOC_TRY(impl_->AddHistory(t, id, at, "service:" + ServiceKey(s.port, s.proto), old, ServiceSummary(s),
                               SourceName(source), actor, ""));
  MEDSOC_TRY(impl_->Touch(t, id, at));
  return tx.Commit();
}

Status AssetLedger::PutSoftware(const TenantScope& scope, const std::string& id, const Software& software,
                                Source source, const std::string& actor) {
  const std::string& t = scope.tenant_id();
  if (software.name.empty()) return Error(ErrorCode::kInvalidArgument, "software name is required");
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_ASSIGN_OR_RETURN(auto a, impl_->Load(t, id));
  if (!a) return Error(ErrorCode::kNotFound, "asset " + id + " not found");
  Software sw = software;
  sw.source = source;
  sw.first_seen = sw.last_seen = at;
  for (const auto& e : a->software)
    if (e.name == sw.name && e.version == sw.version) sw.first_seen = e.first_seen;
  MEDSOC_TRY(impl_->WriteSoftware(t, id, sw));
  MEDSOC_TRY(impl_->AddHistory(t, id, at, "software:" + sw.name, "", sw.version, SourceName(source), actor, ""));
  return tx.Commit();
}

Result<std::vector<HistoryEntry>> AssetLedger::History(const TenantScope& scope, const std::string& id, int limit) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare(
      "SELECT id, at, attribute, old_value, new_value, source, actor, note FROM asset_history WHERE tenant_id = ? AND "
      "asset_id = ? ORDER BY id DESC LIMIT ?"));
  MEDSOC_TRY(st->BindAll(scope.tenant_id(), id, limit <= 0 ? 200 : std::min(limit, 10000)));
  std::vector<HistoryEntry> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back({st->ColumnInt64(0), id, {st->ColumnInt64(1)}, st->ColumnText(2), st->ColumnText(3),
                   st->ColumnText(4), st->ColumnText(5), st->ColumnText(6), st->ColumnText(7)});
  }
  return out;
}

Result<ObserveOutcome> AssetLedger::Observe(const TenantScope& scope, const Observation& obs,
                                            const ObserveContext& ctx) {
  const std::string& t = scope.tenant_id();
  auto ip = NormalizeIp(obs.ip);
  if (!ip) return Error(ErrorCode::kInvalidArgument, "observation without a valid IP address: '" + obs.ip + "'");
  std::optional<std::string> mac;
  if (!obs.mac.empty()) mac = NormalizeMac(obs.mac);
  const core::Timestamp at = ctx.at.ns ? ctx.at : core::Now();
  const std::string by = ctx.actor.empty() ? std::string(SourceName(ctx.source)) : ctx.actor;
  ObserveOutcome out;

  std::lock_guard lock(impl_->mu);
  impl_->pending_changes.clear();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  // Identity: MAC first (stable on a segment while DHCP moves addresses), then IP.
  std::string id;
  if (mac) {
    MEDSOC_ASSIGN_OR_RETURN(id, impl_->AssetByAddress(t, "mac", *mac));
  }
  if (id.empty()) {
    MEDSOC_ASSIGN_OR_RETURN(id, impl_->AssetByAddress(t, "ip", *ip));
  }
  Asset a;
  if (id.empty()) {
    MEDSOC_ASSIGN_OR_RETURN(a, impl_->NewAsset(t, at, by, ctx.source));
    out.created = true;
  } else {
    MEDSOC_ASSIGN_OR_RETURN(auto loaded, impl_->Load(t, id));
    if (!loaded) return Error(ErrorCode::kInternal, "asset address index points at a missing asset");
    a = std::move(*loaded);
  }
  out.asset_id = a.id;

  auto observe_value = [&](const std::string& name, const std::string& value) -> Status {
    const AttributeSpec* spec = FindAttribute(name);
    if (!spec || value.empty()) return Ok();
    auto norm = NormalizeValue(*spec, value);
    if (!norm.ok()) return Ok();  // an observation's odd value is dropped, not fatal
    std::string v = *norm;
    auto it = a.attrs.find(name);
    if (spec->type == AttrType::kList && it != a.attrs.end()) {
      auto items = ListFromJson(it->second.value);
      bool all_known = true;
      for (const auto& item : ListFromJson(v))
        if (std::find(items.begin(), items.end(), item) == items.end()) {
          items.push_back(item);
          all_known = false;
        }
      if (all_known) return Ok();
      if (IsCurated(it->second.source) && name == "macs") {
        MEDSOC_ASSIGN_OR_RETURN(bool queued, impl_->QueueReview(t, a.id, name, it->second.value, ListToJson(items),
                                                                ctx.source, by, at));
        out.reviews += queued;
        return Ok();
      }
      // Lists merge; the list keeps its curated source when a human owns it.
      return impl_->WriteAttr(t, a, name, ListToJson(items), IsCurated(it->second.source) ? it->second.source : ctx.source,
                              at, by, ctx.scan_id.empty() ? "" : "scan " + ctx.scan_id);
    }
    if (it != a.attrs.end() && IsCurated(it->second.source) && !IsCurated(ctx.source)) {
      if (it->second.value != v) {
        MEDSOC_ASSIGN_OR_RETURN(bool queued, impl_->QueueReview(t, a.id, name, it->second.value, v, ctx.source, by, at));
        out.reviews += queued;
      }
      return Ok();
    }
    if (it != a.attrs.end() && it->second.value != v && !out.created && (name == "os" || name == "hostname")) {
      MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kAttributeChanged, a.id, *ip,
                                  {{"attribute", name}, {"old", it->second.value}, {"new", v}}, ctx.scan_id, at));
      ++out.changes;
    }
    return impl_->WriteAttr(t, a, name, v, ctx.source, at, by, ctx.scan_id.empty() ? "" : "scan " + ctx.scan_id);
  };

  // An IP observed here that the index gives to another asset moves, unless that asset's IPs are curated.
  {
    MEDSOC_ASSIGN_OR_RETURN(std::string owner, impl_->AssetByAddress(t, "ip", *ip));
    if (!owner.empty() && owner != a.id) {
      MEDSOC_ASSIGN_OR_RETURN(auto other, impl_->Load(t, owner));
      if (other) {
        auto src = other->attrs.count("ips") ? other->attrs["ips"].source : Source::kScan;
        if (IsCurated(src)) {
          MEDSOC_ASSIGN_OR_RETURN(bool queued, impl_->QueueReview(t, a.id, "ips", a.Get("ips"),
                                                                  ListToJson({*ip}), ctx.source, by, at));
          out.reviews += queued;
        } else {
          auto items = other->GetList("ips");
          items.erase(std::remove(items.begin(), items.end(), *ip), items.end());
          MEDSOC_TRY(impl_->WriteAttr(t, *other, "ips", ListToJson(items), src, at, by, "moved to asset " + a.id));
        }
      }
    }
    MEDSOC_ASSIGN_OR_RETURN(owner, impl_->AssetByAddress(t, "ip", *ip));
    if (owner.empty() || owner == a.id) MEDSOC_TRY(observe_value("ips", *ip));
  }
  if (mac) MEDSOC_TRY(observe_value("macs", *mac));
  for (const auto& [name, value] : obs.attrs) {
    if (name == "ips" || name == "macs") continue;
    if (name == "kind" && a.attrs.count("kind")) continue;  // a guessed kind never replaces a known one
    MEDSOC_TRY(observe_value(name, value));
  }
  if (!a.attrs.count("kind")) MEDSOC_TRY(observe_value("kind", GuessKind(obs)));
  if (!a.attrs.count("name")) {
    std::string hn = a.Get("hostname");
    MEDSOC_TRY(observe_value("name", hn.empty() ? *ip : hn));
  }

  // Services.
  std::set<std::string> seen_keys;
  for (const auto& s_in : obs.services) {
    Service s = s_in;
    s.source = ctx.source;
    const std::string key = ServiceKey(s.port, s.proto);
    seen_keys.insert(key);
    const Service* old = nullptr;
    for (const auto& e : a.services)
      if (e.port == s.port && e.proto == s.proto) old = &e;
    if (!old) {
      MEDSOC_TRY(impl_->WriteService(t, a.id, s, true, at, at));
      MEDSOC_TRY(impl_->AddHistory(t, a.id, at, "service:" + key, "", ServiceSummary(s), SourceName(ctx.source), by, ""));
      if (!out.created) {
        MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kServiceOpened, a.id, *ip,
                                    {{"port", s.port}, {"proto", s.proto}, {"service", s.service},
                                     {"product", s.product}, {"version", s.version}},
                                    ctx.scan_id, at));
        ++out.changes;
      }
      continue;
    }
    if (IsCurated(old->source) && !IsCurated(ctx.source)) {
      if ((!s.product.empty() && s.product != old->product) || (!s.version.empty() && s.version != old->version)) {
        MEDSOC_ASSIGN_OR_RETURN(bool queued, impl_->QueueReview(t, a.id, "service:" + key, ServiceSummary(*old),
                                                                ServiceSummary(s), ctx.source, by, at));
        out.reviews += queued;
      }
      // Keep the curated identification; refresh state and last_seen only.
      Service keep = *old;
      if (!keep.tls && s.tls) keep.tls = s.tls;
      MEDSOC_TRY(impl_->WriteService(t, a.id, keep, true, old->first_seen, at));
      continue;
    }
    if (!old->open) {
      MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kServiceOpened, a.id, *ip,
                                  {{"port", s.port}, {"proto", s.proto}, {"service", s.service},
                                   {"product", s.product}, {"version", s.version}, {"reopened", true}},
                                  ctx.scan_id, at));
      ++out.changes;
    }
    // A later scan that identified less (no version) does not erase what an earlier one found.
    if (s.product.empty() && s.service == old->service) {
      s.product = old->product;
      s.version = old->version;
      s.cpe = old->cpe;
    } else if (s.version.empty() && s.product == old->product) {
      s.version = old->version;
      s.cpe = old->cpe;
    }
    if (s.service.empty()) s.service = old->service;
    if (old->open && (s.product != old->product || s.version != old->version)) {
      MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kVersionChanged, a.id, *ip,
                                  {{"port", s.port}, {"proto", s.proto}, {"service", s.service},
                                   {"old_product", old->product}, {"old_version", old->version},
                                   {"product", s.product}, {"version", s.version}},
                                  ctx.scan_id, at));
      ++out.changes;
    }
    if (ServiceSummary(s) != ServiceSummary(*old) || !old->open)
      MEDSOC_TRY(impl_->AddHistory(t, a.id, at, "service:" + key, old->open ? ServiceSummary(*old) : "closed",
                                   ServiceSummary(s), SourceName(ctx.source), by, ""));
    MEDSOC_TRY(impl_->WriteService(t, a.id, s, true, old->first_seen, at));
  }
  for (const auto& e : a.services) {
    const std::string key = ServiceKey(e.port, e.proto);
    if (!e.open || seen_keys.count(key) || IsCurated(e.source)) continue;
    if (std::find(ctx.covered_ports.begin(), ctx.covered_ports.end(), key) == ctx.covered_ports.end()) continue;
    MEDSOC_TRY(impl_->WriteService(t, a.id, e, false, e.first_seen, e.last_seen));
    MEDSOC_TRY(impl_->AddHistory(t, a.id, at, "service:" + key, ServiceSummary(e), "closed", SourceName(ctx.source), by, ""));
    MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kServiceClosed, a.id, *ip,
                                {{"port", e.port}, {"proto", e.proto}, {"service", e.service},
                                 {"product", e.product}, {"version", e.version}},
                                ctx.scan_id, at));
    ++out.changes;
  }
  for (auto sw : obs.software) {
    sw.source = ctx.source;
    sw.first_seen = sw.last_seen = at;
    bool known = false;
    for (const auto& e : a.software)
      if (e.name == sw.name && e.version == sw.version) {
        known = true;
        sw.first_seen = e.first_seen;
      }
    if (!known) MEDSOC_TRY(impl_->AddHistory(t, a.id, at, "software:" + sw.name, "", sw.version, SourceName(ctx.source), by, ""));
    MEDSOC_TRY(impl_->WriteSoftware(t, a.id, sw));
  }

  if (out.created) {
    Json services = Json::array();
    for (const auto& s : obs.services) services.push_back(ServiceKey(s.port, s.proto) + " " + s.service);
    MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kNewAsset, a.id, *ip,
                                {{"mac", mac.value_or("")}, {"hostname", a.Get("hostname")}, {"services", services}},
                                ctx.scan_id, at));
    ++out.changes;
  } else if (a.status == AssetStatus::kOffline) {
    MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kBack, a.id, *ip, Json::object(), ctx.scan_id, at));
    ++out.changes;
  }
  const bool was_seen = a.first_seen.ns != 0;
  MEDSOC_TRY(impl_->Exec("UPDATE assets SET status = CASE status WHEN 'retired' THEN 'retired' ELSE 'active' END, "
                         "first_seen = ?, last_seen = ?, updated_at = ? WHERE tenant_id = ? AND id = ?",
                         was_seen ? a.first_seen.ns : at.ns, at.ns, at.ns, t, a.id));
  MEDSOC_TRY(tx.Commit());
  impl_->Publish();
  return out;
}

Result<int> AssetLedger::MarkUnseen(const TenantScope& scope, const std::function<bool(const std::string&)>& in_scope,
                                    const std::vector<std::string>& seen_ips, const std::string& scan_id) {
  const std::string& t = scope.tenant_id();
  std::set<std::string> seen(seen_ips.begin(), seen_ips.end());
  std::lock_guard lock(impl_->mu);
  impl_->pending_changes.clear();
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  // asset id -> (any address seen, first in-scope address)
  std::map<std::string, std::pair<bool, std::string>> candidates;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare(
        "SELECT x.address, x.asset_id FROM asset_addresses x JOIN assets a ON a.tenant_id = x.tenant_id AND "
        "a.id = x.asset_id WHERE x.tenant_id = ? AND x.kind = 'ip' AND a.status = 'active'"));
    MEDSOC_TRY(st->BindAll(t));
    while (true) {
      MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
      if (!row) break;
      std::string addr = st->ColumnText(0), id = st->ColumnText(1);
      auto& c = candidates[id];
      if (seen.count(addr)) c.first = true;
      if (c.second.empty() && in_scope(addr)) c.second = addr;
    }
  }
  int n = 0;
  for (const auto& [id, c] : candidates) {
    if (c.first || c.second.empty()) continue;
    MEDSOC_TRY(impl_->Exec("UPDATE assets SET status = 'offline', updated_at = ? WHERE tenant_id = ? AND id = ?", at.ns,
                           t, id));
    MEDSOC_TRY(impl_->AddHistory(t, id, at, "status", "active", "offline", "scan", "scan:" + scan_id, ""));
    MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kGone, id, c.second, Json::object(), scan_id, at));
    ++n;
  }
  MEDSOC_TRY(tx.Commit());
  impl_->Publish();
  return n;
}

Result<std::vector<std::string>> AssetLedger::NoteAddressesSeen(const TenantScope& scope,
                                                                const std::vector<std::string>& ips,
                                                                const std::string& context) {
  const std::string& t = scope.tenant_id();
  std::lock_guard lock(impl_->mu);
  impl_->pending_changes.clear();
  const core::Timestamp at = core::Now();
  std::vector<std::string> recorded;
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  std::set<std::string> done;
  for (const auto& raw : ips) {
    auto ip = NormalizeIp(raw);
    if (!ip || !done.insert(*ip).second) continue;
    MEDSOC_ASSIGN_OR_RETURN(std::string owner, impl_->AssetByAddress(t, "ip", *ip));
    if (!owner.empty()) continue;
    MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT 1 FROM asset_changes WHERE tenant_id = ? AND kind = "
                                                        "'unknown_in_logs' AND address = ? AND at > ?"));
    MEDSOC_TRY(st->BindAll(t, *ip, (at - core::Days(1)).ns));
    MEDSOC_ASSIGN_OR_RETURN(bool recent, st->Step());
    if (recent) continue;
    MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kUnknownInLogs, "", *ip, {{"context", context}}, "", at));
    recorded.push_back(*ip);
  }
  MEDSOC_TRY(tx.Commit());
  impl_->Publish();
  return recorded;
}

Result<std::vector<Review>> AssetLedger::ListReviews(const TenantScope& scope, const std::string& status) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare(
      "SELECT id, asset_id, attribute, current, proposed, source, proposed_at, proposed_by, status, decided_at, "
      "decided_by FROM asset_reviews WHERE tenant_id = ? AND (? = '' OR status = ?) ORDER BY proposed_at LIMIT 10000"));
  MEDSOC_TRY(st->BindAll(scope.tenant_id(), status, status));
  std::vector<Review> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back({st->ColumnText(0), st->ColumnText(1), st->ColumnText(2), st->ColumnText(3), st->ColumnText(4),
                   st->ColumnText(5), {st->ColumnInt64(6)}, st->ColumnText(7), st->ColumnText(8),
                   {st->ColumnInt64(9)}, st->ColumnText(10)});
  }
  return out;
}

Status AssetLedger::DecideReview(const TenantScope& scope, const std::string& review_id, bool accept,
                                 const std::string& actor) {
  const std::string& t = scope.tenant_id();
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  Review r;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT asset_id, attribute, proposed, source, status FROM "
                                                        "asset_reviews WHERE tenant_id = ? AND id = ?"));
    MEDSOC_TRY(st->BindAll(t, review_id));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) return Error(ErrorCode::kNotFound, "review " + review_id + " not found");
    r.asset_id = st->ColumnText(0);
    r.attribute = st->ColumnText(1);
    r.proposed = st->ColumnText(2);
    r.source = st->ColumnText(3);
    r.status = st->ColumnText(4);
  }
  if (r.status != "pending") return Error(ErrorCode::kFailedPrecondition, "review " + review_id + " is already " + r.status);
  MEDSOC_TRY(impl_->Exec("UPDATE asset_reviews SET status = ?, decided_at = ?, decided_by = ? WHERE tenant_id = ? AND "
                         "id = ?", accept ? "accepted" : "rejected", at.ns, actor, t, review_id));
  if (accept) {
    MEDSOC_ASSIGN_OR_RETURN(auto a, impl_->Load(t, r.asset_id));
    if (!a) return Error(ErrorCode::kNotFound, "asset " + r.asset_id + " not found");
    const Source src = ParseSource(r.source).value_or(Source::kScan);
    if (r.attribute.rfind("service:", 0) == 0) {
      auto j = Json::parse(r.proposed, nullptr, false);
      for (auto s : a->services) {
        if ("service:" + ServiceKey(s.port, s.proto) != r.attribute || !j.is_object()) continue;
        std::string old = ServiceSummary(s);
        s.service = j.value("service", s.service);
        s.product = j.value("product", s.product);
        s.version = j.value("version", s.version);
        s.cpe = j.value("cpe", s.cpe);
        s.source = src;
        MEDSOC_TRY(impl_->WriteService(t, a->id, s, s.open, s.first_seen, s.last_seen));
        MEDSOC_TRY(impl_->AddHistory(t, a->id, at, r.attribute, old, ServiceSummary(s), r.source, actor,
                                     "review " + review_id + " accepted"));
      }
    } else {
      MEDSOC_TRY(impl_->WriteAttr(t, *a, r.attribute, r.proposed, src, at, actor, "review " + review_id + " accepted"));
    }
  }
  return tx.Commit();
}

Result<ImportReport> AssetLedger::Import(const TenantScope& scope, const std::vector<ImportRow>& rows,
                                         const std::string& actor, const std::string& file) {
  const std::string& t = scope.tenant_id();
  ImportReport report;
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  auto row_error = [&](const ImportRow& row, const Error& e) {
    report.errors.push_back(Error(e.code(), e.message(), SourcePos{file, row.line, 0}));
  };
  for (const auto& row : rows) {
    // One transaction per row: a bad row is reported and skipped, the others are imported.
    auto tx = Transaction::Begin(*impl_->db);
    if (!tx.ok()) return tx.error();
    auto apply = [&]() -> Result<int> {  // 0 unchanged, 1 updated, 2 created
      std::string id = row.id;
      if (!id.empty()) {
        MEDSOC_ASSIGN_OR_RETURN(auto a, impl_->Load(t, id));
        if (!a) id.clear();  // an id from another deployment: match by address instead
      }
      if (id.empty()) {
        auto ips = row.attrs.count("ips") ? NormalizeValue(*FindAttribute("ips"), row.attrs.at("ips")) : Result<std::string>("");
        if (!ips.ok()) return ips.error();
        for (const auto& ip : ListFromJson(*ips)) {
          MEDSOC_ASSIGN_OR_RETURN(id, impl_->AssetByAddress(t, "ip", ip));
          if (!id.empty()) break;
        }
      }
      if (id.empty() && row.attrs.count("macs")) {
        auto macs = NormalizeValue(*FindAttribute("macs"), row.attrs.at("macs"));
        if (!macs.ok()) return macs.error();
        for (const auto& mac : ListFromJson(*macs)) {
          MEDSOC_ASSIGN_OR_RETURN(id, impl_->AssetByAddress(t, "mac", mac));
          if (!id.empty()) break;
        }
      }
      if (id.empty() && row.attrs.count("name") && !row.attrs.at("name").empty()) {
        MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT asset_id FROM asset_attributes WHERE tenant_id = ? "
                                                            "AND name = 'name' AND value = ? LIMIT 2"));
        MEDSOC_TRY(st->BindAll(t, row.attrs.at("name")));
        MEDSOC_ASSIGN_OR_RETURN(bool r1, st->Step());
        if (r1) {
          std::string first = st->ColumnText(0);
          MEDSOC_ASSIGN_OR_RETURN(bool r2, st->Step());
          if (!r2) id = first;  // only an unambiguous name matches
        }
      }
      int result = 1;
      Asset a;
      if (id.empty()) {
        auto has = [&](const char* k) { auto it = row.attrs.find(k); return it != row.attrs.end() && !it->second.empty(); };
        if (!has("name") && !has("ips") && !has("hostname"))
          return Error(ErrorCode::kInvalidArgument, "row has neither a name, an IP address nor a hostname");
        MEDSOC_ASSIGN_OR_RETURN(a, impl_->NewAsset(t, at, actor, Source::kImport));
        result = 2;
      } else {
        MEDSOC_ASSIGN_OR_RETURN(auto loaded, impl_->Load(t, id));
        a = std::move(*loaded);
      }
      MEDSOC_ASSIGN_OR_RETURN(auto count_before, impl_->db->Prepare("SELECT total_changes()"));
      MEDSOC_ASSIGN_OR_RETURN(bool r, count_before->Step());
      const std::int64_t before = r ? count_before->ColumnInt64(0) : 0;
      count_before->Reset();
      // Only non-empty cells are applied: an empty spreadsheet cell does not erase ledger data.
      AttributeMap attrs;
      for (const auto& [k, v] : row.attrs)
        if (!v.empty()) attrs[k] = v;
      MEDSOC_TRY(impl_->ApplyCurated(t, a, attrs, Source::kImport, actor, "import " + file, at, true));
      if (!row.status.empty()) {
        auto status = ParseStatus(row.status);
        if (!status) return Error(ErrorCode::kInvalidArgument, "unknown status '" + row.status + "'");
        if (*status != a.status) {
          MEDSOC_TRY(impl_->Exec("UPDATE assets SET status = ? WHERE tenant_id = ? AND id = ?", StatusName(*status), t, a.id));
          MEDSOC_TRY(impl_->AddHistory(t, a.id, at, "status", StatusName(a.status), StatusName(*status), "import", actor, ""));
        }
      }
      for (auto s : row.services) {
        bool same = false;
        for (const auto& e : a.services)
          same = same || (e.port == s.port && e.proto == s.proto && e.service == s.service && e.product == s.product &&
                          e.version == s.version && e.open);
        if (same) continue;
        s.source = Source::kImport;
        MEDSOC_TRY(impl_->WriteService(t, a.id, s, true, at, at));
        MEDSOC_TRY(impl_->AddHistory(t, a.id, at, "service:" + ServiceKey(s.port, s.proto), "", ServiceSummary(s),
                                     "import", actor, ""));
      }
      for (auto sw : row.software) {
        bool same = false;
        for (const auto& e : a.software) same = same || (e.name == sw.name && e.version == sw.version);
        if (same) continue;
        sw.source = Source::kImport;
        sw.first_seen = sw.last_seen = at;
        MEDSOC_TRY(impl_->WriteSoftware(t, a.id, sw));
        MEDSOC_TRY(impl_->AddHistory(t, a.id, at, "software:" + sw.name, "", sw.version, "import", actor, ""));
      }
      MEDSOC_ASSIGN_OR_RETURN(auto count_after, impl_->db->Prepare("SELECT total_changes()"));
      MEDSOC_ASSIGN_OR_RETURN(bool r3, count_after->Step());
      const std::int64_t after = r3 ? count_after->ColumnInt64(0) : 0;
      if (result == 1 && after == before) return 0;
      if (result == 1) MEDSOC_TRY(impl_->Touch(t, a.id, at));
      return result;
    };
    auto applied = apply();
    if (!applied.ok()) {
      row_error(row, applied.error());
      continue;  // tx rolls back
    }
    if (auto st = tx->Commit(); !st.ok()) {
      row_error(row, st.error());
      continue;
    }
    if (*applied == 2) ++report.created;
    else if (*applied == 1) ++report.updated;
    else ++report.unchanged;
  }
  impl_->pending_changes.clear();
  return report;
}

// ---- business systems ----

Result<BusinessSystem> AssetLedger::PutBusinessSystem(const TenantScope& scope, BusinessSystem s) {
  const std::string& t = scope.tenant_id();
  if (s.name.empty()) return Error(ErrorCode::kInvalidArgument, "business system name is required");
  if (s.mlps_level < 0 || s.mlps_level > 5)
    return Error(ErrorCode::kInvalidArgument, "mlps_level must be 1-5 (0: not graded)");
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  std::string existing_id;
  core::Timestamp created = at;
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT id, created_at, name FROM business_systems WHERE "
                                                        "tenant_id = ? AND (id = ? OR name = ?)"));
    MEDSOC_TRY(st->BindAll(t, s.id, s.name));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row) {
      existing_id = st->ColumnText(0);
      created = {st->ColumnInt64(1)};
      std::string old_name = st->ColumnText(2);
      if (old_name != s.name) {
        // Renamed: carry the assets along.
        MEDSOC_TRY(impl_->Exec("UPDATE asset_attributes SET value = ? WHERE tenant_id = ? AND name = "
                               "'business_system' AND value = ?", s.name, t, old_name));
      }
    }
  }
  if (!s.id.empty() && !existing_id.empty() && s.id != existing_id)
    return Error(ErrorCode::kAlreadyExists, "a business system named '" + s.name + "' already exists");
  s.id = existing_id.empty() ? core::NewId() : existing_id;
  s.created_at = created;
  s.updated_at = at;
  MEDSOC_TRY(impl_->Exec("INSERT INTO business_systems (id, tenant_id, name, mlps_level, owner_department, owner, "
                         "description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO "
                         "UPDATE SET name = excluded.name, mlps_level = excluded.mlps_level, owner_department = "
                         "excluded.owner_department, owner = excluded.owner, description = excluded.description, "
                         "updated_at = excluded.updated_at",
                         s.id, t, s.name, s.mlps_level, s.owner_department, s.owner, s.description, s.created_at.ns,
                         s.updated_at.ns));
  MEDSOC_TRY(tx.Commit());
  return s;
}

Result<std::vector<BusinessSystem>> AssetLedger::ListBusinessSystems(const TenantScope& scope) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare(
      "SELECT id, name, mlps_level, owner_department, owner, description, created_at, updated_at FROM "
      "business_systems WHERE tenant_id = ? ORDER BY name"));
  MEDSOC_TRY(st->BindAll(scope.tenant_id()));
  std::vector<BusinessSystem> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back({st->ColumnText(0), st->ColumnText(1), static_cast<int>(st->ColumnInt64(2)), st->ColumnText(3),
                   st->ColumnText(4), st->ColumnText(5), {st->ColumnInt64(6)}, {st->ColumnInt64(7)}});
  }
  return out;
}

Result<std::optional<BusinessSystem>> AssetLedger::GetBusinessSystem(const TenantScope& scope,
                                                                     const std::string& id_or_name) {
  MEDSOC_ASSIGN_OR_RETURN(auto all, ListBusinessSystems(scope));
  for (auto& s : all)
    if (s.id == id_or_name || s.name == id_or_name) return std::optional<BusinessSystem>(std::move(s));
  return std::optional<BusinessSystem>();
}

Status AssetLedger::DeleteBusinessSystem(const TenantScope& scope, const std::string& id) {
  const std::string& t = scope.tenant_id();
  MEDSOC_ASSIGN_OR_RETURN(auto s, GetBusinessSystem(scope, id));
  if (!s) return Error(ErrorCode::kNotFound, "business system " + id + " not found");
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  {
    MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT count(*) FROM asset_attributes WHERE tenant_id = ? AND "
                                                        "name = 'business_system' AND value = ?"));
    MEDSOC_TRY(st->BindAll(t, s->name));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (row && st->ColumnInt64(0) > 0)
      return Error(ErrorCode::kFailedPrecondition, "business system '" + s->name + "' still has " +
                                                       std::to_string(st->ColumnInt64(0)) + " assets");
  }
  MEDSOC_TRY(impl_->Exec("DELETE FROM business_systems WHERE tenant_id = ? AND id = ?", t, s->id));
  return tx.Commit();
}

// ---- scans ----

Result<ScanRecord> AssetLedger::BeginScan(const TenantScope& scope, const std::string& started_by,
                                          const std::string& kind, const std::string& scope_json) {
  ScanRecord r;
  r.id = core::NewId();
  r.started_by = started_by;
  r.kind = kind;
  r.scope = scope_json;
  r.status = "running";
  r.started_at = core::Now();
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_TRY(impl_->Exec("INSERT INTO scans (id, tenant_id, started_by, kind, scope, status, started_at, finished_at, "
                         "hosts_up, services, summary) VALUES (?, ?, ?, ?, ?, 'running', ?, 0, 0, 0, '')",
                         r.id, scope.tenant_id(), started_by, kind, scope_json, r.started_at.ns));
  MEDSOC_TRY(tx.Commit());
  return r;
}

Status AssetLedger::FinishScan(const TenantScope& scope, const ScanRecord& r) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_TRY(impl_->Exec("UPDATE scans SET status = ?, finished_at = ?, hosts_up = ?, services = ?, summary = ? WHERE "
                         "tenant_id = ? AND id = ?",
                         r.status, (r.finished_at.ns ? r.finished_at : core::Now()).ns, r.hosts_up, r.services,
                         r.summary, scope.tenant_id(), r.id));
  if (impl_->db->Changes() == 0) return Error(ErrorCode::kNotFound, "scan " + r.id + " not found");
  return tx.Commit();
}

namespace {
ScanRecord ScanFromRow(store::sqlite::Statement& st) {
  return {st.ColumnText(0), st.ColumnText(1), st.ColumnText(2), st.ColumnText(3), st.ColumnText(4),
          {st.ColumnInt64(5)}, {st.ColumnInt64(6)}, st.ColumnInt64(7), st.ColumnInt64(8), st.ColumnText(9)};
}
}  // namespace

Result<std::vector<ScanRecord>> AssetLedger::ListScans(const TenantScope& scope, int limit) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare(
      "SELECT id, started_by, kind, scope, status, started_at, finished_at, hosts_up, services, summary FROM scans "
      "WHERE tenant_id = ? ORDER BY started_at DESC LIMIT ?"));
  MEDSOC_TRY(st->BindAll(scope.tenant_id(), limit <= 0 ? 100 : std::min(limit, 1000)));
  std::vector<ScanRecord> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back(ScanFromRow(*st));
  }
  return out;
}

Result<std::optional<ScanRecord>> AssetLedger::GetScan(const TenantScope& scope, const std::string& id) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare(
      "SELECT id, started_by, kind, scope, status, started_at, finished_at, hosts_up, services, summary FROM scans "
      "WHERE tenant_id = ? AND id = ?"));
  MEDSOC_TRY(st->BindAll(scope.tenant_id(), id));
  MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
  if (!row) return std::optional<ScanRecord>();
  return std::optional<ScanRecord>(ScanFromRow(*st));
}

Result<std::vector<Change>> AssetLedger::ListChanges(const TenantScope& scope, std::int64_t after_seq, int limit) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare(
      "SELECT seq, at, kind, asset_id, address, detail, scan_id FROM asset_changes WHERE tenant_id = ? AND seq > ? "
      "ORDER BY seq LIMIT ?"));
  MEDSOC_TRY(st->BindAll(scope.tenant_id(), after_seq, limit <= 0 ? 200 : std::min(limit, 10000)));
  std::vector<Change> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    Change c;
    c.seq = st->ColumnInt64(0);
    c.at = {st->ColumnInt64(1)};
    std::string kind = st->ColumnText(2);
    for (int k = 0; k <= static_cast<int>(ChangeKind::kAttributeChanged); ++k)
      if (ChangeKindName(static_cast<ChangeKind>(k)) == kind) c.kind = static_cast<ChangeKind>(k);
    c.asset_id = st->ColumnText(3);
    c.address = st->ColumnText(4);
    c.detail = st->ColumnText(5);
    c.scan_id = st->ColumnText(6);
    out.push_back(std::move(c));
  }
  return out;
}

// ---- exposures and domains ----

Status AssetLedger::PutExposure(const TenantScope& scope, Exposure e) {
  const std::string& t = scope.tenant_id();
  auto pub = NormalizeIp(e.public_ip);
  if (!pub) return Error(ErrorCode::kInvalidArgument, "public_ip '" + e.public_ip + "' is not an IP address");
  e.public_ip = *pub;
  if (e.proto != "tcp" && e.proto != "udp") return Error(ErrorCode::kInvalidArgument, "proto must be tcp or udp");
  if (!e.internal_ip.empty()) {
    auto in = NormalizeIp(e.internal_ip);
    if (!in) return Error(ErrorCode::kInvalidArgument, "internal_ip '" + e.internal_ip + "' is not an IP address");
    e.internal_ip = *in;
  }
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  if (e.asset_id.empty() && !e.internal_ip.empty()) {
    MEDSOC_ASSIGN_OR_RETURN(e.asset_id, impl_->AssetByAddress(t, "ip", e.internal_ip));
  }
  if (e.first_seen.ns == 0) e.first_seen = at;
  MEDSOC_TRY(impl_->Exec("INSERT INTO exposures (tenant_id, public_ip, public_port, proto, internal_ip, internal_port, "
                         "asset_id, service, source, approved, first_seen, last_seen, note) VALUES (?, ?, ?, ?, ?, ?, ?, "
                         "?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, public_ip, public_port, proto) DO UPDATE SET "
                         "internal_ip = excluded.internal_ip, internal_port = excluded.internal_port, asset_id = "
                         "excluded.asset_id, service = excluded.service, source = excluded.source, approved = "
                         "excluded.approved, note = excluded.note",
                         t, e.public_ip, static_cast<int>(e.public_port), e.proto, e.internal_ip,
                         static_cast<int>(e.internal_port), e.asset_id, e.service, e.source, e.approved ? 1 : 0,
                         e.first_seen.ns, e.last_seen.ns, e.note));
  return tx.Commit();
}

Result<std::vector<Exposure>> AssetLedger::ListExposures(const TenantScope& scope) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare(
      "SELECT public_ip, public_port, proto, internal_ip, internal_port, asset_id, service, source, approved, "
      "first_seen, last_seen, note FROM exposures WHERE tenant_id = ? ORDER BY public_ip, public_port"));
  MEDSOC_TRY(st->BindAll(scope.tenant_id()));
  std::vector<Exposure> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back({st->ColumnText(0), static_cast<std::uint16_t>(st->ColumnInt64(1)), st->ColumnText(2),
                   st->ColumnText(3), static_cast<std::uint16_t>(st->ColumnInt64(4)), st->ColumnText(5),
                   st->ColumnText(6), st->ColumnText(7), st->ColumnInt64(8) != 0, {st->ColumnInt64(9)},
                   {st->ColumnInt64(10)}, st->ColumnText(11)});
  }
  return out;
}

Status AssetLedger::DeleteExposure(const TenantScope& scope, const std::string& public_ip, std::uint16_t port,
                                   const std::string& proto) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_TRY(impl_->Exec("DELETE FROM exposures WHERE tenant_id = ? AND public_ip = ? AND public_port = ? AND proto = ?",
                         scope.tenant_id(), NormalizeIp(public_ip).value_or(public_ip), static_cast<int>(port), proto));
  if (impl_->db->Changes() == 0) return Error(ErrorCode::kNotFound, "no such exposure");
  return tx.Commit();
}

Result<std::vector<Exposure>> AssetLedger::ObserveExternal(const TenantScope& scope, const std::vector<Exposure>& seen,
                                                           const std::string& scan_id) {
  const std::string& t = scope.tenant_id();
  std::lock_guard lock(impl_->mu);
  impl_->pending_changes.clear();
  const core::Timestamp at = core::Now();
  std::vector<Exposure> fresh;
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  for (Exposure e : seen) {
    auto pub = NormalizeIp(e.public_ip);
    if (!pub) continue;
    e.public_ip = *pub;
    MEDSOC_TRY(impl_->Exec("UPDATE exposures SET last_seen = ? WHERE tenant_id = ? AND public_ip = ? AND "
                           "public_port = ? AND proto = ?", at.ns, t, e.public_ip, static_cast<int>(e.public_port),
                           e.proto));
    if (impl_->db->Changes() > 0) continue;
    e.source = "scan";
    e.approved = false;
    e.first_seen = e.last_seen = at;
    MEDSOC_TRY(impl_->Exec("INSERT INTO exposures (tenant_id, public_ip, public_port, proto, internal_ip, internal_port, "
                           "asset_id, service, source, approved, first_seen, last_seen, note) VALUES (?, ?, ?, ?, '', 0, "
                           "'', ?, 'scan', 0, ?, ?, '')",
                           t, e.public_ip, static_cast<int>(e.public_port), e.proto, e.service, at.ns, at.ns));
    MEDSOC_TRY(impl_->AddChange(t, ChangeKind::kNewExposure, "", e.public_ip,
                                {{"port", e.public_port}, {"proto", e.proto}, {"service", e.service}}, scan_id, at));
    fresh.push_back(e);
  }
  MEDSOC_TRY(tx.Commit());
  impl_->Publish();
  return fresh;
}

Status AssetLedger::PutDomain(const TenantScope& scope, const Domain& d) {
  if (d.name.empty()) return Error(ErrorCode::kInvalidArgument, "domain name is required");
  std::string name = d.name;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_TRY(impl_->Exec("INSERT INTO domains (tenant_id, name, source, addresses, asset_id, first_seen, last_seen) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, name) DO UPDATE SET addresses = "
                         "excluded.addresses, asset_id = excluded.asset_id, last_seen = excluded.last_seen",
                         scope.tenant_id(), name, d.source.empty() ? "manual" : d.source,
                         Json(d.addresses).dump(), d.asset_id, at.ns, at.ns));
  return tx.Commit();
}

Result<std::vector<Domain>> AssetLedger::ListDomains(const TenantScope& scope) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT name, source, addresses, asset_id, first_seen, last_seen "
                                                      "FROM domains WHERE tenant_id = ? ORDER BY name"));
  MEDSOC_TRY(st->BindAll(scope.tenant_id()));
  std::vector<Domain> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back({st->ColumnText(0), st->ColumnText(1), ListFromJson(st->ColumnText(2)), st->ColumnText(3),
                   {st->ColumnInt64(4)}, {st->ColumnInt64(5)}});
  }
  return out;
}

namespace {

// A DNS name fit for the domain inventory, lower-cased without a trailing dot; "" when not one.
std::string DomainName(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (!name.empty() && name.back() == '.') name.pop_back();
  if (name.empty() || name.size() > 253 || NormalizeIp(name)) return "";
  if (name.find('.') == std::string::npos) return "";  // a bare host name is not a domain
  for (size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    const bool wildcard = c == '*' && i == 0 && name.size() > 2 && name[1] == '.';
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.' && !wildcard) return "";
  }
  if (name.find("..") != std::string::npos || name.front() == '.') return "";
  return name;
}

}  // namespace

Result<int> AssetLedger::ObserveDomains(const TenantScope& scope, const std::vector<Domain>& seen) {
  const std::string& t = scope.tenant_id();
  std::lock_guard lock(impl_->mu);
  const core::Timestamp at = core::Now();
  int fresh = 0;
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  for (const auto& d : seen) {
    const std::string name = DomainName(d.name);
    if (name.empty()) continue;
    MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT addresses, asset_id FROM domains WHERE tenant_id = ? "
                                                        "AND name = ?"));
    MEDSOC_TRY(st->BindAll(t, name));
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) {
      MEDSOC_TRY(impl_->Exec("INSERT INTO domains (tenant_id, name, source, addresses, asset_id, first_seen, last_seen) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             t, name, d.source.empty() ? "scan" : d.source, Json(d.addresses).dump(), d.asset_id, at.ns,
                             at.ns));
      ++fresh;
      continue;
    }
    std::vector<std::string> addresses = ListFromJson(st->ColumnText(0));
    std::string asset_id = st->ColumnText(1);
    st->Reset();
    for (const auto& a : d.addresses)
      if (std::find(addresses.begin(), addresses.end(), a) == addresses.end()) addresses.push_back(a);
    if (asset_id.empty()) asset_id = d.asset_id;
    MEDSOC_TRY(impl_->Exec("UPDATE domains SET addresses = ?, asset_id = ?, last_seen = ? WHERE tenant_id = ? AND "
                           "name = ?", Json(addresses).dump(), asset_id, at.ns, t, name));
  }
  MEDSOC_TRY(tx.Commit());
  return fresh;
}

// ---- scan schedules ----

namespace {
constexpr std::string_view kScheduleKey = "assets.scan_schedule/";
}

Status AssetLedger::PutScheduleJson(const TenantScope& scope, const std::string& name, const std::string& json) {
  if (name.empty()) return Error(ErrorCode::kInvalidArgument, "schedule name is required");
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_TRY(impl_->Exec("INSERT INTO settings (tenant_id, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT "
                         "(tenant_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                         scope.tenant_id(), std::string(kScheduleKey) + name, json, core::Now().ns));
  return tx.Commit();
}

Result<std::vector<std::pair<std::string, std::string>>> AssetLedger::ListScheduleJson(const TenantScope& scope) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT substr(key, ?), value FROM settings WHERE tenant_id = ? "
                                                      "AND substr(key, 1, ?) = ? ORDER BY key"));
  const int n = static_cast<int>(kScheduleKey.size());
  MEDSOC_TRY(st->BindAll(n + 1, scope.tenant_id(), n, std::string(kScheduleKey)));
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.emplace_back(st->ColumnText(0), st->ColumnText(1));
  }
  return out;
}

Status AssetLedger::DeleteSchedule(const TenantScope& scope, const std::string& name) {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto tx, Transaction::Begin(*impl_->db));
  MEDSOC_TRY(impl_->Exec("DELETE FROM settings WHERE tenant_id = ? AND key = ?", scope.tenant_id(),
                         std::string(kScheduleKey) + name));
  if (impl_->db->Changes() == 0) return Error(ErrorCode::kNotFound, "schedule " + name + " not found");
  return tx.Commit();
}

Result<std::vector<AssetLedger::StoredSchedule>> AssetLedger::AllScheduleJson() {
  std::lock_guard lock(impl_->mu);
  MEDSOC_ASSIGN_OR_RETURN(auto st, impl_->db->Prepare("SELECT tenant_id, substr(key, ?), value FROM settings WHERE "
                                                      "tenant_id <> '*' AND substr(key, 1, ?) = ? ORDER BY tenant_id, key"));
  const int n = static_cast<int>(kScheduleKey.size());
  MEDSOC_TRY(st->BindAll(n + 1, n, std::string(kScheduleKey)));
  std::vector<StoredSchedule> out;
  while (true) {
    MEDSOC_ASSIGN_OR_RETURN(bool row, st->Step());
    if (!row) break;
    out.push_back({st->ColumnText(0), st->ColumnText(1), st->ColumnText(2)});
  }
  return out;
}

}  // namespace medsoc::assets
