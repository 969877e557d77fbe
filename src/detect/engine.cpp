// Compiler and matcher of the Sigma engine. See engine.h for the design; the notes here explain
// choices inside.
#include "detect/engine.h"

#include "detect/correlation.h"

#include <hs/hs.h>
#include <re2/re2.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "detect/condition.h"
#include "detect/reader.h"

namespace medsoc::detect {
namespace {

using event::FieldId;
using event::FieldSpace;
using event::Value;
using event::ValueKind;

constexpr std::uint32_t kNone = 0xFFFF'FFFFu;

// ---- Sigma strings as atoms -------------------------------------------------------------------
// A Sigma string after escape processing: bytes (0-255) and wildcard atoms.
constexpr int kStar = -1;    // "*": any run of characters
constexpr int kOne = -2;     // "?": exactly one character
constexpr int kDash = -3;    // windash: one of - / en dash, em dash, horizontal bar
using Atoms = std::vector<int>;

// The specification's escaping: "\" escapes "*", "?" and "\"; any other backslash is literal.
Atoms ParseSigmaString(std::string_view s) {
  Atoms out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
      out.push_back(static_cast<unsigned char>(s[i + 1]));
      ++i;
    } else if (c == '*') {
      out.push_back(kStar);
    } else if (c == '?') {
      out.push_back(kOne);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Atoms LiteralAtoms(std::string_view s) {
  Atoms out;
  for (unsigned char c : s) out.push_back(c);
  return out;
}

bool AllLiteral(const Atoms& a) {
  return std::all_of(a.begin(), a.end(), [](int x) { return x >= 0; });
}

std::string AtomsText(const Atoms& a) {  // for labels: wildcards shown as * ?
  std::string out;
  for (int x : a) {
    if (x >= 0) out += static_cast<char>(x);
    else if (x == kStar) out += '*';
    else if (x == kOne) out += '?';
    else out += '-';
  }
  return out;
}

std::string LiteralText(const Atoms& a) {
  std::string out;
  for (int x : a) out += static_cast<char>(x);
  return out;
}

bool IsWordByte(int c) { return c >= 0 && (std::isalnum(c) || c == '_' || c >= 0x80); }

// windash: a "-" or "/" at the start of a value or after a non-word character, followed by a word
// character, stands for any of the five dash characters Windows programs accept.
Atoms Windash(const Atoms& a) {
  Atoms out = a;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != '-' && a[i] != '/') continue;
    const bool before_ok = i == 0 || !IsWordByte(a[i - 1]);
    const bool after_ok = i + 1 < a.size() && IsWordByte(a[i + 1]);
    if (before_ok && after_ok) out[i] = kDash;
  }
  return out;
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// The three encodings of `value` as it appears inside a longer base64 text, at byte offsets 0, 1
// and 2 modulo 3: characters that depend on unknown neighbouring bytes are cut off.
std::vector<std::string> Base64Offsets(std::string_view value) {
  std::vector<std::string> out;
  static const std::size_t kCutStart[3] = {0, 2, 3};
  static const std::size_t kCutEnd[3] = {0, 3, 2};  // by (len + offset) % 3
  for (std::size_t off = 0; off < 3; ++off) {
    std::string padded(off, ' ');
    padded += value;
    std::string enc = Base64(padded);
    const std::size_t cut_end = kCutEnd[(value.size() + off) % 3];
    if (enc.size() < kCutStart[off] + cut_end) continue;
    enc = enc.substr(kCutStart[off], enc.size() - kCutStart[off] - cut_end);
    if (!enc.empty() && std::find(out.begin(), out.end(), enc) == out.end()) out.push_back(enc);
  }
  return out;
}

// UTF-8 -> code points (invalid bytes pass through as U+FFFD-free Latin-1 code points, so any
// input has an encoding).
std::vector<char32_t> DecodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      out.push_back(c);
      ++i;
      continue;
    }
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = true;
    for (int k = 1; k < n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      out.push_back(c);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += n;
  }
  return out;
}

// Wildcards survive the encoding: each literal run is re-encoded as UTF-16.
Atoms Utf16(const Atoms& a, bool big_endian, bool bom) {
  Atoms out;
  if (bom) {
    out.push_back(big_endian ? 0xFE : 0xFF);
    out.push_back(big_endian ? 0xFF : 0xFE);
  }
  std::string run;
  auto flush = [&] {
    for (char32_t cp : DecodeUtf8(run)) {
      auto unit = [&](unsigned u) {
        if (big_endian) {
          out.push_back((u >> 8) & 0xFF);
          out.push_back(u & 0xFF);
        } else {
          out.push_back(u & 0xFF);
          out.push_back((u >> 8) & 0xFF);
        }
      };
      if (cp >= 0x10000) {
        const unsigned v = cp - 0x10000;
        unit(0xD800 + (v >> 10));
        unit(0xDC00 + (v & 0x3FF));
      } else {
        unit(cp);
      }
    }
    run.clear();
  };
  for (int x : a) {
    if (x >= 0) {
      run += static_cast<char>(x);
    } else {
      flush();
      out.push_back(x);
    }
  }
  flush();
  return out;
}

// Hyperscan expression for atoms (literal bytes escaped as \xHH, so no byte has a meaning).
std::string HsExpression(const Atoms& a) {
  std::size_t b = 0, e = a.size();
  const bool anchored_start = !(b < e && a[b] == kStar);
  const bool anchored_end = !(e > b && a[e - 1] == kStar);
  while (b < e && a[b] == kStar) ++b;
  while (e > b && a[e - 1] == kStar) --e;
  std::string out;
  if (anchored_start) out += '^';
  char buf[8];
  for (std::size_t i = b; i < e; ++i) {
    const int x = a[i];
    if (x >= 0) {
      if (std::isalnum(x)) {
        out += static_cast<char>(x);
      } else {
        std::snprintf(buf, sizeof buf, "\\x%02x", x);
        out += buf;
      }
    } else if (x == kStar) {
      out += ".*";
    } else if (x == kOne) {
      out += "(?:[\\x00-\\x7f]|[\\xc0-\\xff][\\x80-\\xbf]*)";
    } else {
      out += "(?:-|/|\\xe2\\x80\\x93|\\xe2\\x80\\x94|\\xe2\\x80\\x95)";
    }
  }
  if (anchored_end) out += "\\z";
  return out;
}

constexpr std::uint8_t kAnchorStart = 1;  // the value must start the text (no leading `*`)
constexpr std::uint8_t kAnchorEnd = 2;    // the value must end the text (no trailing `*`)

// The literal forms of atoms whose inner part (between leading and trailing `*`) holds only bytes
// and at most two windash positions (each one of the five dashes: up to 25 forms). False when
// the value needs an expression (`?`, an inner `*`, more dashes) or has no inner part.
bool LiteralForms(const Atoms& a, std::vector<std::string>& forms, std::uint8_t& anchors) {
  std::size_t b = 0, e = a.size();
  while (b < e && a[b] == kStar) ++b;
  while (e > b && a[e - 1] == kStar) --e;
  if (b == e) return false;
  int dashes = 0;
  for (std::size_t i = b; i < e; ++i) {
    if (a[i] == kDash) ++dashes;
    else if (a[i] < 0) return false;
  }
  if (dashes > 2) return false;
  anchors = static_cast<std::uint8_t>((b == 0 ? kAnchorStart : 0) | (e == a.size() ? kAnchorEnd : 0));
  static const std::string_view kDashBytes[] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};
  forms.assign(1, std::string());
  for (std::size_t i = b; i < e; ++i) {
    if (a[i] >= 0) {
      for (auto& f : forms) f += static_cast<char>(a[i]);
      continue;
    }
    std::vector<std::string> next;
    for (const auto& f : forms)
      for (std::string_view d : kDashBytes) next.push_back(f + std::string(d));
    forms = std::move(next);
  }
  return true;
}

// For a value with inner wildcards (`*`, `?`, windash) that LiteralForms cannot take: its longest
// run of plain bytes, which must occur in any text the value matches. The literal database finds
// it; GlobMatch then decides. Empty when there is no run of two bytes or more, or when a `?` is
// followed by a UTF-8 continuation byte (GlobMatch's `?` is one whole character, see there).
std::string PrefilterPiece(const Atoms& a) {
  std::string best, cur;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == kOne && i + 1 < a.size() && a[i + 1] >= 0x80 && a[i + 1] <= 0xBF) return {};
    if (a[i] >= 0) {
      cur += static_cast<char>(a[i]);
      continue;
    }
    if (cur.size() > best.size()) best = cur;
    cur.clear();
  }
  if (cur.size() > best.size()) best = cur;
  return best.size() >= 2 ? best : std::string();
}

// Whole-text match of atoms, the same language as HsExpression(a) with HS_FLAG_DOTALL: `*` any
// bytes, `?` one character (an ASCII byte, or a lead byte and the continuation bytes after it),
// windash one of the five dashes, bytes compared with ASCII case folding unless `cased`. Every
// non-star atom matches at most one way at a given position, so the classic backtrack-to-the-
// last-star scan is exact.
bool GlobMatch(const Atoms& a, std::string_view t, bool cased) {
  auto low = [](unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; };
  // Length of atom x matched at t[i], or -1.
  auto step = [&](int x, std::size_t i) -> int {
    if (i >= t.size()) return -1;
    const unsigned char c = static_cast<unsigned char>(t[i]);
    if (x >= 0) return (cased ? c == x : low(c) == low(static_cast<unsigned char>(x))) ? 1 : -1;
    if (x == kOne) {
      if (c < 0x80) return 1;
      if (c < 0xC0) return -1;
      std::size_t j = i + 1;
      while (j < t.size() && (static_cast<unsigned char>(t[j]) & 0xC0) == 0x80) ++j;
      return static_cast<int>(j - i);
    }
    // kDash
    if (c == '-' || c == '/') return 1;
    if (c == 0xE2 && i + 2 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0x80) {
      const unsigned char d = static_cast<unsigned char>(t[i + 2]);
      if (d == 0x93 || d == 0x94 || d == 0x95) return 3;
    }
    return -1;
  };
  std::size_t p = 0, i = 0;
  std::size_t star_p = std::string_view::npos, star_i = 0;
  while (i < t.size() || p < a.size()) {
    if (p < a.size()) {
      if (a[p] == kStar) {
        star_p = p++;
        star_i = i;
        continue;
      }
      const int n = step(a[p], i);
      if (n > 0) {
        ++p;
        i += static_cast<std::size_t>(n);
        continue;
      }
    }
    if (star_p == std::string_view::npos || star_i >= t.size()) return false;
    p = star_p + 1;
    i = ++star_i;
  }
  return true;
}

bool OnlyStars(const Atoms& a) {
  return std::all_of(a.begin(), a.end(), [](int x) { return x == kStar; });
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}
bool IEq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

struct SvHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
struct SvEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};
using TextIndex = std::unordered_map<std::string, std::vector<std::uint32_t>, SvHash, SvEq>;
using IntIndex = std::unordered_map<std::int64_t, std::vector<std::uint32_t>>;

// ---- Predicates, slots, buckets, nodes -----------------------------------------------------------

enum class PK : std::uint8_t {
  kIndexed,     // fired by the slot scan (exact maps or Hyperscan)
  kRe2,         // a regex Hyperscan cannot take
  kAny,         // present and not null ("*")
  kNull,        // missing or null
  kExists,      // present (aux = 1) / missing (aux = 0)
  kCidr,
  kCompare,     // cmp against value
  kEquals,      // LooseEquals against value (floats)
  kNeq,         // present and inner indexed predicate `aux` did not fire
  kFieldRef,    // compare with slot `aux`
  kTimePart,    // a component of the field's time, compared with value
};

enum class Cmp : std::uint8_t { kLt, kLte, kGt, kGte, kEq };
enum class TimePart : std::uint8_t { kMinute, kHour, kDay, kWeek, kMonth, kYear };

struct Pred {
  PK kind = PK::kIndexed;
  std::uint32_t slot = 0;
  std::uint32_t aux = 0;
  Cmp cmp = Cmp::kEq;
  TimePart part = TimePart::kMinute;
  bool cased = false;
  bool star_before = false, star_after = false;  // fieldref contains/startswith/endswith
  Value value;
  std::string value_storage;
  event::IpAddress net;
  int prefix = 0;
  std::string label;  // the rule's value as written, for Explain
};

struct HsPattern {
  std::string expr;
  unsigned flags = 0;
  std::uint32_t pred = 0;
};

// A value that is a literal once its leading and trailing `*` are cut (contains, startswith,
// endswith, keywords, windash and utf16 forms of plain values: almost all of SigmaHQ). These go to
// a Hyperscan literal database (hs_compile_lit_multi), which compiles an order of magnitude faster
// than the same strings as expressions and scans faster; the anchors are checked on the match's
// end offset in the callback.
struct HsLiteral {
  std::string text;
  unsigned flags = 0;   // HS_FLAG_CASELESS, HS_FLAG_SINGLEMATCH
  std::uint32_t pred = 0;
  std::uint8_t anchors = 0;
  std::string expr;     // the same value as an expression (fallback when the literal build fails)
  std::uint32_t glob = kNone;  // a prefilter piece: the value (CompiledImpl::globs) must match too
};

struct Slot {
  std::string sigma_name;
  std::vector<std::pair<FieldId, FieldSpace>> refs;
  bool keyword = false;
  std::vector<std::uint32_t> buckets;  // buckets whose rules use it (sorted)
  bool all_buckets = false;            // used by an always-active bucket or by source conditions
  TextIndex exact_ci, exact_cs;
  IntIndex int_rule_number;  // rule value is a number: query with event AsInt()
  IntIndex int_rule_text;    // rule value is text holding an integer: query when the event is numeric
  std::vector<HsPattern> patterns;
  std::vector<HsLiteral> literals;
  std::vector<HsLiteral> single_bytes;  // keyword slot: unanchored one-byte literals
  hs_database_t* db = nullptr;      // patterns (ids: predicates)
  hs_database_t* lit_db = nullptr;  // literals (ids: indexes into `literals`)
  bool scanned() const { return db || lit_db || !single_bytes.empty(); }
  bool indexed() const {
    return !exact_ci.empty() || !exact_cs.empty() || !int_rule_number.empty() || !int_rule_text.empty() || scanned();
  }
};

enum class NodeOp : std::uint8_t { kAnd, kOr, kNot, kPred, kTrue, kFalse };
struct Node {
  NodeOp op;
  std::uint32_t a = 0, b = 0;
};

struct SourceCheck {
  std::uint32_t bucket = 0;
  std::vector<std::pair<std::uint32_t, std::vector<std::string>>> conds;  // slot, lowercase values ("*": present)
};

struct Bucket {
  Logsource key;
  const LogsourceEntry* entry = nullptr;
  bool always_active = false;
  std::vector<std::uint32_t> always_rules;
};

struct CompiledRule {
  std::uint32_t root = 0;
  std::uint32_t bucket = 0;
};

}  // namespace

struct CompiledImpl {
  std::vector<Pred> preds;
  std::vector<Slot> slots;
  // Keyword items get one slot per logsource bucket, so an event scans only the keywords of the
  // buckets it activates (a few literals each, instead of every keyword of every rule).
  std::vector<std::uint32_t> keyword_slots;
  std::vector<Bucket> buckets;
  std::vector<Node> nodes;
  std::vector<std::uint32_t> kids;
  std::vector<CompiledRule> rules;
  std::vector<std::unique_ptr<re2::RE2>> regexes;
  std::vector<Atoms> globs;  // values with inner wildcards, checked after their prefilter piece
  int kw_separator = -1;     // a byte in no keyword literal (-1: none; keywords scanned per value)
  // pred -> rules it triggers (CSR)
  std::vector<std::uint32_t> trig_begin, trig_rules;
  // event field key (id * 2 + space) -> (slot, rank) chain
  struct Link {
    std::uint32_t slot;
    std::uint32_t rank;
    std::uint32_t next;
  };
  std::vector<std::uint32_t> field_head;
  std::vector<Link> links;
  // bucket activation
  // The source checks whose first condition holds one value of the discriminator's slot; those
  // whose second condition is on `sub_slot` (Sysmon's and Security's EventID) are indexed again by
  // that value, so an event tests only the checks of its own channel and event id.
  struct AltChecks {
    std::vector<std::uint32_t> checks;  // tested from their second condition on
    std::uint32_t sub_slot = kNone;
    TextIndex sub;                      // lowercase second value -> checks tested from their third
  };
  struct Discriminator {
    std::uint32_t slot;
    std::unordered_map<std::string, AltChecks, SvHash, SvEq> alts;  // lowercase value -> checks
  };
  std::vector<Discriminator> discriminators;
  std::vector<std::uint32_t> unindexed_checks;
  std::vector<SourceCheck> checks;
  std::vector<std::uint32_t> always_buckets;
  std::vector<std::unique_ptr<LogsourceEntry>> generic_entries;  // for unmapped logsources
  std::size_t hs_dbs = 0;
  hs_scratch_t* proto_scratch = nullptr;

  ~CompiledImpl() {
    for (auto& s : slots) {
      if (s.db) hs_free_database(s.db);
      if (s.lit_db) hs_free_database(s.lit_db);
    }
    if (proto_scratch) hs_free_scratch(proto_scratch);
  }
};

namespace {

// ---- The compiler ------------------------------------------------------------------------------

class Compiler {
 public:
  Compiler(CompiledImpl& impl, const LogsourceMap& ls, const CompileOptions& opt)
      : c_(impl), ls_(ls), opt_(opt),
        table_(opt.field_table ? *opt.field_table : event::DefaultFieldTable()) {}

  struct RuleError {
    Severity severity;
    SourcePos pos;
    std::string reason;
  };

  std::uint32_t BucketFor(const Logsource& key, bool& mapped) {
    const LogsourceEntry* entry = ls_.Find(key);
    mapped = entry != nullptr;
    auto it = bucket_by_key_.find(key);
    if (it != bucket_by_key_.end()) return it->second;
    if (!entry && !opt_.unmapped_on_every_event) {
      c_.generic_entries.push_back(GenericEntry(key));
      entry = c_.generic_entries.back().get();
      if (entry->sources.empty()) entry = nullptr;  // a logsource that names nothing: every event
    }
    const std::uint32_t b = static_cast<std::uint32_t>(c_.buckets.size());
    Bucket bucket;
    bucket.key = key;
    bucket.entry = entry;
    if (!entry || entry->sources.empty()) {
      bucket.always_active = true;
      c_.always_buckets.push_back(b);
    }
    c_.buckets.push_back(std::move(bucket));
    bucket_by_key_[key] = b;
    if (entry) {
      for (const auto& alt : entry->sources) {
        SourceCheck check;
        check.bucket = b;
        for (const auto& cond : alt) check.conds.push_back({SlotFor(cond.field, entry, kNone), cond.values});
        const std::uint32_t idx = static_cast<std::uint32_t>(c_.checks.size());
        const bool indexable = !check.conds.empty() &&
                               std::find(check.conds[0].second.begin(), check.conds[0].second.end(), "*") ==
                                   check.conds[0].second.end();
        if (indexable) {
          const std::uint32_t slot = check.conds[0].first;
          auto d = std::find_if(c_.discriminators.begin(), c_.discriminators.end(),
                                [&](const auto& x) { return x.slot == slot; });
          if (d == c_.discriminators.end()) {
            c_.discriminators.push_back({slot, {}});
            d = c_.discriminators.end() - 1;
          }
          for (const auto& v : check.conds[0].second) d->alts[v].checks.push_back(idx);
        } else {
          c_.unindexed_checks.push_back(idx);
        }
        for (const auto& cond : check.conds) c_.slots[cond.first].all_buckets = true;
        c_.checks.push_back(std::move(check));
      }
    }
    return b;
  }

  std::uint32_t SlotFor(const std::string& sigma_field, const LogsourceEntry* entry, std::uint32_t bucket) {
    std::vector<FieldRef> refs = ls_.Resolve(entry, sigma_field);
    std::string key = sigma_field + "\x1f";
    for (const auto& r : refs) key += r.name + (r.space == FieldSpace::kOriginal ? "\x1eo" : "\x1en") + "\x1f";
    std::uint32_t s;
    if (auto it = slot_by_key_.find(key); it != slot_by_key_.end()) {
      s = it->second;
    } else {
      s = static_cast<std::uint32_t>(c_.slots.size());
      Slot slot;
      slot.sigma_name = sigma_field;
      for (const auto& r : refs) {
        auto id = table_.Intern(r.name);
        if (id.ok()) slot.refs.push_back({*id, r.space});
      }
      c_.slots.push_back(std::move(slot));
      slot_by_key_[key] = s;
    }
    if (bucket != kNone) AddBucket(s, bucket);
    return s;
  }

  std::uint32_t KeywordSlot(std::uint32_t bucket) {
    auto [it, fresh] = keyword_slot_by_bucket_.try_emplace(bucket, 0);
    if (fresh) {
      it->second = static_cast<std::uint32_t>(c_.slots.size());
      Slot slot;
      slot.sigma_name = "keywords";
      slot.keyword = true;
      c_.slots.push_back(std::move(slot));
      c_.keyword_slots.push_back(it->second);
    }
    if (bucket != kNone) AddBucket(it->second, bucket);
    return it->second;
  }

  void AddBucket(std::uint32_t slot, std::uint32_t bucket) {
    auto& v = c_.slots[slot].buckets;
    auto it = std::lower_bound(v.begin(), v.end(), bucket);
    if (it == v.end() || *it != bucket) v.insert(it, bucket);
    if (c_.buckets[bucket].always_active) c_.slots[slot].all_buckets = true;
  }

  std::uint32_t AddNode(NodeOp op, std::uint32_t a = 0, std::uint32_t b = 0) {
    c_.nodes.push_back({op, a, b});
    return static_cast<std::uint32_t>(c_.nodes.size() - 1);
  }
  std::uint32_t AddList(NodeOp op, const std::vector<std::uint32_t>& kids) {
    if (kids.empty()) return AddNode(op == NodeOp::kAnd ? NodeOp::kTrue : NodeOp::kFalse);
    if (kids.size() == 1) return kids[0];
    const std::uint32_t b = static_cast<std::uint32_t>(c_.kids.size());
    c_.kids.insert(c_.kids.end(), kids.begin(), kids.end());
    return AddNode(op, b, static_cast<std::uint32_t>(c_.kids.size()));
  }

  std::uint32_t PredNode(Pred p, const std::string& key) {
    std::uint32_t id;
    if (auto it = pred_by_key_.find(key); it != pred_by_key_.end()) {
      id = it->second;
    } else {
      id = static_cast<std::uint32_t>(c_.preds.size());
      c_.preds.push_back(std::move(p));
      pred_by_key_[key] = id;
    }
    auto it = pred_node_.find(id);
    if (it != pred_node_.end()) return it->second;
    const std::uint32_t n = AddNode(NodeOp::kPred, id);
    pred_node_[id] = n;
    return n;
  }

  // An indexed predicate for a string value (atoms) on `slot`.
  std::uint32_t StringPred(std::uint32_t slot, const Atoms& atoms, bool cased, SigmaValue::Kind kind,
                           const std::string& label) {
    Slot& s = c_.slots[slot];
    if (OnlyStars(atoms) && !atoms.empty()) {
      Pred p;
      p.kind = PK::kAny;
      p.slot = slot;
      p.label = label;
      return PredNode(std::move(p), "any|" + std::to_string(slot));
    }
    const bool exact = AllLiteral(atoms) && !s.keyword;
    Pred p;
    p.kind = PK::kIndexed;
    p.slot = slot;
    p.cased = cased;
    p.label = label;
    if (exact) {
      const std::string text = LiteralText(atoms);
      const std::string key = "x|" + std::to_string(slot) + (cased ? "|c|" : "|i|") +
                              (kind == SigmaValue::Kind::kInt ? "n|" : "s|") + text;
      const bool is_new = !pred_by_key_.count(key);
      const std::uint32_t node = PredNode(std::move(p), key);
      if (is_new) {
        const std::uint32_t id = c_.nodes[node].a;
        if (cased) s.exact_cs[text].push_back(id);
        else s.exact_ci[LowerCopy(text)].push_back(id);
        const auto as_int = Value::String(text).AsInt();
        if (as_int) {
          if (kind == SigmaValue::Kind::kInt) s.int_rule_number[*as_int].push_back(id);
          else s.int_rule_text[*as_int].push_back(id);
        }
      }
      return node;
    }
    // Keywords are searched anywhere in the event: unanchored.
    Atoms a = atoms;
    if (s.keyword) {
      if (a.empty() || a.front() != kStar) a.insert(a.begin(), kStar);
      if (a.back() != kStar) a.push_back(kStar);
    }
    std::string expr = HsExpression(a);
    if (expr.empty()) {  // "**" and the like: any value
      Pred any;
      any.kind = PK::kAny;
      any.slot = slot;
      any.label = label;
      return PredNode(std::move(any), "any|" + std::to_string(slot));
    }
    const unsigned flags = HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH | (cased ? 0u : HS_FLAG_CASELESS);
    const std::string key = "h|" + std::to_string(slot) + "|" + std::to_string(flags) + "|" + expr;
    const bool is_new = !pred_by_key_.count(key);
    const std::uint32_t node = PredNode(std::move(p), key);
    if (is_new) {
      const std::uint32_t id = c_.nodes[node].a;
      std::vector<std::string> forms;
      std::uint8_t anchors = 0;
      if (LiteralForms(a, forms, anchors)) {
        // SINGLEMATCH only without anchors: an anchored literal must see the occurrence at the
        // start or the end of the text, not just the first one reported.
        const unsigned lit_flags = (cased ? 0u : HS_FLAG_CASELESS) | (anchors ? 0u : HS_FLAG_SINGLEMATCH);
        for (auto& f : forms) {
          // One-byte keywords ("0", ":", "$" in SigmaHQ) would make Hyperscan confirm at almost
          // every position of an event; a memchr finds them faster (ScanSingleBytes).
          auto& into = s.keyword && f.size() == 1 && !anchors ? s.single_bytes : s.literals;
          into.push_back({std::move(f), lit_flags, id, anchors, expr});
        }
      } else if (std::string piece = PrefilterPiece(a); !piece.empty()) {
        // Keywords scan all values of an event at once (ScanKeywords): the first occurrence of the
        // piece may be in a value where the whole value does not match, so every one counts.
        const unsigned lit_flags = (cased ? 0u : HS_FLAG_CASELESS) | (s.keyword ? 0u : HS_FLAG_SINGLEMATCH);
        s.literals.push_back({std::move(piece), lit_flags, id, 0, expr, static_cast<std::uint32_t>(c_.globs.size())});
        c_.globs.push_back(a);
      } else {
        s.patterns.push_back({expr, flags, id});
      }
    }
    return node;
  }

  // A regex predicate: Hyperscan when it accepts the expression, else RE2.
  Result<std::uint32_t> RegexPred(std::uint32_t slot, const std::string& re, bool ci, bool ml, bool dotall,
                                  const std::string& label) {
    unsigned flags = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
    if (ci) flags |= HS_FLAG_CASELESS;
    if (ml) flags |= HS_FLAG_MULTILINE;
    if (dotall) flags |= HS_FLAG_DOTALL;
    const std::string key = "r|" + std::to_string(slot) + "|" + std::to_string(flags) + "|" + re;
    if (auto it = pred_by_key_.find(key); it != pred_by_key_.end()) return pred_node_.at(it->second);
    hs_expr_info_t* info = nullptr;
    hs_compile_error_t* err = nullptr;
    const bool hs_ok = hs_expression_info(re.c_str(), flags, &info, &err) == HS_SUCCESS;
    if (err) hs_free_compile_error(err);
    if (info) std::free(info);
    Pred p;
    p.slot = slot;
    p.label = label;
    if (hs_ok) {
      p.kind = PK::kIndexed;
      const std::uint32_t node = PredNode(std::move(p), key);
      c_.slots[slot].patterns.push_back({re, flags, c_.nodes[node].a});
      return node;
    }
    RE2::Options o;
    o.set_log_errors(false);
    o.set_case_sensitive(!ci);
    o.set_dot_nl(dotall);
    o.set_posix_syntax(false);
    o.set_longest_match(false);
    auto rx = std::make_unique<RE2>(ml ? "(?m)" + re : re, o);
    if (!rx->ok())
      return Error(ErrorCode::kInvalidArgument,
                   "regular expression not supported by Hyperscan nor RE2 (" + rx->error() + "): " + re);
    p.kind = PK::kRe2;
    p.aux = static_cast<std::uint32_t>(c_.regexes.size());
    c_.regexes.push_back(std::move(rx));
    return PredNode(std::move(p), key);
  }

  std::uint32_t DirectPred(Pred p) {
    std::string key = "d|" + std::to_string(static_cast<int>(p.kind)) + "|" + std::to_string(p.slot) + "|" +
                      std::to_string(p.aux) + "|" + std::to_string(static_cast<int>(p.cmp)) + "|" +
                      std::to_string(static_cast<int>(p.part)) + "|" + (p.cased ? "c" : "i") +
                      (p.star_before ? "b" : "") + (p.star_after ? "a" : "") + "|" + p.label;
    return PredNode(std::move(p), key);
  }

  // Compiles one `field|modifiers: values` item into a node.
  Result<std::uint32_t> CompileItem(const FieldItem& item, const LogsourceEntry* entry, std::uint32_t bucket) {
    const std::uint32_t slot = item.field.empty() ? KeywordSlot(bucket) : SlotFor(item.field, entry, bucket);
    bool all = false, cased = false, regex = false, re_i = false, re_m = false, re_s = false;
    bool star_before = false, star_after = false, neq = false;
    std::optional<Cmp> cmp;
    std::optional<TimePart> part;
    enum class Type { kString, kExists, kCidr, kFieldRef } type = Type::kString;
    // Values, transformed in modifier order.
    std::vector<Atoms> values;
    std::vector<SigmaValue::Kind> kinds;
    bool has_null = false;
    for (const auto& v : item.values) {
      if (v.kind == SigmaValue::Kind::kNull) {
        has_null = true;
        continue;
      }
      values.push_back(ParseSigmaString(v.text));
      kinds.push_back(v.kind);
    }
    auto fail = [&](Severity sev, std::string why) -> Error {
      last_severity_ = sev;
      return Error(ErrorCode::kInvalidArgument, std::move(why));
    };
    auto require_literal = [&](const char* mod) -> Status {
      for (const auto& v : values)
        if (!AllLiteral(v)) return fail(Severity::kUnsupported, std::string("'") + mod + "' of a value with wildcards");
      return Ok();
    };
    for (const std::string& m : item.modifiers) {
      if (m == "contains") {
        for (auto& v : values) {
          if (v.empty() || v.front() != kStar) v.insert(v.begin(), kStar);
          if (v.back() != kStar) v.push_back(kStar);
        }
        star_before = star_after = true;
      } else if (m == "startswith") {
        for (auto& v : values)
          if (v.empty() || v.back() != kStar) v.push_back(kStar);
        star_after = true;
      } else if (m == "endswith") {
        for (auto& v : values)
          if (v.empty() || v.front() != kStar) v.insert(v.begin(), kStar);
        star_before = true;
      } else if (m == "all") {
        all = true;
      } else if (m == "cased") {
        cased = true;
      } else if (m == "exists") {
        type = Type::kExists;
      } else if (m == "neq") {
        neq = true;
      } else if (m == "windash") {
        for (auto& v : values) v = Windash(v);
      } else if (m == "re") {
        regex = true;
        values.clear();
        kinds.clear();
        for (const auto& v : item.values) {
          values.push_back(LiteralAtoms(v.text));
          kinds.push_back(SigmaValue::Kind::kString);
        }
      } else if (m == "i" || m == "m" || m == "s") {
        if (!regex) return fail(Severity::kError, "modifier '" + m + "' is only valid after 're'");
        (m == "i" ? re_i : m == "m" ? re_m : re_s) = true;
      } else if (m == "base64") {
        if (auto st = require_literal("base64"); !st.ok()) return st.error();
        for (auto& v : values) v = LiteralAtoms(Base64(LiteralText(v)));
      } else if (m == "base64offset") {
        if (auto st = require_literal("base64offset"); !st.ok()) return st.error();
        std::vector<Atoms> out;
        std::vector<SigmaValue::Kind> out_kinds;
        for (const auto& v : values)
          for (const auto& e : Base64Offsets(LiteralText(v))) {
            out.push_back(LiteralAtoms(e));
            out_kinds.push_back(SigmaValue::Kind::kString);
          }
        values = std::move(out);
        kinds = std::move(out_kinds);
      } else if (m == "utf16le" || m == "wide") {
        for (auto& v : values) v = Utf16(v, false, false);
      } else if (m == "utf16be") {
        for (auto& v : values) v = Utf16(v, true, false);
      } else if (m == "utf16") {
        for (auto& v : values) v = Utf16(v, false, true);
      } else if (m == "lt" || m == "lte" || m == "gt" || m == "gte") {
        cmp = m == "lt" ? Cmp::kLt : m == "lte" ? Cmp::kLte : m == "gt" ? Cmp::kGt : Cmp::kGte;
      } else if (m == "cidr") {
        type = Type::kCidr;
      } else if (m == "fieldref") {
        type = Type::kFieldRef;
      } else if (m == "expand") {
        std::vector<Atoms> out;
        std::vector<SigmaValue::Kind> out_kinds;
        for (std::size_t vi = 0; vi < values.size(); ++vi) {
          auto expanded = Expand(values[vi]);
          if (!expanded.ok()) return fail(Severity::kUnsupported, expanded.error().message());
          for (auto& e : *expanded) {
            out.push_back(std::move(e));
            out_kinds.push_back(SigmaValue::Kind::kString);
          }
        }
        values = std::move(out);
        kinds = std::move(out_kinds);
      } else if (m == "minute" || m == "hour" || m == "day" || m == "week" || m == "month" || m == "year") {
        part = m == "minute" ? TimePart::kMinute : m == "hour" ? TimePart::kHour : m == "day" ? TimePart::kDay
             : m == "week" ? TimePart::kWeek : m == "month" ? TimePart::kMonth : TimePart::kYear;
      } else {
        return fail(Severity::kError, "unknown modifier '" + m + "'");
      }
    }

    std::vector<std::uint32_t> kids;
    if (has_null) {
      Pred p;
      p.kind = PK::kNull;
      p.slot = slot;
      p.label = "null";
      kids.push_back(DirectPred(std::move(p)));
    }
    if (type == Type::kExists) {
      if (item.values.size() != 1 || item.values[0].kind != SigmaValue::Kind::kBool)
        return fail(Severity::kError, "'exists' needs the value true or false");
      Pred p;
      p.kind = PK::kExists;
      p.slot = slot;
      p.aux = IEq(item.values[0].text, "true") ? 1 : 0;
      p.label = p.aux ? "exists" : "not exists";
      return DirectPred(std::move(p));
    }
    for (std::size_t vi = 0; vi < values.size(); ++vi) {
      const Atoms& v = values[vi];
      const std::string label = AtomsText(v);
      if (type == Type::kCidr) {
        const std::string text = LiteralText(v);
        const auto slash = text.find('/');
        auto ip = event::IpAddress::Parse(text.substr(0, slash));
        int prefix = ip && ip->is_v4() ? 32 : 128;
        if (slash != std::string::npos) {
          prefix = -1;
          try {
            std::size_t used = 0;
            prefix = std::stoi(text.substr(slash + 1), &used);
            if (used != text.size() - slash - 1) prefix = -1;
          } catch (...) {
          }
        }
        if (!ip || prefix < 0 || prefix > (ip->is_v4() ? 32 : 128))
          return fail(Severity::kError, "invalid cidr value '" + text + "'");
        Pred p;
        p.kind = PK::kCidr;
        p.slot = slot;
        p.net = *ip;
        p.prefix = prefix;
        p.label = text;
        kids.push_back(DirectPred(std::move(p)));
      } else if (type == Type::kFieldRef) {
        std::string name = AtomsText(values[vi]);
        while (!name.empty() && name.front() == '*') name.erase(name.begin());
        while (!name.empty() && name.back() == '*') name.pop_back();
        Pred p;
        p.kind = PK::kFieldRef;
        p.slot = slot;
        p.aux = SlotFor(name, entry, bucket);
        p.cased = cased;
        p.star_before = star_before;
        p.star_after = star_after;
        p.label = "fieldref " + name;
        kids.push_back(DirectPred(std::move(p)));
      } else if (part || cmp) {
        const std::string text = LiteralText(v);
        Value num = Value::String(text);
        auto as_int = num.AsInt();
        auto as_float = num.AsFloat();
        if (!as_int && !as_float) return fail(Severity::kError, "'" + text + "' is not a number");
        Pred p;
        p.kind = part ? PK::kTimePart : PK::kCompare;
        p.slot = slot;
        p.part = part.value_or(TimePart::kMinute);
        p.cmp = cmp.value_or(Cmp::kEq);
        p.value = as_int ? Value::Int(*as_int) : Value::Float(*as_float);
        p.label = text;
        kids.push_back(DirectPred(std::move(p)));
      } else if (regex) {
        auto n = RegexPred(slot, LiteralText(v), re_i, re_m, re_s, LiteralText(v));
        if (!n.ok()) return fail(Severity::kUnsupported, n.error().message());
        kids.push_back(*n);
      } else if (kinds[vi] == SigmaValue::Kind::kFloat && AllLiteral(v)) {
        Pred p;
        p.kind = PK::kEquals;
        p.slot = slot;
        p.value = Value::Float(*Value::String(LiteralText(v)).AsFloat());
        p.label = label;
        kids.push_back(DirectPred(std::move(p)));
      } else {
        const std::uint32_t n = StringPred(slot, v, cased, kinds[vi], label);
        if (neq) {
          if (c_.preds[c_.nodes[n].a].kind != PK::kIndexed)
            return fail(Severity::kUnsupported, "'neq' with a value that matches anything");
          Pred p;
          p.kind = PK::kNeq;
          p.slot = slot;
          p.aux = c_.nodes[n].a;
          p.label = "neq " + label;
          kids.push_back(DirectPred(std::move(p)));
        } else {
          kids.push_back(n);
        }
      }
    }
    if (kids.empty()) return AddNode(NodeOp::kFalse);
    // neq over a list means "none of these values".
    return AddList(all || neq ? NodeOp::kAnd : NodeOp::kOr, kids);
  }

  Result<std::vector<Atoms>> Expand(const Atoms& v) {
    std::vector<Atoms> out{Atoms{}};
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '%') {
        std::size_t j = i + 1;
        while (j < v.size() && v[j] >= 0 && (std::isalnum(v[j]) || v[j] == '_' || v[j] == '-')) ++j;
        if (j < v.size() && v[j] == '%' && j > i + 1) {
          std::string name;
          for (std::size_t k = i + 1; k < j; ++k) name += static_cast<char>(v[k]);
          auto it = opt_.placeholders.find(name);
          if (it == opt_.placeholders.end() || it->second.empty())
            return Error(ErrorCode::kNotFound, "placeholder %" + name + "% has no configured values (detect.placeholders)");
          std::vector<Atoms> next;
          for (const auto& prefix : out)
            for (const auto& val : it->second) {
              Atoms a = prefix;
              Atoms add = ParseSigmaString(val);
              a.insert(a.end(), add.begin(), add.end());
              next.push_back(std::move(a));
            }
          out = std::move(next);
          i = j;
          continue;
        }
      }
      for (auto& a : out) a.push_back(v[i]);
    }
    return out;
  }

  // Compiles a detection's identifiers and condition(s); returns the root node.
  Result<std::uint32_t> CompileDetection(const Detection& det, const LogsourceEntry* entry, std::uint32_t bucket,
                                         SourcePos& err_pos) {
    std::vector<std::pair<std::string, std::uint32_t>> ids;
    for (const auto& sid : det.identifiers) {
      std::vector<std::uint32_t> alts;
      for (const auto& alt : sid.alternatives) {
        std::vector<std::uint32_t> items;
        for (const auto& item : alt) {
          auto n = CompileItem(item, entry, bucket);
          if (!n.ok()) {
            err_pos = item.pos;
            return Error(ErrorCode::kInvalidArgument,
                         "'" + sid.name + "' field '" + (item.field.empty() ? "(keywords)" : item.field) +
                             "': " + n.error().message());
          }
          items.push_back(*n);
        }
        alts.push_back(AddList(NodeOp::kAnd, items));
      }
      ids.push_back({sid.name, AddList(NodeOp::kOr, alts)});
    }
    std::vector<std::uint32_t> roots;
    for (std::size_t ci = 0; ci < det.conditions.size(); ++ci) {
      auto ast = ParseCondition(det.conditions[ci]);
      if (!ast.ok()) {
        err_pos = det.condition_pos[ci];
        last_severity_ = ast.error().code() == ErrorCode::kInvalidArgument ? Severity::kUnsupported : Severity::kError;
        return Error(ErrorCode::kParse, "condition: " + ast.error().message());
      }
      std::string why;
      const std::uint32_t root = CondToNode(**ast, ids, why);
      if (!why.empty()) {
        err_pos = det.condition_pos[ci];
        last_severity_ = Severity::kError;
        return Error(ErrorCode::kParse, "condition: " + why);
      }
      roots.push_back(root);
    }
    return AddList(NodeOp::kOr, roots);
  }

  std::uint32_t CondToNode(const CondNode& n, const std::vector<std::pair<std::string, std::uint32_t>>& ids,
                           std::string& why) {
    switch (n.op) {
      case CondOp::kIdentifier: {
        for (const auto& [name, node] : ids)
          if (name == n.name) return node;
        why = "column " + std::to_string(n.column) + ": unknown search identifier '" + n.name + "'";
        return 0;
      }
      case CondOp::kOneOf:
      case CondOp::kAllOf: {
        std::vector<std::uint32_t> kids;
        for (const auto& [name, node] : ids) {
          if (n.them ? name.rfind('_', 0) == 0 : !MatchIdentifierPattern(n.name, name)) continue;
          kids.push_back(node);
        }
        if (kids.empty()) {
          why = "column " + std::to_string(n.column) + ": '" + n.name + "' matches no search identifier";
          return 0;
        }
        return AddList(n.op == CondOp::kOneOf ? NodeOp::kOr : NodeOp::kAnd, kids);
      }
      case CondOp::kNot: return AddNode(NodeOp::kNot, CondToNode(*n.kids[0], ids, why));
      case CondOp::kAnd:
      case CondOp::kOr: {
        std::vector<std::uint32_t> kids;
        for (const auto& k : n.kids) kids.push_back(CondToNode(*k, ids, why));
        return AddList(n.op == CondOp::kAnd ? NodeOp::kAnd : NodeOp::kOr, kids);
      }
    }
    return 0;
  }

  // A set of predicates at least one of which holds whenever the node holds; nullopt when none
  // can be given (a negation, an always-true node, a non-indexed predicate).
  std::optional<std::vector<std::uint32_t>> Triggers(std::uint32_t node) {
    const Node& n = c_.nodes[node];
    switch (n.op) {
      case NodeOp::kPred:
        if (c_.preds[n.a].kind == PK::kIndexed) return std::vector<std::uint32_t>{n.a};
        return std::nullopt;
      case NodeOp::kFalse: return std::vector<std::uint32_t>{};
      case NodeOp::kTrue:
      case NodeOp::kNot: return std::nullopt;
      case NodeOp::kAnd: {
        std::optional<std::vector<std::uint32_t>> best;
        for (std::uint32_t i = n.a; i < n.b; ++i) {
          auto t = Triggers(c_.kids[i]);
          if (t && (!best || Score(*t) < Score(*best))) best = std::move(t);
        }
        return best;
      }
      case NodeOp::kOr: {
        std::vector<std::uint32_t> all;
        for (std::uint32_t i = n.a; i < n.b; ++i) {
          auto t = Triggers(c_.kids[i]);
          if (!t) return std::nullopt;
          all.insert(all.end(), t->begin(), t->end());
        }
        std::sort(all.begin(), all.end());
        all.erase(std::unique(all.begin(), all.end()), all.end());
        return all;
      }
    }
    return std::nullopt;
  }

  // Lower is a better trigger set: few predicates, and not ones that fire on most events of their
  // logsource (exact values of very common fields such as EventID count as weak).
  std::size_t Score(const std::vector<std::uint32_t>& t) const {
    std::size_t s = 0;
    for (std::uint32_t p : t) {
      const Pred& pr = c_.preds[p];
      const Slot& sl = c_.slots[pr.slot];
      const bool weak = sl.sigma_name == "EventID" || sl.sigma_name == "Channel" || sl.sigma_name == "Provider_Name";
      s += weak ? 1000 : 1;
    }
    return s;
  }

  const LogsourceMap& ls() const { return ls_; }
  Severity last_severity_ = Severity::kError;

  CompiledImpl& c_;

 private:
  const LogsourceMap& ls_;
  const CompileOptions& opt_;
  event::FieldTable& table_;
  std::map<Logsource, std::uint32_t> bucket_by_key_;
  std::unordered_map<std::string, std::uint32_t> slot_by_key_;
  std::unordered_map<std::uint32_t, std::uint32_t> keyword_slot_by_bucket_;
  std::unordered_map<std::string, std::uint32_t> pred_by_key_;
  std::unordered_map<std::uint32_t, std::uint32_t> pred_node_;
};

// Builds the Hyperscan databases of every slot (a literal one and an expression one), in
// parallel. A literal set Hyperscan rejects falls back to expressions; an expression Hyperscan
// rejects at database build time (e.g. too large) moves to RE2.
void BuildDatabases(CompiledImpl& c, int threads, std::vector<Problem>& problems, std::mutex& mu) {
  std::vector<std::uint32_t> work;
  for (std::uint32_t s = 0; s < c.slots.size(); ++s)
    if (!c.slots[s].patterns.empty() || !c.slots[s].literals.empty()) work.push_back(s);
  // Most expensive first (expressions cost far more than literals) so that the threads finish
  // together.
  auto cost = [&](std::uint32_t s) { return c.slots[s].patterns.size() * 20 + c.slots[s].literals.size(); };
  std::sort(work.begin(), work.end(), [&](auto a, auto b) { return cost(a) > cost(b); });
  std::atomic<std::size_t> next{0};
  std::vector<std::pair<std::uint32_t, std::string>> fallbacks;  // pred, expression
  auto build_literals = [&](Slot& slot) {
    std::vector<const char*> texts;
    std::vector<std::size_t> lens;
    std::vector<unsigned> flags, ids;
    for (std::size_t i = 0; i < slot.literals.size(); ++i) {
      texts.push_back(slot.literals[i].text.data());
      lens.push_back(slot.literals[i].text.size());
      flags.push_back(slot.literals[i].flags);
      ids.push_back(static_cast<unsigned>(i));
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* err = nullptr;
    if (hs_compile_lit_multi(texts.data(), flags.data(), ids.data(), lens.data(), static_cast<unsigned>(texts.size()),
                             HS_MODE_BLOCK, nullptr, &db, &err) == HS_SUCCESS) {
      slot.lit_db = db;
      return;
    }
    if (err) hs_free_compile_error(err);
    // Fall back to expressions, once per predicate (windash forms share one expression).
    std::unordered_set<std::uint32_t> done;
    for (const auto& l : slot.literals)
      if (done.insert(l.pred).second)
        slot.patterns.push_back(
            {l.expr, HS_FLAG_DOTALL | HS_FLAG_SINGLEMATCH | (l.flags & HS_FLAG_CASELESS), l.pred});
    slot.literals.clear();
  };
  auto worker = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= work.size()) return;
      Slot& slot = c.slots[work[i]];
      if (!slot.literals.empty()) build_literals(slot);
      for (;;) {
        std::vector<const char*> exprs;
        std::vector<unsigned> flags, ids;
        for (const auto& p : slot.patterns) {
          exprs.push_back(p.expr.c_str());
          flags.push_back(p.flags);
          ids.push_back(p.pred);
        }
        if (exprs.empty()) break;
        hs_database_t* db = nullptr;
        hs_compile_error_t* err = nullptr;
        const hs_error_t rc = hs_compile_multi(exprs.data(), flags.data(), ids.data(),
                                               static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &db, &err);
        if (rc == HS_SUCCESS) {
          slot.db = db;
          break;
        }
        const int bad = err ? err->expression : -1;
        std::string msg = err && err->message ? err->message : "unknown error";
        if (err) hs_free_compile_error(err);
        if (bad < 0 || bad >= static_cast<int>(slot.patterns.size())) {
          std::lock_guard lock(mu);
          problems.push_back({Severity::kError, {}, "", "Hyperscan failed on field '" + slot.sigma_name + "': " + msg});
          break;
        }
        {
          std::lock_guard lock(mu);
          fallbacks.push_back({slot.patterns[bad].pred, slot.patterns[bad].expr});
        }
        slot.patterns.erase(slot.patterns.begin() + bad);
      }
    }
  };
  const int n = std::max(1, std::min<int>(threads, static_cast<int>(work.size())));
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (const auto& [pred, expr] : fallbacks) {
    Pred& p = c.preds[pred];
    RE2::Options o;
    o.set_log_errors(false);
    o.set_case_sensitive(p.cased);
    o.set_dot_nl(true);
    auto rx = std::make_unique<RE2>(expr, o);
    p.kind = PK::kRe2;
    p.aux = static_cast<std::uint32_t>(c.regexes.size());
    c.regexes.push_back(std::move(rx));
  }
  for (auto& s : c.slots) c.hs_dbs += (s.db ? 1 : 0) + (s.lit_db ? 1 : 0);
  if (!c.keyword_slots.empty()) {
    // One separator for all keyword slots (they scan the same joined text). Prefer control bytes,
    // which values rarely hold.
    bool used[256] = {};
    for (std::uint32_t ks : c.keyword_slots)
      for (const auto* list : {&c.slots[ks].literals, &c.slots[ks].single_bytes})
        for (const auto& l : *list)
          for (unsigned char ch : l.text) {
            used[ch] = true;
            if (l.flags & HS_FLAG_CASELESS) used[static_cast<unsigned char>(Lower(static_cast<char>(ch)))] = true;
            if ((l.flags & HS_FLAG_CASELESS) && ch >= 'a' && ch <= 'z') used[ch - 32] = true;
          }
    for (int b : {0x1F, 0x1E, 0x1D, 0x1C, 0x01, 0x00})
      if (!used[b]) {
        c.kw_separator = b;
        break;
      }
    for (int b = 0; b < 256 && c.kw_separator < 0; ++b)
      if (!used[b]) c.kw_separator = b;
  }
}

// Second-level index of the source checks (CompiledImpl::AltChecks): per discriminator value, the
// checks whose second condition is on the slot most of them use, by that condition's values.
void IndexSourceChecks(CompiledImpl& c) {
  for (auto& d : c.discriminators)
    for (auto& [value, alt] : d.alts) {
      std::unordered_map<std::uint32_t, std::size_t> by_slot;
      auto exact_second = [&c](std::uint32_t chk) {
        const auto& conds = c.checks[chk].conds;
        return conds.size() >= 2 &&
               std::find(conds[1].second.begin(), conds[1].second.end(), "*") == conds[1].second.end();
      };
      for (std::uint32_t chk : alt.checks)
        if (exact_second(chk)) ++by_slot[c.checks[chk].conds[1].first];
      std::uint32_t best = kNone;
      std::size_t best_n = 1;
      for (const auto& [slot, n] : by_slot)
        if (n > best_n || (n == best_n && best != kNone && slot < best)) best = slot, best_n = n;
      if (best == kNone) continue;
      alt.sub_slot = best;
      std::vector<std::uint32_t> rest;
      for (std::uint32_t chk : alt.checks) {
        if (exact_second(chk) && c.checks[chk].conds[1].first == best) {
          for (const auto& v : c.checks[chk].conds[1].second) alt.sub[v].push_back(chk);
        } else {
          rest.push_back(chk);
        }
      }
      alt.checks = std::move(rest);
    }
}

// ISO 8601 week number of a civil date.
int IsoWeek(std::int64_t days) {
  // 1970-01-01 was a Thursday. weekday: Monday = 0.
  const int wd = static_cast<int>(((days % 7) + 7 + 3) % 7);
  const std::int64_t thursday = days - wd + 3;
  std::int64_t y;
  unsigned m, d;
  core::CivilFromDays(thursday, y, m, d);
  const std::int64_t jan1 = core::DaysFromCivil(y, 1, 1);
  return static_cast<int>((thursday - jan1) / 7 + 1);
}

}  // namespace

// ---- RuleSet ---------------------------------------------------------------------------------------

RuleSet::RuleSet() : impl_(std::make_unique<CompiledImpl>()) {}
RuleSet::~RuleSet() = default;

std::size_t RuleSet::predicate_count() const { return impl_->preds.size(); }
std::size_t RuleSet::hyperscan_databases() const { return impl_->hs_dbs; }
std::size_t RuleSet::re2_patterns() const { return impl_->regexes.size(); }

std::ptrdiff_t RuleSet::Find(std::string_view id_or_name) const {
  auto it = by_id_.find(id_or_name);
  return it == by_id_.end() ? -1 : static_cast<std::ptrdiff_t>(it->second);
}

std::shared_ptr<RuleSet> RuleSet::Compile(std::vector<SigmaDocument> docs, const LogsourceMap& logsources,
                                          const CompileOptions& options, std::vector<Problem>& problems) {
  std::shared_ptr<RuleSet> set(new RuleSet());
  CompiledImpl& c = *set->impl_;
  Compiler comp(c, logsources, options);

  // Collector: filters by target, duplicates, correlations aside.
  std::map<std::string, std::vector<const SigmaDocument*>> filters_for;
  std::set<std::string> seen_ids;
  std::vector<const SigmaDocument*> rules;
  for (const auto& d : docs) {
    if (!d.id.empty() && !seen_ids.insert(d.id).second) {
      problems.push_back({Severity::kError, d.pos, d.id, "duplicate rule id; the later document is ignored"});
      continue;
    }
    if (d.kind == DocKind::kFilter) {
      for (const auto& target : d.filter->rules) filters_for[target].push_back(&d);
    } else if (d.kind == DocKind::kCorrelation) {
      set->correlations_.push_back(d);
    } else {
      rules.push_back(&d);
    }
  }
  std::set<const SigmaDocument*> used_filters;

  for (const SigmaDocument* d : rules) {
    bool mapped = true;
    const std::uint32_t bucket = comp.BucketFor(d->logsource, mapped);
    const LogsourceEntry* entry = c.buckets[bucket].entry;
    SourcePos err_pos = d->pos;
    const std::string rid = d->id.empty() ? d->title : d->id;
    auto root = comp.CompileDetection(d->detection, entry, bucket, err_pos);
    if (!root.ok()) {
      problems.push_back({comp.last_severity_, err_pos, rid, root.error().message()});
      continue;
    }
    std::vector<std::uint32_t> parts{*root};
    bool filter_failed = false;
    for (const std::string* key : {&d->id, &d->name}) {
      if (key->empty()) continue;
      auto it = filters_for.find(*key);
      if (it == filters_for.end()) continue;
      for (const SigmaDocument* f : it->second) {
        auto fr = comp.CompileDetection(f->filter->detection, entry, bucket, err_pos);
        if (!fr.ok()) {
          problems.push_back({comp.last_severity_, err_pos, f->id.empty() ? f->title : f->id,
                              "filter for " + rid + ": " + fr.error().message()});
          filter_failed = true;
          continue;
        }
        used_filters.insert(f);
        parts.push_back(*fr);
      }
    }
    if (filter_failed) continue;
    const std::uint32_t rule_root = comp.AddList(NodeOp::kAnd, parts);
    if (!mapped)
      problems.push_back({Severity::kWarning, d->pos, rid,
                          "no logsource mapping for " + d->logsource.ToString() +
                              (c.buckets[bucket].entry
                                   ? "; the rule sees only events whose event.module, observer.product, "
                                     "observer.vendor or event.dataset names it"
                                   : "; the rule is evaluated on every event")});
    const std::uint32_t r = static_cast<std::uint32_t>(c.rules.size());
    c.rules.push_back({rule_root, bucket});
    RuleInfo info;
    info.id = rid;
    info.name = d->name;
    info.title = d->title;
    info.level = d->level.empty() ? "medium" : d->level;
    info.status = d->status;
    info.description = d->description;
    info.tags = d->tags;
    info.logsource = d->logsource;
    info.file = d->file;
    info.pos = d->pos;
    info.mapped_logsource = mapped;
    info.source_text = d->source_text;
    set->by_id_[info.id] = r;
    if (!d->name.empty()) set->by_id_[d->name] = r;
    set->infos_.push_back(std::move(info));
  }
  for (const auto& [target, fs] : filters_for)
    for (const SigmaDocument* f : fs)
      if (!used_filters.count(f) && set->Find(target) < 0)
        problems.push_back({Severity::kWarning, f->filter->pos, f->id.empty() ? f->title : f->id,
                            "filter names rule '" + target + "', which is not loaded"});

  IndexSourceChecks(c);

  // Triggers.
  std::vector<std::vector<std::uint32_t>> by_pred(c.preds.size());
  for (std::uint32_t r = 0; r < c.rules.size(); ++r) {
    auto t = comp.Triggers(c.rules[r].root);
    if (!t) {
      c.buckets[c.rules[r].bucket].always_rules.push_back(r);
      continue;
    }
    for (std::uint32_t p : *t) by_pred[p].push_back(r);
  }
  c.trig_begin.assign(c.preds.size() + 1, 0);
  for (std::size_t p = 0; p < by_pred.size(); ++p) {
    c.trig_begin[p] = static_cast<std::uint32_t>(c.trig_rules.size());
    c.trig_rules.insert(c.trig_rules.end(), by_pred[p].begin(), by_pred[p].end());
  }
  c.trig_begin[c.preds.size()] = static_cast<std::uint32_t>(c.trig_rules.size());

  // Event field -> slots.
  event::FieldTable& table = options.field_table ? *options.field_table : event::DefaultFieldTable();
  c.field_head.assign(table.size() * 2 + 2, kNone);
  for (std::uint32_t s = 0; s < c.slots.size(); ++s) {
    const auto& refs = c.slots[s].refs;
    for (std::uint32_t rank = 0; rank < refs.size(); ++rank) {
      const std::size_t key = refs[rank].first.value * 2u + (refs[rank].second == FieldSpace::kOriginal ? 1u : 0u);
      if (key >= c.field_head.size()) continue;
      c.links.push_back({s, rank, c.field_head[key]});
      c.field_head[key] = static_cast<std::uint32_t>(c.links.size() - 1);
    }
  }

  std::mutex mu;
  const int threads = options.compile_threads > 0 ? options.compile_threads
                                                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  BuildDatabases(c, threads, problems, mu);
  for (auto& s : c.slots)
    for (hs_database_t* db : {s.db, s.lit_db})
      if (db && hs_alloc_scratch(db, &c.proto_scratch) != HS_SUCCESS)
        problems.push_back({Severity::kError, {}, "", "Hyperscan scratch allocation failed"});

  set->plan_ = CompileCorrelations(set->correlations_, *set, logsources, table, problems);

  const std::size_t n = set->infos_.size();
  set->stats_ = std::make_unique<RuleStats[]>(n);
  set->enabled_ = std::make_unique<std::atomic<bool>[]>(n);
  for (std::size_t i = 0; i < n; ++i) set->enabled_[i].store(true);
  return set;
}

// ---- Matcher ----------------------------------------------------------------------------------------

struct Matcher::State {
  const CompiledImpl* c = nullptr;
  std::uint32_t gen = 0;
  std::vector<std::uint32_t> slot_stamp, slot_rank;
  std::vector<const Value*> slot_val;
  std::vector<std::uint32_t> touched;
  std::vector<std::uint32_t> bucket_stamp, active;
  std::vector<std::uint32_t> fired, dstamp;
  std::vector<std::uint8_t> dval;
  std::vector<std::uint32_t> rule_stamp, candidates;
  std::vector<std::uint64_t> evals, hits, sampled_ns, samples;
  hs_scratch_t* scratch = nullptr;
  std::string lower;
  std::string text_copy;
  event::TextBuffer buf, buf2;
  const event::Event* event = nullptr;
  std::uint64_t sample_counter = 0;

  void Fire(std::uint32_t p) {
    if (fired[p] == gen) return;
    fired[p] = gen;
    for (std::uint32_t i = c->trig_begin[p]; i < c->trig_begin[p + 1]; ++i) {
      const std::uint32_t r = c->trig_rules[i];
      if (rule_stamp[r] == gen || bucket_stamp[c->rules[r].bucket] != gen) continue;
      rule_stamp[r] = gen;
      candidates.push_back(r);
    }
  }

  const Value* SlotValue(std::uint32_t slot) const { return slot_stamp[slot] == gen ? slot_val[slot] : nullptr; }

  static int OnHsMatch(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
    static_cast<State*>(ctx)->Fire(id);
    return 0;
  }

  // `text` case-folded into the reusable buffer (no allocation once it has grown).
  std::string_view Lowered(std::string_view text) {
    if (lower.size() < text.size()) lower.resize(text.size());
    char* out = lower.data();
    for (std::size_t i = 0; i < text.size(); ++i) out[i] = Lower(text[i]);
    return std::string_view(out, text.size());
  }

  void Lookup(const TextIndex& index, std::string_view key) {
    auto it = index.find(key);
    if (it != index.end())
      for (std::uint32_t p : it->second) Fire(p);
  }

  // Literal matches: check the anchors on the end offset (a literal's length is fixed).
  // A prefilter piece's value is matched on the whole text (once: the piece is SINGLEMATCH).
  const HsLiteral* lits = nullptr;
  std::string_view scan_text;
  static int OnLitMatch(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
    State& st = *static_cast<State*>(ctx);
    const HsLiteral& l = st.lits[id];
    if ((l.anchors & kAnchorStart) && to != l.text.size()) return 0;
    if ((l.anchors & kAnchorEnd) && to != st.scan_text.size()) return 0;
    if (l.glob != kNone &&
        (st.fired[l.pred] == st.gen || !GlobMatch(st.c->globs[l.glob], st.scan_text, !(l.flags & HS_FLAG_CASELESS))))
      return 0;
    st.Fire(l.pred);
    return 0;
  }

  void ScanText(const Slot& slot, std::string_view text) {
    if (slot.lit_db) {
      lits = slot.literals.data();
      scan_text = text;
      hs_scan(slot.lit_db, text.data(), static_cast<unsigned>(text.size()), 0, scratch, &State::OnLitMatch, this);
    }
    if (slot.db)
      hs_scan(slot.db, text.data(), static_cast<unsigned>(text.size()), 0, scratch, &State::OnHsMatch, this);
    if (!slot.single_bytes.empty()) ScanSingleBytes(slot, text);
  }

  void ScanSingleBytes(const Slot& slot, std::string_view text) {
    for (const HsLiteral& l : slot.single_bytes) {
      if (fired[l.pred] == gen) continue;
      const unsigned char b = static_cast<unsigned char>(l.text[0]);
      bool found = std::memchr(text.data(), b, text.size()) != nullptr;
      if (!found && (l.flags & HS_FLAG_CASELESS) && std::isalpha(b))
        found = std::memchr(text.data(), b ^ 0x20, text.size()) != nullptr;
      if (found) Fire(l.pred);
    }
  }

  // Keywords: the string values of the event, each followed by a separator byte that no keyword
  // literal contains (CompiledImpl::kw_separator), are scanned by the literal database in one call
  // (a call per value costs more than the scan itself). A literal cannot span a separator, so its
  // first occurrence lies inside one value; a prefilter piece's value is matched on the value
  // that holds the piece (kw_ends: end offset of each value, ascending).
  std::string kw_text;
  std::vector<std::uint32_t> kw_ends;
  static int OnKeywordMatch(unsigned id, unsigned long long, unsigned long long to, unsigned, void* ctx) {
    State& st = *static_cast<State*>(ctx);
    const HsLiteral& l = st.lits[id];
    if (st.fired[l.pred] == st.gen) return 0;
    if (l.glob != kNone) {
      const auto it = std::lower_bound(st.kw_ends.begin(), st.kw_ends.end(), static_cast<std::uint32_t>(to));
      if (it == st.kw_ends.end()) return 0;
      const std::size_t begin = it == st.kw_ends.begin() ? 0 : *(it - 1) + 1;
      const std::string_view value(st.kw_text.data() + begin, *it - begin);
      if (!GlobMatch(st.c->globs[l.glob], value, !(l.flags & HS_FLAG_CASELESS))) return 0;
    }
    st.Fire(l.pred);
    return 0;
  }

  // The joined text of the event's string values (built once per event, for the first keyword
  // slot that needs it).
  bool kw_any_string = false;
  void BuildKeywordText(const event::Event& event) {
    kw_text.clear();
    kw_ends.clear();
    kw_any_string = false;
    for (std::size_t i = 0, n = event.field_count(); i < n; ++i) {
      const event::FieldView f = event.field(i);
      if (!f.value.is_string()) continue;
      kw_any_string = true;
      kw_text.append(f.value.str());
      kw_ends.push_back(static_cast<std::uint32_t>(kw_text.size()));
      kw_text += static_cast<char>(c->kw_separator);
    }
  }

  void ScanKeywords(const Slot& kw, const event::Event& event, bool& built) {
    // Every string value of a parsed event; the raw message only when nothing was parsed (in a
    // JSON raw message escaping would hide backslashes and quotes).
    if (c->kw_separator < 0) {
      bool any_string = false;
      for (std::size_t i = 0, n = event.field_count(); i < n; ++i) {
        const event::FieldView f = event.field(i);
        if (!f.value.is_string()) continue;
        any_string = true;
        ScanText(kw, f.value.str());
      }
      if (!any_string) ScanText(kw, event.raw());
      return;
    }
    if (!built) {
      BuildKeywordText(event);
      built = true;
    }
    if (!kw_any_string) {
      ScanText(kw, event.raw());
      return;
    }
    if (kw.db) {  // expressions may not cross a value's end: one call per value
      std::uint32_t begin = 0;
      for (std::uint32_t end : kw_ends) {
        hs_scan(kw.db, kw_text.data() + begin, end - begin, 0, scratch, &State::OnHsMatch, this);
        begin = end + 1;
      }
    }
    if (kw.lit_db && !kw_text.empty()) {
      lits = kw.literals.data();
      hs_scan(kw.lit_db, kw_text.data(), static_cast<unsigned>(kw_text.size()), 0, scratch, &State::OnKeywordMatch,
              this);
    }
    // The separator is none of these bytes either, so a byte found lies inside a value.
    if (!kw.single_bytes.empty()) ScanSingleBytes(kw, kw_text);
  }

  void ScanSlot(const Slot& slot, const Value& v) {
    if (v.is_null()) return;
    const std::string_view text = v.AsText(buf);
    if (!slot.exact_cs.empty()) Lookup(slot.exact_cs, text);
    if (!slot.exact_ci.empty()) {
      Lookup(slot.exact_ci, Lowered(text));
    }
    if (!slot.int_rule_number.empty() || (!slot.int_rule_text.empty() && v.is_number())) {
      if (auto i = v.AsInt()) {
        if (auto it = slot.int_rule_number.find(*i); it != slot.int_rule_number.end())
          for (std::uint32_t p : it->second) Fire(p);
        if (v.is_number())
          if (auto it = slot.int_rule_text.find(*i); it != slot.int_rule_text.end())
            for (std::uint32_t p : it->second) Fire(p);
      }
    }
    ScanText(slot, text);
  }

  bool SlotUsed(const Slot& slot) const {
    if (slot.all_buckets) return true;
    for (std::uint32_t b : slot.buckets)
      if (bucket_stamp[b] == gen) return true;
    return false;
  }

  // True when the conditions of `chk` from the `from`-th on hold (the earlier ones were matched
  // through the discriminator index).
  bool CheckSource(const SourceCheck& chk, std::size_t from = 0) {
    for (std::size_t i = from; i < chk.conds.size(); ++i) {
      const auto& [slot, values] = chk.conds[i];
      const Value* v = SlotValue(slot);
      if (!v || v->is_null()) return false;
      if (values.size() == 1 && values[0] == "*") continue;
      const std::string_view text = v->AsText(buf);
      bool any = false;
      for (const auto& want : values)
        if (IEq(text, want)) {
          any = true;
          break;
        }
      if (!any) return false;
    }
    return true;
  }

  void Activate(std::uint32_t b) {
    if (bucket_stamp[b] == gen) return;
    bucket_stamp[b] = gen;
    active.push_back(b);
  }

  bool EvalPred(std::uint32_t p) {
    const Pred& pr = c->preds[p];
    if (pr.kind == PK::kIndexed) return fired[p] == gen;
    if (dstamp[p] == gen) return dval[p] != 0;
    const bool v = ComputeDirect(pr);
    dstamp[p] = gen;
    dval[p] = v;
    return v;
  }

  bool ComputeDirect(const Pred& pr) {
    const Value* v = SlotValue(pr.slot);
    switch (pr.kind) {
      case PK::kIndexed: return false;
      case PK::kAny: return v && !v->is_null();
      case PK::kNull: return !v || v->is_null();
      case PK::kExists: return (v != nullptr) == (pr.aux == 1);
      case PK::kNeq: return v && !v->is_null() && fired[pr.aux] != gen;
      case PK::kRe2: {
        if (!v || v->is_null()) return false;
        const std::string_view t = v->AsText(buf);
        return RE2::PartialMatch(re2::StringPiece(t.data(), t.size()), *c->regexes[pr.aux]);
      }
      case PK::kCidr: {
        if (!v) return false;
        auto ip = v->AsIp();
        return ip && ip->InNetwork(pr.net, pr.prefix);
      }
      case PK::kEquals: return v && event::LooseEquals(*v, pr.value);
      case PK::kCompare: {
        if (!v) return false;
        const auto o = event::LooseCompare(*v, pr.value);
        switch (pr.cmp) {
          case Cmp::kLt: return o < 0;
          case Cmp::kLte: return o <= 0;
          case Cmp::kGt: return o > 0;
          case Cmp::kGte: return o >= 0;
          case Cmp::kEq: return o == 0;
        }
        return false;
      }
      case PK::kTimePart: {
        if (!v) return false;
        auto t = v->AsTime();
        if (!t) return false;
        const std::int64_t secs = t->seconds();
        const std::int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
        const std::int64_t sod = secs - days * 86400;
        std::int64_t y;
        unsigned m, d;
        core::CivilFromDays(days, y, m, d);
        std::int64_t part = 0;
        switch (pr.part) {
          case TimePart::kMinute: part = (sod / 60) % 60; break;
          case TimePart::kHour: part = sod / 3600; break;
          case TimePart::kDay: part = d; break;
          case TimePart::kWeek: part = IsoWeek(days); break;
          case TimePart::kMonth: part = m; break;
          case TimePart::kYear: part = y; break;
        }
        const auto o = event::LooseCompare(Value::Int(part), pr.value);
        switch (pr.cmp) {
          case Cmp::kLt: return o < 0;
          case Cmp::kLte: return o <= 0;
          case Cmp::kGt: return o > 0;
          case Cmp::kGte: return o >= 0;
          case Cmp::kEq: return o == 0;
        }
        return false;
      }
      case PK::kFieldRef: {
        const Value* o = SlotValue(pr.aux);
        if (!v || !o || v->is_null() || o->is_null()) return false;
        const std::string_view a = v->AsText(buf);
        const std::string_view b = o->AsText(buf2);
        auto eq = [&](std::string_view x, std::string_view y) { return pr.cased ? x == y : IEq(x, y); };
        if (pr.star_before && pr.star_after) {
          if (b.size() > a.size()) return false;
          for (std::size_t i = 0; i + b.size() <= a.size(); ++i)
            if (eq(a.substr(i, b.size()), b)) return true;
          return false;
        }
        if (pr.star_after) return a.size() >= b.size() && eq(a.substr(0, b.size()), b);
        if (pr.star_before) return a.size() >= b.size() && eq(a.substr(a.size() - b.size()), b);
        return eq(a, b) || (!v->is_string() && event::LooseEquals(*v, *o));
      }
    }
    return false;
  }

  bool Eval(std::uint32_t node) {
    const Node& n = c->nodes[node];
    switch (n.op) {
      case NodeOp::kPred: return EvalPred(n.a);
      case NodeOp::kTrue: return true;
      case NodeOp::kFalse: return false;
      case NodeOp::kNot: return !Eval(n.a);
      case NodeOp::kAnd:
        for (std::uint32_t i = n.a; i < n.b; ++i)
          if (!Eval(c->kids[i])) return false;
        return true;
      case NodeOp::kOr:
        for (std::uint32_t i = n.a; i < n.b; ++i)
          if (Eval(c->kids[i])) return true;
        return false;
    }
    return false;
  }

  void Explain(std::uint32_t node, std::vector<std::pair<std::string, std::string>>& out) {
    const Node& n = c->nodes[node];
    switch (n.op) {
      case NodeOp::kPred: {
        if (!EvalPred(n.a)) return;
        const Pred& pr = c->preds[n.a];
        const Slot& slot = c->slots[pr.slot];
        std::string value;
        if (slot.keyword) {
          value = pr.label;
        } else if (const Value* v = SlotValue(pr.slot)) {
          value = std::string(v->AsText(buf));
        } else {
          value = pr.kind == PK::kNull ? "null" : "";
        }
        for (const auto& [f, _] : out)
          if (f == slot.sigma_name) return;
        out.push_back({slot.sigma_name, std::move(value)});
        return;
      }
      case NodeOp::kAnd:
        for (std::uint32_t i = n.a; i < n.b; ++i) Explain(c->kids[i], out);
        return;
      case NodeOp::kOr:
        for (std::uint32_t i = n.a; i < n.b; ++i)
          if (Eval(c->kids[i])) {
            Explain(c->kids[i], out);
            return;
          }
        return;
      default: return;  // negations and constants say nothing about what matched
    }
  }
};

Matcher::Matcher(std::shared_ptr<const RuleSet> rules) : rules_(std::move(rules)), s_(std::make_unique<State>()) {
  const CompiledImpl& c = *rules_->impl_;
  State& s = *s_;
  s.c = &c;
  s.slot_stamp.assign(c.slots.size(), 0);
  s.slot_rank.assign(c.slots.size(), 0);
  s.slot_val.assign(c.slots.size(), nullptr);
  s.bucket_stamp.assign(c.buckets.size(), 0);
  s.fired.assign(c.preds.size(), 0);
  s.dstamp.assign(c.preds.size(), 0);
  s.dval.assign(c.preds.size(), 0);
  s.rule_stamp.assign(c.rules.size(), 0);
  s.evals.assign(c.rules.size(), 0);
  s.hits.assign(c.rules.size(), 0);
  s.sampled_ns.assign(c.rules.size(), 0);
  s.samples.assign(c.rules.size(), 0);
  s.lower.reserve(4096);
  s.candidates.reserve(c.rules.size());
  if (c.proto_scratch) hs_clone_scratch(c.proto_scratch, &s.scratch);
}

Matcher::~Matcher() {
  if (s_ && s_->scratch) hs_free_scratch(s_->scratch);
}

void Matcher::Match(const event::Event& event, std::vector<std::uint32_t>& out) {
  State& s = *s_;
  const CompiledImpl& c = *s.c;
  if (++s.gen == 0) {  // wrapped: every stamp is stale by construction once reset
    std::fill(s.slot_stamp.begin(), s.slot_stamp.end(), 0);
    std::fill(s.bucket_stamp.begin(), s.bucket_stamp.end(), 0);
    std::fill(s.fired.begin(), s.fired.end(), 0);
    std::fill(s.dstamp.begin(), s.dstamp.end(), 0);
    std::fill(s.rule_stamp.begin(), s.rule_stamp.end(), 0);
    s.gen = 1;
  }
  s.event = &event;
  s.touched.clear();
  s.active.clear();
  s.candidates.clear();

  // 1. The value of each slot: the first present of its event fields, by rank.
  const std::size_t heads = c.field_head.size();
  for (std::size_t i = 0, n = event.field_count(); i < n; ++i) {
    const event::FieldView f = event.field(i);
    const std::size_t key = f.id.value * 2u + (f.space == FieldSpace::kOriginal ? 1u : 0u);
    if (key >= heads) continue;
    for (std::uint32_t l = c.field_head[key]; l != kNone; l = c.links[l].next) {
      const auto& link = c.links[l];
      if (s.slot_stamp[link.slot] != s.gen) {
        s.slot_stamp[link.slot] = s.gen;
        s.slot_rank[link.slot] = link.rank;
        s.slot_val[link.slot] = &f.value;
        s.touched.push_back(link.slot);
      } else if (link.rank < s.slot_rank[link.slot]) {
        s.slot_rank[link.slot] = link.rank;
        s.slot_val[link.slot] = &f.value;
      }
    }
  }

  // 2. Active logsource buckets.
  for (std::uint32_t b : c.always_buckets) s.Activate(b);
  for (const auto& d : c.discriminators) {
    const Value* v = s.SlotValue(d.slot);
    if (!v || v->is_null()) continue;
    const std::string_view text = v->AsText(s.buf);
    auto it = d.alts.find(s.Lowered(text));
    if (it == d.alts.end()) continue;
    const CompiledImpl::AltChecks& alt = it->second;
    for (std::uint32_t chk : alt.checks)
      if (s.bucket_stamp[c.checks[chk].bucket] != s.gen && s.CheckSource(c.checks[chk], 1)) s.Activate(c.checks[chk].bucket);
    if (alt.sub_slot == kNone) continue;
    const Value* sv = s.SlotValue(alt.sub_slot);
    if (!sv || sv->is_null()) continue;
    auto sub = alt.sub.find(s.Lowered(sv->AsText(s.buf)));
    if (sub == alt.sub.end()) continue;
    for (std::uint32_t chk : sub->second)
      if (s.bucket_stamp[c.checks[chk].bucket] != s.gen && s.CheckSource(c.checks[chk], 2)) s.Activate(c.checks[chk].bucket);
  }
  for (std::uint32_t chk : c.unindexed_checks)
    if (s.bucket_stamp[c.checks[chk].bucket] != s.gen && s.CheckSource(c.checks[chk])) s.Activate(c.checks[chk].bucket);
  if (s.active.empty()) return;

  // 3. Scan the slots: exact maps and Hyperscan fire predicates, which nominate candidate rules.
  for (std::uint32_t slot : s.touched) {
    const Slot& sl = c.slots[slot];
    if (!sl.indexed() || !s.SlotUsed(sl)) continue;
    s.ScanSlot(sl, *s.slot_val[slot]);
  }
  bool keyword_text_built = false;
  for (std::uint32_t ks : c.keyword_slots) {
    const Slot& kw = c.slots[ks];
    if (kw.scanned() && s.SlotUsed(kw)) s.ScanKeywords(kw, event, keyword_text_built);
  }
  for (std::uint32_t b : s.active)
    for (std::uint32_t r : c.buckets[b].always_rules)
      if (s.rule_stamp[r] != s.gen) {
        s.rule_stamp[r] = s.gen;
        s.candidates.push_back(r);
      }

  // 4. Evaluate the candidates' conditions.
  std::sort(s.candidates.begin(), s.candidates.end());
  candidates_total_ += s.candidates.size();
  for (std::uint32_t r : s.candidates) {
    if (!rules_->enabled(r)) continue;
    ++s.evals[r];
    bool hit;
    if ((++s.sample_counter & 255) == 0) {
      const auto t0 = std::chrono::steady_clock::now();
      hit = s.Eval(c.rules[r].root);
      s.sampled_ns[r] += static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
      ++s.samples[r];
    } else {
      hit = s.Eval(c.rules[r].root);
    }
    if (hit) {
      ++s.hits[r];
      out.push_back(r);
    }
  }
}

std::vector<std::pair<std::string, std::string>> Matcher::Explain(const event::Event& event, std::uint32_t rule) {
  std::vector<std::pair<std::string, std::string>> out;
  MEDSOC_ASSERT(s_->event == &event);
  s_->Explain(s_->c->rules[rule].root, out);
  return out;
}

void Matcher::FlushStats() {
  State& s = *s_;
  for (std::size_t r = 0; r < s.evals.size(); ++r) {
    if (!s.evals[r]) continue;
    RuleStats& st = rules_->stats(r);
    st.evaluations.fetch_add(s.evals[r], std::memory_order_relaxed);
    st.hits.fetch_add(s.hits[r], std::memory_order_relaxed);
    st.sampled_ns.fetch_add(s.sampled_ns[r], std::memory_order_relaxed);
    st.samples.fetch_add(s.samples[r], std::memory_order_relaxed);
    s.evals[r] = s.hits[r] = s.sampled_ns[r] = s.samples[r] = 0;
  }
}

// ---- Loading --------------------------------------------------------------------------------------

void Summarize(std::size_t documents, std::vector<Problem> problems, LoadSummary& summary) {
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    return std::tie(a.pos.file, a.pos.line, a.pos.column) < std::tie(b.pos.file, b.pos.line, b.pos.column);
  });
  std::set<std::string> error_docs, unsupported_docs;
  for (const auto& p : problems) {
    const std::string key = p.pos.file + "\x1f" + (p.rule_id.empty() ? std::to_string(p.pos.line) : p.rule_id);
    if (p.severity == Severity::kError) error_docs.insert(key);
    else if (p.severity == Severity::kUnsupported) unsupported_docs.insert(key);
    else ++summary.warnings;
  }
  for (const auto& k : error_docs) unsupported_docs.erase(k);
  summary.documents = documents;
  summary.errors = error_docs.size();
  summary.unsupported = unsupported_docs.size();
  summary.problems = std::move(problems);
}

std::shared_ptr<RuleSet> LoadRules(const std::vector<std::string>& paths, const LogsourceMap& logsources,
                                   const CompileOptions& options, LoadSummary& summary) {
  ReadResult read = ReadSigmaPaths(paths);
  std::vector<Problem> problems = std::move(read.problems);
  std::size_t filters = 0;
  for (const auto& d : read.docs)
    if (d.kind == DocKind::kFilter) ++filters;
  const std::size_t read_docs = read.docs.size();
  auto set = RuleSet::Compile(std::move(read.docs), logsources, options, problems);
  Summarize(read_docs, std::move(problems), summary);
  summary.loaded = set->size() + set->correlation_plan().correlations.size() + filters;
  summary.documents = summary.loaded + summary.errors + summary.unsupported;
  return set;
}

}  // namespace medsoc::detect
