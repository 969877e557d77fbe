#include "store/events/sqlite_query.h"

#include <array>
#include <charconv>
#include <cmath>
#include <optional>

#include "event/value.h"
#include "store/events/block.h"
#include "store/events/tokenizer.h"

namespace medsoc::store::events {
namespace {

constexpr std::array<ColumnField, 18> kColumns = {{
    {"event.code", "event_code", ColumnType::kKeyword},
    {"event.action", "event_action", ColumnType::kKeyword},
    {"event.outcome", "event_outcome", ColumnType::kKeyword},
    {"event.dataset", "event_dataset", ColumnType::kKeyword},
    {"event.severity", "event_severity", ColumnType::kLong},
    {"log.level", "log_level", ColumnType::kKeyword},
    {"host.name", "host_name", ColumnType::kKeyword},
    {"user.name", "user_name", ColumnType::kKeyword},
    {"source.ip", "source_ip", ColumnType::kIp},
    {"source.port", "source_port", ColumnType::kLong},
    {"destination.ip", "destination_ip", ColumnType::kIp},
    {"destination.port", "destination_port", ColumnType::kLong},
    {"process.name", "process_name", ColumnType::kKeyword},
    {"process.executable", "process_executable", ColumnType::kKeyword},
    {"url.path", "url_path", ColumnType::kKeyword},
    {"http.response.status_code", "http_status", ColumnType::kLong},
    {"rule.name", "rule_name", ColumnType::kKeyword},
    {"observer.product", "observer_product", ColumnType::kKeyword},
}};

std::optional<std::int64_t> ParseInt(std::string_view s) {
  std::int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> ParseNumber(std::string_view s) {
  if (auto i = ParseInt(s)) return static_cast<double>(*i);
  double d = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

// "10.0.0.0/8" -> [lo, hi] keys. nullopt when not CIDR; error for a CIDR with a bad prefix.
struct KeyRange {
  std::string lo, hi;
};
Result<std::optional<KeyRange>> ParseCidr(const QueryValue& v) {
  const auto slash = v.text.find('/');
  if (slash == std::string::npos) return std::optional<KeyRange>();
  auto ip = event::IpAddress::Parse(std::string_view(v.text).substr(0, slash));
  if (!ip) return std::optional<KeyRange>();
  auto prefix = ParseInt(std::string_view(v.text).substr(slash + 1));
  const int max = ip->is_v4() ? 32 : 128;
  if (!prefix || *prefix < 0 || *prefix > max)
    return QueryError(v.column, "CIDR prefix must be 0-" + std::to_string(max) + " in '" + v.text + "'");
  const int bits = static_cast<int>(*prefix) + (ip->is_v4() ? 96 : 0);
  auto bytes = ip->bytes();
  KeyRange r{std::string(16, '\0'), std::string(16, '\0')};
  for (int i = 0; i < 16; ++i) {
    const int keep = std::min(8, std::max(0, bits - i * 8));
    const auto mask = static_cast<std::uint8_t>(keep == 0 ? 0 : (0xFF << (8 - keep)) & 0xFF);
    r.lo[i] = static_cast<char>(bytes[i] & mask);
    r.hi[i] = static_cast<char>((bytes[i] & mask) | static_cast<std::uint8_t>(~mask));
  }
  return std::optional<KeyRange>(std::move(r));
}

bool LooksLikeTime(std::string_view s) {
  if (s.rfind("now", 0) == 0) return true;
  return s.size() >= 10 && s[4] == '-' && s[7] == '-' && ParseInt(s.substr(0, 4)).has_value();
}

// The literal text of a value, and whether it is a prefix: a value without wildcards is itself; a
// pattern whose only wildcard is one trailing '*' is the prefix before it. False for any other
// pattern (the index cannot answer it).
bool PrefixText(const QueryValue& value, std::string& text, bool& prefix) {
  text = value.text;
  prefix = false;
  if (!value.wildcard) return true;
  const std::string& p = value.pattern;
  if (p.size() < 2 || p.back() != '*') return false;
  for (std::size_t i = 0; i + 1 < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
      continue;
    }
    if (p[i] == '*' || p[i] == '?') return false;
  }
  text.pop_back();
  prefix = true;
  return true;
}

class Compiler {
 public:
  explicit Compiler(core::Timestamp now) : now_(now) {}

  // `top`: the node is the root or a child of a root AND, so every match must satisfy it.
  Status Compile(const Node& node, std::string& out, bool top = false) {
    switch (node.kind) {
      case NodeKind::kAnd:
      case NodeKind::kOr: {
        out += "(";
        for (std::size_t i = 0; i < node.children.size(); ++i) {
          if (i > 0) out += node.kind == NodeKind::kAnd ? " AND " : " OR ";
          MEDSOC_TRY(Compile(*node.children[i], out, top && node.kind == NodeKind::kAnd));
        }
        out += ")";
        return Ok();
      }
      case NodeKind::kNot:
        // A condition on a field the event lacks is NULL in SQL; NOT NULL would drop the event,
        // but "NOT user.name:admin" must match events without a user.name.
        out += "NOT coalesce(";
        MEDSOC_TRY(Compile(*node.children[0], out));
        out += ", 0)";
        return Ok();
      case NodeKind::kText:
        return Text(node.value, out, top);
      case NodeKind::kField:
        return Field(node, out, top);
    }
    return Ok();
  }

  std::vector<SqlParam> params;

 private:
  // A full-text condition: the FTS phrase over the row's own texts.
  void FtsCondition(std::string fts, bool /*top*/, std::string& out) {
    out += "medsoc_fts_match(e.fts_message, e.fts_raw, ";
    Txt(std::move(fts), out);
    out += ")";
  }

  void Int(std::int64_t v, std::string& out) {
    params.push_back({SqlParam::Kind::kInt, v, 0, {}});
    out += "?";
  }
  void Dbl(double v, std::string& out) {
    params.push_back({SqlParam::Kind::kDouble, 0, v, {}});
    out += "?";
  }
  void Txt(std::string v, std::string& out) {
    params.push_back({SqlParam::Kind::kText, 0, 0, std::move(v)});
    out += "?";
  }
  void Blob(std::string v, std::string& out) {
    params.push_back({SqlParam::Kind::kBlob, 0, 0, std::move(v)});
    out += "?";
  }

  // Free text: the FTS index when the value has an indexable token; otherwise (punctuation only,
  // or wildcards FTS cannot express) a LIKE scan over the raw message.
  Status Text(const QueryValue& v, std::string& out, bool top) {
    std::string fts = FtsExpression(v);
    if (!fts.empty()) {
      FtsCondition(std::move(fts), top, out);
      return Ok();
    }
    std::string like = v.wildcard ? LikePattern(v.pattern) : "%" + LikePattern(EscapeWild(v.text)) + "%";
    if (v.wildcard && like.front() != '%') like.insert(like.begin(), '%');
    if (v.wildcard && like.back() != '%') like.push_back('%');
    out += "(json_extract(medsoc_doc(e.doc, e.zflags), '$.raw') LIKE ";
    Txt(like, out);
    out += " ESCAPE '\\' OR json_extract(medsoc_doc(e.doc, e.zflags), '$.fields.message') LIKE ";
    Txt(std::move(like), out);
    out += " ESCAPE '\\')";
    return Ok();
  }

  static std::string EscapeWild(std::string_view s) {
    std::string out;
    for (char c : s) {
      if (c == '*' || c == '?' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    return out;
  }

  Status Field(const Node& n, std::string& out, bool top) {
    const std::string& f = n.field;
    if (f == "@timestamp" || f == "time") return TimeColumn(n, "e.time", out);
    if (f == "ingest_time") return TimeColumn(n, "e.ingest_time", out);
    if (f == "tenant_id")
      return QueryError(n.column, "tenant_id cannot be searched: every search is limited to your tenant");
    if (f == "id" || f == "source") return KeywordColumn(n, f == "id" ? "e.id" : "e.source", out);
    if (f == "parse_error") return KeywordColumn(n, "e.parse_error", out);
    if (f == "message" && n.op == FieldOp::kEquals) {
      std::string fts = FtsExpression(n.value, "message");
      if (!fts.empty()) {
        FtsCondition(std::move(fts), top, out);
        return Ok();
      }
    }
    if (f == "raw") return RawField(n, out);
    for (const ColumnField& c : kColumns) {
      if (c.field != f) continue;
      const std::string col = "e." + std::string(c.column);
      switch (c.type) {
        case ColumnType::kKeyword: return KeywordColumn(n, col, out);
        case ColumnType::kLong: return LongColumn(n, col, out);
        case ColumnType::kIp: return IpColumn(n, col, out);
      }
    }
    return JsonField(n, out);
  }

  Status TimeColumn(const Node& n, const std::string& col, std::string& out) {
    if (n.op == FieldOp::kExists) {
      out += "1";
      return Ok();
    }
    if (n.op == FieldOp::kEquals) {
      if (n.value.wildcard) return QueryError(n.value.column, "a time takes no wildcards; use a range [a TO b]");
      bool day = false;
      MEDSOC_ASSIGN_OR_RETURN(core::Timestamp t, ParseQueryTime(n.value.text, now_, n.value.column, &day));
      if (day) {
        out += "(" + col + " >= ";
        Int(t.ns, out);
        out += " AND " + col + " < ";
        Int(t.ns + core::Days(1), out);
        out += ")";
      } else {
        out += col + " = ";
        Int(t.ns, out);
      }
      return Ok();
    }
    out += "(";
    bool any = false;
    if (!n.lo_open) {
      MEDSOC_ASSIGN_OR_RETURN(core::Timestamp t, ParseQueryTime(n.lo.text, now_, n.lo.column));
      out += col + (n.lo_inclusive ? " >= " : " > ");
      Int(t.ns, out);
      any = true;
    }
    if (!n.hi_open) {
      bool day = false;
      MEDSOC_ASSIGN_OR_RETURN(core::Timestamp t, ParseQueryTime(n.hi.text, now_, n.hi.column, &day));
      if (any) out += " AND ";
      out += col + (n.hi_inclusive ? " <= " : " < ");
      Int(t.ns, out);
    }
    out += ")";
    return Ok();
  }

  Status KeywordColumn(const Node& n, const std::string& col, std::string& out) {
    switch (n.op) {
      case FieldOp::kExists:
        out += col + " IS NOT NULL";
        return Ok();
      case FieldOp::kEquals:
        if (n.value.wildcard) {
          out += col + " LIKE ";
          Txt(LikePattern(n.value.pattern), out);
          out += " ESCAPE '\\'";
        } else {
          out += col + " = ";
          Txt(n.value.text, out);
        }
        return Ok();
      case FieldOp::kRange:
        out += "(";
        if (!n.lo_open) {
          out += col + (n.lo_inclusive ? " >= " : " > ");
          Txt(n.lo.text, out);
        }
        if (!n.hi_open) {
          if (!n.lo_open) out += " AND ";
          out += col + (n.hi_inclusive ? " <= " : " < ");
          Txt(n.hi.text, out);
        }
        out += ")";
        return Ok();
    }
    return Ok();
  }

  Result<double> Number(const QueryValue& v, const std::string& field) {
    auto d = ParseNumber(v.text);
    if (!d) return QueryError(v.column, field + " is numeric; '" + v.text + "' is not a number");
    return *d;
  }

  Status LongColumn(const Node& n, const std::string& col, std::string& out) {
    switch (n.op) {
      case FieldOp::kExists:
        out += col + " IS NOT NULL";
        return Ok();
      case FieldOp::kEquals: {
        if (n.value.wildcard)
          return QueryError(n.value.column, n.field + " is numeric; use a range such as [1 TO 1023] instead of a wildcard");
        MEDSOC_ASSIGN_OR_RETURN(double d, Number(n.value, n.field));
        out += col + " = ";
        Dbl(d, out);
        return Ok();
      }
      case FieldOp::kRange:
        out += "(";
        if (!n.lo_open) {
          MEDSOC_ASSIGN_OR_RETURN(double d, Number(n.lo, n.field));
          out += col + (n.lo_inclusive ? " >= " : " > ");
          Dbl(d, out);
        }
        if (!n.hi_open) {
          MEDSOC_ASSIGN_OR_RETURN(double d, Number(n.hi, n.field));
          if (!n.lo_open) out += " AND ";
          out += col + (n.hi_inclusive ? " <= " : " < ");
          Dbl(d, out);
        }
        out += ")";
        return Ok();
    }
    return Ok();
  }

  Result<std::string> IpBound(const QueryValue& v, const std::string& field) {
    auto key = IpKey(v.text);
    if (!key) return QueryError(v.column, field + " is an IP address; '" + v.text + "' is not one");
    return *key;
  }

  Status IpColumn(const Node& n, const std::string& col, std::string& out) {
    switch (n.op) {
      case FieldOp::kExists:
        out += col + " IS NOT NULL";
        return Ok();
      case FieldOp::kEquals: {
        if (n.value.wildcard)
          return QueryError(n.value.column, n.field + " is an IP address; use CIDR (10.1.0.0/16) instead of a wildcard");
        MEDSOC_ASSIGN_OR_RETURN(auto cidr, ParseCidr(n.value));
        if (cidr) {
          out += col + " BETWEEN ";
          Blob(cidr->lo, out);
          out += " AND ";
          Blob(cidr->hi, out);
          return Ok();
        }
        MEDSOC_ASSIGN_OR_RETURN(std::string key, IpBound(n.value, n.field));
        out += col + " = ";
        Blob(std::move(key), out);
        return Ok();
      }
      case FieldOp::kRange:
        out += "(";
        if (!n.lo_open) {
          MEDSOC_ASSIGN_OR_RETURN(std::string key, IpBound(n.lo, n.field));
          out += col + (n.lo_inclusive ? " >= " : " > ");
          Blob(std::move(key), out);
        }
        if (!n.hi_open) {
          MEDSOC_ASSIGN_OR_RETURN(std::string key, IpBound(n.hi, n.field));
          if (!n.lo_open) out += " AND ";
          out += col + (n.hi_inclusive ? " <= " : " < ");
          Blob(std::move(key), out);
        }
        out += ")";
        return Ok();
    }
    return Ok();
  }

  Status RawField(const Node& n, std::string& out) {
    const std::string expr = "json_extract(medsoc_doc(e.doc, e.zflags), '$.raw')";
    if (n.op == FieldOp::kExists) {
      out += expr + " IS NOT NULL";
      return Ok();
    }
    if (n.op == FieldOp::kRange) return QueryError(n.column, "raw takes a value or a wildcard pattern, not a range");
    out += expr + " LIKE ";
    Txt(n.value.wildcard ? LikePattern(n.value.pattern) : LikePattern(EscapeWild(n.value.text)), out);
    out += " ESCAPE '\\'";
    return Ok();
  }

  // Any other field: its values in the event JSON, normalized ("fields") or vendor ("original").
  Status JsonField(const Node& n, std::string& out) {
    std::string cond;
    switch (n.op) {
      case FieldOp::kExists:
        cond = "1";
        break;
      case FieldOp::kEquals: {
        const QueryValue& v = n.value;
        if (v.wildcard) {
          cond = "j.value LIKE ";
          Txt(LikePattern(v.pattern), cond);
          cond += " ESCAPE '\\'";
          break;
        }
        MEDSOC_ASSIGN_OR_RETURN(auto cidr, ParseCidr(v));
        if (cidr) {
          cond = "medsoc_ip(j.value) BETWEEN ";
          Blob(cidr->lo, cond);
          cond += " AND ";
          Blob(cidr->hi, cond);
          break;
        }
        cond = "(j.value = ";
        Txt(v.text, cond);
        cond += " COLLATE NOCASE";
        if (auto d = ParseNumber(v.text); d && !v.quoted) {
          cond += " OR j.value = ";
          Dbl(*d, cond);
        } else if (v.text == "true" || v.text == "false") {
          cond += " OR (j.type = ";
          Txt(v.text, cond);
          cond += ")";
        } else if (auto key = IpKey(v.text)) {
          cond += " OR medsoc_ip(j.value) = ";
          Blob(std::move(*key), cond);
        }
        cond += ")";
        break;
      }
      case FieldOp::kRange: {
        // The bounds decide the comparison: numbers, times, IPs, else text.
        const QueryValue& probe = n.lo_open ? n.hi : n.lo;
        enum { kNum, kTime, kIp, kText } kind = kText;
        if (ParseNumber(probe.text)) kind = kNum;
        else if (IpKey(probe.text)) kind = kIp;
        else if (LooksLikeTime(probe.text)) kind = kTime;
        const char* fn = kind == kNum ? "medsoc_num(j.value)" : kind == kTime ? "medsoc_time(j.value)"
                         : kind == kIp ? "medsoc_ip(j.value)" : "j.value";
        auto bound = [&](const QueryValue& b, bool lower, bool inclusive) -> Status {
          if (!cond.empty()) cond += " AND ";
          cond += std::string(fn) + (lower ? (inclusive ? " >= " : " > ") : (inclusive ? " <= " : " < "));
          switch (kind) {
            case kNum: {
              MEDSOC_ASSIGN_OR_RETURN(double d, Number(b, n.field));
              Dbl(d, cond);
              break;
            }
            case kTime: {
              MEDSOC_ASSIGN_OR_RETURN(core::Timestamp t, ParseQueryTime(b.text, now_, b.column));
              Int(t.ns, cond);
              break;
            }
            case kIp: {
              MEDSOC_ASSIGN_OR_RETURN(std::string key, IpBound(b, n.field));
              Blob(std::move(key), cond);
              break;
            }
            case kText:
              Txt(b.text, cond);
              break;
          }
          return Ok();
        };
        if (!n.lo_open) MEDSOC_TRY(bound(n.lo, true, n.lo_inclusive));
        if (!n.hi_open) MEDSOC_TRY(bound(n.hi, false, n.hi_inclusive));
        break;
      }
    }
    // The condition's parameters were appended once; the "original" branch needs them again.
    const std::size_t first = params.size() - CountPlaceholders(cond);
    std::vector<SqlParam> copy(params.begin() + static_cast<std::ptrdiff_t>(first), params.end());
    params.erase(params.begin() + static_cast<std::ptrdiff_t>(first), params.end());
    const std::string name = "\"" + n.field + "\"";
    out += "(EXISTS (SELECT 1 FROM json_each(medsoc_doc(e.doc, e.zflags), ";
    Txt("$.fields." + name, out);
    out += ") AS j WHERE " + cond;
    params.insert(params.end(), copy.begin(), copy.end());
    out += ") OR EXISTS (SELECT 1 FROM json_each(medsoc_doc(e.doc, e.zflags), ";
    Txt("$.original." + name, out);
    out += ") AS j WHERE " + cond + "))";
    params.insert(params.end(), copy.begin(), copy.end());
    return Ok();
  }

  static std::size_t CountPlaceholders(const std::string& sql) {
    std::size_t n = 0;
    for (char c : sql) n += c == '?';
    return n;
  }

  core::Timestamp now_;
};

// The block-index condition (CompiledQuery::prune) of a node, or empty for "any block".
class Pruner {
 public:
  std::string Of(const Node& n) {
    switch (n.kind) {
      case NodeKind::kAnd: {
        std::string out;
        for (const auto& c : n.children) {
          std::string p = Of(*c);
          if (p.empty()) continue;
          if (!out.empty()) out += " AND ";
          out += "(" + p + ")";
        }
        return out;
      }
      case NodeKind::kOr: {
        std::string out;
        for (const auto& c : n.children) {
          std::string p = Of(*c);
          if (p.empty()) return {};  // one branch may match anywhere
          if (!out.empty()) out += " OR ";
          out += "(" + p + ")";
        }
        return out;
      }
      case NodeKind::kNot:
        return {};
      case NodeKind::kText:
        return PruneText(n.value);
      case NodeKind::kField:
        return Field(n);
    }
    return {};
  }

 private:
  static std::string Quote(std::string_view term) {
    std::string out = "\"";
    for (char c : term) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    return out + "\"";
  }

  static std::string Field(const Node& n) {
    if (n.op != FieldOp::kEquals) return {};
    if (n.field == "message") return PruneText(n.value);
    const ColumnField* col = nullptr;
    for (const ColumnField& c : kColumns)
      if (c.field == n.field) col = &c;
    if (col == nullptr && n.field != "source") return {};
    const QueryValue& v = n.value;
    const ColumnType type = col == nullptr ? ColumnType::kKeyword : col->type;
    if (type == ColumnType::kKeyword) {
      std::string lit;
      bool prefix = false;
      if (!PrefixText(v, lit, prefix)) return {};
      if (!prefix) return Quote(FieldTerm(n.field, Cell::Text(lit)));
      if (lit.size() >= kMaxTermValueBytes) return {};
      return Quote(FieldTerm(n.field, Cell::Text(lit))) + " *";
    }
    if (v.wildcard) return {};
    if (type == ColumnType::kLong) {
      auto d = ParseNumber(v.text);
      if (!d || *d != std::floor(*d) || std::fabs(*d) > 9e15) return {};
      return Quote(FieldTerm(n.field, Cell::Int(static_cast<std::int64_t>(*d))));
    }
    // IP: an address, or a CIDR block whose prefix is whole hex digits of the key.
    const auto slash = v.text.find('/');
    if (slash == std::string::npos) {
      auto key = IpKey(v.text);
      return key ? Quote(FieldTerm(n.field, Cell::Blob(*key))) : std::string();
    }
    auto ip = event::IpAddress::Parse(std::string_view(v.text).substr(0, slash));
    auto prefix = ParseInt(std::string_view(v.text).substr(slash + 1));
    if (!ip || !prefix) return {};
    const int bits = static_cast<int>(*prefix) + (ip->is_v4() ? 96 : 0);
    if (*prefix < 0 || bits > 128) return {};
    const auto& b = ip->bytes();
    const std::string term = IpPrefixTerm(n.field, std::string_view(reinterpret_cast<const char*>(b.data()), 16), bits);
    if (term.empty()) return {};
    return Quote(term) + (bits == 128 ? "" : " *");
  }
};

// Narrows [lo, hi) from @timestamp conditions that every match must satisfy.
void NarrowWindow(const Node& n, core::Timestamp now, std::int64_t& lo, std::int64_t& hi) {
  if (n.kind == NodeKind::kAnd) {
    for (const auto& c : n.children) NarrowWindow(*c, now, lo, hi);
    return;
  }
  if (n.kind != NodeKind::kField || (n.field != "@timestamp" && n.field != "time")) return;
  if (n.op == FieldOp::kRange) {
    if (!n.lo_open) {
      if (auto t = ParseQueryTime(n.lo.text, now, 0); t.ok()) lo = std::max(lo, t->ns + (n.lo_inclusive ? 0 : 1));
    }
    if (!n.hi_open) {
      if (auto t = ParseQueryTime(n.hi.text, now, 0); t.ok()) hi = std::min(hi, t->ns + (n.hi_inclusive ? 1 : 0));
    }
  } else if (n.op == FieldOp::kEquals && !n.value.wildcard) {
    bool day = false;
    if (auto t = ParseQueryTime(n.value.text, now, 0, &day); t.ok()) {
      lo = std::max(lo, t->ns);
      hi = std::min(hi, t->ns + (day ? core::Days(1) : 1));
    }
  }
}

}  // namespace

std::span<const ColumnField> ColumnFields() { return kColumns; }

Result<core::Timestamp> ParseQueryTime(std::string_view text, core::Timestamp now, int column, bool* day_only) {
  if (day_only != nullptr) *day_only = false;
  if (text.rfind("now", 0) == 0) {
    std::string_view rest = text.substr(3);
    if (rest.empty()) return now;
    const char sign = rest[0];
    if ((sign != '-' && sign != '+') || rest.size() < 3)
      return QueryError(column, "relative time must look like now-15m, now-1h or now-7d, not '" + std::string(text) + "'");
    auto n = ParseInt(rest.substr(1, rest.size() - 2));
    std::int64_t unit = 0;
    switch (rest.back()) {
      case 's': unit = core::Seconds(1); break;
      case 'm': unit = core::Minutes(1); break;
      case 'h': unit = core::Hours(1); break;
      case 'd': unit = core::Days(1); break;
      case 'w': unit = core::Days(7); break;
      default: break;
    }
    if (!n || *n < 0 || unit == 0 || *n > 100000)
      return QueryError(column, "relative time must look like now-15m, now-1h or now-7d (units s m h d w), not '" +
                                    std::string(text) + "'");
    return sign == '-' ? now - *n * unit : now + *n * unit;
  }
  if (text.size() == 10 && text[4] == '-' && text[7] == '-') {
    auto y = ParseInt(text.substr(0, 4));
    auto m = ParseInt(text.substr(5, 2));
    auto d = ParseInt(text.substr(8, 2));
    if (y && m && d && *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31) {
      if (day_only != nullptr) *day_only = true;
      return core::Timestamp{core::Days(core::DaysFromCivil(*y, static_cast<unsigned>(*m), static_cast<unsigned>(*d)))};
    }
  }
  auto t = core::ParseRfc3339(text);
  if (!t.ok())
    return QueryError(column, "'" + std::string(text) +
                                  "' is not a time (RFC 3339 such as 2024-03-01T08:00:00+08:00, a date, or now-1h)");
  return *t;
}

std::optional<std::string> IpKey(std::string_view text) {
  auto ip = event::IpAddress::Parse(text);
  if (!ip) return std::nullopt;
  const auto& b = ip->bytes();
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string LikePattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 4);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == '\\') out += "\\\\";
      else out.push_back(next);  // literal * or ?: not special in LIKE
      continue;
    }
    if (c == '*') out.push_back('%');
    else if (c == '?') out.push_back('_');
    else if (c == '%' || c == '_' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FtsExpression(const QueryValue& value, std::string_view column) {
  std::string text;
  bool prefix = false;
  if (!PrefixText(value, text, prefix)) return {};
  const TokenSummary summary = SummarizeTokens(text);
  if (summary.tokens == 0) return {};
  // A single CJK character is indexed only as the start of its bigrams: search it as a prefix.
  if (summary.single_cjk) prefix = true;
  std::string out;
  if (!column.empty()) {
    out += column;
    out += " : ";
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  if (prefix) out += " *";
  return out;
}

std::string PruneText(const QueryValue& value) {
  std::string text;
  bool prefix = false;
  if (!PrefixText(value, text, prefix)) return {};
  std::vector<std::string> tokens;
  Tokenize(text, true, [&](std::string_view t, int, int, bool) {
    tokens.emplace_back(t);
    return 0;
  });
  if (tokens.empty()) return {};
  // A single CJK character is indexed only as the start of bigrams or a run's last character.
  if (SummarizeTokens(text).single_cjk) prefix = true;
  std::string out;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += " AND ";
    out.push_back('"');
    for (char c : tokens[i]) {
      if (c == '"') out.push_back('"');
      out.push_back(c);
    }
    out.push_back('"');
    if (prefix && i + 1 == tokens.size()) out += " *";
  }
  return out;
}

Result<CompiledQuery> CompileQuery(const Query& query, core::Timestamp now) {
  CompiledQuery out;
  if (query.root == nullptr) return out;
  Compiler compiler(now);
  std::string where;
  MEDSOC_TRY(compiler.Compile(*query.root, where, true));
  out.where = std::move(where);
  out.params = std::move(compiler.params);
  out.prune = Pruner().Of(*query.root);
  NarrowWindow(*query.root, now, out.time_lo, out.time_hi);
  return out;
}

}  // namespace medsoc::store::events
