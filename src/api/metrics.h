// Metrics: Prometheus counters, gauges and latency histograms, rendered in the text exposition
// format at /metrics. Modules register gauges for their queue depths through AddGaugeCallback.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace medsoc::api {

class Metrics {
 public:
  // Counts one HTTP request: route pattern (or "unmatched"), method, status, seconds taken.
  void ObserveRequest(const std::string& route, const std::string& method, int status, double seconds);

  // A named counter with labels, e.g. IncCounter("medsoc_auth_logins_total", {{"outcome","failure"}}).
  void IncCounter(const std::string& name, const std::map<std::string, std::string>& labels, double by = 1);

  // A gauge read at scrape time (queue depths, open connections).
  void AddGaugeCallback(const std::string& name, const std::string& help, std::function<double()> read);

  // Sets a plain gauge value.
  void SetGauge(const std::string& name, double value);

  // Prometheus text format 0.0.4.
  std::string Render() const;

 private:
  struct Histogram {
    std::vector<std::uint64_t> buckets;  // cumulative at render time
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, double>> counters_;  // name -> rendered labels -> value
  std::map<std::string, Histogram> latency_;                       // rendered labels -> histogram
  std::map<std::string, double> gauges_;
  struct GaugeCallback {
    std::string help;
    std::function<double()> read;
  };
  std::map<std::string, GaugeCallback> gauge_callbacks_;
};

}  // namespace medsoc::api
