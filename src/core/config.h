// Loading medsoc.yaml into Options. One YAML file; every key is declared in a schema table (key
// path, type, default, documentation, secret or not) in config.cpp; unknown keys are errors; every
// problem in a file is reported, each with file:line:column and the key. Secrets (and any other
// key) may come from environment variables: the key path upper-cased with '.' -> '_' and the
// prefix MEDSOC_ (server.tls.key_password -> MEDSOC_SERVER_TLS_KEY_PASSWORD); the environment
// wins over the file.
//
// Thread-safety: pure functions; no shared state.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/options.h"
#include "core/result.h"

namespace medsoc::core {

// Every problem found in `yaml` (named `file_name` in positions), in document order. Empty: valid.
std::vector<Error> CheckConfig(std::string_view yaml, const std::string& file_name);

// Parses and validates `yaml` into Options over the defaults. On any problem, returns one Error
// whose message lists every problem, one per line ("file:line:col: key: reason").
Result<Options> LoadConfigString(std::string_view yaml, const std::string& file_name);

// Reads `path` and calls LoadConfigString. A missing or unreadable file is an kIo error.
Result<Options> LoadConfigFile(const std::string& path);

// Applies MEDSOC_* environment variables over `options` (environment wins). Errors name the
// variable. `getenv` is injectable for tests.
Status ApplyEnvironment(Options& options, const char* (*getenv_fn)(const char*) = nullptr);

// The configuration reference (docs/configuration.md) generated from the schema table.
std::string ConfigReferenceMarkdown();

// The effective value of every key, in schema order, for display (GET /api/v1/config). A secret's
// value is never returned: `value` is "(set)" or "" and `secret` is true.
struct ConfigEntry {
  std::string key;
  std::string value;
  std::string default_value;
  bool secret = false;
};
std::vector<ConfigEntry> EffectiveConfig(const Options& options);

// A commented example medsoc.yaml with every key at its default (secrets omitted).
std::string ExampleConfigYaml();

}  // namespace medsoc::core
