// Generic key=value lines ("kv"): pairs separated by spaces, values bare, "double-" or
// 'single-quoted' with backslash escapes, and unquoted values that contain spaces (a value runs
// on to the space before the next "key="). An optional syslog header in front is parsed too.
//
//   line  = [syslog-header] *(SP) pair *(SP+ pair)
//   pair  = key "=" value
//   key   = 1*(any byte but SP, TAB, '"', "'", "=")
//   value = DQUOTE *(char / "\" char) DQUOTE / "'" ... "'" / bare
//
// Every pair is kept as an original field. Well-known keys are normalized too:
// src/srcip/src_ip/sip -> source.ip, dst/dstip/dst_ip/dip -> destination.ip, spt/sport/srcport/
// src_port -> source.port, dpt/dport/dstport/dst_port -> destination.port, user/username/usr ->
// user.name, action/act -> event.action, proto/protocol -> network.transport, msg/message ->
// message; time/timestamp/datetime (RFC 3339 or epoch seconds/milliseconds) -> event time.
// Vendor dialects with their own mappings live in content/ingest/vendors/ (vendor.h).
#pragma once

#include "ingest/parse/parser.h"

namespace medsoc::ingest::text {

class KvParser final : public Parser {
 public:
  std::string_view name() const override { return "kv"; }
  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& event) override;
  int Detect(std::string_view sample) const override;
};

}  // namespace medsoc::ingest::text
