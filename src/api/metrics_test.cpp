#include "api/metrics.h"

#include <gtest/gtest.h>

namespace medsoc::api {
namespace {

bool Contains(const std::string& text, const std::string& want) { return text.find(want) != std::string::npos; }

TEST(MetricsTest, RequestsCounterAndHistogram) {
  Metrics m;
  m.ObserveRequest("/api/v1/users/{id}", "GET", 200, 0.00390625);
  m.ObserveRequest("/api/v1/users/{id}", "GET", 200, 0.125);
  m.ObserveRequest("/api/v1/users/{id}", "GET", 404, 20);
  std::string text = m.Render();
  EXPECT_TRUE(Contains(text, "# HELP medsoc_http_requests_total "));
  EXPECT_TRUE(Contains(text, "# TYPE medsoc_http_requests_total counter\n"));
  EXPECT_TRUE(Contains(text, "medsoc_http_requests_total{route=\"/api/v1/users/{id}\",method=\"GET\",status=\"200\"} 2\n"))
      << text;
  EXPECT_TRUE(Contains(text, "medsoc_http_requests_total{route=\"/api/v1/users/{id}\",method=\"GET\",status=\"404\"} 1\n"));
  EXPECT_TRUE(Contains(text, "# TYPE medsoc_http_request_duration_seconds histogram\n"));
  const std::string b = "medsoc_http_request_duration_seconds_bucket{route=\"/api/v1/users/{id}\",le=";
  EXPECT_TRUE(Contains(text, b + "\"0.001\"} 0\n")) << text;
  EXPECT_TRUE(Contains(text, b + "\"0.005\"} 1\n"));
  EXPECT_TRUE(Contains(text, b + "\"0.25\"} 2\n"));
  EXPECT_TRUE(Contains(text, b + "\"10\"} 2\n"));
  EXPECT_TRUE(Contains(text, b + "\"+Inf\"} 3\n"));
  EXPECT_TRUE(Contains(text, "medsoc_http_request_duration_seconds_count{route=\"/api/v1/users/{id}\"} 3\n"));
  EXPECT_TRUE(Contains(text, "medsoc_http_request_duration_seconds_sum{route=\"/api/v1/users/{id}\"} 20.12890625\n"))
      << text;
}

TEST(MetricsTest, CountersGaugesAndCallbacks) {
  Metrics m;
  m.IncCounter("medsoc_auth_logins_total", {{"outcome", "failure"}});
  m.IncCounter("medsoc_auth_logins_total", {{"outcome", "failure"}}, 2);
  m.IncCounter("medsoc_auth_logins_total", {{"outcome", "success"}});
  m.IncCounter("medsoc_plain_total", {});
  m.SetGauge("medsoc_queue_depth", 7.5);
  int calls = 0;
  m.AddGaugeCallback("medsoc_ingest_queue", "Events waiting to be parsed.", [&] {
    ++calls;
    return 42.0;
  });
  std::string text = m.Render();
  EXPECT_TRUE(Contains(text, "# TYPE medsoc_auth_logins_total counter\n"));
  EXPECT_TRUE(Contains(text, "medsoc_auth_logins_total{outcome=\"failure\"} 3\n")) << text;
  EXPECT_TRUE(Contains(text, "medsoc_auth_logins_total{outcome=\"success\"} 1\n"));
  EXPECT_TRUE(Contains(text, "medsoc_plain_total 1\n"));
  EXPECT_TRUE(Contains(text, "# TYPE medsoc_queue_depth gauge\nmedsoc_queue_depth 7.5\n"));
  EXPECT_TRUE(Contains(text, "# HELP medsoc_ingest_queue Events waiting to be parsed.\n"));
  EXPECT_TRUE(Contains(text, "# TYPE medsoc_ingest_queue gauge\nmedsoc_ingest_queue 42\n"));
  EXPECT_EQ(calls, 1);
  // Every HELP is followed by its TYPE and every line ends with a newline.
  EXPECT_EQ(text.back(), '\n');
}

TEST(MetricsTest, EscapesLabelValuesAndNames) {
  Metrics m;
  m.IncCounter("bad-name total", {{"path", "a\"b\\c\nd"}, {"9x", "v"}});
  std::string text = m.Render();
  EXPECT_TRUE(Contains(text, "bad_name_total{9x") == false);
  EXPECT_TRUE(Contains(text, "bad_name_total{_x=\"v\",path=\"a\\\"b\\\\c\\nd\"} 1\n")) << text;
}

TEST(MetricsTest, CallbackMayUseMetrics) {
  Metrics m;
  m.AddGaugeCallback("medsoc_reentrant", "re-entrant", [&m] {
    m.SetGauge("medsoc_other", 1);
    return 1.0;
  });
  EXPECT_TRUE(Contains(m.Render(), "medsoc_reentrant 1\n"));
}

}  // namespace
}  // namespace medsoc::api
