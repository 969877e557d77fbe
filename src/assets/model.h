// The asset ledger's data model (资产台账).
//
// An Asset is an identity (id, status, first/last seen) plus a set of named attributes. Each
// attribute value carries its provenance: the source that set it (scan, agent, import, log,
// manual), when, and by whom. The attribute catalogue (AttributeSpecs) is data: it drives
// validation, storage, history, the API and the CSV/XLSX columns with their Chinese headers, so a
// new attribute is one table row.
//
// Lists (ips, macs, tags) are stored as JSON arrays of strings; levels (C/I/A, GB/T 20984) are
// "1".."5" or "" (not rated); enums use the stable English names below.
//
// Thread-safety: value types and constant tables.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/time.h"

namespace medsoc::assets {

// Where a value came from. kManual and kImport are "curated": a scan, agent or log value that
// disagrees with a curated one is queued for review instead of overwriting it.
enum class Source : std::uint8_t { kScan, kAgent, kImport, kLog, kManual };
std::string_view SourceName(Source s);
std::optional<Source> ParseSource(std::string_view name);
inline bool IsCurated(Source s) { return s == Source::kManual || s == Source::kImport; }

enum class AssetStatus : std::uint8_t { kActive, kOffline, kRetired };
std::string_view StatusName(AssetStatus s);
std::optional<AssetStatus> ParseStatus(std::string_view name);

enum class AttrType : std::uint8_t {
  kText,   // free text
  kList,   // list of strings (JSON array in storage, "a; b" in spreadsheets)
  kEnum,   // one of spec.values
  kLevel,  // "" or "1".."5"
};

struct EnumValue {
  std::string_view name;  // stable English name (API, storage)
  std::string_view zh;    // Chinese display name (spreadsheets, portal)
};

struct AttributeSpec {
  std::string_view name;     // "hostname"
  std::string_view zh;       // "主机名" (spreadsheet header)
  std::string_view en;       // "Hostname" (English header)
  AttrType type = AttrType::kText;
  std::vector<EnumValue> values;  // kEnum only
};

// Every attribute an asset can have, in spreadsheet column order.
const std::vector<AttributeSpec>& AttributeSpecs();
const AttributeSpec* FindAttribute(std::string_view name);

// Asset kinds (kind attribute) and network zones (zone attribute) as listed in AttributeSpecs.
// Validates and normalizes a value for `spec`: enum values are accepted by English or Chinese name
// (returned as the English name); levels must be 1-5 or empty; lists are given as a JSON array or
// as text separated by ';', ',', '；', '，' or newlines, and are returned as a JSON array with
// empty items dropped and duplicates removed. MAC lists are normalized to aa:bb:cc:dd:ee:ff; IP
// lists must hold valid IPv4/IPv6 addresses (returned in canonical form).
Result<std::string> NormalizeValue(const AttributeSpec& spec, std::string_view value);

// JSON array text <-> vector.
std::vector<std::string> ListFromJson(std::string_view json_array);
std::string ListToJson(const std::vector<std::string>& items);

// "aa:bb:cc:dd:ee:ff" from any common MAC spelling (aa-bb-.., aabb.ccdd.eeff, AABBCCDDEEFF);
// nullopt when it is not a MAC address.
std::optional<std::string> NormalizeMac(std::string_view mac);
// Canonical text of an IPv4 or IPv6 address; nullopt when invalid.
std::optional<std::string> NormalizeIp(std::string_view ip);

struct AttributeValue {
  std::string value;
  Source source = Source::kManual;
  core::Timestamp at;
  std::string by;  // actor: user name, "scan:<id>", "cli:<user>"
};

struct TlsInfo {
  std::string version;       // negotiated, e.g. "TLSv1.3"
  std::vector<std::string> versions;  // accepted protocol versions, when probed
  std::string cipher;
  std::string subject;
  std::string issuer;
  std::vector<std::string> sans;
  std::string not_before;    // RFC 3339
  std::string not_after;     // RFC 3339
  std::string sha256;        // certificate fingerprint, hex
  bool self_signed = false;
};

struct Service {
  std::uint16_t port = 0;
  std::string proto = "tcp";  // tcp or udp
  bool open = true;
  std::string service;  // "http", "ssh", "dicom"
  std::string product;  // "nginx"
  std::string version;  // "1.22.1"
  std::string cpe;      // CPE 2.3
  std::string banner;   // first bytes the service sent (printable form)
  std::optional<TlsInfo> tls;
  std::map<std::string, std::string> extra;  // title, ae_title, implementation_uid, ...
  Source source = Source::kScan;
  core::Timestamp first_seen;
  core::Timestamp last_seen;
};

struct Software {
  std::string name;
  std::string version;
  std::string cpe;
  std::string purl;
  Source source = Source::kManual;
  core::Timestamp first_seen;
  core::Timestamp last_seen;
};

struct Asset {
  std::string id;
  AssetStatus status = AssetStatus::kActive;
  core::Timestamp first_seen;
  core::Timestamp last_seen;
  core::Timestamp created_at;
  core::Timestamp updated_at;
  std::map<std::string, AttributeValue> attrs;  // by attribute name; absent: not set
  std::vector<Service> services;                // open and closed, by (port, proto)
  std::vector<Software> software;

  // The value of an attribute ("" when unset) and, for lists, its items.
  std::string Get(std::string_view name) const;
  std::vector<std::string> GetList(std::string_view name) const;
};

struct BusinessSystem {
  std::string id;
  std::string name;              // HIS, EMR, PACS, LIS ...
  int mlps_level = 0;            // 等保定级 1-5; 0: not graded
  std::string owner_department;
  std::string owner;
  std::string description;
  core::Timestamp created_at;
  core::Timestamp updated_at;
};

struct HistoryEntry {
  std::int64_t id = 0;
  std::string asset_id;
  core::Timestamp at;
  std::string attribute;
  std::string old_value;
  std::string new_value;
  std::string source;
  std::string actor;
  std::string note;
};

struct Review {
  std::string id;
  std::string asset_id;
  std::string attribute;
  std::string current;
  std::string proposed;
  std::string source;
  core::Timestamp proposed_at;
  std::string proposed_by;
  std::string status;  // pending, accepted, rejected
  core::Timestamp decided_at;
  std::string decided_by;
};

// The kinds of entries in the changes feed.
enum class ChangeKind : std::uint8_t {
  kNewAsset,
  kGone,            // an asset in a scan's scope did not answer
  kBack,            // an offline asset answered again
  kServiceOpened,
  kServiceClosed,
  kVersionChanged,
  kUnknownInLogs,   // an address in events that no asset has
  kNewExposure,     // a public address:port not in the exposure ledger
  kAttributeChanged,
};
std::string_view ChangeKindName(ChangeKind k);

struct Change {
  std::int64_t seq = 0;
  core::Timestamp at;
  ChangeKind kind = ChangeKind::kNewAsset;
  std::string asset_id;
  std::string address;
  std::string detail;  // JSON object
  std::string scan_id;
};

struct ScanRecord {
  std::string id;
  std::string started_by;
  std::string kind;   // manual, scheduled, external
  std::string scope;  // JSON
  std::string status; // running, done, failed, cancelled
  core::Timestamp started_at;
  core::Timestamp finished_at;
  std::int64_t hosts_up = 0;
  std::int64_t services = 0;
  std::string summary;
};

struct Exposure {
  std::string public_ip;
  std::uint16_t public_port = 0;
  std::string proto = "tcp";
  std::string internal_ip;
  std::uint16_t internal_port = 0;
  std::string asset_id;
  std::string service;
  std::string source = "manual";
  bool approved = false;
  core::Timestamp first_seen;
  core::Timestamp last_seen;
  std::string note;
};

struct Domain {
  std::string name;
  std::string source;  // manual, certificate, dns, import
  std::vector<std::string> addresses;
  std::string asset_id;
  core::Timestamp first_seen;
  core::Timestamp last_seen;
};

}  // namespace medsoc::assets
