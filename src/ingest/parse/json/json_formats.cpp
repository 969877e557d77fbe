// JSON formats other than Windows: generic JSON, Suricata EVE, nginx/Apache JSON access logs and
// the MySQL audit log JSON shapes. Each keeps every flattened leaf as an original field
// (flat_json.h: dotted paths, arrays multi-valued) and adds ECS fields.
//
// Generic JSON ("json"): event time from the first of @timestamp, timestamp, time, ts, date,
// datetime that parses (RFC 3339 / ISO 8601 variants, NCSA time, epoch seconds or milliseconds);
// message from message, msg or log. Leaves whose path is an ECS name (host.name, source.ip, ...)
// are also set as normalized fields.
//
// Suricata EVE ("suricata_eve"), one JSON object per line:
//   {"timestamp":"2024-03-03T10:01:02.123456+0800","flow_id":1,"in_iface":"eth0",
//    "event_type":"alert|flow|dns|http|tls|fileinfo|anomaly|...","src_ip":..,"src_port":..,
//    "dest_ip":..,"dest_port":..,"proto":"TCP","app_proto":"http","community_id":"1:...",
//    "alert":{"action":"allowed","gid":1,"signature_id":2100498,"rev":7,"signature":"..",
//             "category":"..","severity":2},
//    "dns":{"type":"query|answer","rrname":..,"rrtype":..,"rcode":..,"answers":[{"rdata":..}]},
//    "http":{"hostname":..,"url":..,"http_user_agent":..,"http_refer":..,"http_method":..,
//            "protocol":"HTTP/1.1","status":200,"length":123},
//    "tls":{"sni":..,"subject":..,"issuerdn":..,"version":"TLS 1.2"},
//    "fileinfo":{"filename":..,"size":..,"sha256":..},
//    "flow":{"pkts_toserver":..,"pkts_toclient":..,"bytes_toserver":..,"bytes_toclient":..,
//            "start":..,"end":..},
//    "anomaly":{"type":..,"event":..,"layer":..}}
//
// Access logs as JSON ("access_json"): nginx `log_format ... escape=json '{...}'` and Apache
// JSON LogFormat, with the usual variable names (remote_addr/client_ip, remote_user,
// time_local/time_iso8601, request, request_method, request_uri/uri, args/query_string, status,
// body_bytes_sent/bytes_sent, http_referer, http_user_agent, request_time, host/server_name);
// matching is case-insensitive and ignores '_' and '-'.
//
// MySQL audit logs as JSON ("mysql_audit_json"):
//   MySQL Enterprise Audit: {"timestamp":"2024-03-03 10:01:02","id":0,"class":"general",
//     "event":"status","connection_id":11,"account":{"user":"root","host":"localhost"},
//     "login":{"user":"root","os":"","ip":"10.0.0.5","proxy":""},
//     "general_data":{"command":"Query","sql_command":"select","query":"SELECT ..","status":0}}
//     (also connection_data.db, table_access_data.{db,table,query,sql_command})
//   Percona Server audit_log (JSON): {"audit_record":{"name":"Query","record":"..",
//     "timestamp":"2024-03-03T10:01:02 UTC","command_class":"select","connection_id":"4",
//     "status":0,"sqltext":"SELECT ..","user":"root[root] @ localhost [10.0.0.5]",
//     "host":"localhost","os_user":"","ip":"10.0.0.5","db":"his"}}
//   MariaDB server_audit records converted to JSON by a shipper: serverhost, username, host,
//     connectionid, queryid, operation, database, object, retcode.
#include <string>

#include "ingest/parse/json/common.h"
#include "ingest/parse/json/flat_json.h"
#include "ingest/parse/json/parsers.h"
#include "ingest/parse/json/web_common.h"

namespace medsoc::ingest::json {

namespace {

using event::FieldId;
using event::Value;

bool StartsWithJsonObject(std::string_view s) {
  const std::size_t b = s.find_first_not_of(" \t\r\n");
  return b != std::string_view::npos && s[b] == '{';
}
bool Has(std::string_view s, std::string_view needle) { return s.find(needle) != std::string_view::npos; }

// Base of the JSON-object parsers: size check, flatten, invalid UTF-8 flag, originals.
class JsonObjectParser : public Parser {
 protected:
  Status Flatten(std::string_view message, const ParseContext& ctx, event::Event& e, bool keep_originals = true) {
    MEDSOC_TRY(CheckSize(message, ctx));
    MEDSOC_TRY(flat_.Parse(message, ctx.max_json_depth, e));
    if (flat_.invalid_utf8()) AddFlag(e, kFlagInvalidUtf8);
    if (keep_originals) KeepOriginals(flat_, names_, e);
    return Ok();
  }
  const Value* Get(std::string_view path) const {
    const FlatField* f = flat_.Find(path);
    return f && !IsEmptyValue(f->value) ? &f->value : nullptr;
  }
  FlatJson flat_;
  NameCache names_;
};

bool SetTimeFromFirst(event::Event& e, const FlatJson& flat, const ParseContext& ctx,
                      std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys) {
    const FlatField* f = flat.Find(k);
    if (f && SetTimeFromValue(e, f->value, ctx)) return true;
  }
  return false;
}

// ---- generic --------------------------------------------------------------------------------

class GenericJsonParser final : public JsonObjectParser {
 public:
  std::string_view name() const override { return "json"; }
  int Detect(std::string_view s) const override {
    if (!StartsWithJsonObject(s)) return 0;
    const std::size_t e = s.find_last_not_of(" \t\r\n");
    return s[e] == '}' ? 40 : 15;
  }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& e) override {
    MEDSOC_TRY(Flatten(message, ctx, e));
    SetTimeFromFirst(e, flat_, ctx, {"@timestamp", "timestamp", "time", "ts", "date", "datetime"});
    for (std::string_view k : {"message", "msg", "log"}) {
      if (const FlatField* f = flat_.Find(k); f && f->value.is_string()) {
        e.Set(F().message, f->value);
        break;
      }
    }
    for (const FlatField& f : flat_.fields())
      if (IsEcsPath(f.path)) SetEcsTyped(e, f.path, f.value);
    return Ok();
  }
};

// ---- Suricata EVE ---------------------------------------------------------------------------

class SuricataEveParser final : public JsonObjectParser {
 public:
  std::string_view name() const override { return "suricata_eve"; }
  int Detect(std::string_view s) const override {
    if (!StartsWithJsonObject(s) || !Has(s, "\"event_type\"")) return 0;
    return (Has(s, "\"src_ip\"") || Has(s, "\"flow_id\"") || Has(s, "\"in_iface\"")) ? 97 : 60;
  }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& e) override {
    MEDSOC_TRY(Flatten(message, ctx, e));
    const Fields& f = F();
    const Value* et = Get("event_type");
    if (!et || !et->is_string())
      return Error(ErrorCode::kParse, "JSON at byte 0: no \"event_type\" (not a Suricata EVE record)");
    const std::string_view type = et->str();
    if (const FlatField* t = flat_.Find("timestamp")) SetTimeFromValue(e, t->value, ctx);
    e.Set(f.event_module, Value::String("suricata"));
    std::string ds = "suricata.";
    ds += type;
    e.SetString(f.event_dataset, ds);
    e.Set(f.observer_product, Value::String("Suricata"));
    e.Set(f.observer_vendor, Value::String("OISF"));
    e.Set(f.observer_type, Value::String("ids"));
    e.Set(f.event_kind, Value::String(type == "alert" ? "alert" : "event"));
    if (const Value* v = Get("src_ip")) SetIp(e, f.source_ip, *v);
    if (const Value* v = Get("src_port")) SetLong(e, f.source_port, *v);
    if (const Value* v = Get("dest_ip")) SetIp(e, f.destination_ip, *v);
    if (const Value* v = Get("dest_port")) SetLong(e, f.destination_port, *v);
    for (FieldId ipf : {f.source_ip, f.destination_ip})
      if (const Value* ip = e.Find(ipf)) e.Append(f.related_ip, *ip);
    if (const Value* v = Get("proto"); v && v->is_string()) e.Set(f.network_transport, Lower(e, v->str()));
    if (const Value* v = Get("app_proto"); v && v->is_string() && v->str() != "failed")
      e.Set(f.network_protocol, Lower(e, v->str()));
    if (const Value* v = Get("community_id")) e.Set(f.network_community_id, *v);
    if (const Value* v = Get("flow_id")) SetKeyword(e, f.event_id, *v);
    if (const Value* v = Get("host")) SetKeyword(e, Id("observer.name"), *v);

    if (type == "alert") {
      e.Set(f.event_category, Value::String("intrusion_detection"));
      if (const Value* v = Get("alert.signature_id")) SetKeyword(e, f.rule_id, *v);
      if (const Value* v = Get("alert.signature")) e.Set(f.rule_name, *v);
      if (const Value* v = Get("alert.category")) e.Set(f.rule_category, *v);
      if (const Value* v = Get("alert.severity")) SetLong(e, f.event_severity, *v);
      if (const Value* v = Get("alert.action")) e.Set(f.event_action, *v);
      if (const Value* v = Get("alert.action"); v && v->is_string())
        e.Set(f.event_type, Value::String(v->str() == "blocked" ? "denied" : "allowed"));
    } else if (type == "flow" || type == "netflow") {
      e.Set(f.event_category, Value::String("network"));
      const Value* bs = Get(type == "flow" ? "flow.bytes_toserver" : "netflow.bytes");
      const Value* bc = Get("flow.bytes_toclient");
      if (bs) SetLong(e, f.source_bytes, *bs);
      if (bc) SetLong(e, f.destination_bytes, *bc);
      const auto sum = [&](const Value* a, const Value* b) {
        return (a ? a->AsInt().value_or(0) : 0) + (b ? b->AsInt().value_or(0) : 0);
      };
      if (bs || bc) e.Set(f.network_bytes, Value::Int(sum(bs, bc)));
      const Value* ps = Get("flow.pkts_toserver");
      const Value* pc = Get("flow.pkts_toclient");
      if (ps || pc) e.Set(f.network_packets, Value::Int(sum(ps, pc)));
      if (const Value* v = Get("flow.start"))
        if (auto t = ParseTime(v->is_string() ? v->str() : "", ctx.tz_offset_minutes))
          e.Set(Id("event.start"), Value::Time(*t));
      if (const Value* v = Get("flow.end"))
        if (auto t = ParseTime(v->is_string() ? v->str() : "", ctx.tz_offset_minutes))
          e.Set(Id("event.end"), Value::Time(*t));
      if (const Value* v = Get("flow.reason")) e.Set(f.event_reason, *v);
    } else if (type == "dns") {
      e.Set(f.event_category, Value::String("network"));
      if (const Value* v = Get("dns.rrname")) e.Set(f.dns_question_name, *v);
      if (const Value* v = Get("dns.rrtype")) e.Set(f.dns_question_type, *v);
      if (const Value* v = Get("dns.rcode")) e.Set(f.dns_response_code, *v);
      if (const Value* v = Get("dns.type")) e.Set(f.event_action, *v);
      for (const FlatField& x : flat_.fields())
        if ((x.path == "dns.answers.rdata" || x.path == "dns.rdata") && !IsEmptyValue(x.value))
          e.Append(f.dns_answers_data, x.value);
      // EVE v2 queries carry the name under dns.queries[].rrname.
      if (!e.Has(f.dns_question_name))
        if (const Value* v = Get("dns.queries.rrname")) e.Set(f.dns_question_name, *v);
    } else if (type == "http") {
      e.Set(f.event_category, Value::String("web"));
      if (const Value* v = Get("http.hostname")) e.Set(f.url_domain, *v);
      if (const Value* v = Get("http.url"); v && v->is_string()) SetUrl(e, v->str());
      if (const Value* v = Get("http.http_method")) e.Set(f.http_request_method, *v);
      if (const Value* v = Get("http.protocol"); v && v->is_string()) SetHttpVersion(e, v->str());
      if (const Value* v = Get("http.status")) SetLong(e, f.http_response_status_code, *v);
      if (const Value* v = Get("http.length")) SetLong(e, f.http_response_body_bytes, *v);
      if (const Value* v = Get("http.http_user_agent")) e.Set(f.user_agent_original, *v);
      if (const Value* v = Get("http.http_refer")) e.Set(f.http_request_referrer, *v);
    } else if (type == "tls") {
      e.Set(f.event_category, Value::String("network"));
      if (const Value* v = Get("tls.sni")) e.Set(f.tls_client_server_name, *v);
      if (const Value* v = Get("tls.subject")) e.Set(f.tls_server_subject, *v);
      if (const Value* v = Get("tls.issuerdn")) e.Set(f.tls_server_issuer, *v);
      if (const Value* v = Get("tls.version"); v && v->is_string()) {
        std::string_view ver = v->str();
        if (ver.substr(0, 4) == "TLS ") ver.remove_prefix(4);
        if (ver.substr(0, 5) == "TLSv1") ver.remove_prefix(4);
        e.Set(f.tls_version, Value::String(ver));
      }
    } else if (type == "fileinfo") {
      e.Set(f.event_category, Value::String("file"));
      if (const Value* v = Get("fileinfo.filename"); v && v->is_string()) {
        e.Set(f.file_path, *v);
        const std::string_view p = v->str();
        const auto slash = p.find_last_of('/');
        e.Set(f.file_name, Value::String(slash == std::string_view::npos ? p : p.substr(slash + 1)));
      }
      if (const Value* v = Get("fileinfo.size")) SetLong(e, f.file_size, *v);
      if (const Value* v = Get("fileinfo.sha256")) e.Set(Id("file.hash.sha256"), *v);
      if (const Value* v = Get("http.hostname")) e.Set(f.url_domain, *v);
      if (const Value* v = Get("http.url"); v && v->is_string()) SetUrl(e, v->str());
    } else if (type == "anomaly") {
      e.Set(f.event_category, Value::String("network"));
      if (const Value* v = Get("anomaly.event")) e.Set(f.event_reason, *v);
      if (const Value* v = Get("anomaly.type")) e.Set(f.event_action, *v);
    }
    return Ok();
  }

 private:
  static FieldId Id(std::string_view name) { return *event::DefaultFieldTable().Intern(name); }
  static Value Lower(event::Event& e, std::string_view s) {
    bool lower = true;
    for (char c : s)
      if (c >= 'A' && c <= 'Z') lower = false;
    if (lower) return Value::String(s);
    char* p = e.arena().Allocate(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) p[i] = (s[i] >= 'A' && s[i] <= 'Z') ? static_cast<char>(s[i] + 32) : s[i];
    return Value::String(std::string_view(p, s.size()));
  }
};

// ---- access logs as JSON --------------------------------------------------------------------

// Lower-cases and drops '_' '-' '.' so that "remote_addr", "remoteAddr" and "Remote-Addr" match.
std::string Canon(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '_' || c == '-' || c == '.') continue;
    out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c);
  }
  return out;
}

enum class AccessKey : std::uint8_t {
  kNone, kClient, kUser, kTime, kRequest, kMethod, kUri, kQuery, kStatus, kBytes, kReferer, kAgent,
  kRequestTime, kHost, kProtocol, kDurationUs, kDurationMs
};

AccessKey ClassifyAccessKey(std::string_view path) {
  const std::string c = Canon(path);
  static const std::pair<std::string_view, AccessKey> kTable[] = {
      {"remoteaddr", AccessKey::kClient}, {"clientip", AccessKey::kClient}, {"client", AccessKey::kClient},
      {"remoteip", AccessKey::kClient}, {"ip", AccessKey::kClient}, {"clientaddr", AccessKey::kClient},
      {"remotehost", AccessKey::kClient}, {"cip", AccessKey::kClient},
      {"remoteuser", AccessKey::kUser}, {"user", AccessKey::kUser}, {"username", AccessKey::kUser},
      {"timelocal", AccessKey::kTime}, {"timeiso8601", AccessKey::kTime}, {"@timestamp", AccessKey::kTime},
      {"timestamp", AccessKey::kTime}, {"time", AccessKey::kTime}, {"date", AccessKey::kTime},
      {"request", AccessKey::kRequest}, {"requestline", AccessKey::kRequest}, {"requestfirstline", AccessKey::kRequest},
      {"requestmethod", AccessKey::kMethod}, {"method", AccessKey::kMethod},
      {"requesturi", AccessKey::kUri}, {"uri", AccessKey::kUri}, {"url", AccessKey::kUri}, {"path", AccessKey::kUri},
      {"args", AccessKey::kQuery}, {"querystring", AccessKey::kQuery}, {"query", AccessKey::kQuery},
      {"status", AccessKey::kStatus}, {"statuscode", AccessKey::kStatus}, {"responsestatus", AccessKey::kStatus},
      {"bodybytessent", AccessKey::kBytes}, {"bytessent", AccessKey::kBytes}, {"bytes", AccessKey::kBytes},
      {"size", AccessKey::kBytes}, {"responsesize", AccessKey::kBytes},
      {"httpreferer", AccessKey::kReferer}, {"referer", AccessKey::kReferer}, {"referrer", AccessKey::kReferer},
      {"httpuseragent", AccessKey::kAgent}, {"useragent", AccessKey::kAgent}, {"agent", AccessKey::kAgent},
      {"requesttime", AccessKey::kRequestTime}, {"duration", AccessKey::kRequestTime},
      {"requestduration", AccessKey::kRequestTime}, {"responsetimemicros", AccessKey::kDurationUs},
      {"requesttimeus", AccessKey::kDurationUs}, {"requesttimems", AccessKey::kDurationMs},
      {"host", AccessKey::kHost}, {"servername", AccessKey::kHost}, {"httphost", AccessKey::kHost},
      {"vhost", AccessKey::kHost}, {"serverprotocol", AccessKey::kProtocol}, {"protocol", AccessKey::kProtocol},
  };
  for (const auto& [k, v] : kTable)
    if (c == k) return v;
  return AccessKey::kNone;
}

class AccessJsonParser final : public JsonObjectParser {
 public:
  std::string_view name() const override { return "access_json"; }
  int Detect(std::string_view s) const override {
    if (!StartsWithJsonObject(s)) return 0;
    int hits = 0;
    for (std::string_view k : {"\"remote_addr\"", "\"request_uri\"", "\"http_user_agent\"", "\"body_bytes_sent\"",
                               "\"http_referer\"", "\"request_time\"", "\"status\"", "\"request_method\""})
      if (Has(s, k)) ++hits;
    return hits >= 3 ? 92 : hits == 2 ? 55 : 0;
  }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& e) override {
    MEDSOC_TRY(Flatten(message, ctx, e));
    WebRecord w;
    for (const FlatField& x : flat_.fields()) {
      if (IsEmptyValue(x.value)) continue;
      auto it = keys_.find(x.path);
      if (it == keys_.end()) {
        if (keys_.size() > 4096) keys_.clear();
        it = keys_.emplace(std::string(x.path), ClassifyAccessKey(x.path)).first;
      }
      event::TextBuffer buf;
      const std::string_view text = x.value.is_string() ? x.value.str() : e.CopyString(x.value.AsText(buf));
      switch (it->second) {
        case AccessKey::kClient: if (w.client.empty()) w.client = text; break;
        case AccessKey::kUser: w.user = text; break;
        case AccessKey::kTime: if (w.time.empty()) w.time = text; break;
        case AccessKey::kRequest: w.request = text; break;
        case AccessKey::kMethod: w.method = text; break;
        case AccessKey::kUri: w.uri = text; break;
        case AccessKey::kQuery: w.query = text; break;
        case AccessKey::kStatus: w.status = text; break;
        case AccessKey::kBytes: if (w.bytes.empty()) w.bytes = text; break;
        case AccessKey::kReferer: w.referer = text; break;
        case AccessKey::kAgent: w.agent = text; break;
        case AccessKey::kRequestTime: w.duration_s = text; break;
        case AccessKey::kDurationUs: w.duration_us = text; break;
        case AccessKey::kDurationMs: w.duration_ms = text; break;
        case AccessKey::kHost: w.host = text; break;
        case AccessKey::kProtocol: w.protocol = text; break;
        case AccessKey::kNone: break;
      }
    }
    if (w.request.empty() && w.uri.empty() && w.status.empty())
      return Error(ErrorCode::kParse, "JSON at byte 0: no request, URI or status field (not an access log record)");
    if (!w.time.empty()) SetTimeFrom(e, w.time, ctx);
    ApplyWebRecord(w, e);
    return Ok();
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, AccessKey, Hash, std::equal_to<>> keys_;
};

// ---- MySQL audit JSON -----------------------------------------------------------------------

class MysqlAuditJsonParser final : public JsonObjectParser {
 public:
  std::string_view name() const override { return "mysql_audit_json"; }
  int Detect(std::string_view s) const override {
    if (!StartsWithJsonObject(s)) return 0;
    if (Has(s, "\"audit_record\"")) return 97;
    if (Has(s, "\"connection_id\"") && (Has(s, "\"general_data\"") || Has(s, "\"connection_data\"") ||
                                        Has(s, "\"table_access_data\"") || Has(s, "\"account\"")))
      return 95;
    if (Has(s, "\"connectionid\"") && Has(s, "\"queryid\"")) return 90;
    return 0;
  }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& e) override {
    MEDSOC_TRY(Flatten(message, ctx, e));
    const Fields& f = F();
    auto first = [&](std::initializer_list<std::string_view> keys) -> const Value* {
      for (std::string_view k : keys)
        if (const Value* v = Get(k)) return v;
      return nullptr;
    };
    const Value* ts = first({"audit_record.timestamp", "timestamp", "@timestamp"});
    if (!first({"connection_id", "audit_record.connection_id", "connectionid", "audit_record.name", "class"}))
      return Error(ErrorCode::kParse, "JSON at byte 0: no connection id, record name or class (not a MySQL audit record)");
    if (ts) SetTimeFromValue(e, *ts, ctx);
    e.Set(f.db_system, Value::String("mysql"));
    e.Set(f.event_module, Value::String("mysql"));
    e.Set(f.event_dataset, Value::String("mysql.audit"));
    e.Set(f.event_category, Value::String("database"));
    if (const Value* v = first({"account.user", "login.user", "audit_record.user", "username", "user"});
        v && v->is_string()) {
      std::string_view u = v->str();
      // Percona: "root[root] @ localhost [10.0.0.5]"
      if (auto b = u.find('['); b != std::string_view::npos) u = u.substr(0, b);
      if (auto sp = u.find(' '); sp != std::string_view::npos) u = u.substr(0, sp);
      if (!u.empty()) {
        e.Set(f.user_name, Value::String(u));
        e.Set(f.db_user, Value::String(u));
        e.Append(f.related_user, Value::String(u));
      }
    }
    if (const Value* v = first({"login.ip", "audit_record.ip", "ip"})) SetIp(e, f.source_ip, *v);
    if (const Value* v = first({"account.host", "audit_record.host", "host"})) {
      if (!e.Has(f.source_ip)) SetIp(e, f.source_ip, *v);
      e.Set(f.source_address, *v);
    }
    if (const Value* ip = e.Find(f.source_ip)) e.Append(f.related_ip, *ip);
    if (const Value* v = first({"audit_record.db", "connection_data.db", "table_access_data.db", "database", "db"}))
      e.Set(f.db_name, *v);
    if (const Value* v = first({"general_data.query", "table_access_data.query", "audit_record.sqltext", "query",
                                "object", "sqltext"}))
      e.Set(f.db_statement, *v);
    if (const Value* v = first({"general_data.sql_command", "table_access_data.sql_command",
                                "audit_record.command_class", "command_class", "operation"}))
      e.Set(f.db_operation, *v);
    if (const Value* v = first({"audit_record.name", "general_data.command", "event", "operation", "class"}))
      SetKeyword(e, f.event_action, *v);
    if (const Value* v = first({"connection_id", "audit_record.connection_id", "connectionid"}))
      SetKeyword(e, f.db_connection_id, *v);
    if (const Value* v = first({"queryid"})) SetKeyword(e, f.db_query_id, *v);
    if (const Value* v = first({"general_data.status", "connection_data.status", "audit_record.status", "status",
                                "retcode"})) {
      const auto code = v->AsInt();
      if (code) {
        e.Set(f.event_outcome, Value::String(*code == 0 ? "success" : "failure"));
        if (*code != 0) SetKeyword(e, f.error_code, *v);
      }
    }
    // Connect/Failed Connect records are authentication events.
    if (const Value* a = e.Find(f.event_action); a && a->is_string()) {
      const std::string_view act = a->str();
      if (EqualsIgnoreCase(act, "Connect") || EqualsIgnoreCase(act, "Failed Connect") ||
          EqualsIgnoreCase(act, "connect") || act == "CONNECT" || act == "FAILED_CONNECT") {
        e.Append(f.event_category, Value::String("authentication"));
        if (act == "Failed Connect" || act == "FAILED_CONNECT") e.Set(f.event_outcome, Value::String("failure"));
      }
    }
    return Ok();
  }
};

}  // namespace

std::unique_ptr<Parser> MakeGenericJsonParser() { return std::make_unique<GenericJsonParser>(); }
std::unique_ptr<Parser> MakeSuricataEveParser() { return std::make_unique<SuricataEveParser>(); }
std::unique_ptr<Parser> MakeAccessJsonParser() { return std::make_unique<AccessJsonParser>(); }
std::unique_ptr<Parser> MakeMysqlAuditJsonParser() { return std::make_unique<MysqlAuditJsonParser>(); }

}  // namespace medsoc::ingest::json
