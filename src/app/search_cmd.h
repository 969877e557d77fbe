// `medsoc search`: the event search from the command line, reading the event store under the data
// directory directly (safe while the server runs: SQLite WAL readers do not block the writer).
#pragma once

#include <string>

#include "app/app.h"

namespace medsoc::app {

struct SearchFlags {
  std::string query;            // QUERY (docs/search.md)
  std::string from, to;         // --from / --to: RFC 3339, a date, or now-1h
  int limit = 100;              // --limit: events to print (0: all, for ndjson/csv export)
  std::string format = "table"; // --format table|ndjson|csv
  std::string tenant = "default";  // --tenant
};

// Prints matching events to standard output; errors (a bad query shows a caret under the column)
// to standard error. Exit codes: 0 found or not, 2 bad query or arguments, 1 other failures.
int RunSearch(const GlobalFlags& flags, const SearchFlags& search);

}  // namespace medsoc::app
