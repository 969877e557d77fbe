// The tokenizer's core as a template (tokenizer.h describes the tokens), for the callers on hot
// paths that should not pay a std::function call per token: the FTS5 tokenizer glue, FtsMatch and
// the block writer's term set (block.cpp). Include only from those translation units.
//
// Tokens: a run of word characters (ASCII letters and digits, and every other non-CJK letter)
// folded to lower case (ASCII only) and cut at kMaxTokenBytes; a run of CJK characters gives its
// bigrams and, in documents, its last character colocated with the last bigram (or the single
// character of a one-character run). Everything else separates.
//
// Speed: runs of ASCII are classified through a byte table, and an all-ASCII word without capitals
// is passed on as a view of the input (no copy); everything else takes the general path, which
// gives the same tokens.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace medsoc::store::events::tokenize_detail {

inline constexpr std::size_t kMaxTokenBytes = 128;

enum class CharClass { kSeparator, kWord, kCjk };

// Decodes one UTF-8 code point at s[i]; returns its length (1 for an invalid byte, cp = 0xFFFD).
inline int Decode(std::string_view s, std::size_t i, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  int len = b0 >= 0xF0 && b0 < 0xF5 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 && b0 < 0xE0 ? 2 : 0;
  if (len == 0 || i + static_cast<std::size_t>(len) > s.size()) {
    cp = 0xFFFD;
    return 1;
  }
  char32_t v = len == 2 ? (b0 & 0x1F) : len == 3 ? (b0 & 0x0F) : (b0 & 0x07);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b & 0xC0) != 0x80) {
      cp = 0xFFFD;
      return 1;
    }
    v = (v << 6) | (b & 0x3F);
  }
  cp = v;
  return len;
}

inline CharClass Classify(char32_t c) {
  if (c < 0x80) {
    return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? CharClass::kWord
                                                                                         : CharClass::kSeparator;
  }
  if ((c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x3FFFF) ||
      (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF))
    return CharClass::kCjk;
  // Latin-1 punctuation, general punctuation, CJK symbols and punctuation, fullwidth punctuation,
  // replacement character: separators.
  if (c < 0xC0 || c == 0xD7 || c == 0xF7 || (c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
      (c >= 0xFF00 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
      (c >= 0xFF5B && c <= 0xFF65) || c == 0xFFFD || (c >= 0xFE30 && c <= 0xFE4F))
    return CharClass::kSeparator;
  return CharClass::kWord;
}

// Byte classes for the ASCII fast path.
enum : std::uint8_t { kByteSep = 0, kByteLower = 1, kByteUpper = 2, kByteHigh = 3 };
inline constexpr std::array<std::uint8_t, 256> kByteClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    if (c >= 0x80) t[c] = kByteHigh;
    else if (c >= 'A' && c <= 'Z') t[c] = kByteUpper;
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) t[c] = kByteLower;
  }
  return t;
}();

// Calls emit(token, start, end, colocated) per token; a non-zero return stops and is returned.
// Token views are valid only during the call. kAsciiFastPath false: the general path only (the
// reference the tests compare the fast path with).
template <bool kAsciiFastPath = true, typename Emit>
int TokenizeImpl(std::string_view s, bool query, Emit&& emit) {
  std::string word;
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    // ASCII fast path: separators, and words made only of ASCII letters and digits.
    const std::uint8_t b = kAsciiFastPath ? kByteClass[static_cast<unsigned char>(s[i])] : kByteHigh;
    if (b == kByteSep) {
      ++i;
      continue;
    }
    if (b != kByteHigh) {
      std::size_t j = i;
      bool upper = false;
      std::uint8_t c = b;
      while (c == kByteLower || c == kByteUpper) {
        upper |= c == kByteUpper;
        if (++j == n) break;
        c = kByteClass[static_cast<unsigned char>(s[j])];
      }
      if (j == n || c == kByteSep) {
        const std::size_t len = j - i < kMaxTokenBytes ? j - i : kMaxTokenBytes;
        std::string_view token = s.substr(i, len);
        if (upper) {
          word.assign(token);
          for (char& ch : word)
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
          token = word;
        }
        if (int rc = emit(token, static_cast<int>(i), static_cast<int>(j), false)) return rc;
        i = j;
        continue;
      }
      // The word goes on past ASCII (or ends at a CJK character): the general path from its start.
    }
    char32_t cp = 0;
    int len = Decode(s, i, cp);
    CharClass cls = Classify(cp);
    if (cls == CharClass::kSeparator) {
      i += static_cast<std::size_t>(len);
      continue;
    }
    if (cls == CharClass::kWord) {
      const std::size_t start = i;
      word.clear();
      while (i < n) {
        len = Decode(s, i, cp);
        if (Classify(cp) != CharClass::kWord) break;
        if (word.size() + static_cast<std::size_t>(len) <= kMaxTokenBytes) {
          if (cp < 0x80) {
            char c = static_cast<char>(cp);
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            word.push_back(c);
          } else {
            word.append(s.substr(i, static_cast<std::size_t>(len)));
          }
        }
        i += static_cast<std::size_t>(len);
      }
      if (int rc = emit(std::string_view(word), static_cast<int>(start), static_cast<int>(i), false)) return rc;
      continue;
    }
    // A CJK run: bigrams, plus (documents only) the last character colocated with the last bigram.
    std::size_t prev_start = i;
    int prev_len = len;
    i += static_cast<std::size_t>(len);
    bool any = false;
    while (i < n) {
      char32_t next = 0;
      const int nlen = Decode(s, i, next);
      if (Classify(next) != CharClass::kCjk) break;
      const std::size_t end = i + static_cast<std::size_t>(nlen);
      if (int rc = emit(s.substr(prev_start, end - prev_start), static_cast<int>(prev_start), static_cast<int>(end), false))
        return rc;
      any = true;
      prev_start = i;
      prev_len = nlen;
      i = end;
    }
    if (!any || !query) {
      const std::size_t end = prev_start + static_cast<std::size_t>(prev_len);
      if (int rc = emit(s.substr(prev_start, static_cast<std::size_t>(prev_len)), static_cast<int>(prev_start),
                        static_cast<int>(end), any))
        return rc;
    }
  }
  return 0;
}

}  // namespace medsoc::store::events::tokenize_detail
