#include "ingest/parse/auto_detect.h"

#include <string>

namespace medsoc::ingest {
namespace {

// Clears what a failed parse may have written while keeping the envelope the caller filled.
void ResetKeepEnvelope(event::Event& e) {
  const std::string_view raw = e.raw(), tenant = e.tenant_id(), source = e.source_name();
  const core::Timestamp ingest = e.ingest_time();
  e.Reset();  // the arena is untouched, so the views above stay valid
  e.set_raw(raw);
  e.set_tenant_id(tenant);
  e.set_source_name(source);
  e.set_ingest_time(ingest);
}

}  // namespace

AutoDetector::AutoDetector(std::vector<std::unique_ptr<Parser>> candidates, AutoDetectOptions options)
    : candidates_(std::move(candidates)), options_(std::move(options)), totals_(candidates_.size(), 0) {
  MEDSOC_ASSERT(!candidates_.empty());
}

Result<std::unique_ptr<AutoDetector>> AutoDetector::FromRegistry(const core::Registry& registry,
                                                                 AutoDetectOptions options) {
  std::vector<std::unique_ptr<Parser>> candidates;
  // Specific formats first so that they win ties against the generic ones.
  std::vector<std::string> names = registry.Names<Parser>();
  std::vector<std::string> generic;
  for (const auto& n : names) {
    if (n == "auto" || n == "syslog") continue;
    if (n == "kv" || n == "rfc3164" || n == "json") {
      generic.push_back(n);
      continue;
    }
    MEDSOC_ASSIGN_OR_RETURN(auto p, registry.Create<Parser>(n));
    candidates.push_back(std::move(p));
  }
  for (const auto& n : generic) {
    MEDSOC_ASSIGN_OR_RETURN(auto p, registry.Create<Parser>(n));
    candidates.push_back(std::move(p));
  }
  if (candidates.empty()) return Error(ErrorCode::kFailedPrecondition, "no parsers registered for auto-detection");
  return std::make_unique<AutoDetector>(std::move(candidates), std::move(options));
}

int AutoDetector::BestFor(std::string_view message, int* score_out, int exclude) const {
  int best = -1, best_score = 0;
  for (std::size_t i = 0; i < candidates_.size(); ++i) {
    if (static_cast<int>(i) == exclude) continue;
    const int s = candidates_[i]->Detect(message);
    if (s > best_score) {
      best_score = s;
      best = static_cast<int>(i);
    }
  }
  if (score_out) *score_out = best_score;
  return best;
}

int AutoDetector::FallbackIndex() const {
  for (std::size_t i = 0; i < candidates_.size(); ++i)
    if (candidates_[i]->name() == options_.fallback) return static_cast<int>(i);
  return 0;
}

void AutoDetector::Lock() {
  int best = -1;
  long best_total = 0;
  for (std::size_t i = 0; i < totals_.size(); ++i)
    if (totals_[i] > best_total) {
      best_total = totals_[i];
      best = static_cast<int>(i);
    }
  if (best >= 0 && sampled_ > 0 && best_total / sampled_ >= options_.min_score) {
    locked_ = best;
  } else {
    locked_ = FallbackIndex();
  }
  failures_ = 0;
}

Status AutoDetector::Parse(std::string_view message, const ParseContext& ctx, event::Event& e) {
  if (locked_ < 0) {
    for (std::size_t i = 0; i < candidates_.size(); ++i) totals_[i] += candidates_[i]->Detect(message);
    ++sampled_;
    int score = 0;
    int best = BestFor(message, &score);
    if (sampled_ >= options_.sample_size) Lock();
    if (best < 0) best = locked_ >= 0 ? locked_ : FallbackIndex();
    return candidates_[static_cast<std::size_t>(best)]->Parse(message, ctx, e);
  }
  Status st = candidates_[static_cast<std::size_t>(locked_)]->Parse(message, ctx, e);
  if (st.ok()) {
    failures_ = 0;
    return st;
  }
  if (++failures_ >= options_.redetect_after_failures) {
    locked_ = -1;
    sampled_ = 0;
    std::fill(totals_.begin(), totals_.end(), 0);
  }
  int score = 0;
  const int other = BestFor(message, &score, locked_);
  if (other >= 0 && score >= options_.min_score) {
    ResetKeepEnvelope(e);
    Status retry = candidates_[static_cast<std::size_t>(other)]->Parse(message, ctx, e);
    if (retry.ok()) return retry;
  }
  return st;
}

int AutoDetector::Detect(std::string_view sample) const {
  int score = 0;
  BestFor(sample, &score);
  return score;
}

std::string_view AutoDetector::locked() const {
  return locked_ < 0 ? std::string_view() : candidates_[static_cast<std::size_t>(locked_)]->name();
}

}  // namespace medsoc::ingest
