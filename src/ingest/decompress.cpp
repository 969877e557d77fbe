// gzip (zlib) and zstd (libzstd) decompression with output limits: see decompress.h.
#include "ingest/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

namespace medsoc::ingest {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

Error Bomb(std::uint64_t limit) {
  return Error(ErrorCode::kResourceExhausted,
               "decompressed data exceeds the limit of " + std::to_string(limit) + " bytes");
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

class GzipStream final : public StreamDecompressor {
 public:
  explicit GzipStream(std::uint64_t limit) : limit_(limit) {
    std::memset(&z_, 0, sizeof(z_));
    ok_ = inflateInit2(&z_, 15 + 16) == Z_OK;  // 15 window bits, +16: gzip wrapper only
  }
  ~GzipStream() override {
    if (ok_) inflateEnd(&z_);
  }

  Status Feed(std::string_view in, std::string& out) override {
    if (!ok_) return Error(ErrorCode::kInternal, "gzip: inflateInit2 failed");
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    while (z_.avail_in > 0) {
      if (member_done_) {
        // Another gzip member follows (concatenated .gz files). Trailing zero padding is
        // tolerated, as gzip(1) does.
        if (*z_.next_in == 0) {
          ++z_.next_in;
          --z_.avail_in;
          ++consumed_;
          continue;
        }
        if (inflateReset(&z_) != Z_OK) return Error(ErrorCode::kInternal, "gzip: inflateReset failed");
        member_done_ = false;
      }
      const std::size_t old = out.size();
      out.resize(old + kChunk);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      z_.avail_out = kChunk;
      const uInt before_in = z_.avail_in;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      const std::size_t produced = kChunk - z_.avail_out;
      out.resize(old + produced);
      consumed_ += before_in - z_.avail_in;
      total_ += produced;
      if (limit_ != 0 && total_ > limit_) return Bomb(limit_);
      if (rc == Z_STREAM_END) {
        member_done_ = true;
        continue;
      }
      if (rc == Z_BUF_ERROR && produced == 0 && before_in == z_.avail_in) break;
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return Error(ErrorCode::kParse, std::string("gzip: corrupt data near compressed byte ") +
                                            std::to_string(consumed_) + ": " + (z_.msg ? z_.msg : "inflate error"));
      }
    }
    // Drain output that zlib still holds although all input was consumed.
    while (!member_done_) {
      const std::size_t old = out.size();
      out.resize(old + kChunk);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      z_.avail_out = kChunk;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      const std::size_t produced = kChunk - z_.avail_out;
      out.resize(old + produced);
      total_ += produced;
      if (limit_ != 0 && total_ > limit_) return Bomb(limit_);
      if (rc == Z_STREAM_END) member_done_ = true;
      if (produced == 0 || rc != Z_OK) break;
    }
    started_ = started_ || in.size() > 0;
    return Ok();
  }

  Status Finish() override {
    if (started_ && !member_done_)
      return Error(ErrorCode::kParse, "gzip: truncated stream (ends inside a member after " +
                                          std::to_string(consumed_) + " compressed bytes)");
    return Ok();
  }
  std::uint64_t total_out() const override { return total_; }

 private:
  z_stream z_;
  bool ok_ = false;
  bool member_done_ = false;
  bool started_ = false;
  std::uint64_t limit_;
  std::uint64_t total_ = 0;
  std::uint64_t consumed_ = 0;
};

class ZstdStream final : public StreamDecompressor {
 public:
  explicit ZstdStream(std::uint64_t limit) : limit_(limit), d_(ZSTD_createDStream()) {
    if (d_) {
      ZSTD_initDStream(d_);
      // Refuse frames that need a window above 128 MiB (a memory bomb of its own).
      ZSTD_DCtx_setParameter(d_, ZSTD_d_windowLogMax, 27);
    }
  }
  ~ZstdStream() override { ZSTD_freeDStream(d_); }

  Status Feed(std::string_view in, std::string& out) override {
    if (!d_) return Error(ErrorCode::kInternal, "zstd: cannot create a decompression context");
    ZSTD_inBuffer ib{in.data(), in.size(), 0};
    while (true) {
      const std::size_t old = out.size();
      out.resize(old + kChunk);
      ZSTD_outBuffer ob{out.data() + old, kChunk, 0};
      const std::size_t rc = ZSTD_decompressStream(d_, &ob, &ib);
      out.resize(old + ob.pos);
      total_ += ob.pos;
      if (ZSTD_isError(rc))
        return Error(ErrorCode::kParse, std::string("zstd: corrupt data near compressed byte ") +
                                            std::to_string(consumed_ + ib.pos) + ": " + ZSTD_getErrorName(rc));
      if (limit_ != 0 && total_ > limit_) return Bomb(limit_);
      in_frame_ = rc != 0;
      // Done when all input is consumed and the output buffer was not filled (nothing pending).
      if (ib.pos == ib.size && ob.pos < kChunk) break;
    }
    consumed_ += in.size();
    return Ok();
  }

  Status Finish() override {
    if (in_frame_)
      return Error(ErrorCode::kParse, "zstd: truncated stream (ends inside a frame after " +
                                          std::to_string(consumed_) + " compressed bytes)");
    return Ok();
  }
  std::uint64_t total_out() const override { return total_; }

 private:
  std::uint64_t limit_;
  ZSTD_DStream* d_;
  bool in_frame_ = false;
  std::uint64_t total_ = 0;
  std::uint64_t consumed_ = 0;
};

}  // namespace

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone: return "none";
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
  }
  return "none";
}

Compression DetectCompression(std::string_view head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b)
    return Compression::kGzip;
  if (head.size() >= 4 && static_cast<unsigned char>(head[0]) == 0x28 &&
      static_cast<unsigned char>(head[1]) == 0xb5 && static_cast<unsigned char>(head[2]) == 0x2f &&
      static_cast<unsigned char>(head[3]) == 0xfd)
    return Compression::kZstd;
  return Compression::kNone;
}

Result<Compression> ParseContentEncoding(std::string_view value) {
  const std::string_view v = Trim(value);
  if (v.empty() || IEquals(v, "identity")) return Compression::kNone;
  if (IEquals(v, "gzip") || IEquals(v, "x-gzip")) return Compression::kGzip;
  if (IEquals(v, "zstd")) return Compression::kZstd;
  return Error(ErrorCode::kInvalidArgument,
               "unsupported Content-Encoding '" + std::string(v.substr(0, 64)) + "' (use gzip, zstd or identity)");
}

Result<std::string> Decompress(std::string_view in, Compression compression, std::uint64_t max_output_bytes) {
  if (compression == Compression::kNone) {
    if (in.size() > max_output_bytes) return Bomb(max_output_bytes);
    return std::string(in);
  }
  auto stream = StreamDecompressor::Create(compression, max_output_bytes == 0 ? 1 : max_output_bytes);
  std::string out;
  out.reserve(std::min<std::uint64_t>(max_output_bytes, std::max<std::uint64_t>(in.size() * 4, kChunk)));
  MEDSOC_TRY(stream->Feed(in, out));
  if (in.empty()) return Error(ErrorCode::kParse, std::string(CompressionName(compression)) + ": empty input");
  MEDSOC_TRY(stream->Finish());
  return out;
}

std::unique_ptr<StreamDecompressor> StreamDecompressor::Create(Compression compression,
                                                               std::uint64_t max_output_bytes) {
  MEDSOC_ASSERT(compression != Compression::kNone);
  if (compression == Compression::kGzip) return std::make_unique<GzipStream>(max_output_bytes);
  return std::make_unique<ZstdStream>(max_output_bytes);
}

}  // namespace medsoc::ingest
