#include "store/events/tokenizer.h"

#include <sqlite3.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/time.h"
#include "event/value.h"
#include "store/events/tokenize_inl.h"

namespace medsoc::store::events {
namespace {

using tokenize_detail::CharClass;
using tokenize_detail::Classify;
using tokenize_detail::Decode;
using tokenize_detail::TokenizeImpl;

// ---- FTS5 glue ----------------------------------------------------------------------------------

struct Tok {};  // stateless

int TokCreate(void*, const char**, int, Fts5Tokenizer** out) {
  static Tok tok;
  *out = reinterpret_cast<Fts5Tokenizer*>(&tok);
  return SQLITE_OK;
}
void TokDelete(Fts5Tokenizer*) {}
int TokTokenize(Fts5Tokenizer*, void* ctx, int flags, const char* text, int n,
                int (*x_token)(void*, int, const char*, int, int, int)) {
  if (n <= 0 || text == nullptr) return SQLITE_OK;
  const bool query = (flags & FTS5_TOKENIZE_QUERY) != 0;
  return TokenizeImpl(std::string_view(text, static_cast<std::size_t>(n)), query,
                      [&](std::string_view t, int start, int end, bool colocated) {
                        return x_token(ctx, colocated ? FTS5_TOKEN_COLOCATED : 0, t.data(), static_cast<int>(t.size()),
                                       start, end);
                      });
}

// "medsoc_terms": the tokenizer of a partition's block term index (block.h). Its documents are
// terms already produced by BlockTerms, one per line; a query string is one term. Nothing is
// folded or split further.
int TermsTokenize(Fts5Tokenizer*, void* ctx, int, const char* text, int n,
                  int (*x_token)(void*, int, const char*, int, int, int)) {
  int start = 0;
  for (int i = 0; i <= n; ++i) {
    if (i < n && text[i] != '\n') continue;
    if (i > start) {
      if (int rc = x_token(ctx, 0, text + start, i - start, start, i); rc != SQLITE_OK) return rc;
    }
    start = i + 1;
  }
  return SQLITE_OK;
}

fts5_api* GetFts5Api(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, nullptr) != SQLITE_OK) return nullptr;
  sqlite3_bind_pointer(stmt, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
  sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  return api;
}

// ---- SQL functions ---------------------------------------------------------------------------------

void FnIp(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) return sqlite3_result_null(ctx);
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const int n = sqlite3_value_bytes(argv[0]);
  auto ip = event::IpAddress::Parse(std::string_view(p, static_cast<std::size_t>(n)));
  if (!ip) return sqlite3_result_null(ctx);
  sqlite3_result_blob(ctx, ip->bytes().data(), 16, SQLITE_TRANSIENT);
}

void FnNum(sqlite3_context* ctx, int, sqlite3_value** argv) {
  switch (sqlite3_value_type(argv[0])) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      return sqlite3_result_value(ctx, argv[0]);
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
      const int n = sqlite3_value_bytes(argv[0]);
      std::int64_t i = 0;
      auto r = std::from_chars(p, p + n, i);
      if (r.ec == std::errc() && r.ptr == p + n) return sqlite3_result_int64(ctx, i);
      double d = 0;
      auto rd = std::from_chars(p, p + n, d);
      if (n > 0 && rd.ec == std::errc() && rd.ptr == p + n && std::isfinite(d)) return sqlite3_result_double(ctx, d);
      return sqlite3_result_null(ctx);
    }
    default:
      return sqlite3_result_null(ctx);
  }
}

void FnTime(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) return sqlite3_result_null(ctx);
  const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const int n = sqlite3_value_bytes(argv[0]);
  auto t = core::ParseRfc3339(std::string_view(p, static_cast<std::size_t>(n)));
  if (!t.ok()) return sqlite3_result_null(ctx);
  sqlite3_result_int64(ctx, t->ns);
}

// medsoc_fts_match(message, raw, expr): FtsMatch over the two texts (NULL counts as empty).
void FnFtsMatch(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto text = [&](int i) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
    return p == nullptr ? std::string_view() : std::string_view(p, static_cast<std::size_t>(sqlite3_value_bytes(argv[i])));
  };
  sqlite3_result_int(ctx, FtsMatch(text(0), text(1), text(2)) ? 1 : 0);
}

// Whether the token sequence `q` occurs at consecutive positions of `text` (document mode), the
// last token as a prefix when `prefix`.
// Whether `needle` occurs in `text` with ASCII letters compared case-insensitively. Every token
// (lowercased ASCII, other bytes as written; truncated ones are prefixes) is such a substring of
// the text it came from, so a text without the phrase's first token cannot match it.
bool ContainsFolded(std::string_view text, std::string_view needle) {
  if (needle.empty()) return true;
  auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  const char first = needle[0];
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (fold(text[i]) != first) continue;
    std::size_t k = 1;
    while (k < needle.size() && fold(text[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

bool PhraseIn(std::string_view text, const std::vector<std::string>& q, bool prefix) {
  if (q.empty() || text.empty()) return false;
  if (!ContainsFolded(text, q[0])) return false;  // cheap rejection before tokenizing
  // Owned copies: word tokens are views into TokenizeImpl's scratch buffer.
  std::vector<std::pair<int, std::string>> owned;
  int pos = -1;
  TokenizeImpl(text, false, [&](std::string_view t, int, int, bool colocated) {
    if (!colocated) ++pos;
    owned.emplace_back(pos, std::string(t));
    return 0;
  });
  auto matches = [&](const std::string& tok, std::size_t j) {
    if (prefix && j + 1 == q.size()) return tok.compare(0, q[j].size(), q[j]) == 0;
    return tok == q[j];
  };
  // Positions ascend; colocated tokens share one.
  for (std::size_t i = 0; i < owned.size(); ++i) {
    if (!matches(owned[i].second, 0)) continue;
    const int p0 = owned[i].first;
    bool all = true;
    std::size_t k = i;
    for (std::size_t j = 1; j < q.size() && all; ++j) {
      while (k < owned.size() && owned[k].first < p0 + static_cast<int>(j)) ++k;
      bool found = false;
      for (std::size_t m = k; m < owned.size() && owned[m].first == p0 + static_cast<int>(j); ++m)
        if (matches(owned[m].second, j)) found = true;
      all = found;
    }
    if (all) return true;
  }
  return false;
}

}  // namespace

bool FtsMatch(std::string_view message, std::string_view raw, std::string_view expr) {
  // [column " : "] '"' phrase with "" for '"' '"' [" *"]
  bool message_only = false;
  if (expr.rfind("message : ", 0) == 0) {
    message_only = true;
    expr.remove_prefix(10);
  }
  bool prefix = false;
  if (expr.size() >= 2 && expr.substr(expr.size() - 2) == " *") {
    prefix = true;
    expr.remove_suffix(2);
  }
  if (expr.size() < 2 || expr.front() != '"' || expr.back() != '"') return false;
  expr = expr.substr(1, expr.size() - 2);
  std::string phrase;
  for (std::size_t i = 0; i < expr.size(); ++i) {
    phrase.push_back(expr[i]);
    if (expr[i] == '"' && i + 1 < expr.size() && expr[i + 1] == '"') ++i;
  }
  std::vector<std::string> q;
  TokenizeImpl(phrase, true, [&](std::string_view t, int, int, bool) {
    q.emplace_back(t);
    return 0;
  });
  if (q.empty()) return false;
  return PhraseIn(message, q, prefix) || (!message_only && PhraseIn(raw, q, prefix));
}

int Tokenize(std::string_view text, bool query, const TokenSink& emit) { return TokenizeImpl(text, query, emit); }

TokenSummary SummarizeTokens(std::string_view text) {
  TokenSummary s;
  bool cjk_single = false;
  TokenizeImpl(text, true, [&](std::string_view t, int, int, bool) {
    ++s.tokens;
    char32_t cp = 0;
    cjk_single = !t.empty() && static_cast<std::size_t>(Decode(t, 0, cp)) == t.size() && Classify(cp) == CharClass::kCjk;
    return 0;
  });
  s.single_cjk = s.tokens == 1 && cjk_single;
  return s;
}

Status RegisterEventFunctions(sqlite3* db) {
  fts5_api* api = GetFts5Api(db);
  if (api == nullptr) return Error(ErrorCode::kInternal, "sqlite: FTS5 is not available in this SQLite build");
  static fts5_tokenizer tokenizer{TokCreate, TokDelete, TokTokenize};
  int rc = api->xCreateTokenizer(api, "medsoc", nullptr, &tokenizer, nullptr);
  if (rc != SQLITE_OK) return Error(ErrorCode::kInternal, "sqlite: cannot register the medsoc tokenizer");
  static fts5_tokenizer terms{TokCreate, TokDelete, TermsTokenize};
  rc = api->xCreateTokenizer(api, "medsoc_terms", nullptr, &terms, nullptr);
  if (rc != SQLITE_OK) return Error(ErrorCode::kInternal, "sqlite: cannot register the medsoc_terms tokenizer");
  const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  struct Fn {
    const char* name;
    void (*fn)(sqlite3_context*, int, sqlite3_value**);
  };
  for (const Fn& f : {Fn{"medsoc_ip", FnIp}, Fn{"medsoc_num", FnNum}, Fn{"medsoc_time", FnTime}}) {
    rc = sqlite3_create_function_v2(db, f.name, 1, flags, nullptr, f.fn, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Error(ErrorCode::kInternal, std::string("sqlite: cannot register ") + f.name);
  }
  rc = sqlite3_create_function_v2(db, "medsoc_fts_match", 3, flags, nullptr, FnFtsMatch, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(ErrorCode::kInternal, "sqlite: cannot register medsoc_fts_match");
  return Ok();
}

}  // namespace medsoc::store::events
