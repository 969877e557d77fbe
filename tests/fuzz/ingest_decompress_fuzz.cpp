// Fuzz target: gzip and zstd decompression with a small output limit (bombs must stop at the
// limit, corrupt or truncated input must be an error, never a crash), whole and streamed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/assert.h"
#include "ingest/decompress.h"

using namespace medsoc::ingest;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  constexpr std::uint64_t kLimit = 1 << 20;
  Compression c = DetectCompression(in);
  if (c == Compression::kNone) c = (size % 2) ? Compression::kGzip : Compression::kZstd;
  auto whole = Decompress(in, c, kLimit);
  if (whole.ok()) MEDSOC_ASSERT(whole->size() <= kLimit);

  auto stream = StreamDecompressor::Create(c, kLimit);
  std::string out;
  bool ok = true;
  for (std::size_t i = 0; i < size && ok; i += 13) ok = stream->Feed(in.substr(i, 13), out).ok();
  if (ok) ok = stream->Finish().ok();
  MEDSOC_ASSERT(out.size() <= kLimit + 64 * 1024);
  if (ok && whole.ok()) MEDSOC_ASSERT(out == *whole);
  return 0;
}
