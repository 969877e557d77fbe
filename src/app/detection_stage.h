// The detection stage of the ingest pipeline: every parsed batch goes through the Sigma detector
// (rules and correlation), and the resulting alerts — plus third-party alerts that arrive as events
// (Suricata EVE alerts and other events with event.kind "alert") — go to triage, which dedups
// them and raises incidents. Lives in app/ because it joins three modules (ingest, detect, triage)
// that do not know each other.
//
// Thread-safety: one stage instance per parse worker (the pipeline's contract); the Detector is
// shared and called under a mutex (Detector::Process is single-caller), TriageService is
// thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "detect/detector.h"
#include "ingest/pipeline.h"
#include "triage/service.h"

namespace medsoc::app {

struct DetectionShared {
  detect::Detector& detector;
  triage::TriageService& triage;
  std::mutex mu;                             // serializes Detector::Process
  std::atomic<std::uint64_t> next_index{0};  // stream index of the next event
  std::atomic<std::uint64_t> alerts{0};      // alerts handed to triage
  std::atomic<std::uint64_t> triage_errors{0};
};

ingest::StageFactory MakeDetectionStage(DetectionShared& shared);

// Maps a Sigma alert and the event that triggered it (nullptr when outside the batch) to triage's
// input (docs/triage.md, "Adapters").
triage::AlertInput AlertInputFromSigma(const detect::Alert& alert, const event::Event* trigger);
// A third-party alert carried by an event (event.kind "alert"); nullopt for other events.
std::optional<triage::AlertInput> AlertInputFromEvent(const event::Event& event);

}  // namespace medsoc::app
