#include "detect/reference_matcher.h"

#include <re2/re2.h>

#include <algorithm>
#include <functional>

#include "detect/condition.h"

namespace medsoc::detect {
namespace {

using event::FieldSpace;
using event::Value;

struct Ref {
  event::FieldId id;
  FieldSpace space;
};

// A glob over lowercase (or cased) text: '*' any run, '?' one byte, '\x01' one of - / (and the
// three Unicode dashes, compared as their UTF-8 bytes).
bool Glob(std::string_view p, std::string_view s) {
  if (p.empty()) return s.empty();
  const char c = p[0];
  if (c == '*') {
    for (std::size_t i = 0; i <= s.size(); ++i)
      if (Glob(p.substr(1), s.substr(i))) return true;
    return false;
  }
  if (c == '?') {
    if (s.empty()) return false;
    std::size_t n = 1;
    while (n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80 && (static_cast<unsigned char>(s[0]) & 0x80)) ++n;
    return Glob(p.substr(1), s.substr(n));
  }
  if (c == '\x01') {
    for (std::string_view d : {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"})
      if (s.substr(0, d.size()) == d && Glob(p.substr(1), s.substr(d.size()))) return true;
    return false;
  }
  return !s.empty() && s[0] == c && Glob(p.substr(1), s.substr(1));
}

std::string Lower(std::string_view s) {
  std::string o(s);
  for (char& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return o;
}

std::string B64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned v = 0;
  int bits = -6;
  for (unsigned char c : in) {
    v = (v << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += k[(v >> bits) & 63];
      bits -= 6;
    }
  }
  if (bits > -6) out += k[((v << 8) >> (bits + 8)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

std::string Utf16(std::string_view s, bool be, bool bom) {
  std::string out;
  if (bom) out += be ? "\xFE\xFF" : "\xFF\xFE";
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    char32_t cp;
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + n > s.size()) n = 1;
    if (n == 1) cp = c;
    else {
      cp = n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
      for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    i += n;
    auto unit = [&](unsigned u) {
      if (be) { out += static_cast<char>(u >> 8); out += static_cast<char>(u & 0xFF); }
      else { out += static_cast<char>(u & 0xFF); out += static_cast<char>(u >> 8); }
    };
    if (cp >= 0x10000) { unit(0xD800 + ((cp - 0x10000) >> 10)); unit(0xDC00 + ((cp - 0x10000) & 0x3FF)); }
    else unit(cp);
  }
  return out;
}

struct ValueTest {
  enum Kind { kGlob, kRegex, kNull, kExists, kCidr, kCmp } kind = kGlob;
  std::string glob;  // lowercased unless cased
  bool cased = false;
  bool number = false;  // rule value was a YAML number
  std::shared_ptr<RE2> re;
  bool exists = true;
  event::IpAddress net;
  int prefix = 0;
  int cmp = 0;  // 0 lt 1 lte 2 gt 3 gte
  Value num;
};

struct Item {
  std::vector<Ref> refs;
  bool keyword = false;
  bool all = false;
  bool neq = false;
  std::vector<ValueTest> tests;
};

struct RuleR {
  std::string id;
  std::vector<std::vector<std::pair<std::vector<Ref>, std::vector<std::string>>>> sources;  // OR of AND
  bool any_source = false;
  std::vector<std::pair<std::string, std::vector<std::vector<Item>>>> ids;
  std::vector<std::unique_ptr<CondNode>> conds;
};

// Escapes -> glob text where '*', '?' are wildcards and literal ones are impossible to express; a
// literal '*' or '?' makes the rule unsupported here (rare).
bool ToGlob(std::string_view s, std::string& out) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
      if (s[i + 1] != '\\') return false;
      out += '\\';
      ++i;
    } else {
      out += s[i];
    }
  }
  return true;
}

}  // namespace

struct ReferenceMatcher::Impl {
  std::vector<RuleR> rules;
  std::vector<std::unique_ptr<LogsourceEntry>> generic_entries;

  static const Value* Get(const event::Event& e, const std::vector<Ref>& refs) {
    for (const auto& r : refs)
      if (const Value* v = e.Find(r.id, r.space)) return v;
    return nullptr;
  }

  bool TestOne(const ValueTest& t, const Value* v, std::string_view text, const std::string& lower) const {
    switch (t.kind) {
      case ValueTest::kNull: return !v || v->is_null();
      case ValueTest::kExists: return (v != nullptr) == t.exists;
      case ValueTest::kCidr: {
        if (!v) return false;
        auto ip = v->AsIp();
        return ip && ip->InNetwork(t.net, t.prefix);
      }
      case ValueTest::kCmp: {
        if (!v) return false;
        auto o = event::LooseCompare(*v, t.num);
        return t.cmp == 0 ? o < 0 : t.cmp == 1 ? o <= 0 : t.cmp == 2 ? o > 0 : o >= 0;
      }
      case ValueTest::kRegex: return v && !v->is_null() && RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *t.re);
      case ValueTest::kGlob: {
        if (!v || v->is_null()) return false;
        if (Glob(t.cased ? std::string_view(t.glob) : std::string_view(t.glob), t.cased ? text : std::string_view(lower)))
          return true;
        if (t.glob.find_first_of("*?\x01") == std::string::npos) {
          Value rv = t.number ? Value::Int(Value::String(t.glob).AsInt().value_or(0)) : Value::String(t.glob);
          if (t.number || v->is_number()) {
            auto a = v->AsInt();
            auto b = Value::String(t.glob).AsInt();
            if (a && b && *a == *b) return true;
          }
          (void)rv;
        }
        return false;
      }
    }
    return false;
  }

  bool EvalItem(const Item& it, const event::Event& e) const {
    event::TextBuffer buf;
    if (it.keyword) {
      auto any_field = [&](const ValueTest& t) {
        bool any_string = false;
        for (const auto f : e.fields()) {
          if (!f.value.is_string()) continue;
          any_string = true;
          if (TestOne(t, &f.value, f.value.str(), Lower(f.value.str()))) return true;
        }
        if (any_string) return false;
        Value raw = Value::String(e.raw());
        return TestOne(t, &raw, e.raw(), Lower(e.raw()));
      };
      for (const auto& t : it.tests) {
        const bool m = any_field(t);
        if (it.all && !m) return false;
        if (!it.all && m) return true;
      }
      return it.all;
    }
    const Value* v = Get(e, it.refs);
    const std::string_view text = v ? v->AsText(buf) : std::string_view();
    const std::string lower = Lower(text);
    if (it.neq) {
      if (!v || v->is_null()) return false;
      for (const auto& t : it.tests)
        if (TestOne(t, v, text, lower)) return false;
      return true;
    }
    for (const auto& t : it.tests) {
      const bool m = TestOne(t, v, text, lower);
      if (it.all && !m) return false;
      if (!it.all && m) return true;
    }
    return it.all && !it.tests.empty();
  }

  bool EvalId(const std::vector<std::vector<Item>>& alts, const event::Event& e) const {
    for (const auto& alt : alts) {
      bool ok = true;
      for (const auto& it : alt)
        if (!EvalItem(it, e)) {
          ok = false;
          break;
        }
      if (ok) return true;
    }
    return false;
  }

  bool EvalCond(const RuleR& r, const CondNode& n, const event::Event& e) const {
    switch (n.op) {
      case CondOp::kIdentifier:
        for (const auto& [name, alts] : r.ids)
          if (name == n.name) return EvalId(alts, e);
        return false;
      case CondOp::kOneOf:
      case CondOp::kAllOf: {
        const bool all = n.op == CondOp::kAllOf;
        for (const auto& [name, alts] : r.ids) {
          if (n.them ? name.rfind('_', 0) == 0 : !MatchIdentifierPattern(n.name, name)) continue;
          const bool m = EvalId(alts, e);
          if (all && !m) return false;
          if (!all && m) return true;
        }
        return all;
      }
      case CondOp::kNot: return !EvalCond(r, *n.kids[0], e);
      case CondOp::kAnd:
        for (const auto& k : n.kids)
          if (!EvalCond(r, *k, e)) return false;
        return true;
      case CondOp::kOr:
        for (const auto& k : n.kids)
          if (EvalCond(r, *k, e)) return true;
        return false;
    }
    return false;
  }

  bool SourceOk(const RuleR& r, const event::Event& e) const {
    if (r.any_source) return true;
    event::TextBuffer buf;
    for (const auto& alt : r.sources) {
      bool ok = true;
      for (const auto& [refs, values] : alt) {
        const Value* v = Get(e, refs);
        if (!v || v->is_null()) { ok = false; break; }
        if (values.size() == 1 && values[0] == "*") continue;
        const std::string l = Lower(v->AsText(buf));
        if (std::find(values.begin(), values.end(), l) == values.end()) { ok = false; break; }
      }
      if (ok) return true;
    }
    return false;
  }
};

ReferenceMatcher::ReferenceMatcher(const std::vector<SigmaDocument>& docs, const LogsourceMap& ls,
                                   bool unmapped_on_every_event)
    : impl_(std::make_unique<Impl>()) {
  auto& table = event::DefaultFieldTable();
  auto refs_of = [&](const LogsourceEntry* entry, const std::string& f) {
    std::vector<Ref> out;
    for (const auto& r : ls.Resolve(entry, f))
      if (auto id = table.Intern(r.name); id.ok()) out.push_back({*id, r.space});
    return out;
  };
  for (const auto& d : docs) {
    if (d.kind != DocKind::kRule) continue;
    RuleR r;
    r.id = d.id.empty() ? d.title : d.id;
    const LogsourceEntry* entry = ls.Find(d.logsource);
    if (!entry && !unmapped_on_every_event) {
      impl_->generic_entries.push_back(GenericEntry(d.logsource));
      entry = impl_->generic_entries.back().get();
    }
    if (!entry || entry->sources.empty()) r.any_source = true;
    if (entry)
      for (const auto& alt : entry->sources) {
        std::vector<std::pair<std::vector<Ref>, std::vector<std::string>>> conds;
        for (const auto& c : alt) conds.push_back({refs_of(entry, c.field), c.values});
        r.sources.push_back(std::move(conds));
      }
    bool ok = true;
    for (const auto& sid : d.detection.identifiers) {
      std::vector<std::vector<Item>> alts;
      for (const auto& alt : sid.alternatives) {
        std::vector<Item> items;
        for (const auto& fi : alt) {
          Item it;
          it.keyword = fi.field.empty();
          if (!it.keyword) it.refs = refs_of(entry, fi.field);
          std::string pre, post;
          bool re = false, ci = false, ml = false, dotall = false, cased = false, windash = false, exists = false, cidr = false;
          int cmp = -1;
          std::vector<std::function<std::vector<std::string>(const std::string&)>> enc;
          for (const auto& m : fi.modifiers) {
            if (m == "contains") { pre = "*"; post = "*"; }
            else if (m == "startswith") post = "*";
            else if (m == "endswith") pre = "*";
            else if (m == "all") it.all = true;
            else if (m == "cased") cased = true;
            else if (m == "re") re = true;
            else if (m == "i") ci = true;
            else if (m == "m") ml = true;
            else if (m == "s") dotall = true;
            else if (m == "windash") windash = true;
            else if (m == "exists") exists = true;
            else if (m == "cidr") cidr = true;
            else if (m == "neq") it.neq = true;
            else if (m == "lt") cmp = 0;
            else if (m == "lte") cmp = 1;
            else if (m == "gt") cmp = 2;
            else if (m == "gte") cmp = 3;
            else if (m == "base64") enc.push_back([](const std::string& s) { return std::vector<std::string>{B64(s)}; });
            else if (m == "base64offset")
              enc.push_back([](const std::string& s) {
                std::vector<std::string> o;
                const std::size_t cs[3] = {0, 2, 3}, ce[3] = {0, 3, 2};
                for (std::size_t k = 0; k < 3; ++k) {
                  std::string e = B64(std::string(k, ' ') + s);
                  const std::size_t cut = ce[(s.size() + k) % 3];
                  if (e.size() >= cs[k] + cut) o.push_back(e.substr(cs[k], e.size() - cs[k] - cut));
                }
                return o;
              });
            else if (m == "utf16le" || m == "wide") enc.push_back([](const std::string& s) { return std::vector<std::string>{Utf16(s, false, false)}; });
            else if (m == "utf16be") enc.push_back([](const std::string& s) { return std::vector<std::string>{Utf16(s, true, false)}; });
            else if (m == "utf16") enc.push_back([](const std::string& s) { return std::vector<std::string>{Utf16(s, false, true)}; });
            else ok = false;
          }
          if (it.neq) it.all = false;
          for (const auto& v : fi.values) {
            ValueTest t;
            if (v.kind == SigmaValue::Kind::kNull) { t.kind = ValueTest::kNull; it.tests.push_back(t); continue; }
            if (exists) { t.kind = ValueTest::kExists; t.exists = v.text == "true"; it.tests.push_back(t); continue; }
            if (cidr) {
              const auto sl = v.text.find('/');
              auto ip = event::IpAddress::Parse(v.text.substr(0, sl));
              if (!ip) { ok = false; continue; }
              t.kind = ValueTest::kCidr; t.net = *ip;
              t.prefix = sl == std::string::npos ? (ip->is_v4() ? 32 : 128) : std::atoi(v.text.c_str() + sl + 1);
              it.tests.push_back(t);
              continue;
            }
            if (cmp >= 0) {
              t.kind = ValueTest::kCmp; t.cmp = cmp;
              auto i = Value::String(v.text).AsInt();
              t.num = i ? Value::Int(*i) : Value::Float(Value::String(v.text).AsFloat().value_or(0));
              it.tests.push_back(t);
              continue;
            }
            if (re) {
              RE2::Options o; o.set_log_errors(false); o.set_case_sensitive(!ci); o.set_dot_nl(dotall);
              t.kind = ValueTest::kRegex;
              t.re = std::make_shared<RE2>(ml ? "(?m)" + v.text : v.text, o);
              if (!t.re->ok()) { ok = false; continue; }
              it.tests.push_back(t);
              continue;
            }
            std::string g;
            if (!ToGlob(v.text, g)) { ok = false; continue; }
            std::vector<std::string> vals{g};
            for (const auto& f : enc) {
              std::vector<std::string> next;
              for (const auto& x : vals) for (auto& y : f(x)) next.push_back(y);
              vals = next;
            }
            for (auto& x : vals) {
              if (windash)
                for (std::size_t i = 0; i < x.size(); ++i) {
                  const bool b = i == 0 || !(std::isalnum(static_cast<unsigned char>(x[i - 1])) || x[i - 1] == '_' || static_cast<unsigned char>(x[i - 1]) >= 0x80);
                  const bool a = i + 1 < x.size() && (std::isalnum(static_cast<unsigned char>(x[i + 1])) || x[i + 1] == '_' || static_cast<unsigned char>(x[i + 1]) >= 0x80);
                  if ((x[i] == '-' || x[i] == '/') && a && b) x[i] = '\x01';
                }
              ValueTest vt;
              vt.cased = cased;
              vt.number = v.kind == SigmaValue::Kind::kInt;
              vt.glob = (it.keyword ? "*" : pre) + (cased ? x : Lower(x)) + (it.keyword ? "*" : post);
              it.tests.push_back(vt);
            }
          }
          items.push_back(std::move(it));
        }
        alts.push_back(std::move(items));
      }
      r.ids.push_back({sid.name, std::move(alts)});
    }
    for (const auto& c : d.detection.conditions) {
      auto ast = ParseCondition(c);
      if (!ast.ok()) { ok = false; break; }
      r.conds.push_back(std::move(*ast));
    }
    if (!ok) {
      ++skipped_;
      continue;
    }
    impl_->rules.push_back(std::move(r));
  }
}

ReferenceMatcher::~ReferenceMatcher() = default;
std::size_t ReferenceMatcher::size() const { return impl_->rules.size(); }
const std::string& ReferenceMatcher::rule_id(std::uint32_t i) const { return impl_->rules[i].id; }

void ReferenceMatcher::Match(const event::Event& e, std::vector<std::uint32_t>& out) const {
  for (std::uint32_t i = 0; i < impl_->rules.size(); ++i) {
    const RuleR& r = impl_->rules[i];
    if (!impl_->SourceOk(r, e)) continue;
    for (const auto& c : r.conds)
      if (impl_->EvalCond(r, *c, e)) {
        out.push_back(i);
        break;
      }
  }
}

}  // namespace medsoc::detect
