// The fingerprint database: probes to send and patterns that turn responses into service, product,
// version, CPE and OS. It is content, not code: YAML files under content/fingerprints/ (schema in
// docs/assets.md and at the top of content/fingerprints/README.md).
//
// Files hold any of three top-level keys:
//
//   ports:   [{port: 22, proto: tcp, service: ssh, rank: 3, tls: false, fragile: false}, ...]
//            the service name reported when nothing matched (marked method "port"), the rank that
//            orders the top-N lists (1 = most common), whether TLS is usual there, and ports that
//            mark a host as fragile (DICOM, HL7, Modbus, BACnet, printers).
//   probes:  [{name, proto: tcp|udp, payload: "..." | payload_hex: "..." | builder: NAME,
//             ports: "80,443,8000-8100" | all, tls: bool, fragile_safe: bool, wait_ms: N}, ...]
//            `builder` names a payload that code assembles from the scan options (dicom_echo,
//            hl7_query, snmp_get, dns_version, ntp_client, tls_hello). The probe named "null"
//            sends nothing and waits for a banner. `fragile_safe` probes are standard-conforming
//            requests that devices of the fragile class may receive.
//   matches: [{probe: NAME|"*", field: raw|<decoded field>, pattern: 'RE2 regex',
//             service, product, version, info, os, device, cpe, hostname, soft: bool}, ...]
//            Matches are tried in file order (files in name order); the first hard match decides.
//            A soft match only names the service and probing goes on. Templates substitute $1..$9
//            (capture groups) and ${field} (fields decoded from the response, see protocols.h).
//            Patterns are RE2 (linear time: a hostile banner cannot stall the scanner) over bytes
//            (Latin-1), so \x00 matches a NUL byte.
//
// Loading collects every problem with file:line:column (bad regex, unknown probe, unknown key,
// missing field) and loads the rest.
//
// Thread-safety: immutable after loading; Identify() is const and safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace re2 {
class RE2;
}

namespace medsoc::assets {

struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
};

struct Probe {
  std::string name;
  std::string proto = "tcp";
  std::string payload;   // bytes to send ("" for the null probe)
  std::string builder;   // payload assembled in code, see protocols.h
  std::vector<PortRange> ports;  // where the probe is tried first
  bool all_ports = false;        // a fallback for any port
  bool tls = false;              // send over TLS
  bool fragile_safe = false;
  int wait_ms = 0;               // how long to wait for the response; 0: scan default
  SourcePos pos;

  bool AppliesTo(std::uint16_t port) const;
};

struct Match {
  std::string probe;   // probe name, or "*" for any
  std::string field;   // "raw" or a decoded field name
  std::string pattern;
  std::shared_ptr<re2::RE2> re;
  std::string service, product, version, info, os, device, cpe, hostname;
  bool soft = false;
  SourcePos pos;
};

struct PortInfo {
  std::uint16_t port = 0;
  std::string proto = "tcp";
  std::string service;
  int rank = 1000000;  // lower is more common
  bool tls = false;
  bool fragile = false;
};

// The outcome of matching one response.
struct Identification {
  bool matched = false;
  bool soft = false;
  std::string service, product, version, info, os, device, cpe, hostname;
  std::string match_pos;  // "file:line" of the matching entry, for explanations
};

class FingerprintDb {
 public:
  // Loads every *.yaml file of `dir` (sorted by name). Returns the database (possibly partial) and
  // fills `errors` with every problem found. Fails only when `dir` cannot be read at all.
  static Result<std::shared_ptr<const FingerprintDb>> LoadDir(const std::string& dir, std::vector<Error>& errors);
  // Loads one YAML document given as text (tests, fuzzing); `file` names it in errors.
  static std::shared_ptr<const FingerprintDb> LoadText(std::string_view text, const std::string& file,
                                                       std::vector<Error>& errors);

  const std::vector<Probe>& probes() const { return probes_; }
  const Probe* FindProbe(std::string_view name) const;
  const PortInfo* Port(std::uint16_t port, std::string_view proto) const;
  // The `n` most common ports of `proto` by rank (all ranked ports when n exceeds them).
  std::vector<std::uint16_t> TopPorts(std::string_view proto, std::size_t n) const;
  std::size_t match_count() const { return matches_.size(); }
  // Distinct service names the database can identify (by a match, not only by port).
  std::vector<std::string> ServiceNames() const;

  // Matches a response to `probe` (decoded `fields` included) against the database. With
  // `probe_only`, only the probe's own matches count, not the generic `probe: "*"` ones (UDP: an
  // SSDP answer is HTTP-shaped but is not a web server).
  Identification Identify(std::string_view probe, std::string_view response,
                          const std::map<std::string, std::string>& fields, bool probe_only = false) const;

 private:
  void LoadDocument(std::string_view text, const std::string& file, std::vector<Error>& errors);
  void Finish(std::vector<Error>& errors);

  std::vector<Probe> probes_;
  std::vector<Match> matches_;
  std::map<std::pair<std::string, std::uint16_t>, PortInfo> ports_;
};

// Expands a template: $1..$9 from `groups`, ${name} from `fields`; the result is made printable
// (control bytes dropped) and trimmed.
std::string ExpandTemplate(std::string_view tmpl, const std::vector<std::string>& groups,
                           const std::map<std::string, std::string>& fields);

// "22,80,443,8000-8100" -> ranges; errors name the bad item.
Result<std::vector<PortRange>> ParsePortRanges(std::string_view text);

}  // namespace medsoc::assets
