#include "triage/notify/transport.h"

#include <curl/curl.h>

#include <cstring>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

namespace medsoc::triage::notify {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string* out;
  std::size_t limit;
};

std::size_t WriteCb(char* data, std::size_t size, std::size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  if (s->out->size() < s->limit) s->out->append(data, std::min(len, s->limit - s->out->size()));
  return len;
}

struct Upload {
  const std::string* data;
  std::size_t pos = 0;
};

std::size_t ReadCb(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto* u = static_cast<Upload*>(user);
  const std::size_t len = std::min(size * n, u->data->size() - u->pos);
  std::memcpy(buffer, u->data->data() + u->pos, len);
  u->pos += len;
  return len;
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

CurlTransport::CurlTransport(TransportOptions options) : options_(options) { GlobalInit(); }

SendOutcome CurlTransport::Send(const Outbound& o) {
  SendOutcome out;
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (!curl) {
    out.error = "curl_easy_init failed";
    return out;
  }
  CURL* h = curl.get();
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string response;
  Sink sink{&response, options_.max_response_bytes};
  std::unique_ptr<curl_slist, SlistDeleter> headers, rcpts;
  Upload upload{&o.body};

  const char* protocols = o.kind == Outbound::Kind::kSmtp ? "smtp,smtps" : "http,https";
  curl_easy_setopt(h, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, options_.total_timeout_ms);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");  // a proxy from the environment must not see patient data
  if (!o.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, o.ca_file.c_str());

  if (o.kind == Outbound::Kind::kSmtp) {
    curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, o.mail_from.c_str());
    curl_slist* l = nullptr;
    for (const auto& r : o.rcpt) l = curl_slist_append(l, r.c_str());
    rcpts.reset(l);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts.get());
    if (!o.username.empty()) {
      curl_easy_setopt(h, CURLOPT_USERNAME, o.username.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, o.password.c_str());
    }
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadCb);
    curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(o.body.size()));
  } else {
    curl_slist* l = nullptr;
    for (const auto& hd : o.headers) l = curl_slist_append(l, hd.c_str());
    l = curl_slist_append(l, "Expect:");
    headers.reset(l);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, o.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(o.body.size()));
    curl_easy_setopt(h, CURLOPT_USERAGENT, "medsoc-notify/1");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteCb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  }

  const CURLcode rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  out.response_code = code;
  out.response = response;
  if (rc != CURLE_OK) {
    out.error = std::string(curl_easy_strerror(rc)) + (errbuf[0] ? std::string(": ") + errbuf : std::string());
    // Refused scheme, malformed URL, authentication rejected: retrying will not help.
    out.retryable = !(rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT || rc == CURLE_LOGIN_DENIED ||
                      rc == CURLE_USE_SSL_FAILED || rc == CURLE_PEER_FAILED_VERIFICATION);
    if (o.kind == Outbound::Kind::kSmtp && code >= 500 && code < 600) out.retryable = false;  // permanent SMTP reply
    return out;
  }
  if (o.kind == Outbound::Kind::kSmtp) {
    out.ok = true;
    return out;
  }
  if (code >= 300 && code < 400) {
    out.error = "redirect refused (HTTP " + std::to_string(code) + ")";
    out.retryable = false;
    return out;
  }
  if (code < 200 || code >= 300) {
    out.error = "HTTP " + std::to_string(code);
    out.retryable = code >= 500 || code == 408 || code == 429;
    return out;
  }
  if (!o.json_error_field.empty()) {
    // Chat bots answer 200 {"errcode": 310000, "errmsg": "sign not match"} on rejection.
    auto j = nlohmann::json::parse(response, nullptr, false);
    if (j.is_object() && j.contains(o.json_error_field) && j[o.json_error_field].is_number_integer() &&
        j[o.json_error_field].get<long long>() != 0) {
      std::string msg;
      for (const char* k : {"errmsg", "msg"})
        if (auto it = j.find(k); it != j.end() && it->is_string()) msg = it->get<std::string>();
      out.error = "receiver error " + std::to_string(j[o.json_error_field].get<long long>()) + ": " + msg;
      return out;
    }
  }
  out.ok = true;
  return out;
}

}  // namespace medsoc::triage::notify
