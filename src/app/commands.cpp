// One-shot subcommands: config, user, audit. They open the state store directly (SQLite in WAL
// mode allows this while `medsoc serve` runs) and record their changes in the audit trail as the
// local operator.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/app.h"
#include "auth/audit.h"
#include "auth/passwords.h"
#include "auth/service.h"
#include "core/config.h"
#include "ingest/config_ingest.h"
#include "core/time.h"
#include "store/sqlite/state_store.h"

namespace medsoc::app {
namespace {

int Fail(const Error& e) {
  std::fprintf(stderr, "medsoc: %s\n", e.ToString().c_str());
  return 1;
}

std::string OperatorName() {
  const passwd* pw = getpwuid(geteuid());
  return std::string("cli:") + (pw ? pw->pw_name : std::to_string(geteuid()));
}

Result<std::string> ReadPasswordFromStdin() {
  std::string line;
  if (!std::getline(std::cin, line)) return Error(ErrorCode::kInvalidArgument, "no password on standard input");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Error(ErrorCode::kInvalidArgument, "empty password on standard input");
  return line;
}

// Everything a user subcommand needs, opened in order.
struct Tools {
  Options options;
  std::unique_ptr<store::StateStore> store;
  std::unique_ptr<auth::AuditTrail> audit;
  std::unique_ptr<auth::AuthService> auth;

  void Audit(const std::string& tenant, const std::string& action, const std::string& target,
             const std::string& outcome, const std::string& detail) {
    audit->Record({.tenant_id = tenant,
                   .user = OperatorName(),
                   .role = "operator",
                   .source_ip = "local",
                   .action = action,
                   .target = target,
                   .outcome = outcome,
                   .detail = detail});
  }
};

Result<Tools> OpenTools(const GlobalFlags& flags) {
  Tools t;
  MEDSOC_ASSIGN_OR_RETURN(t.options, LoadOptions(flags));
  MEDSOC_ASSIGN_OR_RETURN(t.store, OpenStateStore(t.options));
  t.audit = std::make_unique<auth::AuditTrail>(*t.store);
  t.auth = std::make_unique<auth::AuthService>(*t.store, *t.audit, t.options.auth);
  return t;
}

Result<store::User> FindUser(store::StateStore& s, const std::string& name) {
  MEDSOC_ASSIGN_OR_RETURN(auto user, s.FindUserForLogin(name));
  if (!user) return Error(ErrorCode::kNotFound, "no user named '" + name + "'");
  return *user;
}

}  // namespace

Result<std::pair<std::string, std::uint16_t>> SplitHostPort(const std::string& listen) {
  std::string host;
  std::string port_text;
  if (!listen.empty() && listen.front() == '[') {
    auto close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      return Error(ErrorCode::kInvalidArgument, "listen address '" + listen + "': expected [IPv6]:PORT");
    host = listen.substr(1, close - 1);
    port_text = listen.substr(close + 2);
  } else {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0)
      return Error(ErrorCode::kInvalidArgument, "listen address '" + listen + "': expected HOST:PORT");
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
  }
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535)
    return Error(ErrorCode::kInvalidArgument, "listen address '" + listen + "': port must be 0-65535");
  return std::make_pair(host, static_cast<std::uint16_t>(std::stoi(port_text)));
}

std::string ResolveContentDir(const Options& options) {
  namespace fs = std::filesystem;
  if (!options.content_dir.empty()) return options.content_dir;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path dir = exe.parent_path();
    const fs::path installed = (dir / ".." / "share" / "medsoc" / "content").lexically_normal();
    if (fs::is_regular_file(installed / "fields" / "ecs.yaml", ec)) return installed.string();
    for (fs::path d = dir; !d.empty(); d = d.parent_path()) {
      if (fs::is_regular_file(d / "content" / "fields" / "ecs.yaml", ec)) return (d / "content").string();
      if (d == d.parent_path()) break;
    }
  }
  return "content";
}

Result<Options> LoadOptions(const GlobalFlags& flags) {
  Options options;
  if (!flags.config_file.empty()) {
    MEDSOC_ASSIGN_OR_RETURN(options, core::LoadConfigFile(flags.config_file));
  }
  MEDSOC_TRY(core::ApplyEnvironment(options));
  if (!flags.data_dir.empty()) options.data_dir = flags.data_dir;
  return options;
}

Result<std::unique_ptr<store::StateStore>> OpenStateStore(const Options& options) {
  if (::mkdir(options.data_dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Error(ErrorCode::kIo, "cannot create data directory '" + options.data_dir + "': " + std::strerror(errno));
  struct stat st{};
  if (::stat(options.data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Error(ErrorCode::kIo, "data directory '" + options.data_dir + "' is not a directory");
  ::chmod(options.data_dir.c_str(), 0700);
  MEDSOC_ASSIGN_OR_RETURN(auto s, store::sqlite::SqliteStateStore::Open(options.data_dir + "/state.db",
                                                                         options.store.busy_timeout_ms));
  return std::unique_ptr<store::StateStore>(std::move(s));
}

Result<ingest::IngestOptions> LoadIngestOptions(const GlobalFlags& flags) {
  if (flags.config_file.empty()) return ingest::IngestOptions{};
  std::ifstream in(flags.config_file, std::ios::binary);
  if (!in) return Error(ErrorCode::kIo, flags.config_file + ": cannot read file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ingest::ParseIngestSection(ss.str(), flags.config_file);
}

int RunConfigCheck(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "%s: cannot read file\n", file.c_str());
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto problems = core::CheckConfig(ss.str(), file);
  for (auto& e : ingest::CheckIngestSection(ss.str(), file)) problems.push_back(std::move(e));
  if (problems.empty()) {
    auto loaded = core::LoadConfigString(ss.str(), file);
    if (!loaded.ok()) return Fail(loaded.error());
    std::printf("%s: ok\n", file.c_str());
    return 0;
  }
  for (const auto& e : problems) std::fprintf(stderr, "%s\n", e.ToString().c_str());
  std::fprintf(stderr, "%zu problem(s) in %s\n", problems.size(), file.c_str());
  return 1;
}

int RunConfigReference() {
  std::fputs(core::ConfigReferenceMarkdown().c_str(), stdout);
  return 0;
}

int RunConfigExample() {
  std::fputs(core::ExampleConfigYaml().c_str(), stdout);
  return 0;
}

int RunUserAdd(const GlobalFlags& flags, const std::string& name, const std::string& role_name,
               const std::string& tenant, bool provider_wide, bool password_stdin, bool temporary) {
  auto role = auth::ParseRole(role_name);
  if (!role) {
    std::fprintf(stderr, "medsoc: unknown role '%s' (sysadmin, secadmin, analyst, auditor, viewer)\n",
                 role_name.c_str());
    return 2;
  }
  auto password = ReadPasswordFromStdin();
  if (!password.ok()) return Fail(password.error());
  auto tools = OpenTools(flags);
  if (!tools.ok()) return Fail(tools.error());
  const std::string tenant_id = tenant.empty() ? std::string(store::kDefaultTenant) : tenant;
  auto t = tools->store->GetTenant(tenant_id);
  if (!t.ok()) return Fail(t.error());
  if (!*t) {
    std::fprintf(stderr, "medsoc: no tenant '%s'\n", tenant_id.c_str());
    return 1;
  }
  auto user = tools->auth->CreateUser(store::TenantScope::Of(tenant_id), {.username = name,
                                                                          .display_name = name,
                                                                          .role = *role,
                                                                          .provider_wide = provider_wide,
                                                                          .password = *password,
                                                                          .must_change_password = temporary});
  tools->Audit(tenant_id, "cli.user_add", "user:" + name, user.ok() ? "success" : "failure",
               user.ok() ? "role " + role_name + (temporary ? ", temporary password" : "") : user.error().message());
  if (!user.ok()) return Fail(user.error());
  std::printf("created user %s (%s) in tenant %s, id %s%s\n", name.c_str(), role_name.c_str(), tenant_id.c_str(),
              user->id.c_str(), temporary ? " (must change the password at first login)" : "");
  return 0;
}

int RunUserPasswd(const GlobalFlags& flags, const std::string& name, bool password_stdin, bool temporary) {
  auto password = ReadPasswordFromStdin();
  if (!password.ok()) return Fail(password.error());
  auto tools = OpenTools(flags);
  if (!tools.ok()) return Fail(tools.error());
  auto user = FindUser(*tools->store, name);
  if (!user.ok()) return Fail(user.error());
  auto scope = store::TenantScope::Of(user->tenant_id);
  Status st = tools->auth->SetPassword(scope, user->id, *password, temporary);
  if (st.ok()) st = tools->auth->Unlock(scope, user->id);
  tools->Audit(user->tenant_id, "cli.user_passwd", "user:" + user->id, st.ok() ? "success" : "failure",
               st.ok() ? (temporary ? "temporary password set" : "password set") : st.error().message());
  if (!st.ok()) return Fail(st.error());
  std::printf("password of %s changed%s\n", name.c_str(), temporary ? " (must be changed at next login)" : "");
  return 0;
}

int RunUserList(const GlobalFlags& flags, const std::string& tenant) {
  auto tools = OpenTools(flags);
  if (!tools.ok()) return Fail(tools.error());
  auto tenants = tools->store->ListTenants();
  if (!tenants.ok()) return Fail(tenants.error());
  std::printf("%-26s  %-12s  %-20s  %-9s  %-8s  %s\n", "ID", "TENANT", "USERNAME", "ROLE", "STATE", "LAST LOGIN");
  for (const auto& t : *tenants) {
    if (!tenant.empty() && t.id != tenant) continue;
    auto users = tools->store->ListUsers(store::TenantScope::Of(t.id));
    if (!users.ok()) return Fail(users.error());
    for (const auto& u : *users) {
      std::string state = u.disabled ? "disabled" : (u.locked_until > core::Now() ? "locked" : "active");
      std::printf("%-26s  %-12s  %-20s  %-9s  %-8s  %s\n", u.id.c_str(), u.tenant_id.c_str(), u.username.c_str(),
                  u.role.c_str(), state.c_str(),
                  u.last_login_at.ns ? core::FormatRfc3339(u.last_login_at, 0).c_str() : "never");
    }
  }
  return 0;
}

int RunUserDisable(const GlobalFlags& flags, const std::string& name, bool enable) {
  auto tools = OpenTools(flags);
  if (!tools.ok()) return Fail(tools.error());
  auto user = FindUser(*tools->store, name);
  if (!user.ok()) return Fail(user.error());
  Status st = tools->auth->SetDisabled(store::TenantScope::Of(user->tenant_id), user->id, !enable);
  tools->Audit(user->tenant_id, enable ? "cli.user_enable" : "cli.user_disable", "user:" + user->id,
               st.ok() ? "success" : "failure", st.ok() ? "" : st.error().message());
  if (!st.ok()) return Fail(st.error());
  std::printf("user %s %s\n", name.c_str(), enable ? "enabled" : "disabled");
  return 0;
}

int RunAuditVerify(const GlobalFlags& flags) {
  auto options = LoadOptions(flags);
  if (!options.ok()) return Fail(options.error());
  auto s = OpenStateStore(*options);
  if (!s.ok()) return Fail(s.error());
  auto v = (*s)->VerifyAudit();
  if (!v.ok()) return Fail(v.error());
  if (v->intact) {
    std::printf("audit trail intact: %lld rows verified\n", static_cast<long long>(v->rows_checked));
    return 0;
  }
  const auto& r = *v->first_broken;
  std::printf("audit trail BROKEN at seq %lld: %s\n", static_cast<long long>(r.seq), v->reason.c_str());
  std::printf("  time=%s tenant=%s user=%s action=%s target=%s outcome=%s detail=%s\n",
              core::FormatRfc3339(r.time).c_str(), r.tenant_id.c_str(), r.user.c_str(), r.action.c_str(),
              r.target.c_str(), r.outcome.c_str(), r.detail.c_str());
  std::printf("  stored hash=%s\n", r.hash.c_str());
  return 3;
}

}  // namespace medsoc::app
