// CEF (ArcSight Common Event Format, rev. 25) and LEEF (IBM QRadar Log Event Extended Format 1.0
// and 2.0), alone or behind a syslog header.
//
// CEF:
//   CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
//   Header fields: '|' and '\' are escaped with '\'.
//   Extension: key=value pairs separated by spaces; a value runs up to the space before the next
//   "key=" (so values may contain spaces); in values '=' and '\' are escaped with '\' and "\n",
//   "\r" are line breaks. Keys are [A-Za-z0-9_.[\]-]+.
// LEEF:
//   LEEF:1.0|Vendor|Product|Version|EventID|<attributes separated by TAB>
//   LEEF:2.0|Vendor|Product|Version|EventID|<delimiter>|<attributes separated by delimiter>
//   The 2.0 delimiter is one character or its code in hex: "^", "x09", "0x09", "\x09"; an
//   omitted delimiter field means TAB.
//
// Mapping to ECS (both formats share one table; the full CEF key names are aliases of the short
// ones): src/sourceAddress -> source.ip, dst -> destination.ip, spt/srcPort -> source.port,
// dpt/dstPort -> destination.port, smac/srcMAC, dmac/dstMAC, shost -> source.domain,
// dhost -> destination.domain, suser -> source.user.name, duser -> destination.user.name (both to
// related.user; user.name takes suser, else duser), usrName -> user.name, act/action ->
// event.action, outcome -> event.outcome, request/url -> url.original, requestMethod,
// requestClientApplication -> user_agent.original, app -> network.protocol, proto -> network.transport
// (IANA numbers 1/6/17/58 named), in/srcBytes -> source.bytes, out/dstBytes -> destination.bytes,
// msg -> message, reason -> event.reason, cat -> rule.category, policy -> rule.name,
// externalId -> event.id, dvc -> observer.ip, dvchost -> observer.hostname,
// deviceInboundInterface/deviceOutboundInterface -> observer.ingress/egress.interface.name,
// fname/filePath/fsize -> file.*, sproc/spid -> process.*, NAT addresses and ports -> *.nat.*,
// rt/devTime -> event time (epoch milliseconds or "MMM dd yyyy HH:mm:ss[.SSS] [zone]"),
// start/end -> event.start/end, sev/Severity -> event.severity (Low 3, Medium 6, High 8,
// Very-High 10). Header: vendor/product/version -> observer.*, Signature ID / EventID ->
// event.code, Name -> message (unless msg is present).
// Every extension key is kept as an original field under its own name; csN/cnN/flexStringN values
// are also kept under the name their csNLabel gives ("Rule Name"). Header fields are originals
// "cef.version", "cef.name", ...
#pragma once

#include "ingest/parse/parser.h"

namespace medsoc::ingest::text {

// Parses a payload starting with "CEF:" / "LEEF:" into `e` (which already holds any syslog
// fields). REQUIRES: `s` lives in event storage.
// `offset`: byte offset of `s` in the whole message, for error positions.
Status ParseCefPayload(std::string_view s, std::size_t offset, const ParseContext& ctx, event::Event& e);
Status ParseLeefPayload(std::string_view s, std::size_t offset, const ParseContext& ctx, event::Event& e);

class CefParser final : public Parser {
 public:
  std::string_view name() const override { return "cef"; }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) override;
  int Detect(std::string_view sample) const override;
};

class LeefParser final : public Parser {
 public:
  std::string_view name() const override { return "leef"; }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) override;
  int Detect(std::string_view sample) const override;
};

}  // namespace medsoc::ingest::text
