#include "store/events/block.h"

#include <sqlite3.h>
#include <zstd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <algorithm>

#include "store/events/sqlite_query.h"
#include "store/events/tokenize_inl.h"

namespace medsoc::store::events {
namespace {

constexpr char kMagic[3] = {'M', 'B', '1'};

void PutVarint(std::string& out, std::uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, static_cast<std::size_t>(n));
}

bool GetVarint(std::string_view s, std::size_t& pos, std::uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= s.size()) return false;
    const auto b = static_cast<unsigned char>(s[pos++]);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

std::uint64_t ZigZag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t UnZigZag(std::uint64_t v) { return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1); }

// The columns a row stores (all but kTenant, the block's, and kZflags, always 0).
bool Stored(int c) { return c != kTenant && c != kZflags; }

constexpr char kHex[] = "0123456789abcdef";
constexpr unsigned char kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsV4MappedKey(std::string_view key) { return key.size() == 16 && std::memcmp(key.data(), kV4Mapped, 12) == 0; }

void AppendHex(std::string& out, std::string_view bytes) {
  for (const char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
}

void AppendTermValue(std::string& out, const Cell& v) {
  switch (v.kind) {
    case Cell::Kind::kNull:
      return;
    case Cell::Kind::kInt: {
      char buf[24];
      const auto r = std::to_chars(buf, buf + sizeof buf, v.i);
      out.append(buf, r.ptr);
      return;
    }
    case Cell::Kind::kBlob:
      AppendHex(out, IsV4MappedKey(v.s) ? v.s.substr(12) : v.s.substr(0, kMaxTermValueBytes / 2));
      return;
    case Cell::Kind::kText: {
      const std::size_t n = std::min(v.s.size(), kMaxTermValueBytes);
      const std::size_t at = out.size();
      out.append(v.s.data(), n);
      for (std::size_t i = at; i < out.size(); ++i) {
        char& c = out[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        else if (c == '\n' || c == '\r') c = ' ';
      }
      return;
    }
  }
}

constexpr int kTermFields = 1 + 18;  // the source and the normalized columns
constexpr char kTags[] = "0123456789abcdefghi";
static_assert(sizeof kTags - 1 == kTermFields);

int TermFieldColumn(int f) { return f == 0 ? kSource : kFirstField + f - 1; }

int TermFieldOf(std::string_view field) {
  if (field == "source") return 0;
  const auto fields = ColumnFields();
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i].field == field) return static_cast<int>(i) + 1;
  return -1;
}

}  // namespace

std::string BlockRowSchema() {
  std::string s = "CREATE TABLE x(tenant_id TEXT, id TEXT, time INTEGER, ingest_time INTEGER, source TEXT";
  for (const ColumnField& c : ColumnFields()) {
    s += ", ";
    s += c.column;
    s += c.type == ColumnType::kKeyword ? " TEXT COLLATE NOCASE" : c.type == ColumnType::kLong ? " INTEGER" : " BLOB";
  }
  s += ", parse_error TEXT, raw_bytes BLOB, zflags INTEGER, doc TEXT, fts_message TEXT, fts_raw TEXT, data HIDDEN)";
  return s;
}

std::string_view FieldTermTag(std::string_view field) {
  const int f = TermFieldOf(field);
  return f < 0 ? std::string_view() : std::string_view(kTags + f, 1);
}

std::string FieldTerm(std::string_view field, const Cell& value) {
  const std::string_view tag = FieldTermTag(field);
  if (value.kind == Cell::Kind::kNull || tag.empty()) return {};
  std::string out(tag);
  out.push_back('=');
  AppendTermValue(out, value);
  return out;
}

std::string IpPrefixTerm(std::string_view field, std::string_view key, int bits) {
  const std::string_view tag = FieldTermTag(field);
  if (tag.empty() || key.size() != 16 || bits < 0 || bits > 128) return {};
  std::string out(tag);
  out.push_back('=');
  if (IsV4MappedKey(key) && bits >= 96) {
    if ((bits - 96) % 4 != 0) return {};
    std::string hex;
    AppendHex(hex, key.substr(12));
    return out + hex.substr(0, static_cast<std::size_t>(bits - 96) / 4);
  }
  if (bits % 4 != 0) return {};
  std::string hex;
  AppendHex(hex, key);
  hex.resize(static_cast<std::size_t>(bits) / 4);
  static const std::string kMappedHex = "00000000000000000000ffff";
  if (hex.size() <= kMappedHex.size() && kMappedHex.compare(0, hex.size(), hex) == 0) return {};
  return out + hex;
}

namespace {

bool AsciiSeparator(char c) {
  return tokenize_detail::kByteClass[static_cast<unsigned char>(c)] == tokenize_detail::kByteSep;
}

// Whether the tokens of `message` are all among those of `raw`: the message occurs in raw between
// ASCII separators (or the ends), so raw's tokenization passes through it unchanged. Syslog and
// most text formats keep the message as the tail of the raw line.
bool MessageInRaw(std::string_view message, std::string_view raw) {
  if (message.empty() || raw.size() < message.size()) return false;
  std::size_t at = raw.size() - message.size();
  if (raw.substr(at) != message) {
    at = raw.find(message);
    if (at == std::string_view::npos) return false;
  }
  const std::size_t end = at + message.size();
  return (at == 0 || AsciiSeparator(raw[at - 1])) && (end == raw.size() || AsciiSeparator(raw[end]));
}

}  // namespace

// ---- BlockWriter --------------------------------------------------------------------------------

// Distinct terms of the block being built: an open-addressing set of views into an arena of fixed
// chunks (never moved). Every term of every event passes through Add, most of them repeats; the
// field values of the previous row are remembered so that a repeated value (the common case: the
// same host, dataset, action) does not even build its term.
struct BlockWriter::Terms {
  struct Entry {
    const char* p;
    std::uint32_t n;
    std::uint64_t hash;
  };
  std::vector<std::uint32_t> slots = std::vector<std::uint32_t>(1024, 0);  // entry index + 1; 0 empty
  std::vector<Entry> entries;
  std::vector<std::unique_ptr<char[]>> chunks;
  std::size_t used = 0;
  std::size_t bytes = 0;  // of all terms, for the joined document
  static constexpr std::size_t kChunk = 64 * 1024;
  // The previous row's value of each term field (kind, integer, bytes), valid when last_set[f].
  struct Last {
    bool set = false;
    Cell::Kind kind = Cell::Kind::kNull;
    std::int64_t i = 0;
    std::string s;
  };
  std::array<Last, kTermFields> last;
  std::string term;  // scratch

  // The terms of one row (block.h): the tokens of message and raw, then FieldTerm of each field.
  void AddRow(const BlockRow& row) {
    auto tokens = [&](const Cell& c) {
      if (c.kind != Cell::Kind::kText || c.s.empty()) return;
      tokenize_detail::TokenizeImpl(c.s, false, [&](std::string_view t, int, int, bool) {
        Add(t);
        return 0;
      });
    };
    const Cell& message = row[kFtsMessage];
    const Cell& raw = row[kFtsRaw];
    if (!(raw.kind == Cell::Kind::kText && message.kind == Cell::Kind::kText && MessageInRaw(message.s, raw.s)))
      tokens(message);
    tokens(raw);
    for (int f = 0; f < kTermFields; ++f) {
      const Cell& c = row[TermFieldColumn(f)];
      if (c.kind == Cell::Kind::kNull) continue;
      Last& l = last[f];
      if (l.set && l.kind == c.kind && (c.kind == Cell::Kind::kInt ? l.i == c.i : l.s == c.s)) continue;
      l.set = true;
      l.kind = c.kind;
      l.i = c.i;
      if (c.kind == Cell::Kind::kInt) l.s.clear();
      else l.s.assign(c.s);
      term.assign(1, kTags[f]);
      term.push_back('=');
      AppendTermValue(term, c);
      Add(term);
    }
  }

  static std::uint64_t Hash(std::string_view t) {
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ t.size();
    std::size_t i = 0;
    for (; i + 8 <= t.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, t.data() + i, 8);
      h = (h ^ w) * 0xFF51AFD7ED558CCDull;
      h ^= h >> 32;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, t.data() + i, t.size() - i);
    h = (h ^ tail) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
  }

  void Add(std::string_view t) {
    if (t.empty()) return;
    const std::uint64_t h = Hash(t);
    std::size_t mask = slots.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const std::uint32_t s = slots[i];
      if (s == 0) break;
      const Entry& e = entries[s - 1];
      if (e.hash == h && e.n == t.size() && std::memcmp(e.p, t.data(), t.size()) == 0) return;
    }
    if (chunks.empty() || used + t.size() > kChunk) {
      chunks.push_back(std::make_unique<char[]>(std::max(kChunk, t.size())));
      used = 0;
    }
    char* p = chunks.back().get() + used;
    std::memcpy(p, t.data(), t.size());
    used += t.size();
    bytes += t.size() + 1;
    entries.push_back({p, static_cast<std::uint32_t>(t.size()), h});
    if (entries.size() * 2 > slots.size()) {
      Rehash(slots.size() * 2);
      return;
    }
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots[i] == 0) {
        slots[i] = static_cast<std::uint32_t>(entries.size());
        return;
      }
    }
  }
  void Rehash(std::size_t n) {
    slots.assign(n, 0);
    const std::size_t mask = n - 1;
    for (std::size_t k = 0; k < entries.size(); ++k)
      for (std::size_t i = entries[k].hash & mask;; i = (i + 1) & mask)
        if (slots[i] == 0) {
          slots[i] = static_cast<std::uint32_t>(k + 1);
          break;
        }
  }
  std::string Join() const {
    std::string out;
    out.reserve(bytes);
    for (const Entry& e : entries) {
      out.append(e.p, e.n);
      out.push_back('\n');
    }
    return out;
  }
  void Clear() {
    if (slots.size() > 1024 && entries.size() * 8 < slots.size()) slots.resize(1024);
    std::fill(slots.begin(), slots.end(), 0);
    entries.clear();
    if (chunks.size() > 1) chunks.resize(1);
    used = 0;
    bytes = 0;
    for (Last& l : last) l.set = false;  // the next block starts with an empty set
  }
};

BlockWriter::BlockWriter() : terms_(std::make_unique<Terms>()), cctx_(ZSTD_createCCtx()) {}
BlockWriter::~BlockWriter() { ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(cctx_)); }

void BlockWriter::Add(const BlockRow& row) {
  if (rows_ == 0) tenant_.assign(row[kTenant].s);
  for (int c = 0; c < kBlockColumns; ++c) {
    if (!Stored(c)) continue;
    const Cell& cell = row[c];
    switch (cell.kind) {
      case Cell::Kind::kNull:
        payload_.push_back('\0');
        break;
      case Cell::Kind::kInt:
        payload_.push_back('\1');
        PutVarint(payload_, ZigZag(cell.i));
        break;
      case Cell::Kind::kText:
      case Cell::Kind::kBlob:
        payload_.push_back(cell.kind == Cell::Kind::kText ? '\2' : '\3');
        PutVarint(payload_, cell.s.size());
        payload_.append(cell.s);
        break;
    }
  }
  const std::int64_t t = row[kTime].i;
  min_time_ = std::min(min_time_, t);
  max_time_ = std::max(max_time_, t);
  ++rows_;
  terms_->AddRow(row);
}

Result<BlockWriter::Finished> BlockWriter::Finish(int zstd_level) {
  std::string header(kMagic, sizeof kMagic);
  PutVarint(header, tenant_.size());
  header += tenant_;
  PutVarint(header, rows_);
  auto* cctx = static_cast<ZSTD_CCtx*>(cctx_);
  ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, zstd_level);
  ZSTD_CCtx_setPledgedSrcSize(cctx, header.size() + payload_.size());
  Finished out;
  // Into the writer's scratch, then copied at its exact size: the frame may wait in the pipeline's
  // sink queue (prepared batches), where a string sized by compressBound would hold ~20x its bytes.
  frame_.resize(ZSTD_compressBound(header.size() + payload_.size()));
  ZSTD_outBuffer ob{frame_.data(), frame_.size(), 0};
  for (int part = 0; part < 2; ++part) {
    const std::string& src = part == 0 ? header : payload_;
    ZSTD_inBuffer ib{src.data(), src.size(), 0};
    const ZSTD_EndDirective mode = part == 0 ? ZSTD_e_continue : ZSTD_e_end;
    while (true) {
      const std::size_t left = ZSTD_compressStream2(cctx, &ob, &ib, mode);
      if (ZSTD_isError(left)) return Error(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(left));
      if (mode == ZSTD_e_continue ? ib.pos == ib.size : left == 0) break;
    }
  }
  out.data.assign(frame_.data(), ob.pos);
  if (frame_.capacity() > 2 * kMaxBlockPayloadBytes) std::string().swap(frame_);
  out.terms = FinishTerms();
  return out;
}

std::string BlockWriter::FinishTerms() {
  std::string terms = terms_->Join();
  payload_.clear();
  if (payload_.capacity() > 2 * kMaxBlockPayloadBytes) payload_.shrink_to_fit();
  rows_ = 0;
  min_time_ = INT64_MAX;
  max_time_ = INT64_MIN;
  tenant_.clear();
  terms_->Clear();
  return terms;
}

// ---- BlockReader --------------------------------------------------------------------------------

BlockReader::BlockReader() : dctx_(ZSTD_createDCtx()) {}
BlockReader::~BlockReader() { ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(dctx_)); }

Status BlockReader::Open(std::string_view data) {
  std::swap(previous_, buf_);
  rows_ = read_ = pos_ = 0;
  tenant_.clear();
  const unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
    return Error(ErrorCode::kCorruption, "event block: not a zstd frame with its size");
  if (size > kMaxBlockDecodedBytes)
    return Error(ErrorCode::kCorruption, "event block: claims " + std::to_string(size) + " bytes decoded");
  buf_.resize(static_cast<std::size_t>(size));
  const std::size_t got = ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(dctx_), buf_.data(), buf_.size(), data.data(), data.size());
  if (ZSTD_isError(got) || got != size)
    return Error(ErrorCode::kCorruption, std::string("event block: ") + (ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short frame"));
  if (buf_.size() < sizeof kMagic || std::memcmp(buf_.data(), kMagic, sizeof kMagic) != 0)
    return Error(ErrorCode::kCorruption, "event block: bad magic");
  pos_ = sizeof kMagic;
  std::uint64_t n = 0, rows = 0;
  if (!GetVarint(buf_, pos_, n) || n > buf_.size() - pos_)
    return Error(ErrorCode::kCorruption, "event block: truncated tenant");
  tenant_.assign(buf_, pos_, static_cast<std::size_t>(n));
  pos_ += static_cast<std::size_t>(n);
  if (!GetVarint(buf_, pos_, rows) || rows > buf_.size()) return Error(ErrorCode::kCorruption, "event block: bad row count");
  rows_ = static_cast<std::size_t>(rows);
  return Ok();
}

Result<bool> BlockReader::Next(BlockRow& row) {
  if (read_ >= rows_) return false;
  const std::string_view s(buf_);
  for (int c = 0; c < kBlockColumns; ++c) {
    Cell& cell = row[c];
    if (c == kTenant) {
      cell = Cell::Text(tenant_);
      continue;
    }
    if (c == kZflags) {
      cell = Cell::Int(0);
      continue;
    }
    if (pos_ >= s.size())
      return Error(ErrorCode::kCorruption, "event block: row " + std::to_string(read_) + " is truncated");
    const char tag = s[pos_++];
    std::uint64_t v = 0;
    switch (tag) {
      case '\0':
        cell = Cell{};
        break;
      case '\1':
        if (!GetVarint(s, pos_, v)) return Error(ErrorCode::kCorruption, "event block: bad integer in row " + std::to_string(read_));
        cell = Cell::Int(UnZigZag(v));
        break;
      case '\2':
      case '\3':
        if (!GetVarint(s, pos_, v) || v > s.size() - pos_)
          return Error(ErrorCode::kCorruption, "event block: bad length in row " + std::to_string(read_));
        cell = tag == '\2' ? Cell::Text(s.substr(pos_, static_cast<std::size_t>(v)))
                           : Cell::Blob(s.substr(pos_, static_cast<std::size_t>(v)));
        pos_ += static_cast<std::size_t>(v);
        break;
      default:
        return Error(ErrorCode::kCorruption, "event block: bad cell tag in row " + std::to_string(read_));
    }
  }
  ++read_;
  return true;
}

Result<std::string> BlockReader::Recompress(std::string_view data, int zstd_level) {
  const unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxBlockDecodedBytes)
    return Error(ErrorCode::kCorruption, "event block: not a zstd frame with its size");
  std::string plain(static_cast<std::size_t>(size), '\0');
  const std::size_t got = ZSTD_decompress(plain.data(), plain.size(), data.data(), data.size());
  if (ZSTD_isError(got) || got != size) return Error(ErrorCode::kCorruption, "event block: corrupt frame");
  std::string out(ZSTD_compressBound(plain.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), plain.data(), plain.size(), zstd_level);
  if (ZSTD_isError(n)) return Error(ErrorCode::kInternal, std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

// ---- medsoc_block(data): the table-valued function -------------------------------------------------

namespace {

struct Cursor {
  sqlite3_vtab_cursor base{};
  BlockReader reader;
  BlockRow row{};
  std::int64_t rowid = 0;
  bool eof = true;
};

int Connect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** out, char** err) {
  static const std::string schema = BlockRowSchema();
  const int rc = sqlite3_declare_vtab(db, schema.c_str());
  if (rc != SQLITE_OK) {
    *err = sqlite3_mprintf("medsoc_block: %s", sqlite3_errmsg(db));
    return rc;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
  auto* vtab = static_cast<sqlite3_vtab*>(sqlite3_malloc(sizeof(sqlite3_vtab)));
  if (vtab == nullptr) return SQLITE_NOMEM;
  std::memset(vtab, 0, sizeof *vtab);
  *out = vtab;
  return SQLITE_OK;
}

int Disconnect(sqlite3_vtab* vtab) {
  sqlite3_free(vtab);
  return SQLITE_OK;
}

int BestIndex(sqlite3_vtab*, sqlite3_index_info* info) {
  bool seen = false;
  for (int i = 0; i < info->nConstraint; ++i) {
    const auto& c = info->aConstraint[i];
    if (c.iColumn != kBlockColumns || c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    seen = true;
    if (!c.usable) continue;
    info->aConstraintUsage[i].argvIndex = 1;
    info->aConstraintUsage[i].omit = 1;
    info->estimatedCost = 1000;
    info->estimatedRows = static_cast<sqlite3_int64>(kMaxBlockRows);
    return SQLITE_OK;
  }
  // Without its argument the function has no rows to give: make the planner find another order.
  (void)seen;
  return SQLITE_CONSTRAINT;
}

int Open(sqlite3_vtab*, sqlite3_vtab_cursor** out) {
  auto* cur = new (std::nothrow) Cursor();
  if (cur == nullptr) return SQLITE_NOMEM;
  *out = &cur->base;
  return SQLITE_OK;
}

int Close(sqlite3_vtab_cursor* base) {
  delete reinterpret_cast<Cursor*>(base);
  return SQLITE_OK;
}

int Fail(sqlite3_vtab_cursor* base, const Error& e) {
  sqlite3_free(base->pVtab->zErrMsg);
  base->pVtab->zErrMsg = sqlite3_mprintf("%s", e.message().c_str());
  return SQLITE_CORRUPT;
}

int Next(sqlite3_vtab_cursor* base) {
  auto* cur = reinterpret_cast<Cursor*>(base);
  auto more = cur->reader.Next(cur->row);
  if (!more.ok()) return Fail(base, more.error());
  cur->eof = !*more;
  ++cur->rowid;
  return SQLITE_OK;
}

int Filter(sqlite3_vtab_cursor* base, int, const char*, int argc, sqlite3_value** argv) {
  auto* cur = reinterpret_cast<Cursor*>(base);
  cur->eof = true;
  cur->rowid = 0;
  if (argc < 1 || sqlite3_value_type(argv[0]) == SQLITE_NULL) return SQLITE_OK;
  const auto* p = static_cast<const char*>(sqlite3_value_blob(argv[0]));
  const auto n = static_cast<std::size_t>(sqlite3_value_bytes(argv[0]));
  if (Status st = cur->reader.Open(std::string_view(p == nullptr ? "" : p, n)); !st.ok()) return Fail(base, st.error());
  auto more = cur->reader.Next(cur->row);
  if (!more.ok()) return Fail(base, more.error());
  cur->eof = !*more;
  return SQLITE_OK;
}

int Eof(sqlite3_vtab_cursor* base) { return reinterpret_cast<Cursor*>(base)->eof ? 1 : 0; }

int Column(sqlite3_vtab_cursor* base, sqlite3_context* ctx, int col) {
  auto* cur = reinterpret_cast<Cursor*>(base);
  if (col < 0 || col >= kBlockColumns) return SQLITE_OK;  // the hidden argument: NULL
  const Cell& c = cur->row[col];
  switch (c.kind) {
    case Cell::Kind::kNull:
      break;
    case Cell::Kind::kInt:
      sqlite3_result_int64(ctx, c.i);
      break;
    case Cell::Kind::kText:
      // The reader keeps this block's buffer and the one before, so the bytes outlive the row.
      sqlite3_result_text64(ctx, c.s.data(), c.s.size(), SQLITE_STATIC, SQLITE_UTF8);
      break;
    case Cell::Kind::kBlob:
      sqlite3_result_blob64(ctx, c.s.data(), c.s.size(), SQLITE_STATIC);
      break;
  }
  return SQLITE_OK;
}

int Rowid(sqlite3_vtab_cursor* base, sqlite3_int64* out) {
  *out = reinterpret_cast<Cursor*>(base)->rowid;
  return SQLITE_OK;
}

}  // namespace

Status RegisterBlockModule(sqlite3* db) {
  static sqlite3_module module = [] {
    sqlite3_module m{};
    m.iVersion = 0;
    m.xCreate = nullptr;  // eponymous only: used as medsoc_block(data), never created
    m.xConnect = Connect;
    m.xBestIndex = BestIndex;
    m.xDisconnect = Disconnect;
    m.xDestroy = Disconnect;
    m.xOpen = Open;
    m.xClose = Close;
    m.xFilter = Filter;
    m.xNext = Next;
    m.xEof = Eof;
    m.xColumn = Column;
    m.xRowid = Rowid;
    return m;
  }();
  if (sqlite3_create_module_v2(db, "medsoc_block", &module, nullptr, nullptr) != SQLITE_OK)
    return Error(ErrorCode::kInternal, std::string("sqlite: cannot register medsoc_block: ") + sqlite3_errmsg(db));
  return Ok();
}

}  // namespace medsoc::store::events
