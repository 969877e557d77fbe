#include "ingest/decompress.h"

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

namespace medsoc::ingest {
namespace {

std::string Gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 19));
  return out;
}

TEST(DecompressTest, DetectsMagic) {
  EXPECT_EQ(DetectCompression(Gzip("x")), Compression::kGzip);
  EXPECT_EQ(DetectCompression(Zstd("x")), Compression::kZstd);
  EXPECT_EQ(DetectCompression("{\"a\":1}"), Compression::kNone);
  EXPECT_EQ(DetectCompression(""), Compression::kNone);
}

TEST(DecompressTest, ContentEncoding) {
  EXPECT_EQ(*ParseContentEncoding(""), Compression::kNone);
  EXPECT_EQ(*ParseContentEncoding("identity"), Compression::kNone);
  EXPECT_EQ(*ParseContentEncoding(" GZIP "), Compression::kGzip);
  EXPECT_EQ(*ParseContentEncoding("x-gzip"), Compression::kGzip);
  EXPECT_EQ(*ParseContentEncoding("zstd"), Compression::kZstd);
  EXPECT_FALSE(ParseContentEncoding("br").ok());
  EXPECT_FALSE(ParseContentEncoding("gzip, zstd").ok());
}

TEST(DecompressTest, RoundTrips) {
  const std::string text = "line one\nline two\n" + std::string(100000, 'z');
  EXPECT_EQ(*Decompress(Gzip(text), Compression::kGzip, 1 << 20), text);
  EXPECT_EQ(*Decompress(Zstd(text), Compression::kZstd, 1 << 20), text);
  EXPECT_EQ(*Decompress(text, Compression::kNone, 1 << 20), text);
}

TEST(DecompressTest, ConcatenatedMembersAndFrames) {
  EXPECT_EQ(*Decompress(Gzip("a\n") + Gzip("b\n"), Compression::kGzip, 100), "a\nb\n");
  EXPECT_EQ(*Decompress(Zstd("a\n") + Zstd("b\n"), Compression::kZstd, 100), "a\nb\n");
}

TEST(DecompressTest, BombsStopAtTheLimit) {
  const std::string zeros(64 << 20, '\0');  // 64 MiB of zeros compress to a few KB
  const std::string gz = Gzip(zeros), zs = Zstd(zeros);
  ASSERT_LT(gz.size(), 100000u);
  ASSERT_LT(zs.size(), 100000u);
  auto g = Decompress(gz, Compression::kGzip, 1 << 20);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code(), ErrorCode::kResourceExhausted);
  auto z = Decompress(zs, Compression::kZstd, 1 << 20);
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_FALSE(Decompress(std::string(2000, 'a'), Compression::kNone, 1000).ok());
}

TEST(DecompressTest, TruncatedAndCorruptAreParseErrors) {
  const std::string text(5000, 'q');
  const std::string gz = Gzip(text), zs = Zstd(text + "abc");
  auto g = Decompress(gz.substr(0, gz.size() - 5), Compression::kGzip, 1 << 20);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code(), ErrorCode::kParse);
  auto z = Decompress(zs.substr(0, zs.size() - 3), Compression::kZstd, 1 << 20);
  ASSERT_FALSE(z.ok());
  EXPECT_EQ(z.error().code(), ErrorCode::kParse);
  std::string bad = gz;
  bad[12] ^= 0x55;
  bad[13] ^= 0x55;
  EXPECT_FALSE(Decompress(bad, Compression::kGzip, 1 << 20).ok());
  EXPECT_FALSE(Decompress("\x1f\x8bnot gzip at all", Compression::kGzip, 1 << 20).ok());
  EXPECT_FALSE(Decompress("", Compression::kZstd, 1 << 20).ok());
}

TEST(DecompressTest, StreamingInSmallChunks) {
  const std::string text = "hello world\n" + std::string(300000, 'k');
  for (auto [c, data] : {std::pair{Compression::kGzip, Gzip(text)}, std::pair{Compression::kZstd, Zstd(text)}}) {
    auto d = StreamDecompressor::Create(c);
    std::string out;
    for (std::size_t i = 0; i < data.size(); i += 7) ASSERT_TRUE(d->Feed(data.substr(i, 7), out).ok());
    EXPECT_TRUE(d->Finish().ok());
    EXPECT_EQ(out, text);
  }
}

}  // namespace
}  // namespace medsoc::ingest
