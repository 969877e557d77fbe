#include "detect/rule_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "detect/correlation.h"
#include "detect/reader.h"

namespace medsoc::detect {

namespace fs = std::filesystem;

std::string_view RuleOriginName(RuleOrigin o) {
  switch (o) {
    case RuleOrigin::kBuiltin: return "builtin";
    case RuleOrigin::kSigmaHq: return "sigmahq";
    case RuleOrigin::kCustom: return "custom";
  }
  return "?";
}

struct RuleService::Doc {
  SigmaDocument doc;
  RuleOrigin origin = RuleOrigin::kBuiltin;
  std::string tenant;       // custom only
  std::string custom_file;  // custom only: the file on disk
  std::string key() const { return doc.id.empty() ? doc.title : doc.id; }
};

struct RuleService::Snapshot {
  std::shared_ptr<RuleSet> set;
  std::vector<Doc> all;               // every document read (for recompiles)
  std::vector<std::size_t> loaded;    // indexes into `all` of rules and correlations that compiled
  std::map<std::string, std::size_t> by_id;  // loaded: id -> index into `all`
  LoadSummary summary;
};

namespace {

constexpr const char* kUploadName = "upload.yml";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A problem positioned in the uploaded text. (A helper rather than a braced initializer: gcc 12
// warns, wrongly, about the nested SourcePos of a braced Problem.)
Problem UploadProblem(int line, int column, std::string rule_id, std::string reason) {
  Problem p;
  p.severity = Severity::kError;
  p.pos.file = kUploadName;
  p.pos.line = line;
  p.pos.column = column;
  p.rule_id = std::move(rule_id);
  p.reason = std::move(reason);
  return p;
}

bool ValidTenant(const std::string& t) {
  if (t.empty() || t.size() > 63) return false;
  for (char c : t)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  return true;
}

bool ValidFileId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  return id.front() != '.';
}

Status WriteAtomically(const std::string& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Error(ErrorCode::kIo, "cannot create " + fs::path(path).parent_path().string() + ": " + ec.message());
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error(ErrorCode::kIo, "cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Error(ErrorCode::kIo, "cannot write " + tmp + ": " + why);
    }
    done += static_cast<std::size_t>(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Error(ErrorCode::kIo, "cannot sync " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return Error(ErrorCode::kIo, "cannot rename " + tmp + ": " + std::strerror(errno));
  return Ok();
}

}  // namespace

RuleService::RuleService(RuleServiceOptions options) : options_(std::move(options)) {}
RuleService::~RuleService() = default;

Result<std::unique_ptr<RuleService>> RuleService::Open(RuleServiceOptions options) {
  std::unique_ptr<RuleService> s(new RuleService(std::move(options)));
  const auto lp = s->logsources_.LoadPath(s->options_.logsource_dir);
  for (const auto& p : lp)
    if (p.severity == Severity::kError)
      return Error(ErrorCode::kParse, "logsource mapping: " + p.reason, p.pos);
  // state.json
  const fs::path state = fs::path(s->options_.data_dir) / "rules" / "state.json";
  std::error_code ec;
  if (!s->options_.data_dir.empty() && fs::exists(state, ec)) {
    std::ifstream in(state);
    std::stringstream ss;
    ss << in.rdbuf();
    try {
      const auto j = nlohmann::json::parse(ss.str());
      if (j.value("version", 0) != 1) return Error(ErrorCode::kCorruption, state.string() + ": unknown version");
      for (const auto& [tenant, ids] : j.at("disabled").items())
        for (const auto& id : ids) s->disabled_copy_[tenant].insert(id.get<std::string>());
    } catch (const std::exception& e) {
      return Error(ErrorCode::kCorruption, state.string() + ": " + e.what());
    }
  }
  std::lock_guard lock(s->write_mu_);
  MEDSOC_TRY(s->LoadAll());
  return s;
}

Status RuleService::LoadAll() {
  std::vector<Doc> docs;
  std::vector<Problem> problems;
  auto add = [&](ReadResult&& rr, RuleOrigin origin, const std::string& tenant, const std::string& file) {
    for (auto& p : rr.problems) problems.push_back(std::move(p));
    for (auto& d : rr.docs) docs.push_back({std::move(d), origin, tenant, file});
  };
  for (const auto& p : options_.builtin_paths) add(ReadSigmaPaths({p}), RuleOrigin::kBuiltin, "", "");
  std::error_code ec;
  if (!options_.sigmahq_dir.empty()) {
    if (!fs::is_directory(options_.sigmahq_dir, ec))
      return Error(ErrorCode::kNotFound, "SigmaHQ directory " + options_.sigmahq_dir + " does not exist");
    add(ReadSigmaPaths({options_.sigmahq_dir}), RuleOrigin::kSigmaHq, "", "");
  }
  const fs::path custom = fs::path(options_.data_dir) / "rules" / "custom";
  if (!options_.data_dir.empty() && fs::is_directory(custom, ec)) {
    std::vector<fs::path> files;
    for (const auto& t : fs::directory_iterator(custom, ec)) {
      if (!t.is_directory() || !ValidTenant(t.path().filename().string())) continue;
      for (const auto& f : fs::directory_iterator(t.path(), ec))
        if (f.is_regular_file() && f.path().extension() == ".yml") files.push_back(f.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files)
      add(ReadSigmaPaths({f.string()}), RuleOrigin::kCustom, f.parent_path().filename().string(), f.string());
  }
  std::vector<SigmaDocument> copy;
  copy.reserve(docs.size());
  for (const auto& d : docs) copy.push_back(d.doc);
  auto set = RuleSet::Compile(std::move(copy), logsources_, options_.compile, problems);
  auto snap = std::make_shared<Snapshot>();
  snap->set = std::move(set);
  snap->all = std::move(docs);
  Summarize(snap->all.size(), std::move(problems), snap->summary);
  Publish(std::move(snap));
  return Ok();
}

void RuleService::Publish(std::shared_ptr<Snapshot> snap) {
  const RuleSet& set = *snap->set;
  const CorrelationPlan& plan = set.correlation_plan();
  for (std::size_t i = 0; i < snap->all.size(); ++i) {
    const Doc& d = snap->all[i];
    // The collector keeps the first document of an id, as by_id does.
    const bool ok = d.doc.kind == DocKind::kRule          ? set.Find(d.key()) >= 0
                    : d.doc.kind == DocKind::kCorrelation ? plan.Find(d.key()) >= 0
                                                          : false;
    if (ok && snap->by_id.emplace(d.key(), i).second) snap->loaded.push_back(i);
  }
  snap->summary.loaded = set.size() + plan.correlations.size();
  std::shared_ptr<RuleSet> rules = snap->set;
  std::lock_guard lock(snap_mu_);
  snap_ = std::move(snap);
  if (detector_ != nullptr) detector_->Reload(rules);
  PublishFilterLocked();
}

void RuleService::PublishFilterLocked() {
  auto f = std::make_shared<TenantRuleFilter>();
  for (std::size_t i : snap_->loaded) {
    const Doc& d = snap_->all[i];
    if (d.origin == RuleOrigin::kCustom) f->owner[d.key()] = d.tenant;
  }
  for (const auto& [tenant, ids] : disabled_copy_)
    for (const auto& id : ids) f->disabled[id].insert(tenant);
  filter_ = f;
  if (detector_ != nullptr) detector_->SetTenantFilter(filter_);
}

std::shared_ptr<const RuleService::Snapshot> RuleService::snapshot() const {
  std::lock_guard lock(snap_mu_);
  return snap_;
}

void RuleService::AttachDetector(Detector* detector) {
  std::lock_guard lock(snap_mu_);
  detector_ = detector;
  if (detector_ != nullptr) {
    detector_->Reload(snap_->set);
    detector_->SetTenantFilter(filter_);
  }
}

std::shared_ptr<RuleSet> RuleService::rules() const { return snapshot()->set; }
LoadSummary RuleService::summary() const { return snapshot()->summary; }

bool RuleService::Visible(const Doc& d, const std::string& tenant) const {
  return d.origin != RuleOrigin::kCustom || d.tenant == tenant;
}

RuleView RuleService::ViewOf(const Snapshot& s, const Doc& d, const std::string& tenant,
                             const TenantRuleFilter* filter) const {
  RuleView v;
  const SigmaDocument& doc = d.doc;
  v.id = d.key();
  v.name = doc.name;
  v.title = doc.title;
  v.description = doc.description;
  v.level = doc.level.empty() ? "medium" : doc.level;
  v.status = doc.status;
  v.tags = doc.tags;
  v.falsepositives = doc.falsepositives;
  v.logsource = doc.logsource;
  v.origin = d.origin;
  v.owner_tenant = d.tenant;
  v.file = d.origin == RuleOrigin::kCustom ? fs::path(doc.file).filename().string() : doc.file;
  v.pos = doc.pos;
  v.source_text = doc.source_text;
  v.enabled = filter == nullptr || filter->Allows(v.id, tenant);
  if (doc.kind == DocKind::kCorrelation) {
    v.kind = "correlation";
    v.correlation_type = std::string(CorrelationTypeName(doc.correlation->type));
    const auto& plan = s.set->correlation_plan();
    if (const auto c = plan.Find(v.id); c >= 0) v.hits = plan.hits[static_cast<std::size_t>(c)].load();
  } else {
    v.kind = "detection";
    if (const auto r = s.set->Find(v.id); r >= 0) {
      const RuleStats& st = s.set->stats(static_cast<std::size_t>(r));
      v.hits = st.hits.load();
      v.evaluations = st.evaluations.load();
      const auto samples = st.samples.load();
      v.avg_cost_ns = samples ? static_cast<double>(st.sampled_ns.load()) / static_cast<double>(samples) : 0;
    }
  }
  return v;
}

RulePage RuleService::List(const std::string& tenant, const RuleQuery& q) const {
  auto s = snapshot();
  std::shared_ptr<const TenantRuleFilter> filter;
  {
    std::lock_guard lock(snap_mu_);
    filter = filter_;
  }
  const std::string text = Lower(q.text), ls = Lower(q.logsource);
  std::vector<RuleView> all;
  for (std::size_t i : s->loaded) {
    const Doc& d = s->all[i];
    if (!Visible(d, tenant)) continue;
    RuleView v = ViewOf(*s, d, tenant, filter.get());
    if (!text.empty() && Lower(v.id + "\n" + v.name + "\n" + v.title + "\n" + v.description).find(text) == std::string::npos)
      continue;
    if (!q.level.empty() && v.level != q.level) continue;
    if (!q.tag.empty()) {
      const bool prefix = q.tag.back() == '.';
      bool found = false;
      for (const auto& t : v.tags) found |= prefix ? Lower(t).rfind(Lower(q.tag), 0) == 0 : Lower(t) == Lower(q.tag);
      if (!found) continue;
    }
    if (!ls.empty() && Lower(v.logsource.ToString()).find(ls) == std::string::npos) continue;
    if (q.enabled && v.enabled != *q.enabled) continue;
    if (!q.origin.empty() && RuleOriginName(v.origin) != q.origin) continue;
    all.push_back(std::move(v));
  }
  std::stable_sort(all.begin(), all.end(), [](const RuleView& a, const RuleView& b) {
    return std::tie(a.origin, a.title, a.id) < std::tie(b.origin, b.title, b.id);
  });
  RulePage page;
  page.total = all.size();
  for (std::size_t i = q.offset; i < all.size() && page.items.size() < q.limit; ++i) page.items.push_back(std::move(all[i]));
  return page;
}

std::optional<RuleView> RuleService::Get(const std::string& tenant, const std::string& id) const {
  auto s = snapshot();
  std::shared_ptr<const TenantRuleFilter> filter;
  {
    std::lock_guard lock(snap_mu_);
    filter = filter_;
  }
  auto it = s->by_id.find(id);
  if (it == s->by_id.end() || !Visible(s->all[it->second], tenant)) return std::nullopt;
  return ViewOf(*s, s->all[it->second], tenant, filter.get());
}

std::vector<RuleView> RuleService::Top(const std::string& tenant, std::size_t n) const {
  RuleQuery q;
  q.limit = static_cast<std::size_t>(-1);
  auto page = List(tenant, q);
  std::vector<RuleView> out;
  for (auto& v : page.items)
    if (v.hits > 0) out.push_back(std::move(v));
  std::stable_sort(out.begin(), out.end(), [](const RuleView& a, const RuleView& b) { return a.hits > b.hits; });
  if (out.size() > n) out.resize(n);
  return out;
}

Status RuleService::SaveState() const {
  if (options_.data_dir.empty()) return Ok();
  nlohmann::json disabled = nlohmann::json::object();
  for (const auto& [tenant, ids] : disabled_copy_)
    if (!ids.empty()) disabled[tenant] = ids;
  const nlohmann::json j = {{"version", 1}, {"disabled", disabled}};
  return WriteAtomically((fs::path(options_.data_dir) / "rules" / "state.json").string(), j.dump(1) + "\n");
}

Status RuleService::SetEnabled(const std::string& tenant, const std::string& id, bool enabled) {
  std::lock_guard wl(write_mu_);
  auto s = snapshot();
  auto it = s->by_id.find(id);
  if (it == s->by_id.end() || !Visible(s->all[it->second], tenant))
    return Error(ErrorCode::kNotFound, "rule " + id + " not found");
  auto next = disabled_copy_;
  if (enabled) next[tenant].erase(id);
  else next[tenant].insert(id);
  std::swap(next, disabled_copy_);
  if (auto st = SaveState(); !st.ok()) {
    std::swap(next, disabled_copy_);
    return st;
  }
  std::lock_guard lock(snap_mu_);
  PublishFilterLocked();
  return Ok();
}

Result<std::vector<RuleView>> RuleService::Upload(const std::string& tenant, const std::string& yaml,
                                                  std::vector<Problem>& problems) {
  if (!ValidTenant(tenant)) return Error(ErrorCode::kInvalidArgument, "invalid tenant id");
  if (options_.data_dir.empty()) return Error(ErrorCode::kFailedPrecondition, "no data directory for custom rules");
  std::lock_guard wl(write_mu_);
  ReadResult rr = ReadSigmaYaml(yaml, kUploadName);
  problems = rr.problems;
  auto s = snapshot();
  if (rr.docs.empty() && problems.empty())
    problems.push_back(UploadProblem(1, 1, "", "no Sigma document in the upload"));
  std::string replaced;  // the tenant's existing file this upload replaces (same first id)
  std::set<std::string> ids;
  for (const auto& d : rr.docs) {
    if (d.id.empty()) {
      problems.push_back({Severity::kError, d.pos, d.title, "a custom rule needs an 'id' (a UUID)"});
      continue;
    }
    if (!ValidFileId(d.id)) {
      problems.push_back({Severity::kError, d.pos, d.id, "'id' may only hold letters, digits, '-', '_' and '.'"});
      continue;
    }
    if (!ids.insert(d.id).second) problems.push_back({Severity::kError, d.pos, d.id, "duplicate id in the upload"});
    for (const Doc& other : s->all) {
      if (other.doc.id != d.id && (d.name.empty() || other.doc.name != d.name)) continue;
      if (other.origin == RuleOrigin::kCustom && other.tenant == tenant) {
        if (replaced.empty()) replaced = other.custom_file;
        if (other.custom_file == replaced) continue;
      }
      problems.push_back({Severity::kError, d.pos, d.id,
                          other.doc.id == d.id ? "id " + d.id + " is already used by another rule"
                                               : "name " + d.name + " is already used by another rule"});
    }
  }
  auto has_errors = [&] {
    return std::any_of(problems.begin(), problems.end(), [](const Problem& p) { return p.severity != Severity::kWarning; });
  };
  if (has_errors()) return Error(ErrorCode::kInvalidArgument, "the rule has problems");

  const std::string file = (fs::path(options_.data_dir) / "rules" / "custom" / tenant / (rr.docs.front().id + ".yml")).string();
  std::vector<Doc> docs;
  for (const Doc& d : s->all)
    if (d.custom_file.empty() || (d.custom_file != replaced && d.custom_file != file)) docs.push_back(d);
  const std::size_t first_new = docs.size();
  for (auto& d : rr.docs) {
    d.file = file;
    d.pos.file = file;
    docs.push_back({std::move(d), RuleOrigin::kCustom, tenant, file});
  }
  std::vector<SigmaDocument> copy;
  for (const auto& d : docs) copy.push_back(d.doc);
  std::vector<Problem> compile_problems;
  auto set = RuleSet::Compile(std::move(copy), logsources_, options_.compile, compile_problems);
  // Problems of the uploaded documents (they are positioned in upload.yml); built-in packs'
  // problems are not the uploader's.
  std::set<std::string> new_keys;
  for (std::size_t i = first_new; i < docs.size(); ++i) new_keys.insert(docs[i].key());
  for (auto& p : compile_problems) {
    if (p.pos.file != kUploadName && p.pos.file != file && !new_keys.count(p.rule_id)) continue;
    if (p.pos.file == file) p.pos.file = kUploadName;
    problems.push_back(p);
  }
  for (std::size_t i = first_new; i < docs.size(); ++i) {
    const Doc& d = docs[i];
    if (d.doc.kind == DocKind::kRule && set->Find(d.key()) >= 0) {
      const RuleInfo& info = set->info(static_cast<std::size_t>(set->Find(d.key())));
      if (!info.mapped_logsource)
        problems.push_back(UploadProblem(d.doc.pos.line, d.doc.pos.column, d.key(),
                                         "no logsource mapping for " + d.doc.logsource.ToString() +
                                             "; a custom rule must use a mapped logsource (content/logsources)"));
    }
  }
  if (has_errors()) return Error(ErrorCode::kInvalidArgument, "the rule has problems");

  // Store, then publish.
  MEDSOC_TRY(WriteAtomically(file, yaml));
  if (!replaced.empty() && replaced != file) {
    std::error_code ec;
    fs::remove(replaced, ec);
  }
  auto snap = std::make_shared<Snapshot>();
  snap->set = std::move(set);
  snap->all = std::move(docs);
  snap->summary = s->summary;
  Publish(snap);
  std::vector<RuleView> out;
  for (std::size_t i = first_new; i < snap->all.size(); ++i) {
    if (!snap->by_id.count(snap->all[i].key())) continue;
    std::lock_guard lock(snap_mu_);
    out.push_back(ViewOf(*snap, snap->all[i], tenant, filter_.get()));
  }
  return out;
}

Status RuleService::Delete(const std::string& tenant, const std::string& id) {
  std::lock_guard wl(write_mu_);
  auto s = snapshot();
  auto it = s->by_id.find(id);
  if (it == s->by_id.end() || !Visible(s->all[it->second], tenant))
    return Error(ErrorCode::kNotFound, "rule " + id + " not found");
  const Doc& target = s->all[it->second];
  if (target.origin != RuleOrigin::kCustom)
    return Error(ErrorCode::kFailedPrecondition, "rule " + id + " is built in; disable it instead");
  const std::string file = target.custom_file;
  std::error_code ec;
  if (!fs::remove(file, ec) && ec) return Error(ErrorCode::kIo, "cannot remove " + file + ": " + ec.message());
  std::vector<Doc> docs;
  for (const Doc& d : s->all)
    if (d.custom_file != file) docs.push_back(d);
  std::vector<SigmaDocument> copy;
  for (const auto& d : docs) copy.push_back(d.doc);
  std::vector<Problem> problems;
  auto snap = std::make_shared<Snapshot>();
  snap->set = RuleSet::Compile(std::move(copy), logsources_, options_.compile, problems);
  snap->all = std::move(docs);
  Summarize(snap->all.size(), std::move(problems), snap->summary);
  Publish(snap);
  return Ok();
}

Status RuleService::Reload() {
  std::lock_guard wl(write_mu_);
  return LoadAll();
}

}  // namespace medsoc::detect
