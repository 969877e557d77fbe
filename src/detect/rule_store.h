// RuleService: the rule packs a running medsoc evaluates, and their management (the API of
// src/api/routes_rules.h sits on it).
//
// What it owns:
//  - built-in packs, read-only: content/rules/medsoc and, when configured, a SigmaHQ directory;
//  - custom rules uploaded by tenants, one file per upload under
//      <data_dir>/rules/custom/<tenant>/<first document id>.yml
//    A custom rule alerts only on its tenant's events (TenantRuleFilter::owner);
//  - enable/disable state, per tenant: a tenant disabling a rule silences it for its own events
//    only (a hospital must not be able to switch off detection for another). Persisted in
//      <data_dir>/rules/state.json  {"version":1,"disabled":{"<tenant>":["<rule id>",...]}}
//    written atomically (temporary file, fsync, rename).
//
// Every change that alters the rule set (upload, delete, Reload) compiles the whole set once and
// publishes it: a snapshot for readers and, when a Detector is attached, Detector::Reload (which
// keeps correlation state of unchanged correlations). Enable/disable only republishes the tenant
// filter (no compile). Statistics (hits, evaluations, cost) are installation-wide counts of the
// current rule set; they restart when the set is recompiled.
//
// Thread-safety: all methods may be called from any thread. Readers work on an immutable snapshot;
// writers are serialised, and a compile does not block readers.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "detect/detector.h"
#include "detect/engine.h"
#include "detect/logsource.h"

namespace medsoc::detect {

struct RuleServiceOptions {
  std::string logsource_dir;               // content/logsources
  std::vector<std::string> builtin_paths;  // e.g. {"content/rules/medsoc"}
  std::string sigmahq_dir;                 // optional third-party pack ("" = none)
  std::string data_dir;                    // custom rules and state live under <data_dir>/rules
  CompileOptions compile;
};

enum class RuleOrigin : std::uint8_t { kBuiltin, kSigmaHq, kCustom };
std::string_view RuleOriginName(RuleOrigin o);

// One rule or correlation as the API shows it.
struct RuleView {
  std::string id;
  std::string name;
  std::string title;
  std::string description;
  std::string level;
  std::string status;
  std::vector<std::string> tags;
  std::vector<std::string> falsepositives;
  Logsource logsource;
  std::string kind;  // "detection" or "correlation" (then correlation_type is set)
  std::string correlation_type;
  RuleOrigin origin = RuleOrigin::kBuiltin;
  std::string owner_tenant;  // custom rules
  bool enabled = true;       // for the asking tenant
  std::string file;
  SourcePos pos;
  std::string source_text;
  std::uint64_t hits = 0;
  std::uint64_t evaluations = 0;
  double avg_cost_ns = 0;  // mean of sampled evaluations (0: none sampled)
};

struct RuleQuery {
  std::string text;       // case-insensitive substring of id, name, title, description
  std::string level;      // exact
  std::string tag;        // exact tag ("attack.t1110") or prefix ending in '.' ("attack.")
  std::string logsource;  // substring of "product=.. category=.. service=.."
  std::optional<bool> enabled;
  std::string origin;     // builtin, sigmahq, custom
  std::size_t offset = 0;
  std::size_t limit = 100;
};

struct RulePage {
  std::vector<RuleView> items;
  std::size_t total = 0;
};

class RuleService {
 public:
  // Loads the packs, custom rules and state, and compiles. Problems in built-in packs are kept in
  // summary() (they do not stop start-up); a broken logsource mapping or an unreadable state file
  // is an error.
  static Result<std::unique_ptr<RuleService>> Open(RuleServiceOptions options);
  ~RuleService();

  // Publishes every future rule set and filter to `detector` (and the current ones right away).
  void AttachDetector(Detector* detector);

  std::shared_ptr<RuleSet> rules() const;
  LoadSummary summary() const;

  // Rules visible to `tenant` (built-ins and its own custom rules), filtered and paged, in
  // (origin, title) order.
  RulePage List(const std::string& tenant, const RuleQuery& query) const;
  std::optional<RuleView> Get(const std::string& tenant, const std::string& id) const;
  // Rules with the most hits, visible to `tenant`.
  std::vector<RuleView> Top(const std::string& tenant, std::size_t n) const;

  // kNotFound when the tenant cannot see the rule.
  Status SetEnabled(const std::string& tenant, const std::string& id, bool enabled);

  // Validates `yaml` (one or more Sigma documents) as a custom rule file of `tenant`, with the
  // built-in and custom rules in scope (a correlation may reference them). On any error or
  // unsupported feature nothing changes: returns kInvalidArgument and fills `problems` (every
  // problem, with line:column in the uploaded text, file "upload.yml"). On success the file is
  // stored, the set recompiled and published, and the new rules returned.
  Result<std::vector<RuleView>> Upload(const std::string& tenant, const std::string& yaml,
                                       std::vector<Problem>& problems);
  // Deletes the custom file that defines `id` (all its documents). kNotFound when `tenant` has no
  // such custom rule; kFailedPrecondition for built-in rules.
  Status Delete(const std::string& tenant, const std::string& id);

  // Re-reads every pack and custom file from disk and republishes.
  Status Reload();

 private:
  struct Snapshot;
  struct Doc;
  explicit RuleService(RuleServiceOptions options);
  Status LoadAll();                                 // REQUIRES: write_mu_ held
  void Publish(std::shared_ptr<Snapshot> snapshot);  // REQUIRES: write_mu_ held
  void PublishFilterLocked();                        // REQUIRES: write_mu_ and snap_mu_ held
  Status SaveState() const;                          // REQUIRES: write_mu_ held
  std::shared_ptr<const Snapshot> snapshot() const;
  RuleView ViewOf(const Snapshot& s, const Doc& d, const std::string& tenant, const TenantRuleFilter* filter) const;
  bool Visible(const Doc& d, const std::string& tenant) const;

  RuleServiceOptions options_;
  LogsourceMap logsources_;
  std::mutex write_mu_;  // serialises changes
  std::map<std::string, std::set<std::string>> disabled_copy_;  // tenant -> rule ids; under write_mu_
  mutable std::mutex snap_mu_;
  std::shared_ptr<const Snapshot> snap_;             // under snap_mu_
  std::shared_ptr<const TenantRuleFilter> filter_;  // under snap_mu_
  Detector* detector_ = nullptr;                     // under snap_mu_
};

}  // namespace medsoc::detect
