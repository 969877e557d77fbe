// medsoc: command-line entry point. Only parses the command line and calls app/ functions.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "app/app.h"

int main(int argc, char** argv) {
  using namespace medsoc::app;
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
  if (user_add->parsed()) return RunUserAdd(g, name, role, tenant, provider_wide, password_stdin);
  if (user_passwd->parsed()) return RunUserPasswd(g, name, password_stdin, temporary);
  if (user_list->parsed()) return RunUserList(g, tenant);
  if (user_disable->parsed()) return RunUserDisable(g, name, enable);
  if (verify->parsed()) return RunAuditVerify(g);
  std::fprintf(stderr, "%s", cli.help().c_str());
  return 2;
}
