#include "triage/notify/channel.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>

#include "core/crypto.h"
#include "core/ids.h"

namespace medsoc::triage::notify {
namespace {

using nlohmann::json;

constexpr std::string_view kKindNames[] = {"email", "wecom", "dingtalk", "feishu", "webhook", "sms"};

constexpr const char* kDefaultTitle = "[{{incident.severity_zh}}] {{event_zh}}: {{incident.title}}";
constexpr const char* kDefaultText =
    "{{event_zh}} ({{event}})\n"
    "事件 Incident: {{incident.number}} {{incident.title}}\n"
    "级别 Severity: {{incident.severity_zh}} ({{incident.severity}})\n"
    "状态 Status: {{incident.status}}\n"
    "实体 Entities: {{incident.entities}}\n"
    "ATT&CK: {{incident.tactics}}\n"
    "SLA: {{sla.clock}} {{sla.deadline}}\n"
    "值班 On duty: {{oncall.names}}\n"
    "{{incident.url}}";
constexpr const char* kDefaultMarkdown =
    "### [{{incident.severity_zh}}] {{event_zh}}\n"
    "**{{incident.number}} {{incident.title}}**\n\n"
    "- 级别 Severity: {{incident.severity_zh}} ({{incident.severity}})\n"
    "- 状态 Status: {{incident.status}}\n"
    "- 实体 Entities: {{incident.entities}}\n"
    "- ATT&CK: {{incident.tactics}}\n"
    "- SLA: {{sla.clock}} {{sla.deadline}}\n"
    "- 值班 On duty: {{oncall.names}}\n\n"
    "{{incident.url}}";
constexpr const char* kDefaultWebhook =
    R"({"event":"{{event}}","tenant":"{{tenant}}","incident":{"id":"{{incident.id}}","number":"{{incident.number}}",)"
    R"("title":"{{incident.title}}","severity":"{{incident.severity}}","status":"{{incident.status}}",)"
    R"("entities":"{{incident.entities}}","url":"{{incident.url}}"},"sla":{"clock":"{{sla.clock}}",)"
    R"("deadline":"{{sla.deadline}}","tier":"{{sla.tier}}"},"oncall":"{{oncall.names}}"})";

const std::vector<std::string> kSecretPrefixes = {"secret."};
const std::vector<std::string> kNoPrefixes = {};

std::string ConfigString(const json& config, const char* key, std::string_view fallback = {}) {
  auto it = config.find(key);
  if (it != config.end() && it->is_string()) return it->get<std::string>();
  return std::string(fallback);
}

std::vector<std::string> ConfigStrings(const json& config, const char* key) {
  std::vector<std::string> out;
  auto it = config.find(key);
  if (it == config.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// "http://host[:port]/..." with one of `schemes`; an empty string when fine, else why not.
std::string CheckUrl(std::string_view url, std::initializer_list<std::string_view> schemes) {
  if (url.empty()) return "is required";
  if (HasControl(url) || url.find(' ') != std::string_view::npos) return "must not contain spaces or control characters";
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return "must be an absolute URL";
  std::string scheme(url.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
    std::string allowed;
    for (auto s : schemes) allowed += (allowed.empty() ? "" : ", ") + std::string(s);
    return "scheme '" + scheme + "' is not allowed (allowed: " + allowed + ")";
  }
  const std::string_view rest = url.substr(sep + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty()) return "has no host";
  if (authority.find('@') != std::string_view::npos) return "must not carry credentials (use the channel's secrets)";
  return {};
}

bool PlausibleAddress(std::string_view a) {
  const auto at = a.find('@');
  return at != std::string_view::npos && at > 0 && at + 1 < a.size() && !HasControl(a) &&
         a.find_first_of(" <>,;\"") == std::string_view::npos;
}

// "Name <addr>" or "addr" -> (display, addr).
std::pair<std::string, std::string> SplitMailbox(std::string_view m) {
  const auto lt = m.rfind('<');
  const auto gt = m.rfind('>');
  if (lt == std::string_view::npos || gt == std::string_view::npos || gt < lt) return {"", std::string(m)};
  std::string display(m.substr(0, lt));
  while (!display.empty() && display.back() == ' ') display.pop_back();
  if (display.size() >= 2 && display.front() == '"' && display.back() == '"') display = display.substr(1, display.size() - 2);
  return {display, std::string(m.substr(lt + 1, gt - lt - 1))};
}

void CheckTemplate(const json& config, const char* key, std::vector<std::string>& problems, bool secrets_allowed) {
  auto it = config.find(key);
  if (it == config.end()) return;
  if (!it->is_string()) {
    problems.push_back(std::string("config.") + key + ": must be a string");
    return;
  }
  std::vector<TemplateError> errors;
  Template::Parse(it->get<std::string>(), errors, &TemplateVariables(), secrets_allowed ? kSecretPrefixes : kNoPrefixes);
  for (const auto& e : errors) problems.push_back(std::string("config.") + key + ":" + e.ToString());
}

Result<Template> ConfigTemplate(const Channel& c, const char* key, std::string_view fallback) {
  const bool secrets_allowed = c.kind == ChannelKind::kWebhook || c.kind == ChannelKind::kSms;
  return Template::Compile(ConfigString(c.config, key, fallback), &TemplateVariables(),
                           secrets_allowed ? kSecretPrefixes : kNoPrefixes);
}

// Adds the channel's secrets as "secret.<name>" (webhook and SMS templates only).
TemplateVars WithSecrets(const Channel& c, const TemplateVars& vars) {
  TemplateVars out = vars;
  for (const auto& [k, v] : c.secrets) out["secret." + k] = v;
  return out;
}

std::string Secret(const Channel& c, const std::string& name) {
  auto it = c.secrets.find(name);
  return it == c.secrets.end() ? std::string() : it->second;
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    std::string item(s.substr(start, end - start));
    item.erase(0, item.find_first_not_of(' '));
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

std::string Var(const TemplateVars& vars, std::string_view name) {
  auto it = vars.find(name);
  return it == vars.end() ? std::string() : it->second;
}

std::string RfcDate(core::Timestamp t) {
  static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t secs = t.seconds();
  std::int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  std::int64_t y;
  unsigned m, d;
  core::CivilFromDays(days, y, m, d);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02lld:%02lld:%02lld +0000", kDays[((days % 7) + 7) % 7], d,
                kMonths[m - 1], static_cast<long long>(y), static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  return buf;
}

std::string WrapBase64(std::string_view bytes) {
  const std::string b = Base64(bytes);
  std::string out;
  for (std::size_t i = 0; i < b.size(); i += 76) out += b.substr(i, 76) + "\r\n";
  return out;
}

std::string OneLine(std::string s) {
  std::replace_if(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  return s;
}

Result<Outbound> BuildEmail(const Channel& c, const TemplateVars& vars, core::Timestamp now) {
  MEDSOC_ASSIGN_OR_RETURN(auto subject_t, ConfigTemplate(c, "subject_template", kDefaultTitle));
  MEDSOC_ASSIGN_OR_RETURN(auto body_t, ConfigTemplate(c, "body_template", kDefaultText));
  Outbound o;
  o.kind = Outbound::Kind::kSmtp;
  o.url = ConfigString(c.config, "smtp_url");
  o.username = ConfigString(c.config, "username");
  o.password = Secret(c, "password");
  o.ca_file = ConfigString(c.config, "ca_file");
  const auto [from_name, from_addr] = SplitMailbox(ConfigString(c.config, "from"));
  o.mail_from = "<" + from_addr + ">";
  std::string to_header;
  for (const auto& to : ConfigStrings(c.config, "to")) {
    o.rcpt.push_back("<" + to + ">");
    to_header += (to_header.empty() ? "" : ", ") + to;
  }
  std::string body = body_t.Render(vars, Escape::kNone);
  // Bare LF -> CRLF (RFC 5322 line endings).
  std::string crlf;
  for (char ch : body) {
    if (ch == '\n' && (crlf.empty() || crlf.back() != '\r')) crlf += '\r';
    crlf += ch;
  }
  std::string& m = o.body;
  m += "Date: " + RfcDate(now) + "\r\n";
  m += "From: " + (from_name.empty() ? "" : EncodeHeaderWord(from_name) + " ") + "<" + from_addr + ">\r\n";
  m += "To: " + to_header + "\r\n";
  m += "Subject: " + EncodeHeaderWord(OneLine(subject_t.Render(vars, Escape::kNone))) + "\r\n";
  m += "Message-ID: <" + core::NewId() + "@medsoc>\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "X-Medsoc-Event: " + OneLine(Var(vars, "event")) + "\r\n";
  m += "\r\n";
  m += WrapBase64(crlf);
  return o;
}

std::vector<std::string> OncallPhones(const TemplateVars& vars) { return SplitList(Var(vars, "oncall.phones")); }

}  // namespace

std::string_view ChannelKindName(ChannelKind k) { return kKindNames[static_cast<int>(k)]; }

std::optional<ChannelKind> ParseChannelKind(std::string_view s) {
  for (int i = 0; i < 6; ++i)
    if (kKindNames[i] == s) return static_cast<ChannelKind>(i);
  return std::nullopt;
}

const std::vector<std::string>& TemplateVariables() {
  static const std::vector<std::string> kVars = {
      "event",          "event_zh",           "tenant",         "sent_at",           "incident.id",
      "incident.number", "incident.title",    "incident.severity", "incident.severity_zh", "incident.status",
      "incident.score", "incident.entities",  "incident.tactics", "incident.alert_count", "incident.created_at",
      "incident.owner", "incident.url",       "sla.clock",      "sla.deadline",      "sla.tier",
      "oncall.names",   "oncall.phones",      "recipient.phone"};
  return kVars;
}

Status ValidateChannel(const Channel& c) {
  std::vector<std::string> p;
  if (c.name.empty() || c.name.size() > 200 || HasControl(c.name)) p.push_back("name: 1..200 printable characters");
  if (!c.config.is_object()) return Error(ErrorCode::kInvalidArgument, "config must be an object");
  for (const auto& [k, v] : c.secrets)
    if (k.empty() || k.size() > 64 || v.size() > 4096 || HasControl(k) || HasControl(v))
      p.push_back("secrets." + k + ": name 1..64, a single-line value of at most 4096 bytes");
  auto url_problem = [&](const char* key, std::initializer_list<std::string_view> schemes, bool required) {
    const std::string url = ConfigString(c.config, key);
    if (url.empty() && !required) return;
    if (auto why = CheckUrl(url, schemes); !why.empty()) p.push_back(std::string("config.") + key + ": " + why);
  };
  for (const char* t : {"template", "title_template", "subject_template", "body_template", "url_template"})
    CheckTemplate(c.config, t, p, c.kind == ChannelKind::kWebhook || c.kind == ChannelKind::kSms);
  auto msgtype = ConfigString(c.config, "msgtype", "markdown");
  switch (c.kind) {
    case ChannelKind::kEmail: {
      url_problem("smtp_url", {"smtp", "smtps"}, true);
      const auto [name, addr] = SplitMailbox(ConfigString(c.config, "from"));
      if (!PlausibleAddress(addr)) p.push_back("config.from: an e-mail address is required");
      const auto to = ConfigStrings(c.config, "to");
      if (to.empty()) p.push_back("config.to: at least one recipient");
      for (const auto& a : to)
        if (!PlausibleAddress(a)) p.push_back("config.to: '" + a + "' is not an e-mail address");
      if (!ConfigString(c.config, "username").empty() && Secret(c, "password").empty())
        p.push_back("secrets.password: required with a username");
      break;
    }
    case ChannelKind::kWecom:
      url_problem("url", {"http", "https"}, false);
      if (msgtype != "markdown" && msgtype != "text") p.push_back("config.msgtype: markdown or text");
      if (Secret(c, "key").empty()) p.push_back("secrets.key: the group bot's webhook key is required");
      break;
    case ChannelKind::kDingtalk:
      url_problem("url", {"http", "https"}, false);
      if (msgtype != "markdown" && msgtype != "text") p.push_back("config.msgtype: markdown or text");
      if (Secret(c, "access_token").empty()) p.push_back("secrets.access_token: required");
      break;
    case ChannelKind::kFeishu:
      url_problem("url", {"http", "https"}, false);
      if (Secret(c, "hook_token").empty()) p.push_back("secrets.hook_token: required");
      break;
    case ChannelKind::kWebhook:
    case ChannelKind::kSms: {
      url_problem("url", {"http", "https"}, true);
      if (auto h = c.config.find("headers"); h != c.config.end()) {
        if (!h->is_object()) p.push_back("config.headers: must be an object of strings");
        else
          for (auto it = h->begin(); it != h->end(); ++it)
            if (!it->is_string() || HasControl(it.key()) || HasControl(it->get<std::string>()) ||
                it.key().find(':') != std::string::npos || it.key().empty())
              p.push_back("config.headers." + it.key() + ": a header name and a single-line string value");
      }
      const std::string ct = ConfigString(c.config, "content_type", "application/json");
      if (ct != "application/json" && ct != "application/x-www-form-urlencoded")
        p.push_back("config.content_type: application/json or application/x-www-form-urlencoded");
      if (c.kind == ChannelKind::kSms) {
        if (ConfigString(c.config, "template").empty()) p.push_back("config.template: an SMS channel needs a body template");
        const bool oncall = c.config.value("to_oncall", false);
        if (ConfigStrings(c.config, "to").empty() && !oncall)
          p.push_back("config.to: at least one phone number, or to_oncall: true");
      }
      // A JSON body template must render to JSON for any values (they are escaped as strings).
      if (p.empty() && ct == "application/json") {
        auto t = ConfigTemplate(c, "template", c.kind == ChannelKind::kWebhook ? kDefaultWebhook : "");
        if (t.ok()) {
          TemplateVars sample;
          for (const auto& v : TemplateVariables()) sample[v] = "x\"\\\n";
          for (const auto& path : t->Paths()) sample[path] = "x\"\\\n";
          if (!json::accept(t->Render(sample, Escape::kJson)))
            p.push_back("config.template: does not render to valid JSON (placeholders belong inside strings)");
        }
      }
      break;
    }
  }
  if (p.empty()) return Status();
  std::string msg;
  for (const auto& s : p) msg += (msg.empty() ? "" : "; ") + s;
  return Error(ErrorCode::kInvalidArgument, msg);
}

std::string Base64(std::string_view bytes) {
  core::InitCrypto();
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string HmacSha256(std::string_view key, std::string_view message) {
  core::InitCrypto();
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(message.data()), message.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return std::string(reinterpret_cast<const char*>(mac), sizeof mac);
}

std::string DingTalkSign(std::string_view secret, std::int64_t timestamp_ms) {
  const std::string to_sign = std::to_string(timestamp_ms) + "\n" + std::string(secret);
  return Base64(HmacSha256(secret, to_sign));
}

std::string FeishuSign(std::string_view secret, std::int64_t timestamp_s) {
  const std::string to_sign = std::to_string(timestamp_s) + "\n" + std::string(secret);
  return Base64(HmacSha256(to_sign, ""));
}

std::string EncodeHeaderWord(std::string_view value) {
  const bool plain = std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; }) &&
                     value.find("=?") == std::string_view::npos;
  if (plain) return std::string(value);
  // 45 bytes -> 60 base64 characters -> 72 with "=?UTF-8?B?" and "?=" (RFC 2047: at most 75).
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    std::size_t n = std::min<std::size_t>(45, value.size() - i);
    // Do not split a UTF-8 sequence: back up while the next byte is a continuation byte.
    while (n > 1 && i + n < value.size() && (static_cast<unsigned char>(value[i + n]) & 0xC0) == 0x80) --n;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(value.substr(i, n)) + "?=";
    i += n;
  }
  return out;
}

Result<Outbound> BuildOutbound(const Channel& c, const TemplateVars& vars, core::Timestamp now) {
  if (c.kind == ChannelKind::kEmail) return BuildEmail(c, vars, now);
  Outbound o;
  o.ca_file = ConfigString(c.config, "ca_file");
  o.headers.push_back("Content-Type: application/json; charset=utf-8");
  const std::string msgtype = ConfigString(c.config, "msgtype", "markdown");
  switch (c.kind) {
    case ChannelKind::kEmail: break;
    case ChannelKind::kWecom: {
      MEDSOC_ASSIGN_OR_RETURN(auto t, ConfigTemplate(c, "template", msgtype == "text" ? kDefaultText : kDefaultMarkdown));
      o.url = ConfigString(c.config, "url", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send") + "?key=" +
              UrlEncode(Secret(c, "key"));
      const std::string content = t.Render(vars, Escape::kNone);
      json body;
      if (msgtype == "text") {
        body = {{"msgtype", "text"}, {"text", {{"content", content}, {"mentioned_mobile_list", OncallPhones(vars)}}}};
      } else {
        // WeCom markdown mentions people by <@userid>; mobiles only work with text messages.
        body = {{"msgtype", "markdown"}, {"markdown", {{"content", content}}}};
      }
      o.body = body.dump();
      o.json_error_field = "errcode";
      break;
    }
    case ChannelKind::kDingtalk: {
      MEDSOC_ASSIGN_OR_RETURN(auto t, ConfigTemplate(c, "template", msgtype == "text" ? kDefaultText : kDefaultMarkdown));
      MEDSOC_ASSIGN_OR_RETURN(auto title_t, ConfigTemplate(c, "title_template", kDefaultTitle));
      o.url = ConfigString(c.config, "url", "https://oapi.dingtalk.com/robot/send") +
              "?access_token=" + UrlEncode(Secret(c, "access_token"));
      if (const std::string secret = Secret(c, "sign_secret"); !secret.empty()) {
        const std::int64_t ts = now.millis();
        o.url += "&timestamp=" + std::to_string(ts) + "&sign=" + UrlEncode(DingTalkSign(secret, ts));
      }
      const auto phones = OncallPhones(vars);
      std::string content = t.Render(vars, Escape::kNone);
      // DingTalk only highlights an @mention whose "@mobile" also appears in the text.
      for (const auto& ph : phones) content += " @" + ph;
      json at = {{"atMobiles", phones}, {"isAtAll", false}};
      json body;
      if (msgtype == "text") {
        body = {{"msgtype", "text"}, {"text", {{"content", content}}}, {"at", at}};
      } else {
        body = {{"msgtype", "markdown"},
                {"markdown", {{"title", OneLine(title_t.Render(vars, Escape::kNone))}, {"text", content}}},
                {"at", at}};
      }
      o.body = body.dump();
      o.json_error_field = "errcode";
      break;
    }
    case ChannelKind::kFeishu: {
      MEDSOC_ASSIGN_OR_RETURN(auto t, ConfigTemplate(c, "template", kDefaultText));
      std::string base = ConfigString(c.config, "url", "https://open.feishu.cn/open-apis/bot/v2/hook");
      if (!base.empty() && base.back() == '/') base.pop_back();
      o.url = base + "/" + UrlEncode(Secret(c, "hook_token"));
      json body = {{"msg_type", "text"}, {"content", {{"text", t.Render(vars, Escape::kNone)}}}};
      if (const std::string secret = Secret(c, "sign_secret"); !secret.empty()) {
        const std::int64_t ts = now.seconds();
        body["timestamp"] = std::to_string(ts);
        body["sign"] = FeishuSign(secret, ts);
      }
      o.body = body.dump();
      o.json_error_field = "code";
      break;
    }
    case ChannelKind::kWebhook:
    case ChannelKind::kSms: {
      const TemplateVars all = WithSecrets(c, vars);
      const std::string ct = ConfigString(c.config, "content_type", "application/json");
      MEDSOC_ASSIGN_OR_RETURN(auto t, ConfigTemplate(c, "template", c.kind == ChannelKind::kWebhook ? kDefaultWebhook : ""));
      o.url = ConfigString(c.config, "url");
      if (auto ut = ConfigString(c.config, "url_template"); !ut.empty()) {
        MEDSOC_ASSIGN_OR_RETURN(auto u, ConfigTemplate(c, "url_template", ""));
        // The configured URL fixes scheme, host and path; the template adds the query.
        o.url += (o.url.find('?') == std::string::npos ? "?" : "&") + u.Render(all, Escape::kUrl);
      }
      o.headers.clear();
      o.headers.push_back("Content-Type: " + ct + (ct == "application/json" ? "; charset=utf-8" : ""));
      o.body = t.Render(all, ct == "application/json" ? Escape::kJson : Escape::kUrl);
      if (auto h = c.config.find("headers"); h != c.config.end() && h->is_object())
        for (auto it = h->begin(); it != h->end(); ++it)
          if (it->is_string()) o.headers.push_back(it.key() + ": " + it->get<std::string>());
      if (const std::string auth = Secret(c, "authorization"); !auth.empty()) o.headers.push_back("Authorization: " + auth);
      break;
    }
  }
  return o;
}

}  // namespace medsoc::triage::notify
