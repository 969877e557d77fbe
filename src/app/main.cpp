// medsoc: command-line entry point. Only parses the command line and calls app/ functions.
#include <CLI/CLI.hpp>
#include <malloc.h>

#include <cstdio>

#include "app/app.h"
#include "app/assets_cmd.h"
#include "app/ingest_cmd.h"
#include "app/search_cmd.h"

int main(int argc, char** argv) {
  using namespace medsoc::app;
  // Ingest allocates and frees buffers of a few MiB per batch (event blocks and their zstd frames,
  // term documents). glibc would mmap and munmap each one and fault in fresh zeroed pages every
  // time; kept in the heap they are reused (syslog end to end: +3-6 %, bench/syslog_e2e.sh).
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  CLI::App cli{"medsoc — security operations for hospitals (医院安全运营平台)", "medsoc"};
  cli.require_subcommand(1);
  GlobalFlags g;
  auto add_globals = [&g](CLI::App* sub) {
    sub->add_option("--config", g.config_file, "configuration file (YAML)");
    sub->add_option("--data", g.data_dir, "data directory (overrides data_dir in the configuration)");
  };

  auto* version = cli.add_subcommand("version", "print the version");
  add_globals(version);

  ServeFlags serve_flags;
  auto* serve = cli.add_subcommand("serve", "run the server (API, portal, pipeline)");
  add_globals(serve);
  serve->add_option("--listen", serve_flags.listen,
                    "HOST:PORT to listen on (default 127.0.0.1:8443 with TLS, else 127.0.0.1:8080)");

  auto* config = cli.add_subcommand("config", "configuration tools");
  config->require_subcommand(1);
  std::string check_file;
  auto* check = config->add_subcommand("check", "validate a configuration file; errors name file:line:column and key");
  add_globals(check);
  check->add_option("FILE", check_file, "configuration file")->required();
  auto* reference = config->add_subcommand("reference", "print the configuration reference (Markdown)");
  add_globals(reference);
  auto* example = config->add_subcommand("example", "print a commented example configuration with every default");
  add_globals(example);

  auto* user = cli.add_subcommand("user", "manage users");
  user->require_subcommand(1);
  std::string name, role, tenant;
  bool password_stdin = false, provider_wide = false, temporary = false, enable = false;
  auto* user_add = user->add_subcommand("add", "create a user");
  add_globals(user_add);
  user_add->add_option("NAME", name, "login name")->required();
  user_add->add_option("--role", role, "sysadmin, secadmin, analyst, auditor or viewer")->required();
  user_add->add_option("--tenant", tenant, "tenant id (default: default)");
  user_add->add_flag("--provider-wide", provider_wide, "may switch to any tenant (provider staff)");
  user_add->add_flag("--password-stdin", password_stdin, "read the password from the first line of standard input")
      ->required();
  user_add->add_flag("--temporary", temporary,
                     "an initial password that the user must change at first login (for accounts handed to a person)");
  auto* user_passwd = user->add_subcommand("passwd", "set a user's password (also clears a lockout)");
  add_globals(user_passwd);
  user_passwd->add_option("NAME", name, "login name")->required();
  user_passwd->add_flag("--password-stdin", password_stdin, "read the password from standard input")->required();
  user_passwd->add_flag("--temporary", temporary, "the user must change it at next login");
  auto* user_list = user->add_subcommand("list", "list users");
  add_globals(user_list);
  user_list->add_option("--tenant", tenant, "only this tenant");
  auto* user_disable = user->add_subcommand("disable", "disable a user (ends their sessions)");
  add_globals(user_disable);
  user_disable->add_option("NAME", name, "login name")->required();
  user_disable->add_flag("--enable", enable, "enable the user again instead");

  auto* audit = cli.add_subcommand("audit", "audit trail tools");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verify", "check the audit trail's hash chain; non-zero exit when broken");
  add_globals(verify);

  auto* rules_cmd = cli.add_subcommand("rules", "Sigma rule tools");
  rules_cmd->require_subcommand(1);
  std::vector<std::string> rule_paths, inputs;
  std::string logsources, format = "auto";
  bool stats = false;
  auto* rules_check =
      rules_cmd->add_subcommand("check", "load rules; one line per problem, then a summary; exit 0 without errors");
  add_globals(rules_check);
  rules_check->add_option("PATHS", rule_paths, "rule files or directories")->required();
  rules_check->add_option("--logsources", logsources, "logsource mapping directory (default: content/logsources)");
  auto* detect = cli.add_subcommand("detect", "run Sigma rules over events; one JSON alert per line on stdout");
  add_globals(detect);
  detect->add_option("--rules", rule_paths, "rule files or directories")->required();
  detect->add_option("--format", format, "auto or a format name");
  detect->add_flag("--stats", stats, "events/s and per-rule hits on stderr");
  detect->add_option("--logsources", logsources, "logsource mapping directory (default: content/logsources)");
  detect->add_option("FILES", inputs, "event files (plain or .zst), - for standard input");

  IngestFlags ingest_flags;
  auto* ingest_cmd =
      cli.add_subcommand("ingest", "import log files (plain, .gz, .zst) or - (stdin) into the event store");
  add_globals(ingest_cmd);
  ingest_cmd->add_option("FILE", ingest_flags.inputs, "files, or - for standard input")->required();
  ingest_cmd->add_option("--format", ingest_flags.format, "auto or a parser name (docs/formats.md)");
  ingest_cmd->add_option("--source", ingest_flags.source, "source name stored on the events");
  ingest_cmd->add_option("--dataset", ingest_flags.dataset, "event.dataset of every event (his.audit, pacs.dicom, ...)");
  ingest_cmd->add_option("--tenant", ingest_flags.tenant, "tenant id (default: default)");
  ingest_cmd->add_option("--timezone", ingest_flags.timezone, "zone for timestamps without one (default +08:00)");

  SearchFlags search_flags;
  auto* search = cli.add_subcommand("search", "search stored events (query language: docs/search.md)");
  add_globals(search);
  search->add_option("QUERY", search_flags.query, "query, e.g. 'host.name:his-db01 AND failed'");
  search->add_option("--from", search_flags.from, "start: RFC 3339, a date or now-1h (default: 24 h ago)");
  search->add_option("--to", search_flags.to, "end, exclusive (default: now + 1 day)");
  search->add_option("--limit", search_flags.limit, "events to print; 0: all")->check(CLI::NonNegativeNumber);
  search->add_option("--format", search_flags.format, "table, ndjson or csv")
      ->check(CLI::IsMember({"table", "ndjson", "csv"}));
  search->add_option("--tenant", search_flags.tenant, "tenant id (default: default)");

  auto* triage = cli.add_subcommand("triage", "alert triage tools");
  triage->require_subcommand(1);
  std::uint64_t sim_seed = 1;
  int sim_days = 30;
  auto* simulate = triage->add_subcommand("simulate", "run the triage evaluation on a generated month of alerts");
  add_globals(simulate);
  simulate->add_option("--seed", sim_seed, "generator seed")->required();
  simulate->add_option("--days", sim_days, "days to generate (default 30)")->check(CLI::Range(1, 366));

  AssetCommands asset_commands(cli, g, add_globals);  // `scan` and `assets list|show|history|import|export`

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  if (version->parsed()) {
    std::printf("medsoc %s\n", MEDSOC_VERSION);
    return 0;
  }
  if (serve->parsed()) return RunServe(g, serve_flags);
  if (check->parsed()) return RunConfigCheck(check_file);
  if (reference->parsed()) return RunConfigReference();
  if (example->parsed()) return RunConfigExample();
  if (user_add->parsed()) return RunUserAdd(g, name, role, tenant, provider_wide, password_stdin, temporary);
  if (user_passwd->parsed()) return RunUserPasswd(g, name, password_stdin, temporary);
  if (user_list->parsed()) return RunUserList(g, tenant);
  if (user_disable->parsed()) return RunUserDisable(g, name, enable);
  if (verify->parsed()) return RunAuditVerify(g);
  if (rules_check->parsed()) return RunRulesCheck(rule_paths, logsources);
  if (detect->parsed()) return RunDetect(rule_paths, format, inputs, stats, logsources);
  if (simulate->parsed()) return RunTriageSimulate(sim_seed, sim_days);
  if (search->parsed()) return RunSearch(g, search_flags);
  if (ingest_cmd->parsed()) return RunIngest(g, ingest_flags);
  if (auto rc = asset_commands.Run()) return *rc;
  std::fprintf(stderr, "%s", cli.help().c_str());
  return 2;
}
