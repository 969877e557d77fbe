#include "ingest/parse/vendor.h"
#include "core/yaml_guard.h"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "event/catalog.h"
#include "ingest/parse/syslog.h"
#include "ingest/parse/text_common.h"

namespace medsoc::ingest::text {

enum class TimeLayout : std::uint8_t { kNone, kIso, kBsd, kEpoch, kEpochMs, kEpochUs, kEpochNs };
enum class Related : std::uint8_t { kNone, kIp, kUser, kHosts };

struct VendorTarget {
  event::FieldId id;
  event::FieldType type = event::FieldType::kKeyword;
  std::vector<std::pair<std::string, std::string>> map;
  std::optional<std::string> default_value;
  bool lowercase = false;
  Related related = Related::kNone;
};

struct VendorKeyRule {
  std::string key;
  std::vector<VendorTarget> targets;
  int time_slot = -1;  // index into time fields, or -1
};

struct TransparentHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// One `extract` pattern: an RE2 with named groups; each group that matches becomes a vendor pair.
struct VendorExtract {
  std::unique_ptr<re2::RE2> re;
  std::vector<std::pair<int, std::string>> groups;  // group index, name (the vendor key)
};

// One `dataset` template: literal text and {key} references to vendor keys.
struct DatasetPart {
  std::string literal;          // used when key is empty
  std::string key;              // vendor key whose value is slugged in
  event::FieldId id;            // the key as an original field
};
using DatasetTemplate = std::vector<DatasetPart>;

struct VendorSpec {
  std::string name, vendor, product, observer_type;
  std::vector<std::string> detect_keys, detect_contains;
  std::vector<std::unique_ptr<re2::RE2>> detect_patterns;  // alternative to keys/contains
  std::vector<VendorExtract> extracts;
  std::vector<DatasetTemplate> datasets;  // first whose keys are all present wins
  bool header_optional = true;
  std::string start_after;
  std::string trim_last;
  KvDialect dialect;
  std::vector<std::string> time_fields;
  TimeLayout layout = TimeLayout::kNone;
  std::string zone_field;
  std::vector<VendorKeyRule> rules;
  std::unordered_map<std::string, std::size_t, TransparentHash, std::equal_to<>> by_key;
  std::vector<std::pair<event::FieldId, std::string>> constants;
};

std::string_view VendorSpecName(const VendorSpec& spec) { return spec.name; }

namespace {

using event::Value;

SourcePos PosOf(std::string_view file, const YAML::Mark& m) {
  return SourcePos{std::string(file), m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0};
}

struct Collector {
  std::string_view file;
  std::vector<Error>& problems;
  void Add(const YAML::Mark& m, std::string msg) { problems.emplace_back(ErrorCode::kParse, std::move(msg), PosOf(file, m)); }
};

bool CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed, std::string_view where,
               Collector& out) {
  bool ok = true;
  for (const auto& kv : map) {
    const std::string k = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      out.Add(kv.first.Mark(), "unknown key '" + k + "' in " + std::string(where));
      ok = false;
    }
  }
  return ok;
}

std::optional<std::string> Scalar(const YAML::Node& n, std::string_view what, Collector& out) {
  if (!n.IsScalar()) {
    out.Add(n.Mark(), std::string(what) + " must be a scalar");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> Bool(const YAML::Node& n, std::string_view what, Collector& out) {
  auto s = Scalar(n, what, out);
  if (!s) return std::nullopt;
  if (*s == "true" || *s == "yes") return true;
  if (*s == "false" || *s == "no") return false;
  out.Add(n.Mark(), std::string(what) + " must be true or false");
  return std::nullopt;
}

std::optional<char> OneChar(const YAML::Node& n, std::string_view what, Collector& out) {
  auto s = Scalar(n, what, out);
  if (!s) return std::nullopt;
  if (*s == "\\t" || *s == "\t") return '\t';
  if (s->size() != 1) {
    out.Add(n.Mark(), std::string(what) + " must be exactly one character");
    return std::nullopt;
  }
  return (*s)[0];
}

std::vector<std::string> StringList(const YAML::Node& n, std::string_view what, Collector& out) {
  std::vector<std::string> v;
  if (n.IsScalar()) {
    v.push_back(n.Scalar());
    return v;
  }
  if (!n.IsSequence()) {
    out.Add(n.Mark(), std::string(what) + " must be a list of strings");
    return v;
  }
  for (const auto& item : n) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      out.Add(item.Mark(), std::string(what) + " entries must be non-empty strings");
      continue;
    }
    v.push_back(item.Scalar());
  }
  return v;
}

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || IsDigit(c) || c == '_' || c == '-')) return false;
  return true;
}

std::optional<VendorTarget> LoadTarget(const YAML::Node& n, Collector& out) {
  if (!n.IsMap()) {
    out.Add(n.Mark(), "field target must be a mapping with 'to'");
    return std::nullopt;
  }
  if (!CheckKeys(n, {"to", "type", "map", "default", "lowercase", "related"}, "field target", out)) return std::nullopt;
  VendorTarget t;
  const YAML::Node to = n["to"];
  if (!to) {
    out.Add(n.Mark(), "field target has no 'to'");
    return std::nullopt;
  }
  auto name = Scalar(to, "'to'", out);
  if (!name) return std::nullopt;
  if (!event::IsValidFieldName(*name)) {
    out.Add(to.Mark(), "'" + *name + "' is not a valid field name");
    return std::nullopt;
  }
  auto id = event::DefaultFieldTable().Intern(*name);
  if (!id.ok()) {
    out.Add(to.Mark(), id.error().message());
    return std::nullopt;
  }
  t.id = *id;
  if (const YAML::Node ty = n["type"]) {
    auto s = Scalar(ty, "'type'", out);
    if (!s) return std::nullopt;
    auto ft = event::ParseFieldType(*s);
    if (!ft) {
      out.Add(ty.Mark(), "unknown type '" + *s + "' (keyword, text, long, double, boolean, ip, date)");
      return std::nullopt;
    }
    t.type = *ft;
    if (t.type == event::FieldType::kIp) t.related = Related::kIp;
  }
  if (const YAML::Node m = n["map"]) {
    if (!m.IsMap()) {
      out.Add(m.Mark(), "'map' must be a mapping of vendor value to value");
      return std::nullopt;
    }
    for (const auto& kv : m) {
      if (!kv.second.IsScalar()) {
        out.Add(kv.second.Mark(), "'map' values must be scalars");
        return std::nullopt;
      }
      t.map.emplace_back(kv.first.Scalar(), kv.second.Scalar());
    }
  }
  if (const YAML::Node d = n["default"]) {
    auto s = Scalar(d, "'default'", out);
    if (!s) return std::nullopt;
    t.default_value = *s;
  }
  if (const YAML::Node l = n["lowercase"]) {
    auto b = Bool(l, "'lowercase'", out);
    if (!b) return std::nullopt;
    t.lowercase = *b;
  }
  if (const YAML::Node r = n["related"]) {
    auto s = Scalar(r, "'related'", out);
    if (!s) return std::nullopt;
    if (*s == "ip") t.related = Related::kIp;
    else if (*s == "user") t.related = Related::kUser;
    else if (*s == "hosts") t.related = Related::kHosts;
    else if (*s == "none") t.related = Related::kNone;
    else {
      out.Add(r.Mark(), "'related' must be ip, user, hosts or none");
      return std::nullopt;
    }
  }
  return t;
}

std::unique_ptr<re2::RE2> LoadRegex(const YAML::Node& n, std::string_view what, Collector& out) {
  auto text = Scalar(n, what, out);
  if (!text) return nullptr;
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(1 << 20);
  auto re = std::make_unique<re2::RE2>(*text, o);
  if (!re->ok()) {
    out.Add(n.Mark(), std::string(what) + ": invalid RE2 pattern: " + re->error());
    return nullptr;
  }
  return re;
}

std::optional<DatasetTemplate> LoadDataset(const YAML::Node& n, Collector& out) {
  auto text = Scalar(n, "'dataset'", out);
  if (!text) return std::nullopt;
  DatasetTemplate t;
  std::size_t pos = 0;
  while (pos < text->size()) {
    const auto open = text->find('{', pos);
    if (open == std::string::npos) {
      t.push_back(DatasetPart{text->substr(pos), {}, {}});
      break;
    }
    if (open > pos) t.push_back(DatasetPart{text->substr(pos, open - pos), {}, {}});
    const auto close = text->find('}', open);
    if (close == std::string::npos || close == open + 1) {
      out.Add(n.Mark(), "'dataset': '{' without a key and '}'");
      return std::nullopt;
    }
    const std::string key = text->substr(open + 1, close - open - 1);
    auto id = event::DefaultFieldTable().Intern(key);
    if (!id.ok()) {
      out.Add(n.Mark(), "'dataset': key '" + key + "': " + id.error().message());
      return std::nullopt;
    }
    t.push_back(DatasetPart{{}, key, *id});
    pos = close + 1;
  }
  if (t.empty()) {
    out.Add(n.Mark(), "'dataset' is empty");
    return std::nullopt;
  }
  return t;
}

std::unique_ptr<VendorSpec> LoadSpec(const YAML::Node& root, Collector& out) {
  if (!root.IsMap()) {
    out.Add(root.Mark(), "a vendor file must be a mapping");
    return nullptr;
  }
  CheckKeys(root, {"version", "name", "vendor", "product", "observer_type", "detect", "format", "time", "fields", "set",
                   "extract", "dataset"},
            "vendor file", out);
  auto spec = std::make_unique<VendorSpec>();
  bool usable = true;
  const YAML::Node version = root["version"];
  if (!version || !version.IsScalar() || version.Scalar() != "1") {
    out.Add(version ? version.Mark() : root.Mark(), "'version: 1' is required");
    usable = false;
  }
  if (const YAML::Node n = root["name"]; !n) {
    out.Add(root.Mark(), "vendor file has no 'name'");
    usable = false;
  } else if (auto s = Scalar(n, "'name'", out); !s || !ValidName(*s)) {
    if (s) out.Add(n.Mark(), "'name' must be 1-64 of [a-z0-9_-]");
    usable = false;
  } else {
    spec->name = *s;
  }
  for (auto [key, dst] : {std::pair{"vendor", &spec->vendor}, std::pair{"product", &spec->product},
                          std::pair{"observer_type", &spec->observer_type}}) {
    if (const YAML::Node n = root[key]) {
      if (auto s = Scalar(n, key, out)) *dst = *s;
    }
  }
  // detect
  if (const YAML::Node d = root["detect"]; !d || !d.IsMap()) {
    out.Add(d ? d.Mark() : root.Mark(), "'detect' mapping with 'keys' and/or 'contains' is required");
    usable = false;
  } else {
    CheckKeys(d, {"keys", "contains", "patterns"}, "detect", out);
    if (d["keys"]) spec->detect_keys = StringList(d["keys"], "detect.keys", out);
    if (d["contains"]) spec->detect_contains = StringList(d["contains"], "detect.contains", out);
    if (const YAML::Node ps = d["patterns"]) {
      if (!ps.IsSequence()) {
        out.Add(ps.Mark(), "detect.patterns must be a list of RE2 patterns");
      } else {
        for (const auto& item : ps)
          if (auto re = LoadRegex(item, "detect.patterns", out)) spec->detect_patterns.push_back(std::move(re));
      }
    }
    if (spec->detect_keys.empty() && spec->detect_contains.empty() && spec->detect_patterns.empty()) {
      out.Add(d.Mark(), "detect needs at least one key, literal or pattern");
      usable = false;
    }
  }
  // format
  if (const YAML::Node fm = root["format"]) {
    if (!fm.IsMap()) {
      out.Add(fm.Mark(), "'format' must be a mapping");
      usable = false;
    } else {
      CheckKeys(fm, {"header", "start_after", "pair_separator", "value_separator", "quotes", "spaces_in_values",
                     "key_cut", "trim_last_value"},
                "format", out);
      if (const YAML::Node n = fm["header"]) {
        auto s = Scalar(n, "format.header", out);
        if (s && *s == "none") spec->header_optional = false;
        else if (s && *s != "optional") out.Add(n.Mark(), "format.header must be optional or none");
      }
      if (const YAML::Node n = fm["start_after"]) {
        if (auto s = Scalar(n, "format.start_after", out)) spec->start_after = *s;
      }
      if (const YAML::Node n = fm["pair_separator"]) {
        if (auto c = OneChar(n, "format.pair_separator", out)) spec->dialect.pair_separator = *c;
      }
      if (const YAML::Node n = fm["value_separator"]) {
        if (auto c = OneChar(n, "format.value_separator", out)) {
          if (*c == ' ') out.Add(n.Mark(), "format.value_separator cannot be a space");
          else spec->dialect.value_separator = *c;
        }
      }
      if (const YAML::Node n = fm["quotes"]) {
        if (auto b = Bool(n, "format.quotes", out)) spec->dialect.quotes = *b;
      }
      if (const YAML::Node n = fm["spaces_in_values"]) {
        if (auto b = Bool(n, "format.spaces_in_values", out)) spec->dialect.spaces_in_values = *b;
      }
      if (const YAML::Node n = fm["key_cut"]) {
        if (auto c = OneChar(n, "format.key_cut", out)) spec->dialect.key_cut = *c;
      }
      if (const YAML::Node n = fm["trim_last_value"]) {
        if (auto s = Scalar(n, "format.trim_last_value", out)) spec->trim_last = *s;
      }
      if (spec->dialect.pair_separator == spec->dialect.value_separator) {
        out.Add(fm.Mark(), "pair_separator and value_separator must differ");
        usable = false;
      }
    }
  }
  // time
  if (const YAML::Node tm = root["time"]) {
    if (!tm.IsMap()) {
      out.Add(tm.Mark(), "'time' must be a mapping");
    } else {
      CheckKeys(tm, {"fields", "layout", "zone_field"}, "time", out);
      if (tm["fields"]) spec->time_fields = StringList(tm["fields"], "time.fields", out);
      if (spec->time_fields.size() > 3) {
        out.Add(tm["fields"].Mark(), "time.fields takes at most 3 fields");
        spec->time_fields.resize(3);
      }
      spec->layout = TimeLayout::kIso;
      if (const YAML::Node n = tm["layout"]) {
        auto s = Scalar(n, "time.layout", out);
        if (s) {
          if (*s == "iso") spec->layout = TimeLayout::kIso;
          else if (*s == "bsd") spec->layout = TimeLayout::kBsd;
          else if (*s == "epoch") spec->layout = TimeLayout::kEpoch;
          else if (*s == "epoch_ms") spec->layout = TimeLayout::kEpochMs;
          else if (*s == "epoch_us") spec->layout = TimeLayout::kEpochUs;
          else if (*s == "epoch_ns") spec->layout = TimeLayout::kEpochNs;
          else out.Add(n.Mark(), "time.layout must be iso, bsd, epoch, epoch_ms, epoch_us or epoch_ns");
        }
      }
      if (const YAML::Node n = tm["zone_field"]) {
        if (auto s = Scalar(n, "time.zone_field", out)) spec->zone_field = *s;
      }
      if (spec->time_fields.empty()) spec->layout = TimeLayout::kNone;
    }
  }
  // fields
  auto rule_for = [&](const std::string& key) -> VendorKeyRule& {
    auto it = spec->by_key.find(key);
    if (it != spec->by_key.end()) return spec->rules[it->second];
    spec->by_key.emplace(key, spec->rules.size());
    spec->rules.push_back(VendorKeyRule{key, {}, -1});
    return spec->rules.back();
  };
  if (const YAML::Node fl = root["fields"]) {
    if (!fl.IsMap()) {
      out.Add(fl.Mark(), "'fields' must be a mapping of vendor key to target(s)");
    } else {
      for (const auto& kv : fl) {
        const std::string key = kv.first.Scalar();
        if (key.empty()) {
          out.Add(kv.first.Mark(), "empty vendor key");
          continue;
        }
        VendorKeyRule& rule = rule_for(key);
        if (kv.second.IsSequence()) {
          for (const auto& item : kv.second)
            if (auto t = LoadTarget(item, out)) rule.targets.push_back(std::move(*t));
        } else if (auto t = LoadTarget(kv.second, out)) {
          rule.targets.push_back(std::move(*t));
        }
      }
    }
  }
  for (std::size_t i = 0; i < spec->time_fields.size(); ++i) rule_for(spec->time_fields[i]).time_slot = static_cast<int>(i);
  if (!spec->zone_field.empty()) rule_for(spec->zone_field);
  // extract
  if (const YAML::Node ex = root["extract"]) {
    if (!ex.IsSequence()) {
      out.Add(ex.Mark(), "'extract' must be a list of RE2 patterns with named groups");
    } else {
      for (const auto& item : ex) {
        auto re = LoadRegex(item, "extract", out);
        if (!re) continue;
        VendorExtract x;
        for (const auto& [name, index] : re->NamedCapturingGroups()) {
          x.groups.emplace_back(index, name);
          rule_for(name);  // a key like any other: fields may map it
        }
        if (x.groups.empty()) {
          out.Add(item.Mark(), "extract pattern has no named group ((?P<key>...))");
          continue;
        }
        std::sort(x.groups.begin(), x.groups.end());
        x.re = std::move(re);
        spec->extracts.push_back(std::move(x));
      }
    }
  }
  // dataset
  if (const YAML::Node ds = root["dataset"]) {
    if (ds.IsSequence()) {
      for (const auto& item : ds)
        if (auto t = LoadDataset(item, out)) spec->datasets.push_back(std::move(*t));
    } else if (auto t = LoadDataset(ds, out)) {
      spec->datasets.push_back(std::move(*t));
    }
  }
  // set
  if (const YAML::Node st = root["set"]) {
    if (!st.IsMap()) {
      out.Add(st.Mark(), "'set' must be a mapping of field to constant");
    } else {
      for (const auto& kv : st) {
        const std::string name = kv.first.Scalar();
        if (!event::IsValidFieldName(name)) {
          out.Add(kv.first.Mark(), "'" + name + "' is not a valid field name");
          continue;
        }
        if (!kv.second.IsScalar()) {
          out.Add(kv.second.Mark(), "'set' values must be scalars");
          continue;
        }
        auto id = event::DefaultFieldTable().Intern(name);
        if (id.ok()) spec->constants.emplace_back(*id, kv.second.Scalar());
      }
    }
  }
  if (!usable) return nullptr;
  spec->dialect.trim_last_value = spec->trim_last;
  return spec;
}

std::optional<int> ZoneOffset(std::string_view z) {
  z = Trim(z);
  if (z.empty()) return std::nullopt;
  if (EqualsIgnoreCase(z, "UTC") || EqualsIgnoreCase(z, "GMT") || z == "Z") return 0;
  if (z[0] != '+' && z[0] != '-') return std::nullopt;
  const int sign = z[0] == '-' ? -1 : 1;
  const int h = Digits(z, 1, 2);
  int m = -1;
  if (z.size() == 6 && z[3] == ':') m = Digits(z, 4, 2);
  else if (z.size() == 5) m = Digits(z, 3, 2);
  else if (z.size() == 3) m = 0;
  if (h < 0 || m < 0 || h > 23 || m > 59) return std::nullopt;
  return sign * (h * 60 + m);
}

std::string_view LowerCopy(std::string_view s, event::Event& e) {
  char* out = e.arena().Allocate(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = ToLower(s[i]);
  return {out, s.size()};
}

void ApplyTarget(const VendorTarget& t, std::string_view v, const ParseContext& ctx, event::Event& e) {
  const Fields& f = F();
  if (!t.map.empty()) {
    const std::string* mapped = nullptr;
    for (const auto& [from, to] : t.map)
      if (EqualsIgnoreCase(from, v)) {
        mapped = &to;
        break;
      }
    if (mapped == nullptr) mapped = t.default_value ? &*t.default_value : nullptr;
    if (mapped == nullptr) return;
    v = e.CopyString(*mapped);
  }
  if (v.empty() || v == "(null)") return;
  if (t.lowercase) v = LowerCopy(v, e);
  switch (t.type) {
    case event::FieldType::kKeyword:
    case event::FieldType::kText: SetView(e, t.id, v); break;
    case event::FieldType::kLong: SetInt(e, t.id, v); break;
    case event::FieldType::kDouble: {
      char buf[64];
      if (v.size() >= sizeof(buf)) return;
      std::memcpy(buf, v.data(), v.size());
      buf[v.size()] = '\0';
      char* end = nullptr;
      const double d = std::strtod(buf, &end);
      if (end == buf + v.size()) e.Set(t.id, Value::Float(d));
      break;
    }
    case event::FieldType::kBoolean:
      if (EqualsIgnoreCase(v, "true") || v == "1" || EqualsIgnoreCase(v, "yes")) e.Set(t.id, Value::Bool(true));
      else if (EqualsIgnoreCase(v, "false") || v == "0" || EqualsIgnoreCase(v, "no")) e.Set(t.id, Value::Bool(false));
      break;
    case event::FieldType::kIp: SetIp(e, t.id, v, t.related == Related::kIp); return;
    case event::FieldType::kDate:
      if (auto tt = ScanIsoTime(v, ctx.tz_offset_minutes)) e.Set(t.id, Value::Time(tt->time));
      else if (auto n = EpochSecondsOrMillis(v)) e.Set(t.id, Value::Time(*n));
      break;
  }
  if (t.related == Related::kUser) AddRelatedUser(e, v);
  else if (t.related == Related::kHosts) e.Append(f.related_hosts, Value::String(v));
}

bool HasKey(std::string_view s, std::string_view key, char sep) {
  std::size_t p = 0;
  while ((p = s.find(key, p)) != std::string_view::npos) {
    const std::size_t end = p + key.size();
    const bool start_ok = p == 0 || !IsKeyChar(s[p - 1], sep) || s[p - 1] == ',' || s[p - 1] == ';';
    // H3C-style "Key(1003)=" counts as the key too.
    std::size_t q = end;
    if (q < s.size() && s[q] == '(') {
      const auto close = s.find(')', q);
      if (close != std::string_view::npos && close - q < 8) q = close + 1;
    }
    if (start_ok && q < s.size() && s[q] == sep) return true;
    p = end;
  }
  return false;
}

// The first `dataset` template whose {keys} all have a value, with those values as slugs.
void ApplyDataset(const VendorSpec& spec, event::Event& e) {
  std::string out;
  for (const DatasetTemplate& t : spec.datasets) {
    out.clear();
    bool complete = true;
    for (const DatasetPart& part : t) {
      if (part.key.empty()) {
        out += part.literal;
        continue;
      }
      const Value* v = e.FindOriginal(part.id);
      const std::size_t before = out.size();
      if (v != nullptr && v->is_string()) AppendSlug(out, v->str());
      if (out.size() == before) {
        complete = false;
        break;
      }
    }
    if (complete && !out.empty()) {
      e.SetString(F().event_dataset, out);
      return;
    }
  }
}

}  // namespace

VendorLoadResult LoadVendorYaml(std::string_view yaml, std::string_view file) {
  VendorLoadResult r;
  Collector out{file, r.problems};
  YAML::Node root;
  if (auto err = core::CheckYamlBounds(yaml, std::string(file))) {
    r.problems.push_back(std::move(*err));
    return r;
  }
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    out.Add(e.mark, "YAML syntax error: " + e.msg);
    return r;
  }
  try {
    if (auto spec = LoadSpec(root, out)) r.specs.push_back(std::shared_ptr<const VendorSpec>(std::move(spec)));
  } catch (const YAML::Exception& e) {
    out.Add(e.mark, "YAML error: " + e.msg);
  }
  return r;
}

VendorLoadResult LoadVendorDir(const std::string& dir) {
  VendorLoadResult all;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return all;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".yaml" || entry.path().extension() == ".yml") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::unordered_map<std::string, std::string> seen;  // name -> file
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      all.problems.emplace_back(ErrorCode::kIo, "cannot read vendor file", SourcePos{path.string(), 0, 0});
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    VendorLoadResult one = LoadVendorYaml(ss.str(), path.string());
    for (auto& p : one.problems) all.problems.push_back(std::move(p));
    for (auto& spec : one.specs) {
      auto [it, inserted] = seen.emplace(spec->name, path.string());
      if (!inserted) {
        all.problems.emplace_back(ErrorCode::kAlreadyExists,
                                  "vendor name '" + spec->name + "' already defined in " + it->second,
                                  SourcePos{path.string(), 1, 1});
        continue;
      }
      all.specs.push_back(std::move(spec));
    }
  }
  return all;
}

std::string_view VendorParser::name() const { return spec_->name; }

int VendorParser::Detect(std::string_view sample) const {
  for (const auto& re : spec_->detect_patterns)
    if (re2::RE2::PartialMatch(re2::StringPiece(sample.data(), sample.size()), *re)) return 96;
  if (spec_->detect_keys.empty() && spec_->detect_contains.empty()) return 0;
  for (const auto& lit : spec_->detect_contains)
    if (sample.find(lit) == std::string_view::npos) return 0;
  for (const auto& key : spec_->detect_keys)
    if (!HasKey(sample, key, spec_->dialect.value_separator)) return 0;
  return 96;
}

Status VendorParser::Parse(std::string_view message, const ParseContext& ctx, event::Event& e) {
  const Fields& f = F();
  const VendorSpec& spec = *spec_;
  std::string_view s = PrepareMessage(message, ctx, e);
  SyslogHeader h;
  h.msg = s;
  if (spec.header_optional) {
    h = SkipSyslogHeader(s, ctx);
    ApplySyslogHeader(h, e);
    if (!h.hostname.empty()) SetView(e, f.observer_hostname, h.hostname);
  }
  std::string_view payload = h.msg;
  std::size_t payload_off = h.msg_offset;
  if (!spec.start_after.empty()) {
    const auto p = payload.find(spec.start_after);
    if (p != std::string_view::npos) {
      payload_off += p + spec.start_after.size();
      payload = payload.substr(p + spec.start_after.size());
    } else {
      // The marker may be the syslog tag the header scan already consumed ("fwlog:").
      const auto q = s.find(spec.start_after);
      if (q == std::string_view::npos || q >= payload_off)
        return ParseErrorAt(payload_off, "'" + spec.start_after + "' not found (" + spec.name + " format)");
    }
  }
  std::string_view time_parts[3];
  std::string_view zone;
  std::size_t pairs = 0;
  auto on_pair = [&](std::string_view key, std::string_view value) {
    ++pairs;
    SetOriginal(e, key, Value::String(value));
    auto it = spec.by_key.find(key);
    if (it == spec.by_key.end()) return;
    const VendorKeyRule& rule = spec.rules[it->second];
    if (rule.time_slot >= 0) time_parts[rule.time_slot] = value;
    if (!spec.zone_field.empty() && key == spec.zone_field) zone = value;
    if (value.empty()) return;
    for (const VendorTarget& t : rule.targets) ApplyTarget(t, value, ctx, e);
  };
  // `extract` patterns run over the whole message (header included: Huawei's "%%01POLICY/6/
  // POLICYDENY(l):" id sits before start_after); their groups come before the key=value pairs, so
  // a pair of the same name wins.
  if (!spec.extracts.empty()) {
    constexpr int kMaxGroups = 32;
    re2::StringPiece groups[kMaxGroups + 1];
    for (const VendorExtract& x : spec.extracts) {
      const int n = std::min(kMaxGroups, x.re->NumberOfCapturingGroups()) + 1;
      if (!x.re->Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), re2::RE2::UNANCHORED, groups, n)) continue;
      for (const auto& [index, name] : x.groups) {
        if (index >= n || groups[index].data() == nullptr || groups[index].empty()) continue;
        on_pair(name, std::string_view(groups[index].data(), groups[index].size()));
      }
    }
  }
  auto r = ScanKv(payload, spec.dialect, e.arena(), [&](const KvPair& p) { on_pair(p.key, p.value); });
  if (!r.ok()) return ParseErrorAt(payload_off, r.error().message() + " (offset within the payload)");
  if (pairs == 0) return ParseErrorAt(payload_off, "no key" + std::string(1, spec.dialect.value_separator) + "value pairs (" + spec.name + " format)");
  // Time.
  if (spec.layout != TimeLayout::kNone && !time_parts[0].empty()) {
    char buf[96];
    std::size_t n = 0;
    for (std::size_t i = 0; i < spec.time_fields.size(); ++i) {
      std::string_view part = time_parts[i];
      if (part.empty()) continue;
      if (n + part.size() + 1 >= sizeof(buf)) break;
      if (n) buf[n++] = ' ';
      std::memcpy(buf + n, part.data(), part.size());
      n += part.size();
    }
    std::string_view text(buf, n);
    const int offset = ZoneOffset(zone).value_or(ctx.tz_offset_minutes);
    std::optional<core::Timestamp> t;
    switch (spec.layout) {
      case TimeLayout::kIso:
        if (auto pt = ScanIsoTime(text, offset)) t = pt->time;
        break;
      case TimeLayout::kBsd:
        if (auto pt = ScanBsdTime(text, offset, ctx.now.ns ? ctx.now : core::Now())) t = pt->time;
        break;
      case TimeLayout::kEpoch:
        if (auto v = ParseInt(text)) t = EpochToTime(*v, core::kNanosPerSecond);
        break;
      case TimeLayout::kEpochMs:
        if (auto v = ParseInt(text)) t = EpochToTime(*v, 1'000'000);
        break;
      case TimeLayout::kEpochUs:
        if (auto v = ParseInt(text)) t = EpochToTime(*v, 1000);
        break;
      case TimeLayout::kEpochNs:
        if (auto v = ParseInt(text)) t = EpochToTime(*v, 1);
        break;
      case TimeLayout::kNone: break;
    }
    if (t) {
      e.set_time(*t);
      e.set_time_text(text);
    }
  }
  // Constants fill what the mapped fields left empty (a mapped event.category wins).
  for (const auto& [id, value] : spec.constants)
    if (!e.Has(id)) SetView(e, id, e.CopyString(value));
  if (!spec.datasets.empty() && !e.Has(f.event_dataset)) ApplyDataset(spec, e);
  if (!spec.vendor.empty()) SetView(e, f.observer_vendor, e.CopyString(spec.vendor));
  if (!spec.product.empty()) SetView(e, f.observer_product, e.CopyString(spec.product));
  if (!spec.observer_type.empty()) SetView(e, f.observer_type, e.CopyString(spec.observer_type));
  return Ok();
}

}  // namespace medsoc::ingest::text
