// Protocol codecs of the scanner: payload builders for probes that need structure (DICOM
// association, HL7 v2 over MLLP, SNMP, DNS, NTP, NetBIOS, Modbus, BACnet) and decoders that turn a
// response into named fields for the fingerprint matches (${field} in templates, `field:` in
// matches). Every decoder takes untrusted bytes, never reads past them, and has a libFuzzer target
// (tests/fuzz/assets_*_fuzz.cpp).
//
// Wire formats, briefly (each decoder cites its standard):
//   HTTP/1.x   status line, headers, body (RFC 9112); title, generator meta, cookies, body MD5.
//   SSH        "SSH-protoversion-softwareversion SP comments CR LF" (RFC 4253 4.2).
//   MySQL      handshake v10: 3-byte length, seq, 0x0a, NUL-terminated server version, ...; or an
//              ERR packet 0xff + code + message.
//   PostgreSQL ErrorResponse 'E' + int32 length + (type byte, NUL-terminated string)* + NUL.
//   TDS        PRELOGIN response (MS-TDS 2.2.6.5): option tokens (type, offset, length), 0xff;
//              VERSION is major, minor, build (big-endian u16), sub-build.
//   RDP        X.224 Connection Confirm (TPKT 3,0,len) with RDP_NEG_RSP (2) or RDP_NEG_FAILURE (3).
//   SMB        NetBIOS session header + SMB2 NEGOTIATE response: DialectRevision at 4 of the body;
//              or an SMB1 header (0xff 'SMB').
//   DICOM      PS3.8 upper layer: PDU type, reserved, u32 length; A-ASSOCIATE-AC (2) items
//              0x10 application context, 0x21 presentation context (result), 0x50 user info with
//              0x51 max length, 0x52 implementation class UID, 0x55 implementation version name;
//              A-ASSOCIATE-RJ (3) result/source/reason; P-DATA-TF (4) with the C-ECHO-RSP status.
//   HL7 v2     MLLP: 0x0b message 0x1c 0x0d; segments separated by CR; MSH field separator at 3.
//   SNMP       BER: SEQUENCE { version, community, GetResponse-PDU { id, error, index, varbinds } }.
//   DNS        RFC 1035 header + question + answers (TXT of version.bind, class CHAOS).
//   NTP        RFC 5905 48-byte header: LI/VN/mode, stratum, refid.
//   NetBIOS    RFC 1002 NBSTAT response: name table of 18-byte entries, then the unit MAC.
//   Modbus     MBAP header + function 0x2b/0x0e Read Device Identification objects.
//
// Thread-safety: free functions, no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace medsoc::assets {

using Fields = std::map<std::string, std::string>;

// Options that shape probe payloads.
struct ProbeParams {
  std::string host;                      // target address, for HTTP Host headers
  std::string dicom_calling_ae = "MEDSOC";  // our AE title
  std::string dicom_called_ae = "ANY-SCP";  // AE title we ask for
  std::string snmp_community;            // empty: no SNMP probe
  std::string hl7_sending_app = "MEDSOC";
};

// A multi-step exchange: after each read the engine asks what to send next.
class Dialog {
 public:
  virtual ~Dialog() = default;
  // Bytes to send first.
  virtual std::string Start() = 0;
  // Given everything received so far: bytes to send next (may be empty to keep reading), or
  // nullopt when the exchange is complete (the engine then stops reading and closes).
  virtual std::optional<std::string> Next(std::string_view received) = 0;
};

// A dialog for `builder` (dicom_echo), or null when the builder is a one-shot payload.
std::unique_ptr<Dialog> MakeDialog(std::string_view builder, const ProbeParams& params);
// The one-shot payload for a builder (hl7_query, snmp_get, dns_version, ntp_client, netbios_stat,
// modbus_id, bacnet_whois, http_get). Empty when the builder needs parameters that are not set.
std::string BuildPayload(std::string_view builder, const ProbeParams& params);
// Replaces {host} in a probe payload.
std::string ExpandPayload(std::string_view payload, const ProbeParams& params);

// Decoders: add fields for the protocol they recognize; leave `out` alone otherwise.
void DecodeHttp(std::string_view response, Fields& out);
void DecodeSsh(std::string_view response, Fields& out);
void DecodeMysql(std::string_view response, Fields& out);
void DecodePostgres(std::string_view response, Fields& out);
void DecodeMssqlPrelogin(std::string_view response, Fields& out);
void DecodeRdp(std::string_view response, Fields& out);
void DecodeSmb(std::string_view response, Fields& out);
void DecodeDicom(std::string_view response, Fields& out);
void DecodeHl7(std::string_view response, Fields& out);
void DecodeSnmp(std::string_view response, Fields& out);
void DecodeDns(std::string_view response, Fields& out);
void DecodeNtp(std::string_view response, Fields& out);
void DecodeNetbios(std::string_view response, Fields& out);
void DecodeModbus(std::string_view response, Fields& out);

// Runs every decoder (each checks its own framing); used for every response.
Fields DecodeAll(std::string_view response);

// Printable form of a banner: bytes 0x20-0x7e kept, \r \n \t and others escaped (\x00), cut at `max`.
std::string PrintableBanner(std::string_view bytes, std::size_t max = 512);

}  // namespace medsoc::assets
