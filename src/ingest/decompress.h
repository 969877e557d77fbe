// Decompression of gzip (RFC 1952, via zlib) and zstd (RFC 8878, via libzstd) data: HTTP ingest
// bodies (Content-Encoding) and imported files (detected by magic bytes, not by extension).
//
// Decompression bombs: every call takes a limit on the decompressed size; output beyond it stops
// decompression at once with kResourceExhausted (a 1 KB body that would inflate to 1 GB costs at
// most `limit` bytes of memory and the time to produce them). Concatenated gzip members and zstd
// frames are decompressed in sequence, as `cat a.gz b.gz` and `zstd` multi-frame files need.
// Truncated or corrupt input is kParse with the compressed byte offset where it broke.
//
// Thread-safety: functions are pure; a StreamDecompressor is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace medsoc::ingest {

enum class Compression : std::uint8_t { kNone, kGzip, kZstd };

std::string_view CompressionName(Compression c);

// From the first bytes of a stream: gzip 1f 8b, zstd 28 b5 2f fd; anything else kNone.
Compression DetectCompression(std::string_view head);

// From an HTTP Content-Encoding value: "", "identity" -> kNone; "gzip", "x-gzip" -> kGzip;
// "zstd" -> kZstd (case-insensitive). Anything else (including stacked encodings) is
// kInvalidArgument naming the value.
Result<Compression> ParseContentEncoding(std::string_view value);

// Decompresses all of `in`. kNone returns a copy (subject to the same limit).
Result<std::string> Decompress(std::string_view in, Compression compression, std::uint64_t max_output_bytes);

// Incremental decompression, for files and stdin read in chunks.
class StreamDecompressor {
 public:
  virtual ~StreamDecompressor() = default;
  // Decompresses `in` (the next compressed bytes) and appends the output to `out`.
  virtual Status Feed(std::string_view in, std::string& out) = 0;
  // End of input: kParse if the stream stopped inside a gzip member or zstd frame.
  virtual Status Finish() = 0;
  // Total decompressed bytes produced.
  virtual std::uint64_t total_out() const = 0;

  // REQUIRES: compression != kNone. `max_output_bytes` 0: no limit (trusted local files).
  static std::unique_ptr<StreamDecompressor> Create(Compression compression, std::uint64_t max_output_bytes = 0);
};

}  // namespace medsoc::ingest
