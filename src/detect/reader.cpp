#include "detect/reader.h"
#include "core/yaml_guard.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/time.h"

namespace medsoc::detect {

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kUnsupported: return "unsupported";
    case Severity::kWarning: return "warning";
  }
  return "?";
}

std::string Problem::ToString() const {
  std::string out;
  if (!pos.file.empty()) {
    out = pos.file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": ";
  }
  out += SeverityName(severity);
  out += ": ";
  if (!rule_id.empty()) out += "[" + rule_id + "] ";
  out += reason;
  return out;
}

std::string Logsource::ToString() const {
  std::string out;
  auto add = [&out](const char* k, const std::string& v) {
    if (v.empty()) return;
    if (!out.empty()) out += ' ';
    out += k;
    out += '=';
    out += v;
  };
  add("product", product);
  add("category", category);
  add("service", service);
  return out.empty() ? "(any)" : out;
}

std::string_view CorrelationTypeName(CorrelationType t) {
  switch (t) {
    case CorrelationType::kEventCount: return "event_count";
    case CorrelationType::kValueCount: return "value_count";
    case CorrelationType::kTemporal: return "temporal";
    case CorrelationType::kTemporalOrdered: return "temporal_ordered";
    case CorrelationType::kValueSum: return "value_sum";
    case CorrelationType::kValueAvg: return "value_avg";
    case CorrelationType::kValuePercentile: return "value_percentile";
  }
  return "?";
}

bool CorrelationCondition::Holds(double v) const {
  if (gt && !(v > *gt)) return false;
  if (gte && !(v >= *gte)) return false;
  if (lt && !(v < *lt)) return false;
  if (lte && !(v <= *lte)) return false;
  if (eq && !(v == *eq)) return false;
  if (neq && !(v != *neq)) return false;
  return true;
}

Result<std::int64_t> ParseTimespan(std::string_view text) {
  if (text.size() < 2) return Error(ErrorCode::kParse, "timespan '" + std::string(text) + "' is not NUMBER+UNIT (s, m, h, d, w)");
  const char unit = text.back();
  std::int64_t mult;
  switch (unit) {
    case 's': mult = core::Seconds(1); break;
    case 'm': mult = core::Minutes(1); break;
    case 'h': mult = core::Hours(1); break;
    case 'd': mult = core::Days(1); break;
    case 'w': mult = core::Days(7); break;
    default: return Error(ErrorCode::kParse, "timespan '" + std::string(text) + "' has an unknown unit (s, m, h, d, w)");
  }
  std::int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (c < '0' || c > '9') return Error(ErrorCode::kParse, "timespan '" + std::string(text) + "' is not NUMBER+UNIT");
    n = n * 10 + (c - '0');
    if (n > 1'000'000) return Error(ErrorCode::kParse, "timespan '" + std::string(text) + "' is too long");
  }
  if (n == 0) return Error(ErrorCode::kParse, "timespan must be positive");
  if (n > std::numeric_limits<std::int64_t>::max() / 4 / mult)  // leaves room for window arithmetic
    return Error(ErrorCode::kParse, "timespan '" + std::string(text) + "' is too long");
  return n * mult;
}

namespace {

class DocReader {
 public:
  DocReader(std::string file, ReadResult& out) : file_(std::move(file)), out_(out) {}

  SourcePos Pos(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.line < 0) return {file_, 0, 0};
    return {file_, m.line + 1, m.column + 1};
  }
  void Report(Severity sev, const SourcePos& pos, std::string reason) {
    out_.problems.push_back({sev, pos, rule_id_, std::move(reason)});
  }

  static bool IsQuoted(const YAML::Node& n) { return n.Tag() == "!"; }

  SigmaValue ScalarValue(const YAML::Node& n) {
    SigmaValue v;
    v.pos = Pos(n);
    if (n.IsNull()) {
      v.kind = SigmaValue::Kind::kNull;
      return v;
    }
    v.text = n.Scalar();
    if (IsQuoted(n)) return v;
    const std::string& s = v.text;
    if (s == "null" || s == "Null" || s == "NULL" || s == "~") {
      v.kind = SigmaValue::Kind::kNull;
      v.text.clear();
    } else if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") {
      v.kind = SigmaValue::Kind::kBool;
    } else if (!s.empty()) {
      char* end = nullptr;
      errno = 0;
      (void)std::strtoll(s.c_str(), &end, 10);
      if (errno == 0 && end == s.c_str() + s.size() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+')) {
        v.kind = SigmaValue::Kind::kInt;
      } else {
        errno = 0;
        (void)std::strtod(s.c_str(), &end);
        if (errno == 0 && end == s.c_str() + s.size() && s.find_first_of("0123456789") != std::string::npos &&
            s.find_first_not_of("0123456789.+-eE") == std::string::npos)
          v.kind = SigmaValue::Kind::kFloat;
      }
    }
    return v;
  }

  // Reads the values of one item: a scalar or a list of scalars.
  bool ReadValues(const YAML::Node& n, FieldItem& item) {
    if (n.IsScalar() || n.IsNull()) {
      item.values.push_back(ScalarValue(n));
      return true;
    }
    if (n.IsSequence()) {
      item.values_was_list = true;
      for (const auto& v : n) {
        if (!(v.IsScalar() || v.IsNull())) {
          Report(Severity::kError, Pos(v), "value of '" + item.field + "' must be a scalar or a list of scalars");
          return false;
        }
        item.values.push_back(ScalarValue(v));
      }
      if (item.values.empty()) {
        Report(Severity::kError, Pos(n), "empty value list for '" + item.field + "'");
        return false;
      }
      return true;
    }
    Report(Severity::kError, Pos(n), "value of '" + item.field + "' must be a scalar or a list, not a map");
    return false;
  }

  bool ReadMap(const YAML::Node& map, std::vector<FieldItem>& items) {
    bool ok = true;
    for (const auto& kv : map) {
      FieldItem item;
      const std::string key = kv.first.Scalar();
      item.pos = Pos(kv.first);
      std::size_t bar = key.find('|');
      item.field = key.substr(0, bar);
      while (bar != std::string::npos) {
        std::size_t next = key.find('|', bar + 1);
        item.modifiers.push_back(key.substr(bar + 1, next == std::string::npos ? std::string::npos : next - bar - 1));
        bar = next;
      }
      if (!ReadValues(kv.second, item)) {
        ok = false;
        continue;
      }
      items.push_back(std::move(item));
    }
    return ok;
  }

  // Reads the search identifiers and the condition of a detection (or filter) section.
  bool ReadDetection(const YAML::Node& det, Detection& out, bool filter_section) {
    out.pos = Pos(det);
    if (!det.IsMap()) {
      Report(Severity::kError, Pos(det), filter_section ? "'filter' must be a map" : "'detection' must be a map");
      return false;
    }
    bool ok = true;
    for (const auto& kv : det) {
      const std::string key = kv.first.Scalar();
      const YAML::Node& v = kv.second;
      if (key == "condition") {
        if (v.IsScalar()) {
          out.conditions.push_back(v.Scalar());
          out.condition_pos.push_back(Pos(v));
        } else if (v.IsSequence() && v.size() > 0) {
          for (const auto& c : v) {
            if (!c.IsScalar()) {
              Report(Severity::kError, Pos(c), "condition must be a string or a list of strings");
              ok = false;
              continue;
            }
            out.conditions.push_back(c.Scalar());
            out.condition_pos.push_back(Pos(c));
          }
        } else {
          Report(Severity::kError, Pos(v), "condition must be a string or a list of strings");
          ok = false;
        }
        continue;
      }
      if (key == "timeframe") {
        Report(Severity::kUnsupported, Pos(kv.first), "'timeframe' in detection is deprecated; use a correlation rule");
        ok = false;
        continue;
      }
      if (filter_section && key == "rules") continue;
      SearchIdentifier sid;
      sid.name = key;
      sid.pos = Pos(kv.first);
      if (v.IsMap()) {
        std::vector<FieldItem> items;
        if (!ReadMap(v, items)) ok = false;
        sid.alternatives.push_back(std::move(items));
      } else if (v.IsSequence()) {
        FieldItem keywords;
        keywords.pos = Pos(v);
        keywords.values_was_list = true;
        for (const auto& e : v) {
          if (e.IsMap()) {
            std::vector<FieldItem> items;
            if (!ReadMap(e, items)) ok = false;
            sid.alternatives.push_back(std::move(items));
          } else if (e.IsScalar() || e.IsNull()) {
            keywords.values.push_back(ScalarValue(e));
          } else {
            Report(Severity::kError, Pos(e), "search identifier '" + key + "': list entries must be maps or values");
            ok = false;
          }
        }
        if (!keywords.values.empty()) sid.alternatives.push_back({std::move(keywords)});
      } else if (v.IsScalar()) {
        FieldItem keywords;
        keywords.pos = Pos(v);
        keywords.values.push_back(ScalarValue(v));
        sid.alternatives.push_back({std::move(keywords)});
      } else {
        Report(Severity::kError, Pos(v), "search identifier '" + key + "' must be a map or a list");
        ok = false;
        continue;
      }
      out.identifiers.push_back(std::move(sid));
    }
    if (out.conditions.empty()) {
      Report(Severity::kError, Pos(det), filter_section ? "filter has no 'condition'" : "detection has no 'condition'");
      ok = false;
    }
    return ok;
  }

  std::vector<std::string> StringList(const YAML::Node& n, const char* what, bool& ok) {
    std::vector<std::string> out;
    if (!n) return out;
    if (n.IsScalar()) {
      out.push_back(n.Scalar());
    } else if (n.IsSequence()) {
      for (const auto& e : n) {
        if (e.IsScalar()) {
          out.push_back(e.Scalar());
        } else {
          Report(Severity::kError, Pos(e), std::string("'") + what + "' entries must be strings");
          ok = false;
        }
      }
    } else {
      Report(Severity::kError, Pos(n), std::string("'") + what + "' must be a string or a list of strings");
      ok = false;
    }
    return out;
  }

  bool ReadCorrelation(const YAML::Node& c, CorrelationSpec& spec) {
    spec.pos = Pos(c);
    if (!c.IsMap()) {
      Report(Severity::kError, Pos(c), "'correlation' must be a map");
      return false;
    }
    bool ok = true;
    const std::string type = c["type"] && c["type"].IsScalar() ? c["type"].Scalar() : "";
    static const std::pair<const char*, CorrelationType> kTypes[] = {
        {"event_count", CorrelationType::kEventCount},     {"value_count", CorrelationType::kValueCount},
        {"temporal", CorrelationType::kTemporal},          {"temporal_ordered", CorrelationType::kTemporalOrdered},
        {"value_sum", CorrelationType::kValueSum},         {"value_avg", CorrelationType::kValueAvg},
        {"value_percentile", CorrelationType::kValuePercentile}};
    bool found = false;
    for (const auto& [name, t] : kTypes)
      if (type == name) {
        spec.type = t;
        found = true;
      }
    if (!found) {
      Report(type.empty() ? Severity::kError : Severity::kUnsupported, Pos(c["type"] ? c["type"] : c),
             type.empty() ? "correlation has no 'type'" : "unknown correlation type '" + type + "'");
      ok = false;
    }
    spec.rules = StringList(c["rules"], "rules", ok);
    if (spec.rules.empty()) {
      Report(Severity::kError, Pos(c), "correlation has no 'rules'");
      ok = false;
    }
    spec.group_by = StringList(c["group-by"], "group-by", ok);
    if (const auto ts = c["timespan"]; ts && ts.IsScalar()) {
      auto t = ParseTimespan(ts.Scalar());
      if (!t.ok()) {
        Report(Severity::kError, Pos(ts), t.error().message());
        ok = false;
      } else {
        spec.timespan_ns = *t;
      }
    } else if (const auto tf = c["timeframe"]; tf && tf.IsScalar()) {
      auto t = ParseTimespan(tf.Scalar());
      if (t.ok()) spec.timespan_ns = *t;
    } else {
      Report(Severity::kError, Pos(c), "correlation has no 'timespan'");
      ok = false;
    }
    if (const auto g = c["generate"]; g) {
      if (g.IsScalar() && (g.Scalar() == "true" || g.Scalar() == "false")) {
        spec.generate = g.Scalar() == "true";
      } else {
        Report(Severity::kError, Pos(g), "'generate' must be true or false");
        ok = false;
      }
    }
    if (const auto a = c["aliases"]; a) {
      if (!a.IsMap()) {
        Report(Severity::kError, Pos(a), "'aliases' must be a map");
        ok = false;
      } else {
        for (const auto& kv : a) {
          if (!kv.second.IsMap()) {
            Report(Severity::kError, Pos(kv.second), "alias '" + kv.first.Scalar() + "' must map rule names to fields");
            ok = false;
            continue;
          }
          for (const auto& rf : kv.second) spec.aliases[kv.first.Scalar()][rf.first.Scalar()] = rf.second.Scalar();
        }
      }
    }
    const bool temporal = spec.type == CorrelationType::kTemporal || spec.type == CorrelationType::kTemporalOrdered;
    const auto cond = c["condition"];
    if (cond && cond.IsMap()) {
      for (const auto& kv : cond) {
        const std::string k = kv.first.Scalar();
        if (k == "field") {
          spec.condition.field = kv.second.Scalar();
          continue;
        }
        double num = 0;
        try {
          num = kv.second.as<double>();
        } catch (const YAML::Exception&) {
          Report(Severity::kError, Pos(kv.second), "correlation condition '" + k + "' needs a number");
          ok = false;
          continue;
        }
        if (k == "gt") spec.condition.gt = num;
        else if (k == "gte") spec.condition.gte = num;
        else if (k == "lt") spec.condition.lt = num;
        else if (k == "lte") spec.condition.lte = num;
        else if (k == "eq") spec.condition.eq = num;
        else if (k == "neq") spec.condition.neq = num;
        else if (k == "percentile") spec.condition.percentile = num;
        else {
          Report(Severity::kError, Pos(kv.first), "unknown correlation condition operator '" + k + "'");
          ok = false;
        }
      }
    } else if (cond) {
      Report(Severity::kError, Pos(cond), "correlation 'condition' must be a map");
      ok = false;
    } else if (!temporal) {
      Report(Severity::kError, Pos(c), "correlation has no 'condition'");
      ok = false;
    }
    if (temporal && !cond) spec.condition.gte = static_cast<double>(spec.rules.size());
    const bool needs_field = spec.type == CorrelationType::kValueCount || spec.type == CorrelationType::kValueSum ||
                             spec.type == CorrelationType::kValueAvg || spec.type == CorrelationType::kValuePercentile;
    if (needs_field && spec.condition.field.empty()) {
      Report(Severity::kError, Pos(cond ? cond : c), std::string(CorrelationTypeName(spec.type)) + " needs 'condition: field'");
      ok = false;
    }
    if (spec.type == CorrelationType::kValuePercentile && !(spec.condition.percentile > 0 && spec.condition.percentile <= 100)) {
      Report(Severity::kError, Pos(cond ? cond : c), "value_percentile needs 'percentile' in (0, 100]");
      ok = false;
    }
    return ok;
  }

  void ReadDocument(const YAML::Node& doc, std::string source_text) {
    rule_id_.clear();
    if (doc.IsNull()) return;  // empty document (e.g. a trailing ---)
    if (!doc.IsMap()) {
      Report(Severity::kError, Pos(doc), "a Sigma document must be a map");
      return;
    }
    SigmaDocument d;
    d.file = file_;
    d.pos = Pos(doc);
    d.source_text = std::move(source_text);
    bool ok = true;
    auto str = [&](const char* key, std::string& into) {
      const auto n = doc[key];
      if (!n) return;
      if (!n.IsScalar()) {
        Report(Severity::kError, Pos(n), std::string("'") + key + "' must be a string");
        ok = false;
        return;
      }
      into = n.Scalar();
    };
    str("id", d.id);
    rule_id_ = d.id;
    str("name", d.name);
    str("title", d.title);
    if (rule_id_.empty()) rule_id_ = d.title;
    str("status", d.status);
    str("level", d.level);
    str("description", d.description);
    if (const auto a = doc["author"]; a && a.IsScalar()) d.author = a.Scalar();
    d.tags = StringList(doc["tags"], "tags", ok);
    d.falsepositives = StringList(doc["falsepositives"], "falsepositives", ok);
    if (const auto action = doc["action"]; action) {
      Report(Severity::kUnsupported, Pos(action), "rule collections ('action: " + action.Scalar() + "') are not supported");
      return;
    }
    if (d.title.empty()) {
      Report(Severity::kError, Pos(doc), "missing 'title'");
      ok = false;
    }
    if (!d.level.empty()) {
      static const char* kLevels[] = {"informational", "low", "medium", "high", "critical"};
      if (std::find(std::begin(kLevels), std::end(kLevels), d.level) == std::end(kLevels)) {
        Report(Severity::kError, Pos(doc["level"]), "unknown level '" + d.level + "'");
        ok = false;
      }
    }
    if (const auto ls = doc["logsource"]; ls) {
      if (!ls.IsMap()) {
        Report(Severity::kError, Pos(ls), "'logsource' must be a map");
        ok = false;
      } else {
        for (const auto& kv : ls) {
          const std::string k = kv.first.Scalar();
          std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
          std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
          if (k == "product") d.logsource.product = v;
          else if (k == "category") d.logsource.category = v;
          else if (k == "service") d.logsource.service = v;
        }
      }
    }
    if (const auto c = doc["correlation"]; c) {
      d.kind = DocKind::kCorrelation;
      CorrelationSpec spec;
      if (!ReadCorrelation(c, spec)) ok = false;
      d.correlation = std::move(spec);
    } else if (const auto f = doc["filter"]; f) {
      d.kind = DocKind::kFilter;
      FilterSpec spec;
      spec.pos = Pos(f);
      if (f.IsMap()) spec.rules = StringList(f["rules"], "rules", ok);
      if (spec.rules.empty()) {
        Report(Severity::kError, Pos(f), "filter has no 'rules'");
        ok = false;
      }
      if (!ReadDetection(f, spec.detection, true)) ok = false;
      d.filter = std::move(spec);
    } else if (const auto det = doc["detection"]; det) {
      if (!doc["logsource"]) {
        Report(Severity::kError, Pos(doc), "missing 'logsource'");
        ok = false;
      }
      if (!ReadDetection(det, d.detection, false)) ok = false;
    } else {
      Report(Severity::kError, Pos(doc), "missing 'detection' (or 'correlation' / 'filter')");
      ok = false;
    }
    if (ok) out_.docs.push_back(std::move(d));
  }

 private:
  std::string file_;
  ReadResult& out_;
  std::string rule_id_;
};

// Splits a multi-document YAML text at lines starting with "---" (for per-document source text).
std::vector<std::string> SplitDocuments(std::string_view yaml) {
  std::vector<std::string> out;
  std::string cur;
  std::size_t i = 0;
  bool any = false;
  while (i <= yaml.size()) {
    std::size_t nl = yaml.find('\n', i);
    std::string_view line = yaml.substr(i, nl == std::string_view::npos ? std::string_view::npos : nl - i + 1);
    if (line.substr(0, 3) == "---" && (line.size() == 3 || line[3] == '\n' || line[3] == '\r' || line[3] == ' ')) {
      if (any) out.push_back(std::move(cur));
      cur.clear();
      any = true;
    } else {
      cur += line;
      if (line.find_first_not_of(" \t\r\n") != std::string_view::npos && line[0] != '#') any = true;
    }
    if (nl == std::string_view::npos) break;
    i = nl + 1;
  }
  out.push_back(std::move(cur));
  return out;
}

}  // namespace

ReadResult ReadSigmaYaml(std::string_view yaml, std::string_view file) {
  ReadResult out;
  DocReader reader{std::string(file), out};
  std::vector<YAML::Node> docs;
  if (auto err = core::CheckYamlBounds(yaml, std::string(file))) {
    const auto& p = err->pos();
    out.problems.push_back({Severity::kError, {std::string(file), p ? p->line : 0, p ? p->column : 0}, "",
                            err->message()});
    return out;
  }
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    out.problems.push_back({Severity::kError, {std::string(file), e.mark.line + 1, e.mark.column + 1}, "",
                            "YAML: " + e.msg});
    return out;
  }
  std::vector<std::string> texts = SplitDocuments(yaml);
  for (std::size_t i = 0; i < docs.size(); ++i) {
    try {
      reader.ReadDocument(docs[i], i < texts.size() && texts.size() == docs.size() ? texts[i] : std::string(yaml));
    } catch (const YAML::Exception& e) {
      out.problems.push_back({Severity::kError, {std::string(file), e.mark.line + 1, e.mark.column + 1}, "",
                              "YAML: " + e.msg});
    }
  }
  return out;
}

ReadResult ReadSigmaPaths(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  ReadResult out;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (auto it = fs::recursive_directory_iterator(p, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        const auto ext = it->path().extension().string();
        // Rule test events (content/rules/medsoc: rule.yml beside rule.tests.yml) are not rules.
        if (it->path().stem().extension() == ".tests") continue;
        if (ext == ".yml" || ext == ".yaml") files.push_back(it->path().string());
      }
      if (ec) out.problems.push_back({Severity::kError, {p, 0, 0}, "", "cannot list directory: " + ec.message()});
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      out.problems.push_back({Severity::kError, {p, 0, 0}, "", "no such file or directory"});
    }
  }
  std::sort(files.begin(), files.end());
  // Files are read and parsed on all cores (YAML parsing is most of a load's time), and the
  // results joined in path order.
  std::vector<ReadResult> results(files.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < files.size();) {
      const std::string& f = files[i];
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        results[i].problems.push_back({Severity::kError, {f, 0, 0}, "", "cannot read file"});
        continue;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      results[i] = ReadSigmaYaml(ss.str(), f);
    }
  };
  const std::size_t threads =
      std::min<std::size_t>(files.size() / 16 + 1, std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (auto& r : results) {
    for (auto& d : r.docs) out.docs.push_back(std::move(d));
    for (auto& p : r.problems) out.problems.push_back(std::move(p));
  }
  return out;
}

}  // namespace medsoc::detect
