// Notification channels: what each kind needs in its configuration, and how one message becomes the
// request the channel's receiver expects. No I/O here (transport.h sends).
//
//   kind      config (non-secret, JSON)                                secrets (sealed at rest)
//   email     smtp_url ("smtp://host:587" = STARTTLS required,         password
//             "smtps://host:465" = implicit TLS), from, to[],
//             username, ca_file, subject_template, body_template
//   wecom     url (default https://qyapi.weixin.qq.com/cgi-bin/        key (the webhook's key=)
//             webhook/send), msgtype markdown|text, template
//   dingtalk  url (default https://oapi.dingtalk.com/robot/send),      access_token, sign_secret
//             msgtype markdown|text, template, title_template           (optional: "加签")
//   feishu    url (default https://open.feishu.cn/open-apis/bot/v2/    hook_token, sign_secret
//             hook), template                                           (optional: "签名校验")
//   webhook   url, url_template?, template (a JSON body, values         authorization (optional,
//             JSON-escaped), headers{}                                  sent as Authorization)
//   sms       url, url_template?, template (body), content_type        any names, used as
//             application/json | application/x-www-form-urlencoded,    {{secret.<name>}} in the
//             to[] phone numbers, to_oncall (bool)                      sms and webhook templates
//
// Signatures, as the vendors document them:
//   DingTalk  string_to_sign = timestamp_ms + "\n" + secret; sign = urlencode(base64(
//             HmacSHA256(key = secret, string_to_sign))); URL gets &timestamp=..&sign=..
//   Feishu    string_to_sign = timestamp_s + "\n" + secret; sign = base64(HmacSHA256(
//             key = string_to_sign, message = "")); body gets "timestamp" and "sign".
//
// E-mail: RFC 5322 message, UTF-8 text body in base64; Subject and display names with non-ASCII
// characters as RFC 2047 encoded-words (=?UTF-8?B?...?=, at most 75 characters each, never
// splitting a UTF-8 sequence).
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "core/time.h"
#include "triage/notify/template.h"

namespace medsoc::triage::notify {

enum class ChannelKind : std::uint8_t { kEmail, kWecom, kDingtalk, kFeishu, kWebhook, kSms };
std::string_view ChannelKindName(ChannelKind k);  // email, wecom, dingtalk, feishu, webhook, sms
std::optional<ChannelKind> ParseChannelKind(std::string_view s);

struct Channel {
  std::string id;
  std::string tenant_id;
  std::string name;
  ChannelKind kind = ChannelKind::kWebhook;
  nlohmann::json config = nlohmann::json::object();
  std::map<std::string, std::string> secrets;  // plaintext, in memory only
  bool enabled = true;
  core::Timestamp created_at;
};

// The variables a template may use (see docs/triage.md, "Notifications"); "secret.<name>" and
// "recipient.phone" come on top for webhook and SMS templates.
const std::vector<std::string>& TemplateVariables();

// Checks a channel's configuration for its kind, collecting every problem ("config.to: ...").
Status ValidateChannel(const Channel& c);

// One request to send.
struct Outbound {
  enum class Kind : std::uint8_t { kHttp, kSmtp } kind = Kind::kHttp;
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // HTTP body, or the whole RFC 5322 message
  // SMTP only.
  std::string mail_from;
  std::vector<std::string> rcpt;
  std::string username, password;
  std::string ca_file;  // HTTPS and SMTP: extra trust anchor (a hospital's own CA); empty: system
  // Chat bots answer 200 with an error code in the JSON body; the name of that field.
  std::string json_error_field;  // "errcode" (WeCom, DingTalk), "code" (Feishu)
};

// Builds the request for one message to `c`. `vars` carries the event's variables; for SMS
// "recipient.phone" names the one recipient of this message.
Result<Outbound> BuildOutbound(const Channel& c, const TemplateVars& vars, core::Timestamp now);

// The signatures (exposed for tests).
std::string DingTalkSign(std::string_view secret, std::int64_t timestamp_ms);  // base64, not URL-encoded
std::string FeishuSign(std::string_view secret, std::int64_t timestamp_s);
std::string Base64(std::string_view bytes);  // standard alphabet, padded
std::string HmacSha256(std::string_view key, std::string_view message);
// RFC 2047 encoded-words for a header value; ASCII-only printable values are returned unchanged.
std::string EncodeHeaderWord(std::string_view value);

}  // namespace medsoc::triage::notify
