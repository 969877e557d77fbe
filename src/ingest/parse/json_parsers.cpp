// Placeholder until the JSON-family parsers land (being written now); registers nothing.
#include "ingest/parse/json_parsers.h"

namespace medsoc::ingest {

Status RegisterJsonParsers(core::Registry&) { return Ok(); }

}  // namespace medsoc::ingest
