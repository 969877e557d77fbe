#include "ingest/framing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace medsoc::ingest {
namespace {

struct Got {
  std::string data;
  bool truncated;
  bool operator==(const Got& o) const { return data == o.data && truncated == o.truncated; }
};
std::ostream& operator<<(std::ostream& os, const Got& g) { return os << "{" << g.data << "," << g.truncated << "}"; }

std::vector<Got> FeedAll(SyslogFramer& f, const std::vector<std::string>& chunks, bool finish = true) {
  std::vector<Got> out;
  auto cb = [&](const Frame& fr) { out.push_back({std::string(fr.data), fr.truncated}); };
  for (const auto& c : chunks) f.Feed(c, cb);
  if (finish) f.Finish(cb);
  return out;
}

// Feeds `stream` split at every possible point into two chunks and byte by byte: the result must
// not depend on how TCP segments it.
void ExpectSplitInvariant(const std::string& stream, std::size_t max, const std::vector<Got>& want) {
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    SyslogFramer f(max);
    EXPECT_EQ(FeedAll(f, {stream.substr(0, cut), stream.substr(cut)}), want) << "cut at " << cut;
  }
  SyslogFramer f(max);
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  EXPECT_EQ(FeedAll(f, bytes), want) << "byte by byte";
}

TEST(SyslogFramerTest, LfFramingWithCrLfAndEmptyLines) {
  ExpectSplitInvariant("<13>a\r\n\n<14>b\n<15>c", 1024, {{"<13>a", false}, {"<14>b", false}, {"<15>c", false}});
  SyslogFramer f(1024);
  FeedAll(f, {"<1>x\n"}, false);
  EXPECT_EQ(f.framing(), Framing::kLf);
}

TEST(SyslogFramerTest, OctetCountingDetectedAndSplitInvariant) {
  const std::string m1 = "<34>1 2024-03-03T10:01:02Z h a - - - hello";
  const std::string m2 = "<34>1 - - - - - - line\nwith LF inside";
  const std::string stream = std::to_string(m1.size()) + " " + m1 + std::to_string(m2.size()) + " " + m2;
  ExpectSplitInvariant(stream, 1024, {{m1, false}, {m2, false}});
  SyslogFramer f(1024);
  FeedAll(f, {stream}, false);
  EXPECT_EQ(f.framing(), Framing::kOctetCounting);
}

TEST(SyslogFramerTest, OctetCountingToleratesLfBetweenFrames) {
  // Some senders add a newline after each octet-counted frame.
  ExpectSplitInvariant("3 abc\n3 def\n", 1024, {{"abc", false}, {"def", false}});
}

TEST(SyslogFramerTest, OctetCountingOversizeIsTruncatedAndResynchronised) {
  const std::string big(100, 'x');
  const std::string stream = "100 " + big + "2 ok";
  ExpectSplitInvariant(stream, 10, {{std::string(10, 'x'), true}, {"ok", false}});
}

TEST(SyslogFramerTest, OctetCountingTruncatedAtEndOfStream) {
  ExpectSplitInvariant("10 abc", 1024, {{"abc", true}});
}

TEST(SyslogFramerTest, HugeLengthDoesNotBuffer) {
  SyslogFramer f(16);
  std::vector<Got> out;
  f.Feed("999999999 " + std::string(1000, 'y'), [&](const Frame& fr) { out.push_back({std::string(fr.data), fr.truncated}); });
  EXPECT_LE(f.buffered(), 16u);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].truncated);
}

TEST(SyslogFramerTest, BadOctetHeaderFallsBackToLines) {
  SyslogFramer f(1024);
  auto got = FeedAll(f, {"12abc\n<1>next\n"});
  EXPECT_EQ(got, (std::vector<Got>{{"12abc", false}, {"<1>next", false}}));
  EXPECT_EQ(f.framing_errors(), 1u);
  EXPECT_EQ(f.framing(), Framing::kLf);
  // More than 10 digits is not a length either.
  SyslogFramer g(1024);
  auto got2 = FeedAll(g, {"123456789012 x\n"});
  EXPECT_EQ(got2, (std::vector<Got>{{"123456789012 x", false}}));
}

TEST(SyslogFramerTest, LfOversizeTruncatedRestSkipped) {
  const std::string stream = std::string(50, 'a') + "\nshort\n";
  ExpectSplitInvariant(stream, 20, {{std::string(20, 'a'), true}, {"short", false}});
}

TEST(SyslogFramerTest, LineStartingWithDigitInLfModeAfterDetection) {
  // Once LF framing is detected, a line starting with digits is just a line.
  ExpectSplitInvariant("<1>a\n12 b\n", 1024, {{"<1>a", false}, {"12 b", false}});
}

TEST(SyslogFramerTest, ForcedLfIgnoresDigits) {
  SyslogFramer f(1024, Framing::kLf);
  EXPECT_EQ(FeedAll(f, {"5 hello\n"}), (std::vector<Got>{{"5 hello", false}}));
}

TEST(LineSplitterTest, OffsetsAndPartialLines) {
  LineSplitter s(100);
  std::vector<std::pair<std::string, std::uint64_t>> got;
  auto cb = [&](const Frame& f, std::uint64_t end) { got.emplace_back(std::string(f.data), end); };
  const std::string data = "ab\r\ncd\nef";
  const std::size_t used = s.Split(data, 1000, cb);
  EXPECT_EQ(used, 7u);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (std::pair<std::string, std::uint64_t>{"ab", 1004}));
  EXPECT_EQ(got[1], (std::pair<std::string, std::uint64_t>{"cd", 1007}));
}

TEST(LineSplitterTest, OverlongLineAcrossChunks) {
  LineSplitter s(4);
  std::vector<std::pair<std::string, bool>> got;
  auto cb = [&](const Frame& f, std::uint64_t) { got.emplace_back(std::string(f.data), f.truncated); };
  EXPECT_EQ(s.Split("abcdefgh", 0, cb), 8u);
  EXPECT_TRUE(s.skipping());
  EXPECT_EQ(s.Split("ij\nok\n", 8, cb), 6u);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (std::pair<std::string, bool>{"abcd", true}));
  EXPECT_EQ(got[1], (std::pair<std::string, bool>{"ok", false}));
}

}  // namespace
}  // namespace medsoc::ingest
