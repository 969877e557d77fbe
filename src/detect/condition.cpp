#include "detect/condition.h"
#include "core/strings.h"

#include <cctype>

namespace medsoc::detect {
namespace {

enum class Tok { kWord, kLParen, kRParen, kPipe, kEnd };

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;
  int column = 0;
};

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '*';
}

constexpr auto IEquals = core::EqualsIgnoreCase;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<std::unique_ptr<CondNode>> Parse() {
    if (auto st = Tokenize(); !st.ok()) return std::move(st).error();
    if (tokens_.size() == 1) return Fail("empty condition", 1);
    auto node = ParseOr(0);
    if (!node.ok()) return node;
    if (Peek().kind == Tok::kPipe)
      return Error(ErrorCode::kInvalidArgument,
                   "column " + std::to_string(Peek().column) +
                       ": the aggregation syntax '| ...' is deprecated and unsupported; write a correlation rule");
    if (Peek().kind != Tok::kEnd) return Fail("unexpected '" + std::string(Peek().text) + "'", Peek().column);
    return node;
  }

 private:
  static constexpr int kMaxDepth = 200;

  Status Tokenize() {
    std::size_t i = 0;
    while (i < text_.size()) {
      const char c = text_[i];
      const int col = static_cast<int>(i) + 1;
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (c == '(') {
        tokens_.push_back({Tok::kLParen, text_.substr(i, 1), col});
        ++i;
      } else if (c == ')') {
        tokens_.push_back({Tok::kRParen, text_.substr(i, 1), col});
        ++i;
      } else if (c == '|') {  // the deprecated aggregation: nothing after it is parsed
        tokens_.push_back({Tok::kPipe, text_.substr(i, 1), col});
        break;
      } else if (IsWordChar(c)) {
        std::size_t j = i;
        while (j < text_.size() && IsWordChar(text_[j])) ++j;
        tokens_.push_back({Tok::kWord, text_.substr(i, j - i), col});
        i = j;
      } else {
        return Error(ErrorCode::kParse, "column " + std::to_string(col) + ": unexpected character '" +
                                            std::string(1, c) + "'");
      }
    }
    tokens_.push_back({Tok::kEnd, {}, static_cast<int>(text_.size()) + 1});
    return Ok();
  }

  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool PeekKeyword(std::string_view kw) const { return Peek().kind == Tok::kWord && IEquals(Peek().text, kw); }
  static Error Fail(const std::string& what, int column) {
    return Error(ErrorCode::kParse, "column " + std::to_string(column) + ": " + what);
  }
  static bool IsKeyword(std::string_view w) {
    return IEquals(w, "and") || IEquals(w, "or") || IEquals(w, "not") || IEquals(w, "of") || IEquals(w, "them");
  }

  Result<std::unique_ptr<CondNode>> ParseOr(int depth) {
    if (depth > kMaxDepth) return Fail("condition nested too deeply", Peek().column);
    auto left = ParseAnd(depth + 1);
    if (!left.ok()) return left;
    if (!PeekKeyword("or")) return left;
    auto node = std::make_unique<CondNode>();
    node->op = CondOp::kOr;
    node->column = (*left)->column;
    node->kids.push_back(std::move(*left));
    while (PeekKeyword("or")) {
      Next();
      auto right = ParseAnd(depth + 1);
      if (!right.ok()) return right;
      node->kids.push_back(std::move(*right));
    }
    return node;
  }

  Result<std::unique_ptr<CondNode>> ParseAnd(int depth) {
    auto left = ParseNot(depth + 1);
    if (!left.ok()) return left;
    if (!PeekKeyword("and")) return left;
    auto node = std::make_unique<CondNode>();
    node->op = CondOp::kAnd;
    node->column = (*left)->column;
    node->kids.push_back(std::move(*left));
    while (PeekKeyword("and")) {
      Next();
      auto right = ParseNot(depth + 1);
      if (!right.ok()) return right;
      node->kids.push_back(std::move(*right));
    }
    return node;
  }

  Result<std::unique_ptr<CondNode>> ParseNot(int depth) {
    if (depth > kMaxDepth) return Fail("condition nested too deeply", Peek().column);
    if (PeekKeyword("not")) {
      const int col = Next().column;
      auto kid = ParseNot(depth + 1);
      if (!kid.ok()) return kid;
      auto node = std::make_unique<CondNode>();
      node->op = CondOp::kNot;
      node->column = col;
      node->kids.push_back(std::move(*kid));
      return node;
    }
    return ParsePrimary(depth + 1);
  }

  Result<std::unique_ptr<CondNode>> ParsePrimary(int depth) {
    const Token& t = Peek();
    if (t.kind == Tok::kLParen) {
      Next();
      auto inner = ParseOr(depth + 1);
      if (!inner.ok()) return inner;
      if (Peek().kind != Tok::kRParen) return Fail("expected ')'", Peek().column);
      Next();
      return inner;
    }
    if (t.kind == Tok::kEnd) return Fail("unexpected end of condition", t.column);
    if (t.kind != Tok::kWord) return Fail("unexpected '" + std::string(t.text) + "'", t.column);
    // A quantifier is a word followed by "of".
    const bool quantified = pos_ + 1 < tokens_.size() && tokens_[pos_ + 1].kind == Tok::kWord &&
                            IEquals(tokens_[pos_ + 1].text, "of");
    if (quantified) {
      const Token q = Next();
      CondOp op;
      if (q.text == "1" || IEquals(q.text, "any")) {
        op = CondOp::kOneOf;
      } else if (IEquals(q.text, "all")) {
        op = CondOp::kAllOf;
      } else {
        return Fail("quantifier must be '1' or 'all', not '" + std::string(q.text) + "'", q.column);
      }
      Next();  // "of"
      const Token target = Next();
      if (target.kind != Tok::kWord) return Fail("expected 'them' or an identifier pattern after 'of'", target.column);
      auto node = std::make_unique<CondNode>();
      node->op = op;
      node->column = q.column;
      if (IEquals(target.text, "them")) {
        node->them = true;
        node->name = "them";
      } else {
        if (IsKeyword(target.text)) return Fail("expected an identifier pattern, not '" + std::string(target.text) + "'", target.column);
        node->name = std::string(target.text);
      }
      return node;
    }
    if (IsKeyword(t.text)) return Fail("unexpected keyword '" + std::string(t.text) + "'", t.column);
    if (t.text.find('*') != std::string_view::npos)
      return Fail("a wildcard identifier needs '1 of' or 'all of': '" + std::string(t.text) + "'", t.column);
    auto node = std::make_unique<CondNode>();
    node->op = CondOp::kIdentifier;
    node->name = std::string(t.text);
    node->column = t.column;
    Next();
    return node;
  }

  std::string_view text_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<std::unique_ptr<CondNode>> ParseCondition(std::string_view text) { return Parser(text).Parse(); }

bool MatchIdentifierPattern(std::string_view p, std::string_view s) {
  // Iterative glob with backtracking to the last '*': linear in practice, no recursion.
  std::size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::string ConditionToString(const CondNode& n) {
  switch (n.op) {
    case CondOp::kIdentifier: return n.name;
    case CondOp::kOneOf: return "(1 of " + n.name + ")";
    case CondOp::kAllOf: return "(all of " + n.name + ")";
    case CondOp::kNot: return "(not " + ConditionToString(*n.kids[0]) + ")";
    case CondOp::kAnd:
    case CondOp::kOr: {
      std::string out = "(";
      for (std::size_t i = 0; i < n.kids.size(); ++i) {
        if (i) out += n.op == CondOp::kAnd ? " and " : " or ";
        out += ConditionToString(*n.kids[i]);
      }
      return out + ")";
    }
  }
  return {};
}

}  // namespace medsoc::detect
