#include "assets/fingerprints.h"
#include "core/yaml_guard.h"

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

namespace medsoc::assets {
namespace {

SourcePos PosOf(const YAML::Node& n, const std::string& file) {
  const YAML::Mark m = n.Mark();
  return {file, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}

bool Printable(unsigned char c) { return c >= 0x20 && c != 0x7f; }

Result<std::string> HexBytes(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    if (c == ' ' || c == '\n' || c == ':') continue;
    int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (v < 0) return Error(ErrorCode::kParse, std::string("payload_hex: '") + c + "' is not a hex digit");
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi * 16 + v));
      hi = -1;
    }
  }
  if (hi >= 0) return Error(ErrorCode::kParse, "payload_hex: odd number of hex digits");
  return out;
}

const std::set<std::string>& KnownBuilders() {
  static const std::set<std::string> b = {"dicom_echo", "hl7_query", "snmp_get", "dns_version", "ntp_client",
                                          "tls_hello",  "http_get",  "netbios_stat", "bacnet_whois", "modbus_id",
                                          "mdns_services"};
  return b;
}

}  // namespace

bool Probe::AppliesTo(std::uint16_t port) const {
  for (const auto& r : ports)
    if (port >= r.first && port <= r.last) return true;
  return false;
}

Result<std::vector<PortRange>> ParsePortRanges(std::string_view text) {
  std::vector<PortRange> out;
  std::string item;
  auto flush = [&]() -> Status {
    std::string t;
    for (char c : item)
      if (c != ' ') t.push_back(c);
    item.clear();
    if (t.empty()) return Ok();
    auto parse = [&](const std::string& s) -> Result<std::uint16_t> {
      if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos)
        return Error(ErrorCode::kInvalidArgument, "'" + t + "' is not a port or port range");
      int v = std::stoi(s);
      if (v > 65535) return Error(ErrorCode::kInvalidArgument, "port " + s + " is above 65535");
      return static_cast<std::uint16_t>(v);
    };
    auto dash = t.find('-');
    if (dash == std::string::npos) {
      MEDSOC_ASSIGN_OR_RETURN(auto p, parse(t));
      out.push_back({p, p});
    } else {
      std::string a = t.substr(0, dash), b = t.substr(dash + 1);
      MEDSOC_ASSIGN_OR_RETURN(auto first, a.empty() ? Result<std::uint16_t>(std::uint16_t{1}) : parse(a));
      MEDSOC_ASSIGN_OR_RETURN(auto last, b.empty() ? Result<std::uint16_t>(std::uint16_t{65535}) : parse(b));
      if (first > last) return Error(ErrorCode::kInvalidArgument, "port range '" + t + "' is reversed");
      out.push_back({first, last});
    }
    return Ok();
  };
  for (char c : text) {
    if (c == ',') {
      MEDSOC_TRY(flush());
    } else {
      item.push_back(c);
    }
  }
  MEDSOC_TRY(flush());
  return out;
}

std::string ExpandTemplate(std::string_view tmpl, const std::vector<std::string>& groups,
                           const std::map<std::string, std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    char c = tmpl[i];
    if (c == '$' && i + 1 < tmpl.size() && tmpl[i + 1] >= '1' && tmpl[i + 1] <= '9') {
      size_t g = static_cast<size_t>(tmpl[i + 1] - '0');
      if (g < groups.size()) out += groups[g];
      ++i;
    } else if (c == '$' && i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      auto close = tmpl.find('}', i + 2);
      if (close == std::string_view::npos) {
        out.push_back(c);
        continue;
      }
      auto it = fields.find(std::string(tmpl.substr(i + 2, close - i - 2)));
      if (it != fields.end()) out += it->second;
      i = close;
    } else {
      out.push_back(c);
    }
  }
  std::string clean;
  for (unsigned char ch : out)
    if (Printable(ch) || ch >= 0x80) clean.push_back(static_cast<char>(ch));
  while (!clean.empty() && clean.back() == ' ') clean.pop_back();
  size_t start = clean.find_first_not_of(' ');
  return start == std::string::npos ? "" : clean.substr(start);
}

void FingerprintDb::LoadDocument(std::string_view text, const std::string& file, std::vector<Error>& errors) {
  YAML::Node root;
  if (auto err = core::CheckYamlBounds(text, file)) {
    errors.push_back(std::move(*err));
    return;
  }
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    errors.push_back(Error(ErrorCode::kParse, e.msg, SourcePos{file, e.mark.line + 1, e.mark.column + 1}));
    return;
  } catch (const std::exception& e) {
    errors.push_back(Error(ErrorCode::kParse, e.what(), SourcePos{file, 0, 0}));
    return;
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) {
    errors.push_back(Error(ErrorCode::kParse, "expected a mapping with ports, probes and/or matches", PosOf(root, file)));
    return;
  }
  auto err = [&](const YAML::Node& n, const std::string& msg) {
    errors.push_back(Error(ErrorCode::kParse, msg, PosOf(n, file)));
  };
  // Reads a scalar as string; reports a non-scalar.
  auto str = [&](const YAML::Node& entry, const char* key, std::string& out) -> bool {
    YAML::Node v = entry[key];
    if (!v) return true;
    if (!v.IsScalar()) {
      err(v, std::string(key) + ": expected a string");
      return false;
    }
    out = v.Scalar();
    return true;
  };
  auto boolean = [&](const YAML::Node& entry, const char* key, bool& out) -> bool {
    YAML::Node v = entry[key];
    if (!v) return true;
    if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) {
      err(v, std::string(key) + ": expected true or false");
      return false;
    }
    out = v.Scalar() == "true";
    return true;
  };
  auto check_keys = [&](const YAML::Node& entry, std::initializer_list<const char*> allowed) -> bool {
    bool ok = true;
    for (auto it = entry.begin(); it != entry.end(); ++it) {
      const std::string k = it->first.Scalar();
      bool known = false;
      for (const char* a : allowed) known = known || k == a;
      if (!known) {
        err(it->first, "unknown key '" + k + "'");
        ok = false;
      }
    }
    return ok;
  };
  try {
    for (auto top = root.begin(); top != root.end(); ++top) {
      const std::string key = top->first.Scalar();
      const YAML::Node list = top->second;
      if (key != "ports" && key != "probes" && key != "matches") {
        err(top->first, "unknown top-level key '" + key + "' (expected ports, probes, matches)");
        continue;
      }
      if (!list.IsSequence()) {
        err(list, key + ": expected a list");
        continue;
      }
      for (const YAML::Node& entry : list) {
        if (!entry.IsMap()) {
          err(entry, key + ": each entry must be a mapping");
          continue;
        }
        if (key == "ports") {
          if (!check_keys(entry, {"port", "proto", "service", "rank", "tls", "fragile"})) continue;
          PortInfo p;
          std::string port, rank;
          bool ok = str(entry, "port", port) && str(entry, "proto", p.proto) && str(entry, "service", p.service) &&
                    str(entry, "rank", rank) && boolean(entry, "tls", p.tls) && boolean(entry, "fragile", p.fragile);
          if (!ok) continue;
          if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
            err(entry["port"] ? entry["port"] : entry, "port: expected 0-65535");
            continue;
          }
          if (p.proto != "tcp" && p.proto != "udp") {
            err(entry["proto"], "proto: expected tcp or udp");
            continue;
          }
          if (p.service.empty()) {
            err(entry, "service is required");
            continue;
          }
          if (!rank.empty()) {
            if (rank.find_first_not_of("0123456789") != std::string::npos) {
              err(entry["rank"], "rank: expected a positive integer");
              continue;
            }
            p.rank = std::stoi(rank);
          }
          p.port = static_cast<std::uint16_t>(std::stoi(port));
          ports_[{p.proto, p.port}] = p;
        } else if (key == "probes") {
          if (!check_keys(entry, {"name", "proto", "payload", "payload_hex", "builder", "ports", "tls", "fragile_safe",
                                  "wait_ms"}))
            continue;
          Probe p;
          p.pos = PosOf(entry, file);
          std::string hex, ports, wait;
          bool ok = str(entry, "name", p.name) && str(entry, "proto", p.proto) && str(entry, "payload", p.payload) &&
                    str(entry, "payload_hex", hex) && str(entry, "builder", p.builder) && str(entry, "ports", ports) &&
                    boolean(entry, "tls", p.tls) && boolean(entry, "fragile_safe", p.fragile_safe) &&
                    str(entry, "wait_ms", wait);
          if (!ok) continue;
          if (p.name.empty()) {
            err(entry, "probe name is required");
            continue;
          }
          if (FindProbe(p.name)) {
            err(entry["name"], "probe '" + p.name + "' is defined twice");
            continue;
          }
          if (p.proto != "tcp" && p.proto != "udp") {
            err(entry["proto"], "proto: expected tcp or udp");
            continue;
          }
          if (!hex.empty()) {
            auto bytes = HexBytes(hex);
            if (!bytes.ok()) {
              err(entry["payload_hex"], bytes.error().message());
              continue;
            }
            p.payload = *bytes;
          }
          if (!p.builder.empty() && !KnownBuilders().count(p.builder)) {
            err(entry["builder"], "unknown builder '" + p.builder + "'");
            continue;
          }
          // "all" (alone or in the list) makes the probe a fallback for any port.
          if (auto pos = ports.find("all"); pos != std::string::npos) {
            p.all_ports = true;
            ports.erase(pos, 3);
          }
          if (ports.find_first_not_of(", ") != std::string::npos) {
            auto r = ParsePortRanges(ports);
            if (!r.ok()) {
              err(entry["ports"], "ports: " + r.error().message());
              continue;
            }
            p.ports = std::move(*r);
          }
          if (!wait.empty()) {
            if (wait.find_first_not_of("0123456789") != std::string::npos || wait.size() > 6) {
              err(entry["wait_ms"], "wait_ms: expected milliseconds");
              continue;
            }
            p.wait_ms = std::stoi(wait);
          }
          probes_.push_back(std::move(p));
        } else {
          if (!check_keys(entry, {"probe", "field", "pattern", "service", "product", "version", "info", "os", "device",
                                  "cpe", "hostname", "soft"}))
            continue;
          Match m;
          m.pos = PosOf(entry, file);
          bool ok = str(entry, "probe", m.probe) && str(entry, "field", m.field) && str(entry, "pattern", m.pattern) &&
                    str(entry, "service", m.service) && str(entry, "product", m.product) &&
                    str(entry, "version", m.version) && str(entry, "info", m.info) && str(entry, "os", m.os) &&
                    str(entry, "device", m.device) && str(entry, "cpe", m.cpe) && str(entry, "hostname", m.hostname) &&
                    boolean(entry, "soft", m.soft);
          if (!ok) continue;
          if (m.probe.empty()) m.probe = "*";
          if (m.field.empty()) m.field = "raw";
          if (m.pattern.empty()) {
            err(entry, "pattern is required");
            continue;
          }
          if (m.service.empty()) {
            err(entry, "service is required");
            continue;
          }
          if (!m.cpe.empty() && m.cpe.rfind("cpe:2.3:", 0) != 0) {
            err(entry["cpe"], "cpe: expected a CPE 2.3 name (cpe:2.3:part:vendor:product:version:...)");
            continue;
          }
          RE2::Options opts;
          opts.set_encoding(RE2::Options::EncodingLatin1);
          opts.set_log_errors(false);
          opts.set_max_mem(8 << 20);
          auto re = std::make_shared<re2::RE2>(m.pattern, opts);
          if (!re->ok()) {
            err(entry["pattern"], "pattern: " + re->error());
            continue;
          }
          m.re = std::move(re);
          matches_.push_back(std::move(m));
        }
      }
    }
  } catch (const YAML::Exception& e) {
    errors.push_back(Error(ErrorCode::kParse, e.msg, SourcePos{file, e.mark.line + 1, e.mark.column + 1}));
  }
}

void FingerprintDb::Finish(std::vector<Error>& errors) {
  // A match naming a probe that no file defines would never fire: report it.
  std::vector<Match> kept;
  for (auto& m : matches_) {
    if (m.probe != "*" && !FindProbe(m.probe)) {
      errors.push_back(Error(ErrorCode::kParse, "match refers to unknown probe '" + m.probe + "'", m.pos));
      continue;
    }
    kept.push_back(std::move(m));
  }
  matches_ = std::move(kept);
}

std::shared_ptr<const FingerprintDb> FingerprintDb::LoadText(std::string_view text, const std::string& file,
                                                             std::vector<Error>& errors) {
  auto db = std::make_shared<FingerprintDb>();
  db->LoadDocument(text, file, errors);
  db->Finish(errors);
  return db;
}

Result<std::shared_ptr<const FingerprintDb>> FingerprintDb::LoadDir(const std::string& dir, std::vector<Error>& errors) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Error(ErrorCode::kNotFound, "cannot read fingerprint directory " + dir);
  std::vector<std::string> files;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".yaml") == 0) files.push_back(n);
  }
  ::closedir(d);
  std::sort(files.begin(), files.end());
  auto db = std::make_shared<FingerprintDb>();
  for (const auto& f : files) {
    std::ifstream in(dir + "/" + f, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    db->LoadDocument(ss.str(), dir + "/" + f, errors);
  }
  db->Finish(errors);
  return std::shared_ptr<const FingerprintDb>(db);
}

const Probe* FingerprintDb::FindProbe(std::string_view name) const {
  for (const auto& p : probes_)
    if (p.name == name) return &p;
  return nullptr;
}

const PortInfo* FingerprintDb::Port(std::uint16_t port, std::string_view proto) const {
  auto it = ports_.find({std::string(proto), port});
  return it == ports_.end() ? nullptr : &it->second;
}

std::vector<std::uint16_t> FingerprintDb::TopPorts(std::string_view proto, std::size_t n) const {
  std::vector<const PortInfo*> ranked;
  for (const auto& [k, p] : ports_)
    if (p.proto == proto && p.rank < 1000000) ranked.push_back(&p);
  std::stable_sort(ranked.begin(), ranked.end(), [](const PortInfo* a, const PortInfo* b) {
    return a->rank != b->rank ? a->rank < b->rank : a->port < b->port;
  });
  std::vector<std::uint16_t> out;
  for (size_t i = 0; i < ranked.size() && i < n; ++i) out.push_back(ranked[i]->port);
  return out;
}

std::vector<std::string> FingerprintDb::ServiceNames() const {
  std::set<std::string> names;
  for (const auto& m : matches_) names.insert(m.service);
  return {names.begin(), names.end()};
}

Identification FingerprintDb::Identify(std::string_view probe, std::string_view response,
                                       const std::map<std::string, std::string>& fields, bool probe_only) const {
  Identification soft;
  for (const auto& m : matches_) {
    if (m.probe != probe && (probe_only || m.probe != "*")) continue;
    std::string_view subject = response;
    if (m.field != "raw") {
      auto it = fields.find(m.field);
      if (it == fields.end()) continue;
      subject = it->second;
    }
    const int n = std::min(9, m.re->NumberOfCapturingGroups());
    std::vector<re2::StringPiece> pieces(static_cast<size_t>(n) + 1);
    if (!m.re->Match(re2::StringPiece(subject.data(), subject.size()), 0, subject.size(), RE2::UNANCHORED,
                     pieces.data(), n + 1))
      continue;
    std::vector<std::string> groups;
    for (const auto& p : pieces) groups.emplace_back(p.data() ? std::string(p.data(), p.size()) : std::string());
    Identification id;
    id.matched = true;
    id.soft = m.soft;
    id.service = ExpandTemplate(m.service, groups, fields);
    id.product = ExpandTemplate(m.product, groups, fields);
    id.version = ExpandTemplate(m.version, groups, fields);
    id.info = ExpandTemplate(m.info, groups, fields);
    id.os = ExpandTemplate(m.os, groups, fields);
    id.device = ExpandTemplate(m.device, groups, fields);
    id.cpe = ExpandTemplate(m.cpe, groups, fields);
    id.hostname = ExpandTemplate(m.hostname, groups, fields);
    id.match_pos = m.pos.file + ":" + std::to_string(m.pos.line);
    if (!id.cpe.empty()) {
      // A CPE whose version field came out empty names no version: use '*'.
      std::string fixed;
      for (size_t i = 0; i < id.cpe.size(); ++i) {
        fixed.push_back(id.cpe[i]);
        if (id.cpe[i] == ':' && (i + 1 == id.cpe.size() || id.cpe[i + 1] == ':')) fixed.push_back('*');
      }
      // CPE 2.3 escapes: spaces are not allowed in a component.
      for (auto& ch : fixed)
        if (ch == ' ') ch = '_';
      id.cpe = fixed;
    }
    if (!m.soft) return id;
    if (!soft.matched) soft = id;
  }
  return soft;
}

}  // namespace medsoc::assets
