// ReferenceMatcher: the obvious Sigma evaluator — for every event, loop over every rule, check its
// logsource, and walk its condition, matching each value with a glob or a regex. No index, no
// multi-pattern matching. It is the baseline of bench/detect_sigma_bench.cpp and the oracle of the
// differential tests (the engine must report exactly the same matches).
//
// Supports the modifiers SigmaHQ uses (contains, startswith, endswith, all, cased, exists, re with
// i/m/s, windash, base64, base64offset, utf16*/wide, cidr, lt/lte/gt/gte, neq); a rule with
// anything else (fieldref, expand, time parts) is skipped and counted in skipped().
//
// Thread-safety: Match is const and safe from several threads.
#pragma once

#include <memory>
#include <vector>

#include "detect/logsource.h"
#include "detect/rule.h"
#include "event/event.h"

namespace medsoc::detect {

class ReferenceMatcher {
 public:
  // `unmapped_on_every_event` as in CompileOptions: unmapped logsources use GenericEntry unless set.
  ReferenceMatcher(const std::vector<SigmaDocument>& docs, const LogsourceMap& logsources,
                   bool unmapped_on_every_event = false);
  ~ReferenceMatcher();
  // Indexes (into the rules accepted, in document order) of the rules that match.
  void Match(const event::Event& event, std::vector<std::uint32_t>& out) const;
  std::size_t size() const;
  std::size_t skipped() const { return skipped_; }
  const std::string& rule_id(std::uint32_t i) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t skipped_ = 0;
};

}  // namespace medsoc::detect
