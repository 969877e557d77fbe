// The medsoc binary's subcommands. Each takes the global options (--config, --data) and returns a
// process exit code. Start-up and teardown of `serve` are in serve.cpp as ordered step lists.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/options.h"
#include "ingest/options.h"
#include "core/result.h"
#include "store/state_store.h"

namespace medsoc::app {

struct GlobalFlags {
  std::string config_file;  // --config
  std::string data_dir;     // --data (overrides the config's data_dir)
};

// Loads the configuration (file if given, else defaults), applies MEDSOC_* environment variables
// and --data.
Result<Options> LoadOptions(const GlobalFlags& flags);

// The content directory: options.content_dir when set, else <binary dir>/../share/medsoc/content
// when it exists, else the nearest `content/` with fields/ecs.yaml walking up from the binary,
// else "content".
std::string ResolveContentDir(const Options& options);

// The `ingest:` section of the configuration file (defaults without a file).
Result<ingest::IngestOptions> LoadIngestOptions(const GlobalFlags& flags);

// Creates the data directory (mode 0700) and opens the state store in it.
Result<std::unique_ptr<store::StateStore>> OpenStateStore(const Options& options);

struct ServeFlags {
  std::string listen;  // --listen HOST:PORT
};

int RunServe(const GlobalFlags& flags, const ServeFlags& serve);
int RunConfigCheck(const std::string& file);
int RunConfigReference();
int RunConfigExample();
int RunUserAdd(const GlobalFlags& flags, const std::string& name, const std::string& role, const std::string& tenant,
               bool provider_wide, bool password_stdin, bool temporary);
int RunUserPasswd(const GlobalFlags& flags, const std::string& name, bool password_stdin, bool temporary);
int RunUserList(const GlobalFlags& flags, const std::string& tenant);
int RunUserDisable(const GlobalFlags& flags, const std::string& name, bool enable);
int RunAuditVerify(const GlobalFlags& flags);
int RunRulesCheck(const std::vector<std::string>& paths, const std::string& logsource_dir);
int RunDetect(const std::vector<std::string>& rule_paths, const std::string& format,
              const std::vector<std::string>& inputs, bool stats, const std::string& logsource_dir);
int RunTriageSimulate(std::uint64_t seed, int days);

// Splits "host:port" / "[v6]:port". Port 0 is allowed (ephemeral).
Result<std::pair<std::string, std::uint16_t>> SplitHostPort(const std::string& listen);

}  // namespace medsoc::app
