// Parsing of the `ingest:` configuration section with yaml-cpp: see config_ingest.h.
#include "ingest/config_ingest.h"
#include "core/yaml_guard.h"

#include <yaml-cpp/yaml.h>

#include <limits>
#include <set>

#include "ingest/pipeline.h"
#include "ingest/sources/cidr.h"

namespace medsoc::ingest {
namespace {

class Reader {
 public:
  Reader(std::string file, std::vector<Error>& errors) : file_(std::move(file)), errors_(errors) {}

  void Fail(const YAML::Node& n, const std::string& key, const std::string& why) {
    const auto m = n.Mark();
    errors_.emplace_back(ErrorCode::kInvalidArgument, key + ": " + why,
                         SourcePos{file_, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0});
  }

  // Reports keys of `map` not in `known`.
  void Known(const YAML::Node& map, const std::string& path, std::initializer_list<const char*> known) {
    for (const auto& kv : map) {
      const std::string k = kv.first.as<std::string>("");
      bool ok = false;
      for (const char* x : known) ok = ok || k == x;
      if (!ok) Fail(kv.first, path + "." + k, "unknown key");
    }
  }

  bool IsMap(const YAML::Node& n, const std::string& key) {
    if (n.IsMap()) return true;
    Fail(n, key, "must be a mapping");
    return false;
  }

  void String(const YAML::Node& map, const char* name, const std::string& path, std::string& out) {
    const YAML::Node n = map[name];
    if (!n) return;
    if (!n.IsScalar()) return Fail(n, path + "." + name, "must be a string");
    out = n.Scalar();
  }

  template <typename T>
  void Int(const YAML::Node& map, const char* name, const std::string& path, T& out, long long lo, long long hi) {
    const YAML::Node n = map[name];
    if (!n) return;
    long long v = 0;
    try {
      if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
      v = n.as<long long>();
    } catch (const YAML::Exception&) {
      return Fail(n, path + "." + name, "must be an integer");
    }
    if (v < lo || v > hi)
      return Fail(n, path + "." + name, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    out = static_cast<T>(v);
  }

  void Bool(const YAML::Node& map, const char* name, const std::string& path, bool& out) {
    const YAML::Node n = map[name];
    if (!n) return;
    try {
      if (!n.IsScalar()) throw YAML::Exception(n.Mark(), "");
      out = n.as<bool>();
    } catch (const YAML::Exception&) {
      Fail(n, path + "." + name, "must be true or false");
    }
  }

  void StringList(const YAML::Node& map, const char* name, const std::string& path, std::vector<std::string>& out) {
    const YAML::Node n = map[name];
    if (!n) return;
    if (n.IsScalar()) {  // a single entry is accepted as a one-element list
      out.push_back(n.Scalar());
      return;
    }
    if (!n.IsSequence()) return Fail(n, path + "." + name, "must be a list of strings");
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar()) {
        Fail(n[i], path + "." + name + "[" + std::to_string(i) + "]", "must be a string");
        continue;
      }
      out.push_back(n[i].Scalar());
    }
  }

  void Timezone(const YAML::Node& map, const std::string& path, int& out) {
    const YAML::Node n = map["timezone"];
    if (!n) return;
    if (!n.IsScalar()) return Fail(n, path + ".timezone", "must be a string such as \"+08:00\"");
    auto tz = ParseTimezone(n.Scalar());
    if (!tz.ok()) return Fail(n, path + ".timezone", tz.error().message());
    out = *tz;
  }

  void Cidrs(const YAML::Node& map, const char* name, const std::string& path) {
    const YAML::Node n = map[name];
    if (!n || !n.IsSequence()) return;
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar()) continue;
      auto c = Cidr::Parse(n[i].Scalar());
      if (!c.ok()) Fail(n[i], path + "." + name + "[" + std::to_string(i) + "]", c.error().message());
    }
  }

 private:
  std::string file_;
  std::vector<Error>& errors_;
};

constexpr long long kMaxU32 = std::numeric_limits<std::uint32_t>::max();

// `dataset:` (event.dataset for the input, e.g. his.audit): checked by IsValidDataset.
void ReadDataset(Reader& r, const YAML::Node& n, const std::string& path, std::string& out) {
  r.String(n, "dataset", path, out);
  if (!out.empty() && !IsValidDataset(out))
    r.Fail(n["dataset"], path + ".dataset", "must be 1-64 of [a-z0-9_.-], starting with a letter or digit (his.audit)");
}

void ReadListener(Reader& r, const YAML::Node& n, const std::string& path, ListenerOptions& l) {
  if (!r.IsMap(n, path)) return;
  r.Known(n, path, {"name", "protocol", "listen", "tenant", "source", "format", "dataset", "timezone", "allow",
                    "senders", "tls", "max_message_bytes", "idle_timeout_seconds", "max_connections", "udp_receive_buffer_bytes"});
  r.String(n, "name", path, l.name);
  if (l.name.empty()) r.Fail(n, path + ".name", "is required");
  std::string protocol = "udp";
  r.String(n, "protocol", path, protocol);
  if (protocol == "udp") {
    l.protocol = ListenerProtocol::kUdp;
  } else if (protocol == "tcp") {
    l.protocol = ListenerProtocol::kTcp;
  } else if (protocol == "tls") {
    l.protocol = ListenerProtocol::kTls;
  } else {
    r.Fail(n["protocol"], path + ".protocol", "must be udp, tcp or tls");
  }
  r.String(n, "listen", path, l.listen);
  if (l.listen.rfind(':') == std::string::npos) r.Fail(n["listen"] ? n["listen"] : n, path + ".listen", "must be HOST:PORT");
  r.String(n, "tenant", path, l.tenant);
  r.String(n, "source", path, l.source);
  r.String(n, "format", path, l.format);
  ReadDataset(r, n, path, l.dataset);
  r.Timezone(n, path, l.tz_offset_minutes);
  r.StringList(n, "allow", path, l.allow);
  r.Cidrs(n, "allow", path);
  if (const YAML::Node s = n["senders"]) {
    if (!s.IsSequence()) {
      r.Fail(s, path + ".senders", "must be a list of {match, tenant, source}");
    } else {
      for (std::size_t i = 0; i < s.size(); ++i) {
        const std::string p = path + ".senders[" + std::to_string(i) + "]";
        if (!r.IsMap(s[i], p)) continue;
        r.Known(s[i], p, {"match", "tenant", "source", "dataset"});
        SenderMapping m;
        r.String(s[i], "match", p, m.match);
        r.String(s[i], "tenant", p, m.tenant);
        r.String(s[i], "source", p, m.source);
        ReadDataset(r, s[i], p, m.dataset);
        if (m.match.empty()) {
          r.Fail(s[i], p + ".match", "is required");
        } else if (auto c = Cidr::Parse(m.match); !c.ok()) {
          r.Fail(s[i]["match"], p + ".match", c.error().message());
        }
        l.senders.push_back(std::move(m));
      }
    }
  }
  if (const YAML::Node t = n["tls"]) {
    const std::string p = path + ".tls";
    if (r.IsMap(t, p)) {
      r.Known(t, p, {"cert_file", "key_file", "ca_file", "require_client_cert", "min_version"});
      r.String(t, "cert_file", p, l.tls.cert_file);
      r.String(t, "key_file", p, l.tls.key_file);
      r.String(t, "ca_file", p, l.tls.ca_file);
      r.Bool(t, "require_client_cert", p, l.tls.require_client_cert);
      r.String(t, "min_version", p, l.tls.min_version);
      if (l.tls.min_version != "1.2" && l.tls.min_version != "1.3") r.Fail(t["min_version"], p + ".min_version", "must be 1.2 or 1.3");
      if (l.tls.require_client_cert && l.tls.ca_file.empty()) r.Fail(t, p + ".ca_file", "is required with require_client_cert");
    }
  }
  if (l.protocol == ListenerProtocol::kTls && (l.tls.cert_file.empty() || l.tls.key_file.empty()))
    r.Fail(n, path + ".tls", "protocol tls needs tls.cert_file and tls.key_file");
  r.Int(n, "max_message_bytes", path, l.max_message_bytes, 256, 16 << 20);
  r.Int(n, "idle_timeout_seconds", path, l.idle_timeout_seconds, 1, 86400 * 7);
  r.Int(n, "max_connections", path, l.max_connections, 1, 1000000);
  r.Int(n, "udp_receive_buffer_bytes", path, l.udp_receive_buffer_bytes, 0, 1 << 30);
}

void ReadFile(Reader& r, const YAML::Node& n, const std::string& path, FileSourceOptions& f) {
  if (!r.IsMap(n, path)) return;
  r.Known(n, path, {"path", "tenant", "source", "format", "dataset", "timezone", "start_at_beginning",
                    "max_message_bytes", "poll_interval_ms"});
  r.String(n, "path", path, f.path);
  if (f.path.empty()) r.Fail(n, path + ".path", "is required");
  r.String(n, "tenant", path, f.tenant);
  r.String(n, "source", path, f.source);
  r.String(n, "format", path, f.format);
  ReadDataset(r, n, path, f.dataset);
  r.Timezone(n, path, f.tz_offset_minutes);
  r.Bool(n, "start_at_beginning", path, f.start_at_beginning);
  r.Int(n, "max_message_bytes", path, f.max_message_bytes, 256, 16 << 20);
  r.Int(n, "poll_interval_ms", path, f.poll_interval_ms, 10, 60000);
}

}  // namespace

std::vector<Error> CheckIngestSection(const std::string& yaml_text, const std::string& file_name, IngestOptions* out) {
  std::vector<Error> errors;
  IngestOptions o;
  YAML::Node root;
  if (auto err = core::CheckYamlBounds(yaml_text, file_name)) {
    errors.push_back(std::move(*err));
    return errors;
  }
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    errors.emplace_back(ErrorCode::kParse, e.msg, SourcePos{file_name, e.mark.line + 1, e.mark.column + 1});
    return errors;
  }
  try {
    Reader r(file_name, errors);
    const YAML::Node in = root.IsMap() ? root["ingest"] : YAML::Node();
    if (in && !in.IsNull()) {
      if (r.IsMap(in, "ingest")) {
        r.Known(in, "ingest", {"listeners", "files", "http", "parse_workers", "parse_queue_batches",
                               "sink_queue_batches", "batch_events", "batch_millis", "checkpoint_file"});
        r.Int(in, "parse_workers", "ingest", o.parse_workers, 0, 256);
        r.Int(in, "parse_queue_batches", "ingest", o.parse_queue_batches, 1, 100000);
        r.Int(in, "sink_queue_batches", "ingest", o.sink_queue_batches, 1, 100000);
        r.Int(in, "batch_events", "ingest", o.batch_events, 1, 1000000);
        r.Int(in, "batch_millis", "ingest", o.batch_millis, 1, 60000);
        r.String(in, "checkpoint_file", "ingest", o.checkpoint_file);
        if (const YAML::Node h = in["http"]) {
          if (r.IsMap(h, "ingest.http")) {
            r.Known(h, "ingest.http", {"max_decompressed_bytes", "max_events", "max_event_bytes",
                                       "ack_timeout_seconds", "retry_after_seconds"});
            r.Int(h, "max_decompressed_bytes", "ingest.http", o.http.max_decompressed_bytes, 1024, 1LL << 34);
            r.Int(h, "max_events", "ingest.http", o.http.max_events, 1, 10000000);
            r.Int(h, "max_event_bytes", "ingest.http", o.http.max_event_bytes, 256, kMaxU32);
            r.Int(h, "ack_timeout_seconds", "ingest.http", o.http.ack_timeout_seconds, 1, 3600);
            r.Int(h, "retry_after_seconds", "ingest.http", o.http.retry_after_seconds, 1, 3600);
          }
        }
        if (const YAML::Node ls = in["listeners"]) {
          if (!ls.IsSequence()) {
            r.Fail(ls, "ingest.listeners", "must be a list");
          } else {
            std::set<std::string> names;
            for (std::size_t i = 0; i < ls.size(); ++i) {
              const std::string p = "ingest.listeners[" + std::to_string(i) + "]";
              ListenerOptions l;
              ReadListener(r, ls[i], p, l);
              if (!l.name.empty() && !names.insert(l.name).second)
                r.Fail(ls[i]["name"], p + ".name", "'" + l.name + "' is used by another listener");
              if (l.name == "http") r.Fail(ls[i]["name"], p + ".name", "'http' is reserved for HTTP ingest");
              o.listeners.push_back(std::move(l));
            }
          }
        }
        if (const YAML::Node fs = in["files"]) {
          if (!fs.IsSequence()) {
            r.Fail(fs, "ingest.files", "must be a list");
          } else {
            for (std::size_t i = 0; i < fs.size(); ++i) {
              FileSourceOptions f;
              ReadFile(r, fs[i], "ingest.files[" + std::to_string(i) + "]", f);
              o.files.push_back(std::move(f));
            }
          }
        }
      }
    }
  } catch (const YAML::Exception& e) {
    errors.emplace_back(ErrorCode::kParse, e.msg, SourcePos{file_name, e.mark.line + 1, e.mark.column + 1});
  }
  if (out) *out = std::move(o);
  return errors;
}

Result<IngestOptions> ParseIngestSection(const std::string& yaml_text, const std::string& file_name) {
  IngestOptions o;
  std::vector<Error> errors = CheckIngestSection(yaml_text, file_name, &o);
  if (errors.empty()) return o;
  std::string msg;
  for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e.ToString();
  return Error(ErrorCode::kInvalidArgument, msg);
}

}  // namespace medsoc::ingest
