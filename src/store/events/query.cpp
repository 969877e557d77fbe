// Recursive-descent parser for the grammar in query.h. Works on bytes; columns are converted to
// code points only when an error is reported.
#include "store/events/query.h"

namespace medsoc::store::events {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsFieldStart(char c) { return IsAlpha(c) || c == '@' || c == '_'; }
bool IsFieldChar(char c) { return IsAlpha(c) || IsDigit(c) || c == '_' || c == '@' || c == '-' || c == '.'; }

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<std::unique_ptr<Node>> ParseAll() {
    SkipSpace();
    if (AtEnd()) return std::unique_ptr<Node>();
    MEDSOC_ASSIGN_OR_RETURN(auto node, ParseOr(nullptr, 0));
    SkipSpace();
    if (!AtEnd()) {
      if (s_[i_] == ')') return Err(i_, "unbalanced ')': no '(' before it");
      return Err(i_, "unexpected input");
    }
    return node;
  }

 private:
  // `field` is non-null inside field:( ... ): bare terms are values of that field.
  struct FieldContext {
    std::string name;
    int column;
  };

  Result<std::unique_ptr<Node>> ParseOr(const FieldContext* fc, int depth) {
    MEDSOC_ASSIGN_OR_RETURN(auto first, ParseAnd(fc, depth));
    std::vector<std::unique_ptr<Node>> parts;
    parts.push_back(std::move(first));
    while (true) {
      SkipSpace();
      if (!Keyword("OR")) break;
      const std::size_t at = i_;
      i_ += 2;
      SkipSpace();
      if (AtEnd() || s_[i_] == ')') return Err(at, "OR needs a term after it");
      MEDSOC_ASSIGN_OR_RETURN(auto next, ParseAnd(fc, depth));
      parts.push_back(std::move(next));
    }
    return Combine(NodeKind::kOr, std::move(parts));
  }

  Result<std::unique_ptr<Node>> ParseAnd(const FieldContext* fc, int depth) {
    MEDSOC_ASSIGN_OR_RETURN(auto first, ParseUnary(fc, depth));
    std::vector<std::unique_ptr<Node>> parts;
    parts.push_back(std::move(first));
    while (true) {
      SkipSpace();
      if (AtEnd() || s_[i_] == ')' || Keyword("OR")) break;
      if (Keyword("AND")) {
        const std::size_t at = i_;
        i_ += 3;
        SkipSpace();
        if (AtEnd() || s_[i_] == ')' || Keyword("OR") || Keyword("AND"))
          return Err(at, "AND needs a term after it");
      }
      MEDSOC_ASSIGN_OR_RETURN(auto next, ParseUnary(fc, depth));
      parts.push_back(std::move(next));
    }
    return Combine(NodeKind::kAnd, std::move(parts));
  }

  Result<std::unique_ptr<Node>> ParseUnary(const FieldContext* fc, int depth) {
    SkipSpace();
    if (Keyword("NOT")) {
      const std::size_t at = i_;
      i_ += 3;
      SkipSpace();
      if (AtEnd() || s_[i_] == ')') return Err(at, "NOT needs a term after it");
      if (depth + 1 > kMaxDepth) return Err(at, "query nested too deeply (limit " + std::to_string(kMaxDepth) + ")");
      MEDSOC_ASSIGN_OR_RETURN(auto child, ParseUnary(fc, depth + 1));
      auto node = std::make_unique<Node>();
      node->kind = NodeKind::kNot;
      node->column = ColumnOf(s_, at);
      node->children.push_back(std::move(child));
      return node;
    }
    return ParsePrimary(fc, depth);
  }

  Result<std::unique_ptr<Node>> ParsePrimary(const FieldContext* fc, int depth) {
    SkipSpace();
    if (AtEnd()) return Err(i_, "expected a term");
    const char c = s_[i_];
    if (c == '(') {
      const std::size_t open = i_;
      if (depth + 1 > kMaxDepth) return Err(open, "query nested too deeply (limit " + std::to_string(kMaxDepth) + ")");
      ++i_;
      SkipSpace();
      if (!AtEnd() && s_[i_] == ')') return Err(open, "empty parentheses");
      MEDSOC_ASSIGN_OR_RETURN(auto inner, ParseOr(fc, depth + 1));
      SkipSpace();
      if (AtEnd() || s_[i_] != ')') return Err(open, "'(' is not closed");
      ++i_;
      return inner;
    }
    if (c == ')') return Err(i_, "unexpected ')'");
    if (fc == nullptr && c != '"') {
      // field:value?
      std::size_t j = i_;
      if (IsFieldStart(s_[j])) {
        while (j < s_.size() && IsFieldChar(s_[j])) ++j;
        if (j < s_.size() && s_[j] == ':' && s_[j - 1] != '.') {
          FieldContext field{std::string(s_.substr(i_, j - i_)), ColumnOf(s_, i_)};
          i_ = j + 1;
          return ParseFieldValue(field, depth);
        }
      }
    }
    // A value: free text, or a value of the enclosing field group.
    MEDSOC_ASSIGN_OR_RETURN(QueryValue v, ParseValue(false));
    MEDSOC_TRY(CountTerm(v.column));
    auto node = std::make_unique<Node>();
    if (fc != nullptr) {
      node->kind = NodeKind::kField;
      node->field = fc->name;
      node->column = fc->column;
      if (!v.quoted && v.text == "*" && v.wildcard) {
        node->op = FieldOp::kExists;
      } else {
        node->op = FieldOp::kEquals;
      }
    } else {
      node->kind = NodeKind::kText;
      node->column = v.column;
    }
    node->value = std::move(v);
    return node;
  }

  Result<std::unique_ptr<Node>> ParseFieldValue(const FieldContext& field, int depth) {
    if (AtEnd() || IsSpace(s_[i_]) || s_[i_] == ')')
      return Err(i_, "expected a value after '" + field.name + ":'");
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::kField;
    node->field = field.name;
    node->column = field.column;
    const char c = s_[i_];
    if (c == '(') {
      const std::size_t open = i_;
      if (depth + 1 > kMaxDepth) return Err(open, "query nested too deeply (limit " + std::to_string(kMaxDepth) + ")");
      ++i_;
      SkipSpace();
      if (!AtEnd() && s_[i_] == ')') return Err(open, "empty parentheses");
      MEDSOC_ASSIGN_OR_RETURN(auto inner, ParseOr(&field, depth + 1));
      SkipSpace();
      if (AtEnd() || s_[i_] != ')') return Err(open, "'(' is not closed");
      ++i_;
      return inner;
    }
    if (c == '[' || c == '{') {
      const std::size_t open = i_;
      node->op = FieldOp::kRange;
      node->lo_inclusive = c == '[';
      ++i_;
      SkipSpace();
      MEDSOC_ASSIGN_OR_RETURN(QueryValue lo, ParseValue(true));
      SkipSpace();
      if (!Keyword("TO")) return Err(i_, "expected TO in range");
      i_ += 2;
      SkipSpace();
      MEDSOC_ASSIGN_OR_RETURN(QueryValue hi, ParseValue(true));
      SkipSpace();
      if (AtEnd() || (s_[i_] != ']' && s_[i_] != '}')) return Err(open, "range is not closed with ']' or '}'");
      node->hi_inclusive = s_[i_] == ']';
      ++i_;
      node->lo_open = !lo.quoted && lo.text == "*";
      node->hi_open = !hi.quoted && hi.text == "*";
      if (node->lo_open && node->hi_open) return Err(open, "a range needs at least one bound");
      if (!node->lo_open) node->lo = std::move(lo);
      if (!node->hi_open) node->hi = std::move(hi);
      MEDSOC_TRY(CountTerm(node->column));
      return node;
    }
    if (c == '>' || c == '<') {
      const std::size_t at = i_;
      const bool eq = i_ + 1 < s_.size() && s_[i_ + 1] == '=';
      i_ += eq ? 2 : 1;
      if (AtEnd() || IsSpace(s_[i_]) || s_[i_] == ')') return Err(at, "expected a value after the comparison");
      MEDSOC_ASSIGN_OR_RETURN(QueryValue bound, ParseValue(false));
      if (bound.wildcard) return Err(at, "a comparison takes a plain value, not a wildcard");
      node->op = FieldOp::kRange;
      if (c == '>') {
        node->lo_open = false;
        node->lo_inclusive = eq;
        node->lo = std::move(bound);
      } else {
        node->hi_open = false;
        node->hi_inclusive = eq;
        node->hi = std::move(bound);
      }
      MEDSOC_TRY(CountTerm(node->column));
      return node;
    }
    MEDSOC_ASSIGN_OR_RETURN(QueryValue v, ParseValue(false));
    MEDSOC_TRY(CountTerm(node->column));
    if (!v.quoted && v.wildcard && v.text == "*") {
      node->op = FieldOp::kExists;
    } else {
      node->op = FieldOp::kEquals;
    }
    node->value = std::move(v);
    return node;
  }

  // A quoted or bare value at i_. In a range, ']' and '}' end a bare value too.
  Result<QueryValue> ParseValue(bool in_range) {
    QueryValue v;
    v.column = ColumnOf(s_, i_);
    if (AtEnd()) return Err(i_, "expected a value");
    if (s_[i_] == '"') {
      const std::size_t open = i_;
      ++i_;
      v.quoted = true;
      while (true) {
        if (AtEnd()) return Err(open, "unterminated quoted string");
        char ch = s_[i_];
        if (ch == '"') {
          ++i_;
          break;
        }
        if (ch == '\\') {
          if (i_ + 1 >= s_.size()) return Err(open, "unterminated quoted string");
          ch = s_[i_ + 1];
          i_ += 2;
        } else {
          ++i_;
        }
        v.text.push_back(ch);
      }
      v.pattern = v.text;
      return v;
    }
    if (Keyword("AND") || Keyword("OR") || Keyword("NOT") || (in_range && Keyword("TO")))
      return Err(i_, "expected a value, found the keyword '" + std::string(KeywordAt()) + "' (quote it to search for it)");
    const std::size_t start = i_;
    while (!AtEnd()) {
      char ch = s_[i_];
      if (IsSpace(ch) || ch == '(' || ch == ')' || ch == '"') break;
      if (in_range && (ch == ']' || ch == '}')) break;
      if (ch == '\\') {
        if (i_ + 1 >= s_.size()) return Err(i_, "a backslash at the end of the query escapes nothing");
        const char next = s_[i_ + 1];
        v.text.push_back(next);
        if (next == '*' || next == '?' || next == '\\') v.pattern.push_back('\\');
        v.pattern.push_back(next);
        i_ += 2;
        continue;
      }
      if (ch == '*' || ch == '?') v.wildcard = true;
      v.text.push_back(ch);
      v.pattern.push_back(ch);
      ++i_;
    }
    if (i_ == start) return Err(i_, "expected a value");
    return v;
  }

  Status CountTerm(int column) {
    if (++terms_ > kMaxTerms)
      return QueryError(column, "too many terms (limit " + std::to_string(kMaxTerms) + ")");
    return Ok();
  }

  // True when a keyword stands at i_ as a whole word.
  bool Keyword(std::string_view kw) const {
    if (s_.substr(i_, kw.size()) != kw) return false;
    const std::size_t end = i_ + kw.size();
    return end == s_.size() || IsSpace(s_[end]) || s_[end] == '(' || s_[end] == ')' || s_[end] == '"' ||
           (kw == "TO" && (s_[end] == ']' || s_[end] == '}'));
  }
  std::string_view KeywordAt() const {
    for (std::string_view kw : {"AND", "OR", "NOT", "TO"})
      if (Keyword(kw)) return kw;
    return "";
  }

  static Result<std::unique_ptr<Node>> Combine(NodeKind kind, std::vector<std::unique_ptr<Node>> parts) {
    if (parts.size() == 1) return std::move(parts[0]);
    auto node = std::make_unique<Node>();
    node->kind = kind;
    // Flatten nested nodes of the same kind: a AND (b AND c) is one AND of three.
    for (auto& p : parts) {
      if (p->kind == kind) {
        for (auto& c : p->children) node->children.push_back(std::move(c));
      } else {
        node->children.push_back(std::move(p));
      }
    }
    return node;
  }

  void SkipSpace() {
    while (!AtEnd() && IsSpace(s_[i_])) ++i_;
  }
  bool AtEnd() const { return i_ >= s_.size(); }
  Error Err(std::size_t offset, std::string message) const { return QueryError(ColumnOf(s_, offset), std::move(message)); }

  std::string_view s_;
  std::size_t i_ = 0;
  int terms_ = 0;
};

void AppendQuoted(const std::string& s, std::string& out) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

void AppendValue(const QueryValue& v, std::string& out) {
  if (v.wildcard) {
    // Bare, so that the wildcards stay wildcards; characters the lexer treats specially are escaped.
    for (char c : v.pattern) {
      if (IsSpace(c) || c == '(' || c == ')' || c == '"' || c == ':' || c == '[' || c == ']' || c == '{' ||
          c == '}' || c == '<' || c == '>')
        out.push_back('\\');
      out.push_back(c);
    }
  } else {
    AppendQuoted(v.text, out);
  }
}

}  // namespace

int ColumnOf(std::string_view text, std::size_t offset) {
  if (offset > text.size()) offset = text.size();
  int column = 1;
  for (std::size_t i = 0; i < offset; ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  return column;
}

Error QueryError(int column, std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message), SourcePos{"query", 1, column});
}

Result<Query> ParseQuery(std::string_view text) {
  if (text.size() > kMaxQueryBytes)
    return QueryError(1, "query too long (" + std::to_string(text.size()) + " bytes, limit " +
                             std::to_string(kMaxQueryBytes) + ")");
  Parser parser(text);
  MEDSOC_ASSIGN_OR_RETURN(auto root, parser.ParseAll());
  Query q;
  q.root = std::move(root);
  q.text = std::string(text);
  return q;
}

std::string QueryToString(const Node* node) {
  if (node == nullptr) return "*";
  std::string out;
  switch (node->kind) {
    case NodeKind::kAnd:
    case NodeKind::kOr: {
      out = "(";
      for (std::size_t i = 0; i < node->children.size(); ++i) {
        if (i > 0) out += node->kind == NodeKind::kAnd ? " AND " : " OR ";
        out += QueryToString(node->children[i].get());
      }
      out += ")";
      return out;
    }
    case NodeKind::kNot:
      return "NOT " + QueryToString(node->children[0].get());
    case NodeKind::kText:
      AppendValue(node->value, out);
      return out;
    case NodeKind::kField:
      out = node->field + ":";
      if (node->op == FieldOp::kExists) return out + "*";
      if (node->op == FieldOp::kEquals) {
        AppendValue(node->value, out);
        return out;
      }
      out += node->lo_inclusive || node->lo_open ? "[" : "{";
      if (node->lo_open) out += "*"; else AppendQuoted(node->lo.text, out);
      out += " TO ";
      if (node->hi_open) out += "*"; else AppendQuoted(node->hi.text, out);
      out += node->hi_inclusive || node->hi_open ? "]" : "}";
      return out;
  }
  return out;
}

}  // namespace medsoc::store::events
