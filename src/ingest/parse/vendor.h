// Data-driven vendor log mappings: one YAML file per product in content/ingest/vendors/ turns
// that product's key=value (or key:value) logs into ECS fields. Adding a vendor is a data change.
// The file format is documented in content/ingest/README.md; in short:
//
//   version: 1
//   name: fortigate                 # parser name, [a-z0-9_-]+, unique
//   vendor: Fortinet                # -> observer.vendor
//   product: FortiGate              # -> observer.product
//   observer_type: firewall         # -> observer.type
//   detect: {keys: [devid, logid], contains: ["..."]}      # all must occur (cheap substring tests)
//   format:
//     header: optional              # optional | none: a syslog header may precede the payload
//     start_after: "):"             # payload starts after the first occurrence (optional)
//     pair_separator: " "           # " " (runs of blanks), or one character: "," ";" "|" "\t"
//     value_separator: "="          # one character ("=" or ":")
//     quotes: true                  # "..." / '...' values
//     spaces_in_values: false       # with " ": unquoted values run on to the next key=
//     key_cut: "("                  # cut keys at this character ("SrcIPAddr(1003)")
//     trim_last_value: "."          # strip these characters from the end of the last value
//   time: {fields: [date, time], layout: iso, zone_field: tz}   # layout: iso|bsd|epoch|epoch_ms|epoch_us|epoch_ns
//   fields:                         # vendor key -> one target or a list of targets
//     srcip: {to: source.ip, type: ip}
//     action:
//       - {to: event.action, lowercase: true}
//       - {to: event.outcome, map: {accept: success, deny: failure}, default: unknown}
//   set: {event.category: network}  # constants on every event
//
// Target options: to (ECS name, required), type (keyword, text, long, double, boolean, ip, date;
// default keyword), map (case-insensitive value map), default (used when map has no entry; without
// it an unmapped value leaves the target unset), lowercase, related (ip | user | hosts).
//
// Loading collects every problem with file:line:column and keeps the valid parts: a bad target
// is dropped, a file without a usable name/detect/format is skipped.
//
// Thread-safety: a loaded VendorSpec is immutable and shared by every VendorParser made from it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/parse/parser.h"

namespace medsoc::ingest::text {

struct VendorSpec;  // defined in vendor.cpp

struct VendorLoadResult {
  std::vector<std::shared_ptr<const VendorSpec>> specs;
  std::vector<Error> problems;
};

// Loads one YAML document; `file` names it in error positions.
VendorLoadResult LoadVendorYaml(std::string_view yaml, std::string_view file);
// Loads every *.yaml in `dir` (sorted by name); a missing directory is not an error. Names must be
// unique across files (the later one is reported and skipped).
VendorLoadResult LoadVendorDir(const std::string& dir);

std::string_view VendorSpecName(const VendorSpec& spec);

class VendorParser final : public Parser {
 public:
  explicit VendorParser(std::shared_ptr<const VendorSpec> spec) : spec_(std::move(spec)) {}
  std::string_view name() const override;
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) override;
  int Detect(std::string_view sample) const override;

 private:
  std::shared_ptr<const VendorSpec> spec_;
};

}  // namespace medsoc::ingest::text
