// AutoDetector: format auto-detection for a source with no configured format ("--format auto").
//
// It is itself a Parser (name "auto") wrapping every candidate parser:
//  1. Sampling: for each of the first `sample_size` messages it asks every candidate's Detect()
//     (cheap, no full parse), parses the message with the best scorer for that message, and adds
//     the scores to per-candidate totals.
//  2. Locking: after the sample it locks onto the candidate with the highest total whose average
//     score is at least `min_score`; when none qualifies it locks onto `fallback` (the lenient
//     rfc3164 parser by default, which keeps any line as a message).
//  3. Locked: every message goes to the locked parser. When it fails, the message is retried with
//     the best other candidate for that message (mixed sources, e.g. a relay), so one odd line is
//     not lost to a parse error. After `redetect_after_failures` consecutive failures of the
//     locked parser it unlocks and samples again (a source whose device was replaced).
// Ties go to the candidate registered first (candidates are tried in the order given).
//
// Thread-safety: none; one AutoDetector per source and worker (Registry::Create gives a fresh one).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/registry.h"
#include "ingest/parse/parser.h"

namespace medsoc::ingest {

struct AutoDetectOptions {
  int sample_size = 16;               // messages scored before locking
  int min_score = 30;                 // average score a candidate needs to be locked onto
  int redetect_after_failures = 32;   // consecutive failures of the locked parser that unlock it
  std::string fallback = "rfc3164";   // locked onto when nothing qualifies
};

class AutoDetector final : public Parser {
 public:
  // REQUIRES: candidates non-empty; none of them is an AutoDetector.
  AutoDetector(std::vector<std::unique_ptr<Parser>> candidates, AutoDetectOptions options = {});
  // Every parser in `registry` except "auto" and "syslog" (which only merges rfc3164/rfc5424).
  static Result<std::unique_ptr<AutoDetector>> FromRegistry(const core::Registry& registry,
                                                            AutoDetectOptions options = {});

  std::string_view name() const override { return "auto"; }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) override;
  int Detect(std::string_view sample) const override;

  // The locked parser's name, or "" while sampling.
  std::string_view locked() const;
  int sampled() const { return sampled_; }

 private:
  // Index of the best candidate for `message`, or -1 when all score 0.
  int BestFor(std::string_view message, int* score_out, int exclude = -1) const;
  void Lock();
  int FallbackIndex() const;

  std::vector<std::unique_ptr<Parser>> candidates_;
  AutoDetectOptions options_;
  std::vector<long> totals_;
  int sampled_ = 0;
  int locked_ = -1;
  int failures_ = 0;
};

}  // namespace medsoc::ingest
