#include "assets/table_io.h"

#include <expat.h>
#include <iconv.h>
#include <unistd.h>
#include <unzip.h>
#include <xlsxwriter.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace medsoc::assets {
namespace {

constexpr std::size_t kMaxPartBytes = 64u << 20;
constexpr std::size_t kMaxRows = 1'000'000;

const char* const kIdHeader = "资产编号";
const char* const kStatusHeader = "状态";
const char* const kServicesHeader = "开放服务";
const char* const kSoftwareHeader = "软件清单";
const char* const kFirstSeenHeader = "首次发现";
const char* const kLastSeenHeader = "最近发现";

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return std::string(s);
}

std::string TimeCell(core::Timestamp t) { return t.ns == 0 ? "" : core::FormatRfc3339(t, 0); }

std::string StatusZh(AssetStatus s) {
  switch (s) {
    case AssetStatus::kActive: return "在用";
    case AssetStatus::kOffline: return "离线";
    case AssetStatus::kRetired: return "已退役";
  }
  return "";
}

std::string DisplayValue(const AttributeSpec& spec, const std::string& value) {
  if (spec.type == AttrType::kEnum) {
    for (const auto& v : spec.values)
      if (v.name == value) return std::string(v.zh);
    return value;
  }
  if (spec.type == AttrType::kList) {
    std::string out;
    for (const auto& item : ListFromJson(value)) out += (out.empty() ? "" : "; ") + item;
    return out;
  }
  return value;
}

std::vector<std::string> SplitItems(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ';' || c == '\n') {
      if (auto t = Trim(cur); !t.empty()) out.push_back(t);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (auto t = Trim(cur); !t.empty()) out.push_back(t);
  return out;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 9;
    if (n == 9 || i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n + 1;
  }
  return true;
}

Result<std::string> Gb18030ToUtf8(std::string_view in) {
  iconv_t cd = iconv_open("UTF-8", "GB18030");
  if (cd == reinterpret_cast<iconv_t>(-1)) return Error(ErrorCode::kInternal, "iconv: GB18030 is not available");
  std::string out(in.size() * 2 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
  iconv_close(cd);
  if (rc == static_cast<size_t>(-1))
    return Error(ErrorCode::kParse, "the file is neither UTF-8 nor GB18030 text");
  out.resize(out.size() - dst_left);
  return out;
}

std::string CsvQuote(const std::string& raw) {
  std::string v = raw;
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r'))
    v.insert(v.begin(), '\'');
  bool quote = v.find_first_of(",\"\r\n") != std::string::npos || v != Trim(v);
  if (!quote) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string Unapostrophe(std::string v) {
  if (v.size() >= 2 && v[0] == '\'' &&
      (v[1] == '=' || v[1] == '+' || v[1] == '-' || v[1] == '@' || v[1] == '\t' || v[1] == '\r'))
    v.erase(0, 1);
  return v;
}

// ---- XLSX reading ----

struct ZipReader {
  unzFile zf = nullptr;
  ~ZipReader() {
    if (zf) unzClose(zf);
  }
  Result<std::optional<std::string>> Read(const char* name) {
    if (unzLocateFile(zf, name, 0) != UNZ_OK) return std::optional<std::string>();
    unz_file_info info{};
    if (unzGetCurrentFileInfo(zf, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK)
      return Error(ErrorCode::kParse, std::string("xlsx: cannot read entry ") + name);
    if (info.uncompressed_size > kMaxPartBytes)
      return Error(ErrorCode::kResourceExhausted, std::string("xlsx: ") + name + " is larger than 64 MiB");
    if (unzOpenCurrentFile(zf) != UNZ_OK) return Error(ErrorCode::kParse, std::string("xlsx: cannot open ") + name);
    std::string out;
    char buf[65536];
    while (true) {
      int n = unzReadCurrentFile(zf, buf, sizeof buf);
      if (n < 0) {
        unzCloseCurrentFile(zf);
        return Error(ErrorCode::kParse, std::string("xlsx: corrupt entry ") + name);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > kMaxPartBytes) {
        unzCloseCurrentFile(zf);
        return Error(ErrorCode::kResourceExhausted, std::string("xlsx: ") + name + " is larger than 64 MiB");
      }
    }
    if (unzCloseCurrentFile(zf) != UNZ_OK) return Error(ErrorCode::kParse, std::string("xlsx: CRC error in ") + name);
    return std::optional<std::string>(std::move(out));
  }
};

struct XmlState {
  // shared strings
  std::vector<std::string>* strings = nullptr;
  bool in_si = false, in_t = false, in_rph = false;
  std::string cur;
  // sheet
  Table* table = nullptr;
  const std::vector<std::string>* shared = nullptr;
  std::map<int, std::vector<std::string>> grid;  // row number -> cells
  int row = 0, col = 0;
  std::string cell_type;
  bool in_v = false, in_is = false;
  std::string value;
  bool too_big = false;
};

int ColumnFromRef(const char* ref) {
  int col = 0;
  for (; *ref >= 'A' && *ref <= 'Z'; ++ref) col = col * 26 + (*ref - 'A' + 1);
  return col - 1;
}

const char* Attr(const char** attrs, const char* name) {
  for (int i = 0; attrs[i]; i += 2)
    if (std::strcmp(attrs[i], name) == 0) return attrs[i + 1];
  return nullptr;
}

// Element names may carry a namespace prefix ("x:row"); compare the local part.
bool Is(const char* name, const char* local) {
  const char* colon = std::strrchr(name, ':');
  return std::strcmp(colon ? colon + 1 : name, local) == 0;
}

void XMLCALL SsStart(void* ud, const char* name, const char** attrs) {
  auto* s = static_cast<XmlState*>(ud);
  if (Is(name, "si")) {
    s->in_si = true;
    s->cur.clear();
  } else if (Is(name, "rPh")) {
    s->in_rph = true;  // phonetic runs are not part of the text
  } else if (Is(name, "t") && s->in_si && !s->in_rph) {
    s->in_t = true;
  }
}
void XMLCALL SsEnd(void* ud, const char* name) {
  auto* s = static_cast<XmlState*>(ud);
  if (Is(name, "si")) {
    s->in_si = false;
    s->strings->push_back(s->cur);
  } else if (Is(name, "rPh")) {
    s->in_rph = false;
  } else if (Is(name, "t")) {
    s->in_t = false;
  }
}
void XMLCALL SsText(void* ud, const char* text, int len) {
  auto* s = static_cast<XmlState*>(ud);
  if (s->in_t) s->cur.append(text, static_cast<size_t>(len));
}

void XMLCALL SheetStart(void* ud, const char* name, const char** attrs) {
  auto* s = static_cast<XmlState*>(ud);
  if (Is(name, "row")) {
    const char* r = Attr(attrs, "r");
    s->row = r ? std::atoi(r) : s->row + 1;
    s->col = 0;
    if (s->grid.size() >= kMaxRows) s->too_big = true;
  } else if (Is(name, "c")) {
    const char* r = Attr(attrs, "r");
    if (r) s->col = ColumnFromRef(r);
    const char* t = Attr(attrs, "t");
    s->cell_type = t ? t : "n";
    s->value.clear();
  } else if (Is(name, "v")) {
    s->in_v = true;
  } else if (Is(name, "is")) {
    s->in_is = true;
  } else if (Is(name, "t") && s->in_is) {
    s->in_v = true;
  } else if (Is(name, "rPh")) {
    s->in_rph = true;
  }
}
void XMLCALL SheetEnd(void* ud, const char* name) {
  auto* s = static_cast<XmlState*>(ud);
  if (Is(name, "c")) {
    std::string v = s->value;
    if (s->cell_type == "s") {
      char* end = nullptr;
      long idx = std::strtol(v.c_str(), &end, 10);
      v = (end != v.c_str() && idx >= 0 && static_cast<size_t>(idx) < s->shared->size()) ? (*s->shared)[idx] : "";
    } else if (s->cell_type == "b") {
      v = v == "1" ? "TRUE" : "FALSE";
    }
    if (s->col >= 0 && s->col < 4096 && !s->too_big) {
      auto& cells = s->grid[s->row];
      if (cells.size() <= static_cast<size_t>(s->col)) cells.resize(s->col + 1);
      cells[s->col] = v;
    }
    ++s->col;
  } else if (Is(name, "v")) {
    s->in_v = false;
  } else if (Is(name, "is")) {
    s->in_is = false;
    s->in_v = false;
  } else if (Is(name, "t")) {
    if (s->in_is) s->in_v = false;
  } else if (Is(name, "rPh")) {
    s->in_rph = false;
  }
}
void XMLCALL SheetText(void* ud, const char* text, int len) {
  auto* s = static_cast<XmlState*>(ud);
  if (s->in_v && !s->in_rph) s->value.append(text, static_cast<size_t>(len));
}

Status ParseXml(const std::string& xml, XmlState& state, XML_StartElementHandler start, XML_EndElementHandler end,
                XML_CharacterDataHandler text, const char* what) {
  XML_Parser p = XML_ParserCreate("UTF-8");
  if (!p) return Error(ErrorCode::kInternal, "expat: out of memory");
  XML_SetUserData(p, &state);
  XML_SetElementHandler(p, start, end);
  XML_SetCharacterDataHandler(p, text);
  // Spreadsheet parts need no DTD; refusing one stops entity-expansion bombs.
  XML_SetStartDoctypeDeclHandler(p, [](void* ud, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    static_cast<XmlState*>(ud)->too_big = true;
  });
  const bool ok = XML_Parse(p, xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_OK;
  std::string msg = ok ? "" : std::string(XML_ErrorString(XML_GetErrorCode(p))) + " at line " +
                                  std::to_string(XML_GetCurrentLineNumber(p));
  XML_ParserFree(p);
  if (!ok) return Error(ErrorCode::kParse, std::string("xlsx: ") + what + ": " + msg);
  if (state.too_big) return Error(ErrorCode::kResourceExhausted, std::string("xlsx: ") + what + ": refused (DTD or too many rows)");
  return Ok();
}

Result<Table> ParseZip(unzFile zf) {
  ZipReader zip;
  zip.zf = zf;
  if (!zip.zf) return Error(ErrorCode::kParse, "xlsx: not a zip archive");
  std::vector<std::string> shared;
  MEDSOC_ASSIGN_OR_RETURN(auto ss, zip.Read("xl/sharedStrings.xml"));
  if (ss) {
    XmlState st;
    st.strings = &shared;
    MEDSOC_TRY(ParseXml(*ss, st, SsStart, SsEnd, SsText, "sharedStrings.xml"));
  }
  MEDSOC_ASSIGN_OR_RETURN(auto sheet, zip.Read("xl/worksheets/sheet1.xml"));
  if (!sheet) return Error(ErrorCode::kParse, "xlsx: no first worksheet (xl/worksheets/sheet1.xml)");
  XmlState st;
  st.shared = &shared;
  MEDSOC_TRY(ParseXml(*sheet, st, SheetStart, SheetEnd, SheetText, "sheet1.xml"));
  Table table;
  bool header_done = false;
  for (auto& [row, cells] : st.grid) {
    bool empty = true;
    for (auto& c : cells) empty = empty && Trim(c).empty();
    if (empty) continue;
    if (!header_done) {
      table.header = cells;
      header_done = true;
      continue;
    }
    table.rows.push_back(cells);
    table.lines.push_back(row);
  }
  if (!header_done) return Error(ErrorCode::kParse, "xlsx: the first worksheet is empty");
  return table;
}

// minizip I/O over a memory buffer.
struct MemFile {
  std::string_view data;
  size_t pos = 0;
};
voidpf ZCALLBACK MemOpen(voidpf opaque, const char*, int) { return opaque; }
uLong ZCALLBACK MemRead(voidpf, voidpf stream, void* buf, uLong size) {
  auto* m = static_cast<MemFile*>(stream);
  size_t n = std::min<size_t>(size, m->data.size() - m->pos);
  std::memcpy(buf, m->data.data() + m->pos, n);
  m->pos += n;
  return static_cast<uLong>(n);
}
uLong ZCALLBACK MemWrite(voidpf, voidpf, const void*, uLong) { return 0; }
long ZCALLBACK MemTell(voidpf, voidpf stream) { return static_cast<long>(static_cast<MemFile*>(stream)->pos); }
long ZCALLBACK MemSeek(voidpf, voidpf stream, uLong offset, int origin) {
  auto* m = static_cast<MemFile*>(stream);
  size_t base = origin == ZLIB_FILEFUNC_SEEK_SET ? 0 : origin == ZLIB_FILEFUNC_SEEK_CUR ? m->pos : m->data.size();
  size_t target = base + offset;
  if (target > m->data.size()) return -1;
  m->pos = target;
  return 0;
}
int ZCALLBACK MemClose(voidpf, voidpf) { return 0; }
int ZCALLBACK MemError(voidpf, voidpf) { return 0; }

}  // namespace

std::vector<std::string> ExportHeaders() {
  std::vector<std::string> h = {kIdHeader};
  for (const auto& spec : AttributeSpecs()) h.emplace_back(spec.zh);
  for (const char* x : {kStatusHeader, kServicesHeader, kSoftwareHeader, kFirstSeenHeader, kLastSeenHeader})
    h.emplace_back(x);
  return h;
}

std::string FormatServiceCell(const Service& s) {
  std::string out = std::to_string(s.port) + "/" + s.proto + " " + (s.service.empty() ? "unknown" : s.service);
  if (!s.product.empty() || !s.version.empty()) out += "|" + s.product;
  if (!s.version.empty()) out += "|" + s.version;
  return out;
}

Result<Service> ParseServiceCell(std::string_view item) {
  std::string text = Trim(item);
  auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0)
    return Error(ErrorCode::kInvalidArgument, "service '" + text + "': expected PORT/PROTO service|product|version");
  Service s;
  int port = 0;
  for (size_t i = 0; i < slash; ++i) {
    if (text[i] < '0' || text[i] > '9' || port > 65535)
      return Error(ErrorCode::kInvalidArgument, "service '" + text + "': bad port");
    port = port * 10 + (text[i] - '0');
  }
  if (port > 65535) return Error(ErrorCode::kInvalidArgument, "service '" + text + "': port above 65535");
  s.port = static_cast<std::uint16_t>(port);
  auto space = text.find(' ', slash);
  s.proto = text.substr(slash + 1, space == std::string::npos ? std::string::npos : space - slash - 1);
  if (s.proto != "tcp" && s.proto != "udp")
    return Error(ErrorCode::kInvalidArgument, "service '" + text + "': protocol must be tcp or udp");
  if (space != std::string::npos) {
    std::string rest = Trim(std::string_view(text).substr(space + 1));
    std::vector<std::string> parts;
    size_t start = 0;
    while (true) {
      auto bar = rest.find('|', start);
      parts.push_back(Trim(rest.substr(start, bar == std::string::npos ? std::string::npos : bar - start)));
      if (bar == std::string::npos) break;
      start = bar + 1;
    }
    if (parts.size() > 0) s.service = parts[0];
    if (parts.size() > 1) s.product = parts[1];
    if (parts.size() > 2) s.version = parts[2];
  }
  return s;
}

std::vector<std::string> ExportRow(const Asset& a) {
  std::vector<std::string> row = {a.id};
  for (const auto& spec : AttributeSpecs()) row.push_back(DisplayValue(spec, a.Get(spec.name)));
  row.push_back(StatusZh(a.status));
  std::string services, software;
  for (const auto& s : a.services)
    if (s.open) services += (services.empty() ? "" : "; ") + FormatServiceCell(s);
  for (const auto& sw : a.software) software += (software.empty() ? "" : "; ") + sw.name + "|" + sw.version;
  row.push_back(services);
  row.push_back(software);
  row.push_back(TimeCell(a.first_seen));
  row.push_back(TimeCell(a.last_seen));
  return row;
}

std::string AssetsToCsv(const std::vector<Asset>& assets) {
  std::string out = "\xEF\xBB\xBF";
  auto line = [&out](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i) out.push_back(',');
      out += CsvQuote(cells[i]);
    }
    out += "\r\n";
  };
  line(ExportHeaders());
  for (const auto& a : assets) line(ExportRow(a));
  return out;
}

Result<std::string> AssetsToXlsx(const std::vector<Asset>& assets, const std::vector<BusinessSystem>& systems) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/medsoc-export-XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0) return Error(ErrorCode::kIo, "cannot create a temporary file for the XLSX export");
  ::close(fd);
  struct Unlink {
    std::string p;
    ~Unlink() { ::unlink(p.c_str()); }
  } unlink_guard{path};

  lxw_workbook* wb = workbook_new(path.c_str());
  if (!wb) return Error(ErrorCode::kIo, "libxlsxwriter: cannot create the workbook");
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  format_set_bg_color(bold, 0xDDEBF7);
  lxw_worksheet* ws = workbook_add_worksheet(wb, "资产台账");
  auto headers = ExportHeaders();
  for (size_t c = 0; c < headers.size(); ++c) {
    worksheet_write_string(ws, 0, static_cast<lxw_col_t>(c), headers[c].c_str(), bold);
    worksheet_set_column(ws, static_cast<lxw_col_t>(c), static_cast<lxw_col_t>(c), c == 0 ? 28 : 16, nullptr);
  }
  worksheet_freeze_panes(ws, 1, 0);
  lxw_row_t r = 1;
  for (const auto& a : assets) {
    auto row = ExportRow(a);
    for (size_t c = 0; c < row.size(); ++c)
      if (!row[c].empty()) worksheet_write_string(ws, r, static_cast<lxw_col_t>(c), row[c].c_str(), nullptr);
    ++r;
  }
  worksheet_autofilter(ws, 0, 0, r > 1 ? r - 1 : 0, static_cast<lxw_col_t>(headers.size() - 1));
  lxw_worksheet* bs = workbook_add_worksheet(wb, "业务系统");
  const char* bs_headers[] = {"业务系统", "等保级别", "责任部门", "责任人", "说明"};
  for (int c = 0; c < 5; ++c) worksheet_write_string(bs, 0, static_cast<lxw_col_t>(c), bs_headers[c], bold);
  lxw_row_t br = 1;
  for (const auto& s : systems) {
    worksheet_write_string(bs, br, 0, s.name.c_str(), nullptr);
    std::string level = s.mlps_level == 0 ? "未定级" : "第" + std::to_string(s.mlps_level) + "级";
    worksheet_write_string(bs, br, 1, level.c_str(), nullptr);
    worksheet_write_string(bs, br, 2, s.owner_department.c_str(), nullptr);
    worksheet_write_string(bs, br, 3, s.owner.c_str(), nullptr);
    worksheet_write_string(bs, br, 4, s.description.c_str(), nullptr);
    ++br;
  }
  lxw_error err = workbook_close(wb);
  if (err != LXW_NO_ERROR) return Error(ErrorCode::kIo, std::string("libxlsxwriter: ") + lxw_strerror(err));
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<Table> ParseCsv(std::string_view raw) {
  std::string converted;
  if (raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
  if (!ValidUtf8(raw)) {
    MEDSOC_ASSIGN_OR_RETURN(converted, Gb18030ToUtf8(raw));
    raw = converted;
  }
  Table t;
  std::vector<std::string> row;
  std::string cell;
  bool in_quotes = false, any = false;
  int line = 1, row_line = 1;
  auto end_row = [&] {
    row.push_back(cell);
    cell.clear();
    bool empty = true;
    for (auto& c : row) empty = empty && Trim(c).empty();
    if (!empty) {
      for (auto& c : row) c = Unapostrophe(c);
      if (t.header.empty() && !any) {
        t.header = row;
        any = true;
      } else {
        t.rows.push_back(row);
        t.lines.push_back(row_line);
      }
    }
    row.clear();
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < raw.size() && raw[i + 1] == '"') {
          cell.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        cell.push_back(c);
      }
    } else if (c == '"' && Trim(cell).empty()) {
      cell.clear();
      in_quotes = true;
    } else if (c == ',') {
      row.push_back(cell);
      cell.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
      end_row();
      ++line;
      row_line = line;
      if (t.rows.size() > kMaxRows) return Error(ErrorCode::kResourceExhausted, "csv: more than 1,000,000 rows");
    } else {
      cell.push_back(c);
    }
  }
  if (in_quotes) return Error(ErrorCode::kParse, "csv: unterminated quoted cell", SourcePos{"", row_line, 0});
  if (!cell.empty() || !row.empty()) end_row();
  if (t.header.empty()) return Error(ErrorCode::kParse, "csv: no header row");
  return t;
}

Result<Table> ParseXlsx(const std::string& path) { return ParseZip(unzOpen64(path.c_str())); }

Result<Table> ParseXlsxBytes(std::string_view bytes) {
  MemFile mem{bytes, 0};
  zlib_filefunc_def funcs{};
  funcs.zopen_file = MemOpen;
  funcs.zread_file = MemRead;
  funcs.zwrite_file = MemWrite;
  funcs.ztell_file = MemTell;
  funcs.zseek_file = MemSeek;
  funcs.zclose_file = MemClose;
  funcs.zerror_file = MemError;
  funcs.opaque = &mem;
  return ParseZip(unzOpen2("mem", &funcs));
}

ParsedImport RowsFromTable(const Table& table, const std::string& file) {
  ParsedImport out;
  enum Special { kAttr, kId, kStatus, kServices, kSoftware, kIgnore };
  struct Column {
    Special kind = kIgnore;
    const AttributeSpec* spec = nullptr;
  };
  std::vector<Column> cols(table.header.size());
  for (size_t c = 0; c < table.header.size(); ++c) {
    std::string h = Trim(table.header[c]);
    if (h.empty()) continue;
    if (h == kIdHeader || h == "id" || h == "ID" || h == "Asset ID") {
      cols[c].kind = kId;
    } else if (h == kStatusHeader || h == "status" || h == "Status") {
      cols[c].kind = kStatus;
    } else if (h == kServicesHeader || h == "services" || h == "Services") {
      cols[c].kind = kServices;
    } else if (h == kSoftwareHeader || h == "software" || h == "Software") {
      cols[c].kind = kSoftware;
    } else if (h == kFirstSeenHeader || h == kLastSeenHeader || h == "first_seen" || h == "last_seen") {
      cols[c].kind = kIgnore;
    } else {
      for (const auto& spec : AttributeSpecs())
        if (h == spec.zh || h == spec.name || h == spec.en) cols[c] = {kAttr, &spec};
      if (cols[c].kind != kAttr)
        out.errors.push_back(Error(ErrorCode::kInvalidArgument, "unknown column '" + h + "' ignored",
                                   SourcePos{file, 1, static_cast<int>(c + 1)}));
    }
  }
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& cells = table.rows[r];
    ImportRow row;
    row.line = table.lines[r];
    bool bad = false;
    for (size_t c = 0; c < cells.size() && c < cols.size(); ++c) {
      const std::string v = Trim(cells[c]);
      const SourcePos pos{file, row.line, static_cast<int>(c + 1)};
      switch (cols[c].kind) {
        case kId: row.id = v; break;
        case kStatus: row.status = v; break;
        case kAttr: {
          auto norm = NormalizeValue(*cols[c].spec, v);
          if (!norm.ok()) {
            out.errors.push_back(Error(norm.error().code(), norm.error().message(), pos));
            bad = true;
          } else {
            row.attrs[std::string(cols[c].spec->name)] = v;
          }
          break;
        }
        case kServices:
          for (const auto& item : SplitItems(v)) {
            auto s = ParseServiceCell(item);
            if (!s.ok()) {
              out.errors.push_back(Error(s.error().code(), s.error().message(), pos));
              bad = true;
            } else {
              row.services.push_back(*s);
            }
          }
          break;
        case kSoftware:
          for (const auto& item : SplitItems(v)) {
            auto bar = item.find('|');
            Software sw;
            sw.name = Trim(item.substr(0, bar));
            sw.version = bar == std::string::npos ? "" : Trim(item.substr(bar + 1));
            if (!sw.name.empty()) row.software.push_back(sw);
          }
          break;
        case kIgnore: break;
      }
    }
    if (!bad) out.rows.push_back(std::move(row));
  }
  return out;
}

Result<ParsedImport> ReadImportFile(const std::string& path) {
  auto ends_with = [&](const char* ext) {
    std::string p = path;
    for (auto& ch : p) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return p.size() >= std::strlen(ext) && p.compare(p.size() - std::strlen(ext), std::string::npos, ext) == 0;
  };
  Table table;
  if (ends_with(".xlsx")) {
    MEDSOC_ASSIGN_OR_RETURN(table, ParseXlsx(path));
  } else if (ends_with(".csv") || ends_with(".txt")) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error(ErrorCode::kNotFound, "cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    auto parsed = ParseCsv(ss.str());
    if (!parsed.ok()) {
      const auto& e = parsed.error();
      return Error(e.code(), e.message(), SourcePos{path, e.pos() ? e.pos()->line : 0, 0});
    }
    table = std::move(*parsed);
  } else {
    return Error(ErrorCode::kInvalidArgument, "import: " + path + ": expected a .csv or .xlsx file");
  }
  return RowsFromTable(table, path);
}

}  // namespace medsoc::assets
