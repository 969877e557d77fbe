// Notification tests. The template and signature tests are pure; the service tests start the real
// receivers of tests/integration/receivers.py on 127.0.0.1 (an SMTP sink that demands STARTTLS with
// a certificate made for the test, and HTTP bots that check payload shapes and the DingTalk and
// Feishu signatures with Python's own hmac/base64, independently of our code) and drive the
// service with explicit times, so retries and backoff need no sleeping.
#include "triage/notify/notify_service.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/ids.h"
#include "store/sqlite/migrations.h"
#include "triage/triage_migration.h"

namespace medsoc::triage::notify {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using store::TenantScope;

// ------------------------------------------------------------------ templates

TEST(TemplateTest, RendersPathsWithTheEscapingOfTheirPlace) {
  auto t = Template::Compile(R"({"t":"{{ incident.title }}","s":"{{incident.severity}}"})");
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  TemplateVars v = {{"incident.title", "勒索 \"软件\"\n\\x"}, {"incident.severity", "critical"}};
  const std::string out = t->Render(v, Escape::kJson);
  auto j = json::parse(out);
  EXPECT_EQ(j["t"], "勒索 \"软件\"\n\\x");
  EXPECT_EQ(j["s"], "critical");
  auto u = Template::Compile("q={{incident.title}}&x={{missing}}");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->Render(v, Escape::kUrl), "q=%E5%8B%92%E7%B4%A2%20%22%E8%BD%AF%E4%BB%B6%22%0A%5Cx&x=");
  EXPECT_EQ(u->Paths(), (std::vector<std::string>{"incident.title", "missing"}));
}

TEST(TemplateTest, CollectsEveryErrorWithLineAndColumn) {
  std::vector<TemplateError> errors;
  const std::vector<std::string> known = {"incident.title"};
  Template::Parse("ok {{ incident.title }}\nbad {{ 9x }} and {{}} and {{ incident.nope }}\n{{ a b }} {{ tail",
                  errors, &known);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].ToString(), "2:8: expected a variable name, found '9'");
  EXPECT_EQ(errors[1].ToString(), "2:20: empty placeholder");
  EXPECT_EQ(errors[2].ToString(), "2:30: unknown variable 'incident.nope'");
  EXPECT_EQ(errors[3].ToString(), "3:6: expected '}}', found 'b'");
  EXPECT_EQ(errors[4].ToString(), "3:11: unterminated placeholder (missing '}}')");
  auto c = Template::Compile("{{ incident. }}");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("1:13: expected a variable name, found ' '"), std::string::npos);
}

// ------------------------------------------------------------------ channels

TEST(ChannelTest, OnlyHttpAndSmtpSchemesWithoutCredentialsInTheUrl) {
  Channel c;
  c.name = "hook";
  c.kind = ChannelKind::kWebhook;
  for (const char* bad : {"file:///etc/passwd", "gopher://127.0.0.1/", "ftp://x/", "http://user:pw@host/x", "http:///x",
                          "smtp://mail:25"}) {
    c.config = {{"url", bad}};
    EXPECT_FALSE(ValidateChannel(c).ok()) << bad;
  }
  c.config = {{"url", "https://soc.example.cn/hook"}};
  EXPECT_TRUE(ValidateChannel(c).ok());
  c.config["template"] = "{\"a\": {{incident.title}} }";  // a placeholder outside a string breaks JSON
  auto st = ValidateChannel(c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("valid JSON"), std::string::npos);
  c.config["template"] = "{\"a\": \"{{incident.nope}}\"}";
  EXPECT_NE(ValidateChannel(c).error().message().find("config.template:1:10: unknown variable 'incident.nope'"),
            std::string::npos);
  c.secrets["authorization"] = "Bearer x\r\nX-Evil: 1";
  c.config.erase("template");
  EXPECT_FALSE(ValidateChannel(c).ok());  // no header injection through a secret
}

TEST(ChannelTest, ChineseSubjectsBecomeShortEncodedWordsThatDecodeBack) {
  const std::string subject = "[严重] 新安全事件: PACS 服务器 pacs-01 上的勒索软件前兆与横向移动，请立即处置";
  const std::string enc = EncodeHeaderWord(subject);
  std::string decoded;
  std::istringstream lines(enc);
  std::string word;
  while (lines >> word) {
    ASSERT_LE(word.size(), 75u);
    ASSERT_EQ(word.rfind("=?UTF-8?B?", 0), 0u);
    // Standard base64 -> the URL-safe alphabet core decodes.
    std::string b64 = word.substr(10, word.size() - 12);
    std::replace(b64.begin(), b64.end(), '+', '-');
    std::replace(b64.begin(), b64.end(), '/', '_');
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
    auto bytes = core::Base64UrlDecode(b64);
    ASSERT_TRUE(bytes.ok());
    decoded += *bytes;
  }
  EXPECT_EQ(decoded, subject);
  EXPECT_EQ(EncodeHeaderWord("plain ascii"), "plain ascii");
}

// ------------------------------------------------------------------ service against real receivers

std::string SourceDir() {
  if (const char* d = std::getenv("MEDSOC_SOURCE_DIR"); d != nullptr && *d != '\0') return d;
  return fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path().string();
}

// tests/integration/receivers.py as a child process; stops when its stdin closes.
class ReceiverProcess {
 public:
  explicit ReceiverProcess(const fs::path& dir, std::vector<std::string> extra = {}) : dir_(dir) {
    int fds[2];
    if (pipe(fds) != 0) return;
    std::string script = SourceDir() + "/tests/integration/receivers.py";
    std::vector<std::string> args = {"python3", script, "--dir", dir.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[0], 0);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("python3", argv.data());
      _exit(127);
    }
    close(fds[0]);
    stdin_ = fds[1];
    // Wait for the ports file (the receivers write it atomically once listening).
    for (int i = 0; i < 600 && !fs::exists(dir / "ports.json"); ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::ifstream in(dir / "ports.json");
    json p = json::parse(in, nullptr, false);
    if (p.is_object()) {
      smtp_port = p["smtp"];
      http_port = p["http"];
      cert = p["cert"];
    }
  }
  ~ReceiverProcess() {
    if (stdin_ >= 0) close(stdin_);
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  bool ok() const { return http_port != 0; }
  std::string Http(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(http_port) + path; }
  std::vector<json> Received(const std::string& kind = "") const {
    std::vector<json> out;
    std::ifstream in(dir_ / "received.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && (kind.empty() || j["kind"] == kind)) out.push_back(j);
    }
    return out;
  }

  int smtp_port = 0, http_port = 0;
  std::string cert;

 private:
  fs::path dir_;
  pid_t pid_ = -1;
  int stdin_ = -1;
};

AlertInput CriticalAlert(const std::string& rule, const std::string& host, core::Timestamp t) {
  AlertInput a;
  a.rule_id = rule;
  a.rule_title = "勒索软件前兆 " + rule;
  a.level = Level::kCritical;
  a.host = host;
  a.event_time = t;
  a.attack_tactic = "impact";
  a.attack_technique = "T1486";
  return a;
}

class NotifyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({}); }

  void Start(std::vector<std::string> receiver_args) {
    dir_ = fs::temp_directory_path() / ("medsoc-notify-" + core::NewId());
    fs::create_directories(dir_ / "recv");
    db_path_ = (dir_ / "state.db").string();
    {
      auto db = store::sqlite::Database::Open(db_path_, {});
      ASSERT_TRUE(db.ok());
      const auto ms = TriageSchemaMigrations();
      ASSERT_TRUE(store::sqlite::RunMigrations(**db, ms).ok());
    }
    auto t = TriageService::Open(db_path_, {});
    ASSERT_TRUE(t.ok()) << t.error().ToString();
    triage_ = std::move(*t);
    std::string key(core::kSecretKeyBytes, '\0');
    core::RandomBytes(key.data(), key.size());
    box_ = std::make_unique<core::SecretBox>(key);
    recv_ = std::make_unique<ReceiverProcess>(dir_ / "recv", std::move(receiver_args));
    ASSERT_TRUE(recv_->ok()) << "receivers.py did not start (python3 and openssl are needed)";
    Reopen();
    ASSERT_TRUE(triage_->UpsertAsset(scope_, {"pacs-01", "pacs-01", {"10.1.2.20"}, 5, "server", false, "pacs"}).ok());
    ASSERT_TRUE(triage_->UpsertAsset(scope_, {"ws-001", "ws-001", {"10.20.0.11"}, 2, "office", false, "office"}).ok());
  }

  void Reopen() {
    notify_.reset();
    NotifyOptions o;
    o.backoff_base_ns = core::Seconds(10);
    o.portal_url = "https://soc.hospital.example";
    auto n = NotificationService::Open(db_path_, *triage_, *box_, o);
    ASSERT_TRUE(n.ok()) << n.error().ToString();
    notify_ = std::move(*n);
  }

  void TearDown() override {
    notify_.reset();
    triage_.reset();
    recv_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string AddChannel(ChannelKind kind, json config, std::map<std::string, std::string> secrets = {}) {
    Channel c;
    c.name = std::string(ChannelKindName(kind)) + " channel";
    c.kind = kind;
    c.config = std::move(config);
    c.secrets = std::move(secrets);
    auto r = notify_->CreateChannel(scope_, c);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? r->channel.id : "";
  }
  std::string AddRoute(const std::string& channel, Severity min = Severity::kLow, int rate = 30,
                       std::string group = "") {
    Route r;
    r.channel_id = channel;
    r.min_severity = min;
    r.rate_per_hour = rate;
    r.asset_group = std::move(group);
    auto x = notify_->CreateRoute(scope_, r);
    EXPECT_TRUE(x.ok()) << x.error().ToString();
    return x.ok() ? x->id : "";
  }
  void AddShift(const std::string& user, int tier, const std::string& phone, core::Timestamp now) {
    Shift s;
    s.user_id = user;
    s.display = user;
    s.phone = phone;
    s.tier = tier;
    s.starts_at = now - core::Hours(1);
    s.ends_at = now + core::Hours(12);
    ASSERT_TRUE(triage_->AddShift(scope_, s).ok());
  }
  std::vector<Delivery> Deliveries(const std::string& channel = "") {
    DeliveryQuery q;
    q.channel_id = channel;
    auto d = notify_->ListDeliveries(scope_, q);
    EXPECT_TRUE(d.ok());
    return d.ok() ? *d : std::vector<Delivery>{};
  }

  fs::path dir_;
  std::string db_path_;
  std::unique_ptr<TriageService> triage_;
  std::unique_ptr<core::SecretBox> box_;
  std::unique_ptr<ReceiverProcess> recv_;
  std::unique_ptr<NotificationService> notify_;
  TenantScope scope_ = TenantScope::Of("default");
};

TEST_F(NotifyServiceTest, EveryChannelKindReachesItsReceiverInTheShapeItExpects) {
  const core::Timestamp now = core::Now();
  AddShift("张医生-一线", 1, "13800000001", now);
  const std::string email = AddChannel(
      ChannelKind::kEmail,
      {{"smtp_url", "smtp://127.0.0.1:" + std::to_string(recv_->smtp_port)},
       {"from", "信息科 SOC <soc@hospital.example>"},
       {"to", {"oncall@hospital.example", "ciso@hospital.example"}},
       {"username", "soc"},
       {"ca_file", recv_->cert}},
      {{"password", "mail-pass"}});
  const std::string wecom = AddChannel(ChannelKind::kWecom, {{"url", recv_->Http("/wecom/send")}, {"msgtype", "markdown"}},
                                       {{"key", "wecom-key"}});
  const std::string ding = AddChannel(ChannelKind::kDingtalk, {{"url", recv_->Http("/dingtalk/send")}},
                                      {{"access_token", "dt-token"}, {"sign_secret", "SEC-dingtalk-secret"}});
  const std::string feishu = AddChannel(ChannelKind::kFeishu, {{"url", recv_->Http("/feishu/hook")}},
                                        {{"hook_token", "fs-token"}, {"sign_secret", "feishu-secret"}});
  const std::string hook = AddChannel(
      ChannelKind::kWebhook,
      {{"url", recv_->Http("/webhook")},
       {"template", R"({"title":"{{incident.title}}","sev":"{{incident.severity}}","link":"{{incident.url}}"})"}},
      {{"authorization", "Bearer hook-token"}});
  const std::string sms = AddChannel(
      ChannelKind::kSms,
      {{"url", recv_->Http("/sms")},
       {"content_type", "application/x-www-form-urlencoded"},
       {"template", "apikey={{secret.api_key}}&mobile={{recipient.phone}}&text=【医院SOC】{{incident.severity_zh}} "
                    "{{incident.title}}"},
       {"to_oncall", true}},
      {{"api_key", "sms-key&x=1"}});
  for (const auto& c : {email, wecom, ding, feishu, hook, sms}) AddRoute(c);

  auto ing = triage_->Ingest(scope_, {CriticalAlert("r1", "pacs-01", now)});
  ASSERT_TRUE(ing.ok()) << ing.error().ToString();
  ASSERT_EQ(ing->incidents_created, 1);
  auto tick = notify_->Tick(now);
  ASSERT_TRUE(tick.ok()) << tick.error().ToString();
  EXPECT_EQ(tick->events, 1);
  EXPECT_EQ(tick->queued, 6);
  EXPECT_EQ(tick->sent, 6);
  for (const auto& d : Deliveries()) {
    EXPECT_EQ(d.status, "sent") << d.channel_id << ": " << d.last_error;
    EXPECT_EQ(d.attempts, 1);
    EXPECT_EQ(d.event, "incident.created");
  }

  auto all = recv_->Received();
  ASSERT_EQ(all.size(), 6u);
  for (const auto& r : all) EXPECT_TRUE(r["ok"].get<bool>()) << r.dump();

  const json mail = recv_->Received("smtp").at(0);
  EXPECT_TRUE(mail["tls"].get<bool>());  // STARTTLS happened before MAIL FROM
  EXPECT_EQ(mail["mail_from"], "<soc@hospital.example>");
  EXPECT_EQ(mail["rcpt"], json({"<oncall@hospital.example>", "<ciso@hospital.example>"}));
  EXPECT_EQ(mail["auth"], json({"soc", "mail-pass"}));
  EXPECT_EQ(mail["subject"].get<std::string>().rfind("[严重] 新安全事件: pacs-01", 0), 0u) << mail["subject"];
  EXPECT_NE(mail["subject"].get<std::string>().find("勒索软件前兆 r1"), std::string::npos) << mail["subject"];
  EXPECT_NE(mail["from"].get<std::string>().find("信息科 SOC"), std::string::npos);
  EXPECT_NE(mail["body"].get<std::string>().find("INC-000001"), std::string::npos);
  EXPECT_NE(mail["body"].get<std::string>().find("值班 On duty: 张医生-一线"), std::string::npos);

  const json dt = recv_->Received("dingtalk").at(0);
  EXPECT_EQ(dt["json"]["msgtype"], "markdown");
  EXPECT_EQ(dt["json"]["at"]["atMobiles"], json({"13800000001"}));
  EXPECT_FALSE(dt["query"]["sign"].get<std::string>().empty());

  const json fsu = recv_->Received("feishu").at(0);
  EXPECT_NE(fsu["json"]["content"]["text"].get<std::string>().find("勒索软件前兆"), std::string::npos);

  const json wc = recv_->Received("wecom").at(0);
  EXPECT_NE(wc["json"]["markdown"]["content"].get<std::string>().find("严重"), std::string::npos);

  const json wh = recv_->Received("webhook").at(0);
  EXPECT_EQ(wh["json"]["sev"], "critical");
  EXPECT_EQ(wh["authorization"], "Bearer hook-token");
  EXPECT_EQ(wh["json"]["link"].get<std::string>().rfind("https://soc.hospital.example/incidents/", 0), 0u);

  const json sm = recv_->Received("sms").at(0);
  EXPECT_EQ(sm["form"]["mobile"], "13800000001");
  EXPECT_EQ(sm["form"]["apikey"], "sms-key&x=1");  // URL-encoded in the form, decoded by the receiver
  EXPECT_NE(sm["form"]["text"].get<std::string>().find("【医院SOC】严重"), std::string::npos);

  // Secrets: sealed at rest, never handed back.
  auto db = store::sqlite::Database::Open(db_path_, {});
  ASSERT_TRUE(db.ok());
  auto q = (*db)->Prepare("SELECT secret_sealed, config FROM notify_channels");
  ASSERT_TRUE(q.ok());
  int rows = 0;
  while (*(*q)->Step()) {
    ++rows;
    const std::string sealed = (*q)->ColumnText(0);
    EXPECT_EQ(sealed.rfind("v1:", 0), 0u);
    for (const char* plain : {"mail-pass", "wecom-key", "dt-token", "SEC-dingtalk", "feishu-secret", "hook-token", "sms-key"}) {
      EXPECT_EQ(sealed.find(plain), std::string::npos);
      EXPECT_EQ((*q)->ColumnText(1).find(plain), std::string::npos);
    }
  }
  EXPECT_EQ(rows, 6);
  auto listed = notify_->ListChannels(scope_);
  ASSERT_TRUE(listed.ok());
  for (const auto& c : *listed) {
    EXPECT_TRUE(c.channel.secrets.empty());
    EXPECT_FALSE(c.secret_names.empty());
  }
  // The same event again (a second Tick) sends nothing new.
  EXPECT_EQ(notify_->Tick(now + core::Seconds(15))->sent, 0);
  EXPECT_EQ(recv_->Received().size(), 6u);
}

TEST_F(NotifyServiceTest, ReceiverRejectsAWrongDingTalkSignatureAndTheDeliveryIsRetried) {
  const core::Timestamp now = core::Now();
  const std::string ding = AddChannel(ChannelKind::kDingtalk, {{"url", recv_->Http("/dingtalk/send")}, {"msgtype", "text"}},
                                      {{"access_token", "dt-token"}, {"sign_secret", "SEC-not-the-right-one"}});
  AddRoute(ding);
  ASSERT_TRUE(triage_->Ingest(scope_, {CriticalAlert("r1", "pacs-01", now)}).ok());
  ASSERT_TRUE(notify_->Tick(now).ok());
  auto d = Deliveries(ding);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].status, "pending");
  EXPECT_NE(d[0].last_error.find("sign not match"), std::string::npos) << d[0].last_error;
  EXPECT_EQ(recv_->Received("dingtalk").at(0)["problems"], json({"sign not match"}));
  // Fixing the secret lets the next attempt through.
  ChannelPatch p;
  p.secrets = std::map<std::string, std::string>{{"sign_secret", "SEC-dingtalk-secret"}};
  ASSERT_TRUE(notify_->UpdateChannel(scope_, ding, p).ok());
  ASSERT_EQ(notify_->DeliverDue(now + core::Seconds(10))->sent, 1);
  EXPECT_EQ(Deliveries(ding)[0].attempts, 2);
  EXPECT_TRUE(recv_->Received("dingtalk").at(1)["ok"].get<bool>());
}

TEST_F(NotifyServiceTest, RetriesWithBackoffAfter500AndThePendingQueueSurvivesARestart) {
  TearDown();
  Start({"--fail-first", "2"});
  const core::Timestamp now = core::Now();
  const std::string hook = AddChannel(ChannelKind::kWebhook, {{"url", recv_->Http("/flaky/incident")}});
  AddRoute(hook);
  ASSERT_TRUE(triage_->Ingest(scope_, {CriticalAlert("r1", "pacs-01", now)}).ok());
  auto t1 = notify_->Tick(now);
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(t1->retried, 1);
  auto d = Deliveries(hook).at(0);
  EXPECT_EQ(d.status, "pending");
  EXPECT_EQ(d.response_code, 500);
  EXPECT_EQ(d.next_attempt_at.ns, (now + core::Seconds(10)).ns);
  // Not due yet: nothing is attempted.
  EXPECT_EQ(notify_->DeliverDue(now + core::Seconds(9))->retried, 0);
  EXPECT_EQ(recv_->Received("flaky").size(), 1u);
  // A restart in between: the queue is in the database.
  Reopen();
  auto t2 = notify_->DeliverDue(now + core::Seconds(10));
  EXPECT_EQ(t2->retried, 1);
  d = Deliveries(hook).at(0);
  EXPECT_EQ(d.attempts, 2);
  EXPECT_EQ(d.next_attempt_at.ns, (now + core::Seconds(10) + core::Seconds(20)).ns);  // doubled
  auto t3 = notify_->DeliverDue(now + core::Seconds(30));
  EXPECT_EQ(t3->sent, 1);
  d = Deliveries(hook).at(0);
  EXPECT_EQ(d.status, "sent");
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.response_code, 200);
  EXPECT_EQ(d.last_error, "");
  EXPECT_EQ(recv_->Received("flaky").size(), 3u);
}

TEST_F(NotifyServiceTest, RedirectsAreNotFollowedAndFailForGood) {
  const core::Timestamp now = core::Now();
  const std::string hook = AddChannel(ChannelKind::kWebhook, {{"url", recv_->Http("/redirect")}});
  AddRoute(hook);
  ASSERT_TRUE(triage_->Ingest(scope_, {CriticalAlert("r1", "pacs-01", now)}).ok());
  ASSERT_TRUE(notify_->Tick(now).ok());
  auto d = Deliveries(hook).at(0);
  EXPECT_EQ(d.status, "failed");
  EXPECT_EQ(d.response_code, 302);
  EXPECT_NE(d.last_error.find("redirect refused"), std::string::npos);
  EXPECT_EQ(recv_->Received("redirect").size(), 1u);
  EXPECT_TRUE(recv_->Received("webhook").empty());
}

TEST_F(NotifyServiceTest, DedupAcrossRoutesAndRateLimitPerChannel) {
  const core::Timestamp now = core::Now();
  const std::string hook = AddChannel(ChannelKind::kWebhook, {{"url", recv_->Http("/webhook")}});
  AddRoute(hook, Severity::kLow, 2);
  AddRoute(hook, Severity::kHigh, 2);  // a second route to the same channel: same message, once
  ASSERT_TRUE(triage_->Ingest(scope_, {CriticalAlert("r1", "pacs-01", now)}).ok());
  ASSERT_TRUE(triage_->Ingest(scope_, {CriticalAlert("r2", "ws-001", now + core::Seconds(1))}).ok());
  auto three = CriticalAlert("r3", "ws-002", now + core::Seconds(2));
  ASSERT_TRUE(triage_->Ingest(scope_, {three}).ok());
  auto t = notify_->Tick(now + core::Seconds(3));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->events, 3);
  std::map<std::string, int> by_status;
  for (const auto& d : Deliveries(hook)) ++by_status[d.status];
  EXPECT_EQ(by_status["sent"], 2);          // rate 2 per hour
  EXPECT_EQ(by_status["deduplicated"], 2);  // the second route, for the two that went
  EXPECT_EQ(by_status["rate_limited"], 2);  // the third incident, on both routes
  EXPECT_EQ(recv_->Received("webhook").size(), 2u);
}

TEST_F(NotifyServiceTest, RoutingBySeverityAssetGroupAndTimeOfDay) {
  const core::Timestamp now = core::Now();
  const std::string pacs_only = AddChannel(ChannelKind::kWebhook, {{"url", recv_->Http("/webhook")}});
  AddRoute(pacs_only, Severity::kLow, 30, "pacs");
  const std::string critical_only = AddChannel(ChannelKind::kWebhook, {{"url", recv_->Http("/webhook")}});
  Route night;
  night.channel_id = critical_only;
  night.min_severity = Severity::kCritical;
  // A time-of-day window that excludes `now` (local): the hour after the current one, for an hour.
  const int minute = static_cast<int>((((now.seconds() + 480 * 60) % 86400) + 86400) % 86400 / 60);
  night.start_minute = (minute + 60) % 1440;
  night.end_minute = (minute + 120) % 1440;
  ASSERT_TRUE(notify_->CreateRoute(scope_, night).ok());
  AlertInput medium = CriticalAlert("m", "ws-001", now);
  ASSERT_TRUE(triage_->Ingest(scope_, {medium}).ok());  // office asset: not the PACS group
  ASSERT_TRUE(notify_->Tick(now).ok());
  EXPECT_TRUE(Deliveries().empty());
  ASSERT_TRUE(triage_->Ingest(scope_, {CriticalAlert("p", "pacs-01", now)}).ok());
  ASSERT_TRUE(notify_->Tick(now).ok());
  auto d = Deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].channel_id, pacs_only);
  // Tenants are separate: another tenant sees none of it.
  EXPECT_TRUE(notify_->ListDeliveries(TenantScope::Of("other"), {})->empty());
  EXPECT_TRUE(notify_->ListChannels(TenantScope::Of("other"))->empty());
}

TEST_F(NotifyServiceTest, SlaBreachTextsTheOnDutyPersonOfTheNextTier) {
  const core::Timestamp now = core::Now();
  AddShift("tier1", 1, "13800000001", now);
  AddShift("tier2-senior", 2, "13900000002", now);
  const std::string sms = AddChannel(
      ChannelKind::kSms,
      {{"url", recv_->Http("/sms")},
       {"template", R"({"to":"{{recipient.phone}}","msg":"{{event_zh}} {{incident.number}} {{sla.clock}} 截止 {{sla.deadline}}"})"},
       {"to_oncall", true}});
  Route r;
  r.channel_id = sms;
  r.min_severity = Severity::kLow;
  r.events = {"sla.breach"};
  ASSERT_TRUE(notify_->CreateRoute(scope_, r).ok());
  ASSERT_TRUE(triage_->Ingest(scope_, {CriticalAlert("r1", "pacs-01", now)}).ok());
  auto t0 = notify_->Tick(now);
  ASSERT_TRUE(t0.ok());
  EXPECT_EQ(t0->queued, 0);  // creation is not routed to SMS here
  auto t1 = notify_->Tick(now + core::Minutes(16));  // critical: acknowledge within 15 minutes
  ASSERT_TRUE(t1.ok()) << t1.error().ToString();
  EXPECT_EQ(t1->escalations, 1);
  EXPECT_EQ(t1->sent, 1);
  auto got = recv_->Received("sms");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["json"]["to"], "13900000002");
  EXPECT_NE(got[0]["json"]["msg"].get<std::string>().find("SLA 超时升级 INC-000001 acknowledge 截止"), std::string::npos);
}

TEST_F(NotifyServiceTest, TestSendIsLoggedAndSmtpWithoutTlsIsRefused) {
  // The sink only accepts MAIL after STARTTLS; a server that cannot do TLS for us is an error,
  // never a plaintext fallback. Here: the certificate is not trusted (no ca_file) -> failure.
  const std::string email = AddChannel(
      ChannelKind::kEmail, {{"smtp_url", "smtp://127.0.0.1:" + std::to_string(recv_->smtp_port)},
                            {"from", "soc@hospital.example"},
                            {"to", {"oncall@hospital.example"}}});
  auto d = notify_->TestSend(scope_, email, core::Now());
  ASSERT_TRUE(d.ok()) << d.error().ToString();
  EXPECT_EQ(d->status, "failed");
  EXPECT_FALSE(d->last_error.empty());
  EXPECT_TRUE(recv_->Received("smtp").empty());
  ChannelPatch p;
  p.config = json{{"smtp_url", "smtp://127.0.0.1:" + std::to_string(recv_->smtp_port)},
                  {"from", "soc@hospital.example"},
                  {"to", {"oncall@hospital.example"}},
                  {"ca_file", recv_->cert}};
  ASSERT_TRUE(notify_->UpdateChannel(scope_, email, p).ok());
  d = notify_->TestSend(scope_, email, core::Now());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, "sent") << d->last_error;
  EXPECT_EQ(d->response_code, 250);
  auto mail = recv_->Received("smtp").at(0);
  EXPECT_TRUE(mail["ok"].get<bool>()) << mail.dump();
  EXPECT_NE(mail["subject"].get<std::string>().find("测试通知"), std::string::npos);
  EXPECT_EQ(Deliveries(email).size(), 2u);
}

}  // namespace
}  // namespace medsoc::triage::notify
