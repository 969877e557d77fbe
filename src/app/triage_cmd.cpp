// `medsoc triage ...`: one-shot triage commands.
//
//   medsoc triage simulate --seed N [--days D] [--json]
//       Generates a reproducible month of hospital alert traffic with planted attack stories, runs
//       the triage engine over it in-process, and prints the figures; the last five lines are
//       alerts_in=, incidents_out=, reduction=...%, stories_planted=, stories_found=.
//       Exit code 0 when reduction >= 95% and every story was found, 1 otherwise.
//
// Main wires it (CLI11) as:
//   auto* triage = cli.add_subcommand("triage", "alert triage tools");
//   triage->require_subcommand(1);
//   std::uint64_t sim_seed = 1; int sim_days = 30;
//   auto* simulate = triage->add_subcommand("simulate", "run the triage evaluation on a generated month");
//   simulate->add_option("--seed", sim_seed, "generator seed")->required();
//   simulate->add_option("--days", sim_days, "days to generate (default 30)")->check(CLI::Range(1, 366));
//   ...
//   if (simulate->parsed()) return RunTriageSimulate(sim_seed, sim_days);
#include <cstdint>
#include <cstdio>

#include "triage/simulate.h"

namespace medsoc::app {

int RunTriageSimulate(std::uint64_t seed, int days) {
  if (days < 1 || days > 366) {
    std::fprintf(stderr, "medsoc triage simulate: --days must be between 1 and 366\n");
    return 2;
  }
  triage::SimReport report = triage::RunSimulation(seed, days);
  std::fputs(triage::FormatSimReport(report).c_str(), stdout);
  std::fflush(stdout);
  const bool ok = report.reduction_pct >= 95.0 && report.stories_found == static_cast<int>(report.stories.size());
  return ok ? 0 : 1;
}

}  // namespace medsoc::app
