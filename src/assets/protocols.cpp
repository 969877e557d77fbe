#include "assets/protocols.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/crypto.h"

namespace medsoc::assets {
namespace {

// Bounds-checked big/little-endian readers over untrusted bytes.
struct Reader {
  std::string_view d;
  size_t pos = 0;
  bool ok = true;
  bool Has(size_t n) const { return ok && pos + n <= d.size(); }
  std::uint8_t U8() {
    if (!Has(1)) return ok = false, 0;
    return static_cast<std::uint8_t>(d[pos++]);
  }
  std::uint16_t U16Be() {
    if (!Has(2)) return ok = false, 0;
    auto v = static_cast<std::uint16_t>((static_cast<std::uint8_t>(d[pos]) << 8) | static_cast<std::uint8_t>(d[pos + 1]));
    pos += 2;
    return v;
  }
  std::uint16_t U16Le() {
    if (!Has(2)) return ok = false, 0;
    auto v = static_cast<std::uint16_t>(static_cast<std::uint8_t>(d[pos]) | (static_cast<std::uint8_t>(d[pos + 1]) << 8));
    pos += 2;
    return v;
  }
  std::uint32_t U32Be() {
    std::uint32_t hi = U16Be();
    return (hi << 16) | U16Be();
  }
  std::uint32_t U32Le() {
    std::uint32_t lo = U16Le();
    return lo | (static_cast<std::uint32_t>(U16Le()) << 16);
  }
  std::string_view Bytes(size_t n) {
    if (!Has(n)) return ok = false, std::string_view();
    auto v = d.substr(pos, n);
    pos += n;
    return v;
  }
};

std::string Printable(std::string_view s, size_t max = 256) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max) break;
    if (c >= 0x20 && c != 0x7f) out.push_back(static_cast<char>(c));
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  size_t start = out.find_first_not_of(' ');
  return start == std::string::npos ? "" : out.substr(start);
}

std::string TrimAe(std::string_view s) {
  std::string out = Printable(s, 16);
  return out;
}

void PutU16Be(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xff));
}
void PutU32Be(std::string& s, std::uint32_t v) {
  PutU16Be(s, static_cast<std::uint16_t>(v >> 16));
  PutU16Be(s, static_cast<std::uint16_t>(v & 0xffff));
}
void PutU16Le(std::string& s, std::uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
void PutU32Le(std::string& s, std::uint32_t v) {
  PutU16Le(s, static_cast<std::uint16_t>(v & 0xffff));
  PutU16Le(s, static_cast<std::uint16_t>(v >> 16));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- DICOM (PS3.8) ----

constexpr std::string_view kAppContext = "1.2.840.10008.3.1.1.1";
constexpr std::string_view kVerification = "1.2.840.10008.1.1";
constexpr std::string_view kImplicitLe = "1.2.840.10008.1.2";
// medsoc's implementation class UID: a UUID-derived UID under 2.25 (PS3.5 B.2), fixed for medsoc.
constexpr std::string_view kMedsocImplUid = "2.25.231977291183411098458516224883893510656";
constexpr std::string_view kMedsocVersionName = "MEDSOC_0_1";

std::string Ae(std::string_view title) {
  std::string t(title.substr(0, 16));
  t.resize(16, ' ');
  return t;
}

std::string Item(std::uint8_t type, std::string_view body) {
  std::string s;
  s.push_back(static_cast<char>(type));
  s.push_back('\0');
  PutU16Be(s, static_cast<std::uint16_t>(body.size()));
  s += body;
  return s;
}

std::string Pdu(std::uint8_t type, std::string_view body) {
  std::string s;
  s.push_back(static_cast<char>(type));
  s.push_back('\0');
  PutU32Be(s, static_cast<std::uint32_t>(body.size()));
  s += body;
  return s;
}

std::string AssociateRq(const ProbeParams& p) {
  std::string body;
  PutU16Be(body, 1);  // protocol version
  PutU16Be(body, 0);
  body += Ae(p.dicom_called_ae);
  body += Ae(p.dicom_calling_ae);
  body.append(32, '\0');
  body += Item(0x10, kAppContext);
  std::string pc;
  pc.push_back(1);  // presentation context id
  pc.append(3, '\0');
  pc += Item(0x30, kVerification);
  pc += Item(0x40, kImplicitLe);
  body += Item(0x20, pc);
  std::string ui;
  std::string max_len;
  PutU32Be(max_len, 16384);
  ui += Item(0x51, max_len);
  ui += Item(0x52, kMedsocImplUid);
  ui += Item(0x55, kMedsocVersionName);
  body += Item(0x50, ui);
  return Pdu(0x01, body);
}

void Element(std::string& ds, std::uint16_t group, std::uint16_t element, std::string_view value) {
  PutU16Le(ds, group);
  PutU16Le(ds, element);
  PutU32Le(ds, static_cast<std::uint32_t>(value.size()));
  ds += value;
}

std::string EchoRq(std::uint8_t pc_id) {
  std::string uid(kVerification);
  if (uid.size() % 2) uid.push_back('\0');
  std::string rest;
  Element(rest, 0x0000, 0x0002, uid);
  std::string us;
  PutU16Le(us, 0x0030);
  Element(rest, 0x0000, 0x0100, us);  // CommandField C-ECHO-RQ
  us.clear();
  PutU16Le(us, 1);
  Element(rest, 0x0000, 0x0110, us);  // MessageID
  us.clear();
  PutU16Le(us, 0x0101);
  Element(rest, 0x0000, 0x0800, us);  // no data set
  std::string gl;
  PutU32Le(gl, static_cast<std::uint32_t>(rest.size()));
  std::string ds;
  Element(ds, 0x0000, 0x0000, gl);
  ds += rest;
  std::string pdv;
  PutU32Be(pdv, static_cast<std::uint32_t>(ds.size() + 2));
  pdv.push_back(static_cast<char>(pc_id));
  pdv.push_back(0x03);  // command, last fragment
  pdv += ds;
  return Pdu(0x04, pdv);
}

std::string ReleaseRq() { return Pdu(0x05, std::string(4, '\0')); }

// Splits complete PDUs off the front of `data`.
std::vector<std::pair<std::uint8_t, std::string_view>> Pdus(std::string_view data, size_t* consumed = nullptr) {
  std::vector<std::pair<std::uint8_t, std::string_view>> out;
  size_t pos = 0;
  while (pos + 6 <= data.size() && out.size() < 16) {
    Reader r{data.substr(pos)};
    std::uint8_t type = r.U8();
    r.U8();
    std::uint32_t len = r.U32Be();
    if (len > data.size() - pos - 6) break;
    out.emplace_back(type, data.substr(pos + 6, len));
    pos += 6 + len;
  }
  if (consumed) *consumed = pos;
  return out;
}

class DicomEchoDialog final : public Dialog {
 public:
  explicit DicomEchoDialog(const ProbeParams& p) : params_(p) {}
  std::string Start() override { return AssociateRq(params_); }
  std::optional<std::string> Next(std::string_view received) override {
    auto pdus = Pdus(received);
    if (pdus.empty()) {
      // Not DICOM at all (a long non-PDU answer): stop.
      if (received.size() >= 6 && (received[0] < 1 || received[0] > 7)) return std::nullopt;
      return std::string();
    }
    const auto& first = pdus[0];
    if (first.first != 0x02) return std::nullopt;  // RJ, abort or garbage: done
    if (step_ == 0) {
      Fields f;
      DecodeDicom(received.substr(0, 6 + first.second.size()), f);
      step_ = 1;
      if (f["dicom_accepted"] == "yes") return EchoRq(1);
      step_ = 2;
      return ReleaseRq();
    }
    if (step_ == 1) {
      if (pdus.size() < 2) return std::string();
      step_ = 2;
      return ReleaseRq();
    }
    return std::nullopt;  // released (or the peer said anything): done
  }

 private:
  ProbeParams params_;
  int step_ = 0;
};

// ---- BER (SNMP) ----

bool BerHeader(Reader& r, std::uint8_t& tag, size_t& len) {
  tag = r.U8();
  std::uint8_t l = r.U8();
  if (!r.ok) return false;
  if (l < 0x80) {
    len = l;
  } else {
    int n = l & 0x7f;
    if (n == 0 || n > 3) return false;
    len = 0;
    for (int i = 0; i < n; ++i) len = (len << 8) | r.U8();
  }
  return r.ok && r.Has(len);
}

std::string BerTlv(std::uint8_t tag, std::string_view body) {
  std::string s;
  s.push_back(static_cast<char>(tag));
  if (body.size() < 0x80) {
    s.push_back(static_cast<char>(body.size()));
  } else {
    s.push_back(static_cast<char>(0x82));
    PutU16Be(s, static_cast<std::uint16_t>(body.size()));
  }
  s += body;
  return s;
}

// 1.3.6.1.2.1.1.1.0 and 1.3.6.1.2.1.1.5.0 (the instances; a string_view built from the literal
// alone would stop at the trailing 0 and ask for the object, which agents answer noSuchInstance).
constexpr std::string_view kOidSysDescr("\x2b\x06\x01\x02\x01\x01\x01\x00", 8);
constexpr std::string_view kOidSysName("\x2b\x06\x01\x02\x01\x01\x05\x00", 8);

std::string DnsName(std::string_view dotted) {
  std::string out;
  size_t start = 0;
  while (start <= dotted.size()) {
    auto dot = dotted.find('.', start);
    auto label = dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) break;
    out.push_back(static_cast<char>(label.size()));
    out += label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  out.push_back('\0');
  return out;
}

// Reads the (possibly compressed, RFC 1035 4.1.4) name at `pos` of the whole message `msg` as
// dotted text; "" when malformed. Pointers must point backwards and at most 32 are followed, so a
// hostile message cannot loop.
std::string ReadDnsName(std::string_view msg, size_t pos) {
  std::string out;
  for (int jumps = 0, labels = 0; pos < msg.size() && labels < 128; ++labels) {
    const auto l = static_cast<std::uint8_t>(msg[pos]);
    if (l == 0) return out;
    if ((l & 0xc0) == 0xc0) {
      if (pos + 1 >= msg.size() || ++jumps > 32) return "";
      const size_t target = (static_cast<size_t>(l & 0x3f) << 8) | static_cast<std::uint8_t>(msg[pos + 1]);
      if (target >= pos) return "";
      pos = target;
      continue;
    }
    if ((l & 0xc0) != 0 || pos + 1 + l > msg.size()) return "";
    if (!out.empty()) out.push_back('.');
    out.append(msg.substr(pos + 1, l));
    if (out.size() > 255) return "";
    pos += 1 + l;
  }
  return "";
}

bool SkipDnsName(Reader& r) {
  for (int guard = 0; guard < 128; ++guard) {
    std::uint8_t l = r.U8();
    if (!r.ok) return false;
    if (l == 0) return true;
    if ((l & 0xc0) == 0xc0) {
      r.U8();
      return r.ok;
    }
    r.Bytes(l);
    if (!r.ok) return false;
  }
  return false;
}

std::string HtmlDecode(std::string s) {
  static const std::pair<const char*, const char*> kEntities[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&nbsp;", " "}};
  for (const auto& [from, to] : kEntities) {
    size_t pos = 0;
    while ((pos = s.find(from, pos)) != std::string::npos) {
      s.replace(pos, std::strlen(from), to);
      pos += std::strlen(to);
    }
  }
  std::string collapsed;
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
    if (c == ' ' && !collapsed.empty() && collapsed.back() == ' ') continue;
    collapsed.push_back(c);
  }
  return collapsed;
}

// Finds an HTML attribute value inside one tag text: name="value" or name='value' or name=value.
std::string TagAttr(std::string_view tag, std::string_view name) {
  std::string lower = Lower(tag);
  size_t pos = 0;
  while ((pos = lower.find(name, pos)) != std::string::npos) {
    size_t p = pos + name.size();
    while (p < lower.size() && lower[p] == ' ') ++p;
    if (p < lower.size() && lower[p] == '=' && (pos == 0 || !std::isalnum(static_cast<unsigned char>(lower[pos - 1])))) {
      ++p;
      while (p < lower.size() && lower[p] == ' ') ++p;
      if (p >= tag.size()) return "";
      char q = tag[p];
      if (q == '"' || q == '\'') {
        auto end = tag.find(q, p + 1);
        return std::string(tag.substr(p + 1, end == std::string_view::npos ? std::string_view::npos : end - p - 1));
      }
      auto end = tag.find_first_of(" >", p);
      return std::string(tag.substr(p, end == std::string_view::npos ? std::string_view::npos : end - p));
    }
    pos = p;
  }
  return "";
}

}  // namespace

std::unique_ptr<Dialog> MakeDialog(std::string_view builder, const ProbeParams& params) {
  if (builder == "dicom_echo") return std::make_unique<DicomEchoDialog>(params);
  return nullptr;
}

std::string ExpandPayload(std::string_view payload, const ProbeParams& params) {
  std::string out(payload);
  size_t pos = 0;
  while ((pos = out.find("{host}", pos)) != std::string::npos) {
    out.replace(pos, 6, params.host);
    pos += params.host.size();
  }
  return out;
}

std::string BuildPayload(std::string_view builder, const ProbeParams& p) {
  if (builder == "hl7_query") {
    // NMQ^N01 (application management query, HL7 v2 chapter 14): asks an interface engine about
    // itself and changes nothing; engines that do not support it answer with an AR/AE ACK, which
    // still carries their MSH. The message control id is unique per probe.
    std::string id = "MEDSOC" + core::HexEncode(core::RandomToken(4)).substr(0, 8);
    std::string msg = "MSH|^~\\&|" + p.hl7_sending_app + "|MEDSOC|||20240101000000||NMQ^N01|" + id + "|P|2.5\r";
    return "\x0b" + msg + "\x1c\r";
  }
  if (builder == "snmp_get") {
    if (p.snmp_community.empty()) return "";
    std::string vbs = BerTlv(0x30, BerTlv(0x06, kOidSysDescr) + std::string("\x05\x00", 2)) +
                      BerTlv(0x30, BerTlv(0x06, kOidSysName) + std::string("\x05\x00", 2));
    std::string pdu = BerTlv(0x02, std::string("\x4d\x45\x44\x53", 4)) + BerTlv(0x02, std::string(1, '\0')) +
                      BerTlv(0x02, std::string(1, '\0')) + BerTlv(0x30, vbs);
    return BerTlv(0x30, BerTlv(0x02, std::string(1, '\x01')) + BerTlv(0x04, p.snmp_community) + BerTlv(0xa0, pdu));
  }
  if (builder == "mdns_services") {
    // DNS-SD service enumeration (RFC 6763 section 9) sent straight to port 5353: a one-shot
    // ("legacy unicast", RFC 6762 section 6.7) query, answered to this socket, asking only what the
    // device already announces on its network; the QU bit asks for a unicast answer.
    std::string q("\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
    q += DnsName("_services._dns-sd._udp.local");
    q += std::string("\x00\x0c\x80\x01", 4);  // PTR, IN with the unicast-response bit
    return q;
  }
  if (builder == "dns_version") {
    std::string q("\x4d\x53\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
    q += DnsName("version.bind");
    q += std::string("\x00\x10\x00\x03", 4);  // TXT, CHAOS
    return q;
  }
  if (builder == "ntp_client") {
    std::string q(48, '\0');
    q[0] = 0x23;  // LI 0, version 4, mode 3 (client)
    return q;
  }
  if (builder == "netbios_stat") {
    std::string q("\x4d\x53\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
    q += "\x20" "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    q += std::string("\x00\x00\x21\x00\x01", 5);
    return q;
  }
  if (builder == "modbus_id") {
    // MBAP (transaction 0x4d53, protocol 0, length 5, unit 0) + Read Device Identification, basic.
    return std::string("\x4d\x53\x00\x00\x00\x05\x00\x2b\x0e\x01\x00", 11);
  }
  if (builder == "bacnet_whois") {
    return std::string("\x81\x0a\x00\x08\x01\x00\x10\x08", 8);
  }
  if (builder == "dicom_echo") return AssociateRq(p);
  return "";
}

std::string PrintableBanner(std::string_view bytes, std::size_t max) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (out.size() >= max) break;
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void DecodeHttp(std::string_view r, Fields& out) {
  if (r.size() < 12 || r.substr(0, 5) != "HTTP/") return;
  auto eol = r.find("\r\n");
  if (eol == std::string_view::npos) eol = r.find('\n');
  std::string_view status_line = r.substr(0, eol == std::string_view::npos ? r.size() : eol);
  auto sp = status_line.find(' ');
  if (sp == std::string_view::npos || sp + 4 > status_line.size()) return;
  out["http_status"] = Printable(status_line.substr(sp + 1, 3), 3);
  size_t hdr_end = r.find("\r\n\r\n");
  size_t body_start = hdr_end == std::string_view::npos ? r.size() : hdr_end + 4;
  if (hdr_end == std::string_view::npos) {
    hdr_end = r.find("\n\n");
    body_start = hdr_end == std::string_view::npos ? r.size() : hdr_end + 2;
  }
  std::string_view headers = r.substr(0, std::min(hdr_end, r.size()));
  std::string cookies;
  size_t pos = eol == std::string_view::npos ? headers.size() : eol + 1;
  std::string all_headers;
  while (pos < headers.size()) {
    auto end = headers.find('\n', pos);
    std::string_view line = headers.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? headers.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = Lower(line.substr(0, colon));
    std::string value = Printable(line.substr(colon + 1));
    all_headers += name + ": " + value + "\n";
    if (name == "server") out["server"] = value;
    else if (name == "x-powered-by") out["powered_by"] = value;
    else if (name == "location") out["location"] = value;
    else if (name == "content-type") out["content_type"] = value;
    else if (name == "www-authenticate") out["auth_realm"] = value;
    else if (name == "set-cookie") {
      auto eq = value.find('=');
      cookies += (cookies.empty() ? "" : ";") + value.substr(0, eq);
    }
  }
  out["headers"] = all_headers.substr(0, 4096);
  if (!cookies.empty()) out["cookies"] = cookies;
  std::string_view body = r.substr(std::min(body_start, r.size()));
  std::string lower_body = Lower(body.substr(0, 65536));
  auto t = lower_body.find("<title");
  if (t != std::string::npos) {
    auto gt = lower_body.find('>', t);
    auto close = lower_body.find("</title", t);
    if (gt != std::string::npos && close != std::string::npos && close > gt)
      out["title"] = Printable(HtmlDecode(std::string(body.substr(gt + 1, close - gt - 1))), 200);
  }
  size_t m = 0;
  while ((m = lower_body.find("<meta", m)) != std::string::npos) {
    auto end = lower_body.find('>', m);
    if (end == std::string::npos) break;
    std::string_view tag = body.substr(m, end - m);
    if (Lower(TagAttr(tag, "name")) == "generator") out["generator"] = Printable(TagAttr(tag, "content"), 200);
    m = end;
  }
  // MD5 of the body (favicon fingerprints); only for bodies we have completely.
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_Digest(body.data(), body.size(), md, &md_len, EVP_md5(), nullptr);
  out["body_md5"] = core::HexEncode(std::string_view(reinterpret_cast<const char*>(md), md_len));
  out["body"] = std::string(body.substr(0, 16384));
}

void DecodeSsh(std::string_view r, Fields& out) {
  if (r.substr(0, 4) != "SSH-") return;
  auto eol = r.find_first_of("\r\n");
  std::string line = Printable(r.substr(0, eol == std::string_view::npos ? std::min<size_t>(r.size(), 255) : eol));
  auto dash = line.find('-', 4);
  if (dash == std::string::npos) return;
  out["ssh_protocol"] = line.substr(4, dash - 4);
  std::string rest = line.substr(dash + 1);
  auto sp = rest.find(' ');
  out["ssh_software"] = rest.substr(0, sp);
  if (sp != std::string::npos) out["ssh_comment"] = rest.substr(sp + 1);
}

void DecodeMysql(std::string_view r, Fields& out) {
  Reader rd{r};
  std::uint32_t len = rd.U8() | (rd.U8() << 8) | (rd.U8() << 16);
  rd.U8();  // sequence
  if (!rd.ok || len < 2 || len > r.size() - 4 + 64) return;
  std::uint8_t kind = rd.U8();
  if (kind == 0x0a) {
    auto rest = r.substr(rd.pos);
    auto nul = rest.find('\0');
    if (nul == std::string_view::npos || nul == 0 || nul > 64) return;
    out["mysql_version"] = Printable(rest.substr(0, nul), 64);
    out["mysql_protocol"] = "10";
  } else if (kind == 0xff) {
    std::uint16_t code = rd.U16Le();
    if (!rd.ok) return;
    auto msg = r.substr(rd.pos);
    if (!msg.empty() && msg[0] == '#' && msg.size() >= 6) msg.remove_prefix(6);
    out["mysql_error_code"] = std::to_string(code);
    out["mysql_error"] = Printable(msg, 200);
  }
}

void DecodePostgres(std::string_view r, Fields& out) {
  if (r.size() < 6 || r[0] != 'E') return;
  Reader rd{r};
  rd.U8();
  std::uint32_t len = rd.U32Be();
  if (!rd.ok || len < 4 || len > 65536) return;
  auto body = r.substr(5, std::min<size_t>(len - 4, r.size() - 5));
  size_t pos = 0;
  int fields = 0;
  while (pos < body.size() && body[pos] != '\0' && fields < 32) {
    char type = body[pos++];
    auto nul = body.find('\0', pos);
    if (nul == std::string_view::npos) break;
    std::string value = Printable(body.substr(pos, nul - pos), 256);
    pos = nul + 1;
    ++fields;
    switch (type) {
      case 'S': out["pg_severity"] = value; break;
      case 'V': out["pg_severity"] = value; break;
      case 'C': out["pg_code"] = value; break;
      case 'M': out["pg_message"] = value; break;
      case 'F': out["pg_file"] = value; break;
      case 'L': out["pg_line"] = value; break;
      case 'R': out["pg_routine"] = value; break;
      default: break;
    }
  }
}

void DecodeMssqlPrelogin(std::string_view r, Fields& out) {
  Reader rd{r};
  if (rd.U8() != 0x04) return;
  rd.U8();
  std::uint16_t len = rd.U16Be();
  rd.Bytes(4);
  if (!rd.ok || len < 8 || len > r.size()) return;
  std::string_view body = r.substr(8, len - 8);
  Reader opts{body};
  for (int i = 0; i < 16; ++i) {
    std::uint8_t token = opts.U8();
    if (!opts.ok || token == 0xff) break;
    std::uint16_t off = opts.U16Be();
    std::uint16_t olen = opts.U16Be();
    if (!opts.ok || off > body.size() || olen > body.size() - off) return;
    Reader v{body.substr(off, olen)};
    if (token == 0x00 && olen >= 6) {
      std::uint8_t major = v.U8(), minor = v.U8();
      std::uint16_t build = v.U16Be();
      out["mssql_version"] = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(build);
      const char* release = major == 16 ? "2022" : major == 15 ? "2019" : major == 14 ? "2017" : major == 13 ? "2016"
                            : major == 12 ? "2014" : major == 11 ? "2012" : (major == 10 && minor == 50) ? "2008 R2"
                            : major == 10 ? "2008" : major == 9 ? "2005" : major == 8 ? "2000" : "";
      if (*release) out["mssql_release"] = release;
    } else if (token == 0x01 && olen >= 1) {
      std::uint8_t e = v.U8();
      out["mssql_encryption"] = e == 0 ? "off" : e == 1 ? "on" : e == 2 ? "not_supported" : e == 3 ? "required" : "unknown";
    }
  }
}

void DecodeRdp(std::string_view r, Fields& out) {
  Reader rd{r};
  if (rd.U8() != 0x03 || rd.U8() != 0x00) return;
  std::uint16_t len = rd.U16Be();
  std::uint8_t li = rd.U8();
  std::uint8_t code = rd.U8();
  if (!rd.ok || len < 11 || (code & 0xf0) != 0xd0 || li < 6) return;
  out["rdp_x224"] = "connection-confirm";
  rd.Bytes(5);
  if (!rd.Has(8)) return;
  std::uint8_t type = rd.U8();
  rd.U8();
  rd.U16Le();
  std::uint32_t v = rd.U32Le();
  if (type == 0x02) {
    out["rdp_selected"] = v == 0 ? "rdp" : v == 1 ? "ssl" : v == 2 ? "hybrid" : v == 8 ? "hybrid_ex" : std::to_string(v);
  } else if (type == 0x03) {
    out["rdp_failure"] = std::to_string(v);
  }
}

void DecodeSmb(std::string_view r, Fields& out) {
  if (r.size() < 8 || r[0] != '\0') return;
  std::string_view smb = r.substr(4);
  if (smb.substr(0, 4) == "\xffSMB") {
    out["smb_dialect"] = "1";
    out["smb1"] = "yes";
    return;
  }
  if (smb.substr(0, 4) != "\xfeSMB" || smb.size() < 64 + 8) return;
  Reader rd{smb.substr(64)};
  std::uint16_t size = rd.U16Le();
  std::uint16_t security = rd.U16Le();
  std::uint16_t dialect = rd.U16Le();
  if (!rd.ok || size != 65) return;
  switch (dialect) {
    case 0x0202: out["smb_dialect"] = "2.0.2"; break;
    case 0x0210: out["smb_dialect"] = "2.1"; break;
    case 0x0300: out["smb_dialect"] = "3.0"; break;
    case 0x0302: out["smb_dialect"] = "3.0.2"; break;
    case 0x0311: out["smb_dialect"] = "3.1.1"; break;
    case 0x02ff: out["smb_dialect"] = "2.x"; break;
    default: out["smb_dialect"] = std::to_string(dialect); break;
  }
  out["smb_signing"] = (security & 0x02) ? "required" : (security & 0x01) ? "enabled" : "disabled";
}

void DecodeDicom(std::string_view r, Fields& out) {
  size_t consumed = 0;
  auto pdus = Pdus(r, &consumed);
  if (pdus.empty() || pdus[0].first < 0x02 || pdus[0].first > 0x07) return;
  for (const auto& [type, body] : pdus) {
    if (type == 0x02) {
      out["dicom_pdu"] = "associate-ac";
      Reader rd{body};
      rd.U16Be();
      rd.U16Be();
      out["dicom_called_ae"] = TrimAe(rd.Bytes(16));
      out["dicom_calling_ae"] = TrimAe(rd.Bytes(16));
      rd.Bytes(32);
      while (rd.ok && rd.Has(4)) {
        std::uint8_t it = rd.U8();
        rd.U8();
        std::uint16_t il = rd.U16Be();
        std::string_view ib = rd.Bytes(il);
        if (!rd.ok) break;
        if (it == 0x10) {
          out["dicom_app_context"] = Printable(ib, 64);
        } else if (it == 0x21 && ib.size() >= 4) {
          std::uint8_t result = static_cast<std::uint8_t>(ib[2]);
          out["dicom_accepted"] = result == 0 ? "yes" : "no";
          out["dicom_pc_result"] = std::to_string(result);
        } else if (it == 0x50) {
          Reader ui{ib};
          while (ui.ok && ui.Has(4)) {
            std::uint8_t st = ui.U8();
            ui.U8();
            std::uint16_t sl = ui.U16Be();
            std::string_view sb = ui.Bytes(sl);
            if (!ui.ok) break;
            if (st == 0x51 && sb.size() == 4) {
              Reader m{sb};
              out["dicom_max_pdu"] = std::to_string(m.U32Be());
            } else if (st == 0x52) {
              std::string uid = Printable(sb, 64);
              out["implementation_uid"] = uid;
            } else if (st == 0x55) {
              out["implementation_version"] = Printable(sb, 16);
            }
          }
        }
      }
    } else if (type == 0x03 && body.size() >= 4) {
      out["dicom_pdu"] = "associate-rj";
      auto result = static_cast<std::uint8_t>(body[1]), source = static_cast<std::uint8_t>(body[2]),
           reason = static_cast<std::uint8_t>(body[3]);
      out["dicom_reject"] = std::string(result == 1 ? "permanent" : "transient") + " source " +
                            std::to_string(source) + " reason " + std::to_string(reason);
      if (source == 1 && reason == 7) out["dicom_reject"] += " (called AE title not recognized)";
      if (source == 1 && reason == 3) out["dicom_reject"] += " (calling AE title not recognized)";
      out["dicom_accepted"] = "no";
    } else if (type == 0x04) {
      // P-DATA-TF: look for the Status element (0000,0900) of the C-ECHO-RSP.
      Reader rd{body};
      while (rd.ok && rd.Has(6)) {
        std::uint32_t pl = rd.U32Be();
        std::string_view pdv = rd.Bytes(pl);
        if (!rd.ok || pdv.size() < 2) break;
        Reader ds{pdv.substr(2)};
        while (ds.ok && ds.Has(8)) {
          std::uint16_t g = ds.U16Le(), e = ds.U16Le();
          std::uint32_t vl = ds.U32Le();
          std::string_view v = ds.Bytes(vl);
          if (!ds.ok) break;
          if (g == 0 && e == 0x0900 && v.size() == 2) {
            Reader s{v};
            std::uint16_t status = s.U16Le();
            out["dicom_echo_status"] = status == 0 ? "success" : std::to_string(status);
          }
          if (g == 0 && e == 0x0100 && v.size() == 2) {
            Reader s{v};
            if (s.U16Le() == 0x8030) out["dicom_echo"] = "response";
          }
        }
      }
    } else if (type == 0x06) {
      out["dicom_release"] = "yes";
    } else if (type == 0x07) {
      if (!out.count("dicom_pdu")) out["dicom_pdu"] = "abort";
    }
  }
}

void DecodeHl7(std::string_view r, Fields& out) {
  auto start = r.find('\x0b');
  if (start == std::string_view::npos || start > 4) return;
  auto end = r.find('\x1c', start);
  std::string_view msg = r.substr(start + 1, end == std::string_view::npos ? std::string_view::npos : end - start - 1);
  if (msg.size() < 8 || msg.substr(0, 3) != "MSH") return;
  const char sep = msg[3];
  const char comp = msg.size() > 4 ? msg[4] : '^';
  size_t pos = 0;
  int segments = 0;
  while (pos < msg.size() && segments < 64) {
    auto eos = msg.find_first_of("\r\n", pos);
    std::string_view seg = msg.substr(pos, eos == std::string_view::npos ? std::string_view::npos : eos - pos);
    pos = eos == std::string_view::npos ? msg.size() : eos + 1;
    if (seg.empty()) continue;
    ++segments;
    std::vector<std::string_view> f;
    size_t s = 0;
    while (f.size() < 32) {
      auto bar = seg.find(sep, s);
      f.push_back(seg.substr(s, bar == std::string_view::npos ? std::string_view::npos : bar - s));
      if (bar == std::string_view::npos) break;
      s = bar + 1;
    }
    auto first_comp = [&](std::string_view v) {
      auto c = v.find(comp);
      return Printable(v.substr(0, c), 128);
    };
    if (f[0] == "MSH") {
      // f[1] holds the encoding characters (MSH-2); MSH-n is f[n-1].
      if (f.size() > 2) out["hl7_sending_app"] = first_comp(f[2]);
      if (f.size() > 3) out["hl7_sending_facility"] = first_comp(f[3]);
      if (f.size() > 8) {
        std::string type = Printable(f[8], 64);
        for (auto& ch : type)
          if (ch == comp) ch = '^';
        out["hl7_message_type"] = type;
      }
      if (f.size() > 11) out["hl7_version"] = first_comp(f[11]);
    } else if (f[0] == "MSA") {
      if (f.size() > 1) out["hl7_ack_code"] = Printable(f[1], 4);
      if (f.size() > 3) out["hl7_ack_text"] = Printable(f[3], 200);
    } else if (f[0] == "ERR" && f.size() > 1) {
      out["hl7_error"] = Printable(seg.substr(4), 200);
    }
  }
  out["hl7"] = "mllp";
}

void DecodeSnmp(std::string_view r, Fields& out) {
  Reader rd{r};
  std::uint8_t tag;
  size_t len;
  if (!BerHeader(rd, tag, len) || tag != 0x30) return;
  if (!BerHeader(rd, tag, len) || tag != 0x02) return;
  rd.Bytes(len);
  if (!BerHeader(rd, tag, len) || tag != 0x04) return;
  out["snmp_community_echo"] = Printable(rd.Bytes(len), 64);
  if (!BerHeader(rd, tag, len) || tag != 0xa2) return;
  for (int i = 0; i < 3; ++i) {
    if (!BerHeader(rd, tag, len) || tag != 0x02) return;
    auto v = rd.Bytes(len);
    if (i == 1 && !v.empty() && v.back() != 0) out["snmp_error"] = std::to_string(static_cast<unsigned char>(v.back()));
  }
  if (!BerHeader(rd, tag, len) || tag != 0x30) return;
  Reader vbs{rd.Bytes(len)};
  for (int i = 0; i < 16 && vbs.ok && vbs.Has(2); ++i) {
    if (!BerHeader(vbs, tag, len) || tag != 0x30) return;
    Reader vb{vbs.Bytes(len)};
    if (!BerHeader(vb, tag, len) || tag != 0x06) return;
    std::string_view oid = vb.Bytes(len);
    if (!BerHeader(vb, tag, len)) return;
    std::string_view value = vb.Bytes(len);
    if (tag != 0x04) continue;
    if (oid == kOidSysDescr) out["snmp_sysdescr"] = Printable(value, 512);
    if (oid == kOidSysName) out["snmp_sysname"] = Printable(value, 128);
  }
}

void DecodeDns(std::string_view r, Fields& out) {
  Reader rd{r};
  rd.U16Be();
  std::uint16_t flags = rd.U16Be();
  std::uint16_t qd = rd.U16Be(), an = rd.U16Be();
  rd.U16Be();
  rd.U16Be();
  if (!rd.ok || !(flags & 0x8000) || qd > 4 || an > 32) return;
  out["dns_rcode"] = std::to_string(flags & 0x0f);
  for (int i = 0; i < qd; ++i) {
    if (!SkipDnsName(rd)) return;
    rd.Bytes(4);
  }
  // mDNS answers (ID 0, authoritative, names under .local) may carry DNS-SD PTR records and the
  // device's own address records; every record counts (answers and additional).
  const std::uint16_t ns = static_cast<std::uint16_t>((static_cast<std::uint8_t>(r[8]) << 8) | static_cast<std::uint8_t>(r[9]));
  const std::uint16_t ar = static_cast<std::uint16_t>((static_cast<std::uint8_t>(r[10]) << 8) | static_cast<std::uint8_t>(r[11]));
  const bool mdns = r[0] == 0 && r[1] == 0 && (flags & 0x0400);
  const int records = mdns ? std::min(an + ns + ar, 64) : an;
  std::string ptrs;
  for (int i = 0; i < records && rd.ok; ++i) {
    const size_t owner = rd.pos;
    if (!SkipDnsName(rd)) break;
    std::uint16_t type = rd.U16Be();
    rd.U16Be();
    rd.U32Be();
    std::uint16_t rdlen = rd.U16Be();
    std::string_view rdata = rd.Bytes(rdlen);
    if (!rd.ok) break;
    if (type == 16 && !rdata.empty() && !mdns) {  // the TXT answer to version.bind
      size_t l = static_cast<std::uint8_t>(rdata[0]);
      out["dns_version"] = Printable(rdata.substr(1, l), 128);
      return;
    }
    if (type == 12 && mdns) {  // PTR: a DNS-SD service type or instance
      std::string target = ReadDnsName(r, rd.pos - rdlen);
      if (!target.empty() && ptrs.size() < 480 && ptrs.find(target) == std::string::npos)
        ptrs += (ptrs.empty() ? "" : ",") + target;
    }
    if ((type == 1 || type == 28) && mdns && !out.count("mdns_hostname")) {
      std::string name = ReadDnsName(r, owner);
      if (name.size() > 6 && name.compare(name.size() - 6, 6, ".local") == 0)
        out["mdns_hostname"] = Printable(name.substr(0, name.size() - 6), 128);
    }
  }
  if (!ptrs.empty()) out["mdns_services"] = Printable(ptrs, 512);
}

void DecodeNtp(std::string_view r, Fields& out) {
  if (r.size() < 48) return;
  auto b0 = static_cast<std::uint8_t>(r[0]);
  int mode = b0 & 7, version = (b0 >> 3) & 7;
  if (mode != 4 || version < 1 || version > 4) return;
  int stratum = static_cast<std::uint8_t>(r[1]);
  out["ntp_version"] = std::to_string(version);
  out["ntp_stratum"] = std::to_string(stratum);
  auto ref = r.substr(12, 4);
  if (stratum <= 1) {
    out["ntp_refid"] = Printable(ref, 4);
  } else {
    out["ntp_refid"] = std::to_string(static_cast<std::uint8_t>(ref[0])) + "." +
                       std::to_string(static_cast<std::uint8_t>(ref[1])) + "." +
                       std::to_string(static_cast<std::uint8_t>(ref[2])) + "." +
                       std::to_string(static_cast<std::uint8_t>(ref[3]));
  }
}

void DecodeNetbios(std::string_view r, Fields& out) {
  Reader rd{r};
  rd.U16Be();
  std::uint16_t flags = rd.U16Be();
  rd.U16Be();
  std::uint16_t an = rd.U16Be();
  rd.U32Be();
  if (!rd.ok || !(flags & 0x8000) || an == 0) return;
  if (!SkipDnsName(rd)) return;
  std::uint16_t type = rd.U16Be();
  rd.U16Be();
  rd.U32Be();
  rd.U16Be();
  if (!rd.ok || type != 0x21) return;
  std::uint8_t n = rd.U8();
  for (int i = 0; i < n && rd.ok; ++i) {
    std::string_view name = rd.Bytes(15);
    std::uint8_t suffix = rd.U8();
    std::uint16_t nflags = rd.U16Be();
    if (!rd.ok) return;
    const bool group = nflags & 0x8000;
    if (suffix == 0x00 && !group && !out.count("netbios_name")) out["netbios_name"] = Printable(name, 15);
    if (suffix == 0x00 && group && !out.count("netbios_domain")) out["netbios_domain"] = Printable(name, 15);
  }
  std::string_view mac = rd.Bytes(6);
  if (rd.ok) {
    static const char* kHex = "0123456789abcdef";
    std::string m;
    for (size_t i = 0; i < 6; ++i) {
      if (i) m.push_back(':');
      auto c = static_cast<std::uint8_t>(mac[i]);
      m.push_back(kHex[c >> 4]);
      m.push_back(kHex[c & 15]);
    }
    if (m != "00:00:00:00:00:00") out["netbios_mac"] = m;
  }
}

void DecodeModbus(std::string_view r, Fields& out) {
  Reader rd{r};
  rd.U16Be();
  std::uint16_t proto = rd.U16Be();
  std::uint16_t len = rd.U16Be();
  rd.U8();
  std::uint8_t fn = rd.U8();
  if (!rd.ok || proto != 0 || len < 2 || len > 260) return;
  if (fn == 0xab) {
    out["modbus_exception"] = std::to_string(rd.U8());
    out["modbus"] = "yes";
    return;
  }
  if (fn != 0x2b || rd.U8() != 0x0e) return;
  out["modbus"] = "yes";
  rd.U8();
  rd.U8();
  rd.U8();
  rd.U8();
  std::uint8_t count = rd.U8();
  for (int i = 0; i < count && rd.ok; ++i) {
    std::uint8_t id = rd.U8();
    std::uint8_t l = rd.U8();
    std::string v = Printable(rd.Bytes(l), 128);
    if (!rd.ok) break;
    if (id == 0) out["modbus_vendor"] = v;
    else if (id == 1) out["modbus_product"] = v;
    else if (id == 2) out["modbus_revision"] = v;
  }
}

Fields DecodeAll(std::string_view r) {
  Fields f;
  if (r.empty()) return f;
  DecodeHttp(r, f);
  DecodeSsh(r, f);
  DecodeMysql(r, f);
  DecodePostgres(r, f);
  DecodeMssqlPrelogin(r, f);
  DecodeRdp(r, f);
  DecodeSmb(r, f);
  DecodeDicom(r, f);
  DecodeHl7(r, f);
  DecodeSnmp(r, f);
  DecodeDns(r, f);
  DecodeNtp(r, f);
  DecodeNetbios(r, f);
  DecodeModbus(r, f);
  return f;
}

}  // namespace medsoc::assets
