// Prometheus text exposition format 0.0.4. See api/metrics.h.
//
//   # HELP <name> <help text>
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value>",...} <value>
//
// Label values escape '\', '"' and newline; HELP text escapes '\' and newline. Names that are not
// valid metric/label names have their invalid characters replaced by '_'.
#include "api/metrics.h"

#include <array>
#include <charconv>
#include <cmath>

namespace medsoc::api {

namespace {

constexpr const char* kRequestsTotal = "medsoc_http_requests_total";
constexpr const char* kDuration = "medsoc_http_request_duration_seconds";

// Upper bounds of the latency buckets, in seconds: 1 ms to 10 s.
constexpr std::array<double, 14> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     7.5,  10};

std::string SanitizeName(std::string_view name, bool allow_colon) {
  std::string out(name);
  if (out.empty()) return "_";
  for (std::size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) out[i] = '_';
  }
  return out;
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

// Labels in the given order: route="..",method=".."
std::string RenderLabels(const std::vector<std::pair<std::string, std::string>>& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += SanitizeName(k, false);
    out += "=\"";
    out += EscapeLabelValue(v);
    out += '"';
  }
  return out;
}

std::string Series(const std::string& name, const std::string& labels) {
  return labels.empty() ? name : name + "{" + labels + "}";
}

void Header(std::string& out, const std::string& name, std::string_view help, const char* type) {
  out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  out += "# TYPE " + name + " " + type + "\n";
}

std::string CounterHelp(const std::string& name) {
  if (name == kRequestsTotal) return "HTTP requests by route pattern, method and status.";
  return "Counter " + name + ".";
}

}  // namespace

void Metrics::ObserveRequest(const std::string& route, const std::string& method, int status, double seconds) {
  std::string request_labels =
      RenderLabels({{"route", route}, {"method", method}, {"status", std::to_string(status)}});
  std::string route_labels = RenderLabels({{"route", route}});
  std::lock_guard<std::mutex> lock(mu_);
  counters_[kRequestsTotal][request_labels] += 1;
  Histogram& h = latency_[route_labels];
  if (h.buckets.empty()) h.buckets.assign(kBuckets.size(), 0);
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.buckets[i];  // per-bucket count; made cumulative in Render()
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::IncCounter(const std::string& name, const std::map<std::string, std::string>& labels, double by) {
  std::string rendered = RenderLabels({labels.begin(), labels.end()});
  std::lock_guard<std::mutex> lock(mu_);
  counters_[SanitizeName(name, true)][rendered] += by;
}

void Metrics::AddGaugeCallback(const std::string& name, const std::string& help, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  gauge_callbacks_[SanitizeName(name, true)] = GaugeCallback{help, std::move(read)};
}

void Metrics::SetGauge(const std::string& name, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  gauges_[SanitizeName(name, true)] = value;
}

std::string Metrics::Render() const {
  std::string out;
  std::map<std::string, GaugeCallback> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, series] : counters_) {
      Header(out, name, CounterHelp(name), "counter");
      for (const auto& [labels, value] : series) out += Series(name, labels) + " " + FormatValue(value) + "\n";
    }
    if (!latency_.empty()) {
      const std::string name = kDuration;
      Header(out, name, "HTTP request latency by route pattern, in seconds.", "histogram");
      for (const auto& [labels, h] : latency_) {
        const std::string sep = labels.empty() ? "" : ",";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kBuckets.size() && i < h.buckets.size(); ++i) {
          cumulative += h.buckets[i];
          out += name + "_bucket{" + labels + sep + "le=\"" + FormatValue(kBuckets[i]) + "\"} " +
                 std::to_string(cumulative) + "\n";
        }
        out += name + "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(h.count) + "\n";
        out += Series(name + "_sum", labels) + " " + FormatValue(h.sum) + "\n";
        out += Series(name + "_count", labels) + " " + std::to_string(h.count) + "\n";
      }
    }
    for (const auto& [name, value] : gauges_) {
      if (gauge_callbacks_.count(name)) continue;  // the callback is authoritative
      Header(out, name, "Gauge " + name + ".", "gauge");
      out += name + " " + FormatValue(value) + "\n";
    }
    callbacks = gauge_callbacks_;
  }
  // Callbacks run without the lock: they may take their own locks or even touch these metrics.
  for (const auto& [name, cb] : callbacks) {
    double value = 0;
    try {
      value = cb.read ? cb.read() : 0;
    } catch (...) {
      value = std::nan("");
    }
    Header(out, name, cb.help, "gauge");
    out += name + " " + FormatValue(value) + "\n";
  }
  return out;
}

}  // namespace medsoc::api
