// Event blocks: how a day partition keeps its events (partition schema 3, sqlite_event_store.h).
//
// A block holds up to kMaxBlockRows events of one tenant, written by one Write, as one zstd frame
// in one row of the partition's `blocks` table. Its distinct terms (see FieldTerm) go to the
// partition's FTS5 index `block_terms` (one document per block, tokenizer "medsoc_terms"), so a
// query first asks the index which blocks can hold a match (PruneExpression in sqlite_query.h) and
// then reads only those. Compared with one SQLite row, five index entries and an FTS5 document per
// event, this writes one row and one FTS5 document per block: SQLite's per-row and per-index-entry
// costs, which were nine tenths of the store's CPU, are paid once per block.
//
// Payload (before zstd): "MB1" magic, the tenant (varint length and bytes), varint row count, then
// the rows; a row is its cells in
// BlockColumn order except kTenant (the block's) and kZflags (always 0), each a tag byte (0 NULL,
// 1 integer as a zigzag varint, 2 text, 3 blob; text and blob are a varint length and the bytes).
//
// The table-valued function medsoc_block(data) (RegisterBlockModule) decodes a block into rows
// with the columns of BlockColumn, so the same SQL conditions that selected rows of the old
// per-event table select rows of a block: SELECT ... FROM blocks b, medsoc_block(b.data) e WHERE ...
//
// Thread-safety: BlockWriter and BlockReader are single-threaded values; the module is registered
// per connection.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct sqlite3;

namespace medsoc::store::events {

inline constexpr std::size_t kMaxBlockRows = 2048;
// A block is closed early once its payload reaches this many bytes (huge events).
inline constexpr std::size_t kMaxBlockPayloadBytes = 32u << 20;
// Frames that claim more than this are refused when decoding.
inline constexpr std::size_t kMaxBlockDecodedBytes = 256u << 20;
// A keyword or IP value longer than this is indexed by its first kMaxTermValueBytes bytes.
inline constexpr std::size_t kMaxTermValueBytes = 200;
// The rules by which a block's terms are made (FieldTerm, ForEachRowTerm, the document-mode
// tokenizer). Each partition records the version it was indexed with (meta 'terms_version');
// compaction removes a replaced block's FTS5 document by recomputing its terms, which is only
// right under the same rules, so it leaves partitions of another version alone. Bump it whenever
// any of these rules changes.
inline constexpr int kBlockTermsVersion = 2;  // 2: short field tags, IPv4 as 8 hex digits

// The columns of a decoded row. 18 normalized columns follow kSource in ColumnFields() order.
enum BlockColumn : int {
  kTenant = 0,
  kId,
  kTime,
  kIngestTime,
  kSource,
  kFirstField,  // ColumnFields()[0]
  kParseError = kFirstField + 18,
  kRawBytes,
  kZflags,
  kDoc,
  kFtsMessage,
  kFtsRaw,
  kBlockColumns,
};

struct Cell {
  enum class Kind : std::uint8_t { kNull, kInt, kText, kBlob };
  Kind kind = Kind::kNull;
  std::int64_t i = 0;
  std::string_view s;  // text or blob bytes (owned by the writer's caller or the reader's buffer)

  static Cell Int(std::int64_t v) { return {Kind::kInt, v, {}}; }
  static Cell Text(std::string_view v) { return {Kind::kText, 0, v}; }
  static Cell Blob(std::string_view v) { return {Kind::kBlob, 0, v}; }
};

using BlockRow = std::array<Cell, kBlockColumns>;

// The schema the module declares (also the column names queries use).
std::string BlockRowSchema();

// Builds one block: Add rows (all of one tenant), then Finish.
class BlockWriter {
 public:
  BlockWriter();
  ~BlockWriter();
  BlockWriter(const BlockWriter&) = delete;
  BlockWriter& operator=(const BlockWriter&) = delete;

  // The first row's kTenant is the block's tenant.
  void Add(const BlockRow& row);
  std::size_t rows() const { return rows_; }
  std::size_t payload_bytes() const { return payload_.size(); }
  const std::string& tenant() const { return tenant_; }
  std::int64_t min_time() const { return min_time_; }
  std::int64_t max_time() const { return max_time_; }

  struct Finished {
    std::string data;   // the zstd frame
    std::string terms;  // distinct terms, one per line (the block's document in block_terms)
  };
  // Compresses and returns the block, and resets the writer for the next one.
  Result<Finished> Finish(int zstd_level = 1);
  // Returns only the terms of the rows added (what Finish would give as `terms`) and resets the
  // writer without compressing: re-indexing and removing a block's FTS5 document.
  std::string FinishTerms();

 private:
  struct Terms;
  std::string payload_;
  std::string frame_;  // zstd output scratch
  std::string tenant_;
  std::size_t rows_ = 0;
  std::int64_t min_time_ = INT64_MAX;
  std::int64_t max_time_ = INT64_MIN;
  std::unique_ptr<Terms> terms_;
  void* cctx_ = nullptr;
};

// Decodes one block. Cells point into the reader's buffer until the next Open.
class BlockReader {
 public:
  BlockReader();
  ~BlockReader();
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  // Errors: kCorruption for a frame or payload that does not decode (with what is wrong).
  Status Open(std::string_view data);
  const std::string& tenant() const { return tenant_; }
  std::size_t rows() const { return rows_; }
  // The next row into `row`; false at the end. Errors: kCorruption (truncated or bad cell).
  Result<bool> Next(BlockRow& row);
  // Re-encodes a frame at another level (compression of old partitions).
  static Result<std::string> Recompress(std::string_view data, int zstd_level);

 private:
  std::string buf_;
  std::string previous_;  // the block before: SQLite may still hold a cell of its last row
  std::string tenant_;
  std::size_t pos_ = 0;
  std::size_t rows_ = 0;
  std::size_t read_ = 0;
  void* dctx_ = nullptr;
};

// The terms of a block (its FTS5 document in block_terms): the document-mode tokens (tokenizer.h)
// of each row's kFtsMessage and kFtsRaw, and FieldTerm of the source and each normalized column.
//
// FieldTerm is "T=value" where T is the field's one-character tag (FieldTermTag: "0" the source,
// then "1".."9", "a".."i" for ColumnFields() in order; tokens never contain '=', so a field term
// never equals a word). Values: keyword values with ASCII letters lowercased (the columns compare
// NOCASE) and line breaks as spaces, cut to kMaxTermValueBytes; integers in decimal; IPs as hex
// digits of their 16-byte key, only the last 8 (the IPv4 address) for an IPv4(-mapped) key.
// Short terms matter: SQLite's FTS5 hashes every term byte by byte and, at each commit, sorts the
// pending terms with a byte-wise comparison, so a long common prefix ("source.ip=0000...ffff")
// cost a third of the write path.
// The cell's kind decides: kText keyword, kInt integer, kBlob IP key. Empty for NULL or a field
// that is neither "source" nor a normalized column.
std::string FieldTerm(std::string_view field, const Cell& value);
// The tag of `field` ("source" or a normalized column), or empty.
std::string_view FieldTermTag(std::string_view field);

// The term prefix that the IP term of every address of `field` inside the CIDR block (key: the
// network's 16-byte key; bits: prefix length over the 128-bit key) starts with. Empty when no
// such prefix exists in whole hex digits, or when the block reaches into IPv4-mapped space from
// outside it (its IPv4 addresses are indexed by 8 digits): the index cannot narrow such a query.
std::string IpPrefixTerm(std::string_view field, std::string_view key, int bits);

// Registers medsoc_block on `db`.
Status RegisterBlockModule(sqlite3* db);

}  // namespace medsoc::store::events
