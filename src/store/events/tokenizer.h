// The "medsoc" FTS5 tokenizer for event messages, and the SQL functions event queries use.
//
// Tokenizer: words are runs of ASCII letters and digits (lowercased) or of non-ASCII letters
// (kept as written); everything else separates. Runs of CJK characters (Han, kana, Hangul) are
// indexed as overlapping bigrams, so a two-character word such as 患者 matches inside 患者张三就诊
// without a dictionary. Indexing also emits the last character of a run, colocated with the last
// bigram, so a one-character search (run as a prefix query) finds a character at any position.
// Queries tokenize the same way minus that extra character, so a phrase of several characters is
// a phrase of consecutive bigrams. unicode61 would index a whole CJK run as one token (no
// substring search), and trigram cannot match anything shorter than three characters, which is
// why medsoc registers its own.
//
// A second tokenizer, "medsoc_terms", serves the block term index (block.h): one term per line,
// taken as written.
//
// Functions (deterministic, innocuous):
//   medsoc_ip(x)    16-byte IP key of an address text (query CIDR ranges), else NULL
//   medsoc_num(x)   x as a number when it is one (integers, reals, numeric text), else NULL
//   medsoc_time(x)  nanoseconds of an RFC 3339 text, else NULL
//   medsoc_fts_match(message, raw, expr)  FtsMatch below (1/0): the FTS index's answer for one row,
//                   used over the event store's unindexed tail
//
// Thread-safety: registration is per connection; the functions hold no state.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>

#include "core/result.h"

struct sqlite3;

namespace medsoc::store::events {

// Registers the tokenizers "medsoc" and "medsoc_terms" and the functions above on `db`.
Status RegisterEventFunctions(sqlite3* db);

// Calls `emit(token, start, end, colocated)` for each token of `text` (start/end: byte offsets in
// `text`) until it returns non-zero, which Tokenize then returns. `query` selects query mode.
using TokenSink = std::function<int(std::string_view token, int start, int end, bool colocated)>;
int Tokenize(std::string_view text, bool query, const TokenSink& emit);

struct TokenSummary {
  std::size_t tokens = 0;
  bool single_cjk = false;  // the text is one CJK character
};
TokenSummary SummarizeTokens(std::string_view text);

// Whether one row with FTS columns (message, raw) matches `expr`, an FTS5 expression as
// FtsExpression (sqlite_query.h) writes it: [message : ] "phrase" [*]. Gives the same answer as
// MATCH over the FTS5 index with this tokenizer: the phrase's query tokens at consecutive
// positions of one column's document tokens (colocated tokens share a position), the last one as
// a prefix with '*'.
bool FtsMatch(std::string_view message, std::string_view raw, std::string_view expr);

}  // namespace medsoc::store::events
