#include "ingest/parse/normalize.h"

#include "ingest/parse/auditd.h"
#include "ingest/parse/cef.h"
#include "ingest/parse/text_common.h"

namespace medsoc::ingest::text {
namespace {

using event::Value;

void Str(event::Event& e, event::FieldId id, std::string_view s) { e.Set(id, Value::String(s)); }

// event.module "linux" and event.dataset `ds` (a static string), unless the message already named
// its own (a CEF payload inside a syslog record).
void SetLinuxDataset(event::Event& e, const char* ds) {
  const Fields& f = F();
  if (!e.Has(f.event_dataset)) Str(e, f.event_dataset, ds);
  if (!e.Has(f.event_module)) Str(e, f.event_module, "linux");
}

// The next whitespace-delimited word at s[pos...]; advances pos past it and following spaces.
std::string_view Word(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && s[pos] == ' ') ++pos;
  const std::size_t start = pos;
  while (pos < s.size() && s[pos] != ' ') ++pos;
  std::string_view w = s.substr(start, pos - start);
  while (pos < s.size() && s[pos] == ' ') ++pos;
  return w;
}

bool Consume(std::string_view s, std::size_t& pos, std::string_view lit) {
  if (s.substr(pos, lit.size()) != lit) return false;
  pos += lit.size();
  return true;
}

// "<ip> port <n>" at pos (after "from " or a user name).
void SourceIpPort(std::string_view s, std::size_t& pos, event::Event& e) {
  const Fields& f = F();
  std::string_view ip = Word(s, pos);
  if (!SetIp(e, f.source_ip, ip)) {
    if (!ip.empty()) Str(e, f.source_address, ip);
  }
  if (Consume(s, pos, "port ")) {
    std::size_t end = pos;
    while (end < s.size() && IsDigit(s[end])) ++end;
    SetInt(e, f.source_port, s.substr(pos, end - pos));
    pos = end;
  }
}

void Auth(event::Event& e, std::string_view action, bool success, std::string_view type) {
  const Fields& f = F();
  Str(e, f.event_category, "authentication");
  Str(e, f.event_action, action);
  Str(e, f.event_outcome, success ? "success" : "failure");
  if (!type.empty()) Str(e, f.event_type, type);
}

void User(event::Event& e, std::string_view user) {
  if (user.empty()) return;
  Str(e, F().user_name, user);
  AddRelatedUser(e, user);
}

// "key=value" inside a PAM / auth line ("rhost=10.0.0.5  user=root"): the value up to a space.
std::string_view PamValue(std::string_view s, std::string_view key) {
  std::size_t p = 0;
  while ((p = s.find(key, p)) != std::string_view::npos) {
    if (p == 0 || s[p - 1] == ' ' || s[p - 1] == ';') {
      const std::size_t v = p + key.size();
      std::size_t end = v;
      while (end < s.size() && s[end] != ' ' && s[end] != ';') ++end;
      return s.substr(v, end - v);
    }
    p += key.size();
  }
  return {};
}

// "name(uid=0)" -> "name"
std::string_view StripUid(std::string_view s) {
  const auto p = s.find('(');
  return p == std::string_view::npos ? s : s.substr(0, p);
}

}  // namespace

bool NormalizeSshd(std::string_view msg, event::Event& e) {
  const Fields& f = F();
  std::size_t pos = 0;
  const bool accepted = Consume(msg, pos, "Accepted ");
  const bool failed = !accepted && Consume(msg, pos, "Failed ");
  if (accepted || failed) {
    // "<method> for [invalid user ]<user> from <ip> port <n> ssh2[: <key info>]"
    std::string_view method = Word(msg, pos);
    if (!Consume(msg, pos, "for ")) return false;
    bool invalid = Consume(msg, pos, "invalid user ");
    std::string_view user;
    if (!Consume(msg, pos, "from ")) {
      // sshd prints the user name verbatim (it may contain spaces) up to " from ".
      const auto from = msg.find(" from ", pos);
      if (from == std::string_view::npos) return false;
      user = msg.substr(pos, from - pos);
      pos = from + 6;
    }
    User(e, user);
    SourceIpPort(msg, pos, e);
    Auth(e, invalid ? "ssh-invalid-user" : "ssh-login", accepted, accepted ? "start" : "info");
    SetOriginal(e, "ssh.method", Value::String(method));
    return true;
  }
  if (Consume(msg, pos, "Invalid user ")) {
    // "Invalid user admin from 10.0.0.5 port 4711"
    const auto from = msg.rfind(" from ");
    if (from == std::string_view::npos || from < pos) return false;
    User(e, msg.substr(pos, from - pos));
    pos = from + 6;
    SourceIpPort(msg, pos, e);
    Auth(e, "ssh-invalid-user", false, "info");
    return true;
  }
  // "Disconnected from [authenticating |invalid ]user root 10.0.0.5 port 52144 [preauth]"
  // "Connection closed by [authenticating |invalid ]user root 10.0.0.5 port 52144 [preauth]"
  // "Received disconnect from 10.0.0.5 port 52144:11: disconnected by user"
  bool disconnect = Consume(msg, pos, "Disconnected from ");
  bool closed = !disconnect && Consume(msg, pos, "Connection closed by ");
  if (disconnect || closed) {
    Consume(msg, pos, "authenticating ") || Consume(msg, pos, "invalid ");
    if (Consume(msg, pos, "user ")) User(e, Word(msg, pos));
    SourceIpPort(msg, pos, e);
    Str(e, f.event_category, "session");
    Str(e, f.event_type, "end");
    Str(e, f.event_action, "ssh-disconnect");
    return true;
  }
  if (Consume(msg, pos, "Received disconnect from ")) {
    SourceIpPort(msg, pos, e);
    Str(e, f.event_category, "session");
    Str(e, f.event_type, "end");
    Str(e, f.event_action, "ssh-disconnect");
    return true;
  }
  // "error: maximum authentication attempts exceeded for [invalid user ]root from 1.2.3.4 port 1 ssh2 [preauth]"
  if (Consume(msg, pos, "error: maximum authentication attempts exceeded for ")) {
    Consume(msg, pos, "invalid user ");
    User(e, Word(msg, pos));
    if (Consume(msg, pos, "from ")) SourceIpPort(msg, pos, e);
    Auth(e, "ssh-max-attempts", false, "info");
    return true;
  }
  if (StartsWith(msg, "pam_")) return NormalizePam(msg, e);
  return false;
}

bool NormalizeSudo(std::string_view msg, event::Event& e) {
  const Fields& f = F();
  if (StartsWith(msg, "pam_")) return NormalizePam(msg, e);
  // "<user> : [<problem> ; ]TTY=<tty> ; PWD=<dir> ; USER=<runas> ; [GROUP=<g> ; ]COMMAND=<cmd>"
  std::string_view s = Trim(msg);
  const auto colon = s.find(" : ");
  if (colon == std::string_view::npos) return false;
  std::string_view user = Trim(s.substr(0, colon));
  if (user.empty() || user.find(' ') != std::string_view::npos) return false;
  std::string_view rest = s.substr(colon + 3);
  bool saw_command = false;
  std::string_view problem;
  while (!rest.empty()) {
    const auto sep = rest.find(" ; ");
    std::string_view part = sep == std::string_view::npos ? rest : rest.substr(0, sep);
    // COMMAND= is last and may itself contain " ; ".
    if (StartsWith(part, "COMMAND=")) {
      part = rest;
      rest = {};
    } else {
      rest = sep == std::string_view::npos ? std::string_view() : rest.substr(sep + 3);
    }
    if (StartsWith(part, "TTY=")) {
      SetOriginal(e, "tty", Value::String(part.substr(4)));
    } else if (StartsWith(part, "PWD=")) {
      Str(e, f.process_working_directory, part.substr(4));
    } else if (StartsWith(part, "USER=")) {
      Str(e, f.user_effective_name, part.substr(5));
      AddRelatedUser(e, part.substr(5));
    } else if (StartsWith(part, "GROUP=")) {
      Str(e, f.group_name, part.substr(6));
    } else if (StartsWith(part, "COMMAND=")) {
      Str(e, f.process_command_line, part.substr(8));
      saw_command = true;
    } else if (problem.empty()) {
      problem = part;
    }
  }
  if (!saw_command && problem.empty()) return false;
  User(e, user);
  Str(e, f.event_category, "process");
  if (problem.empty()) {
    Str(e, f.event_action, "sudo-command");
    Str(e, f.event_outcome, "success");
    Str(e, f.event_type, "start");
  } else {
    Str(e, f.event_action, "sudo-denied");
    Str(e, f.event_outcome, "failure");
    Str(e, f.event_type, "denied");
    Str(e, f.event_reason, problem);
  }
  return true;
}

bool NormalizeSu(std::string_view msg, event::Event& e) {
  const Fields& f = F();
  if (StartsWith(msg, "pam_")) return NormalizePam(msg, e);
  std::size_t pos = 0;
  bool failed = Consume(msg, pos, "FAILED SU ") || Consume(msg, pos, "FAILED su ");
  if (Consume(msg, pos, "(to ")) {
    // "(to root) alice on pts/0"
    const auto close = msg.find(')', pos);
    if (close == std::string_view::npos) return false;
    std::string_view target = msg.substr(pos, close - pos);
    pos = close + 1;
    std::string_view user = Word(msg, pos);
    if (Consume(msg, pos, "on ")) SetOriginal(e, "tty", Value::String(Word(msg, pos)));
    User(e, user);
    Str(e, f.user_effective_name, target);
    AddRelatedUser(e, target);
    Auth(e, "su", !failed, failed ? "info" : "start");
    return true;
  }
  pos = 0;
  const bool ok = Consume(msg, pos, "Successful su for ");
  if (ok || Consume(msg, pos, "FAILED su for ")) {
    // "Successful su for root by alice"
    std::string_view target = Word(msg, pos);
    if (!Consume(msg, pos, "by ")) return false;
    User(e, Word(msg, pos));
    Str(e, f.user_effective_name, target);
    AddRelatedUser(e, target);
    Auth(e, "su", ok, ok ? "start" : "info");
    return true;
  }
  return false;
}

bool NormalizeAccount(std::string_view msg, event::Event& e) {
  const Fields& f = F();
  if (StartsWith(msg, "pam_")) {
    // "pam_unix(passwd:chauthtok): password changed for bob"
    const auto p = msg.find("password changed for ");
    if (p == std::string_view::npos) return NormalizePam(msg, e);
    std::string_view user = Trim(msg.substr(p + 21));
    Str(e, f.user_target_name, user);
    AddRelatedUser(e, user);
    Str(e, f.event_category, "iam");
    Str(e, f.event_type, "change");
    Str(e, f.event_action, "password-changed");
    Str(e, f.event_outcome, "success");
    return true;
  }
  auto iam = [&](std::string_view type, std::string_view action) {
    Str(e, f.event_category, "iam");
    Str(e, f.event_type, type);
    Str(e, f.event_action, action);
    Str(e, f.event_outcome, "success");
  };
  // Comma-separated "name=bob, UID=1001, ..." lists.
  auto list_value = [&](std::string_view s, std::string_view key) -> std::string_view {
    const auto p = s.find(key);
    if (p == std::string_view::npos) return {};
    const std::size_t v = p + key.size();
    std::size_t end = s.find(',', v);
    if (end == std::string_view::npos) end = s.size();
    return Trim(s.substr(v, end - v));
  };
  // 'quoted' names: "add 'bob' to group 'sudo'", "delete user 'bob'"
  auto quoted = [&](std::string_view s, std::size_t from, std::size_t& next) -> std::string_view {
    const auto a = s.find('\'', from);
    if (a == std::string_view::npos) return {};
    const auto b = s.find('\'', a + 1);
    if (b == std::string_view::npos) return {};
    next = b + 1;
    return s.substr(a + 1, b - a - 1);
  };
  if (StartsWith(msg, "new user: ")) {
    std::string_view name = list_value(msg, "name=");
    Str(e, f.user_target_name, name);
    AddRelatedUser(e, name);
    if (auto uid = list_value(msg, "UID="); !uid.empty()) SetOriginal(e, "uid", Value::String(uid));
    if (auto home = list_value(msg, "home="); !home.empty()) SetOriginal(e, "home", Value::String(home));
    if (auto shell = list_value(msg, "shell="); !shell.empty()) SetOriginal(e, "shell", Value::String(shell));
    iam("user,creation", "user-created");
    Str(e, f.event_type, "creation");
    return true;
  }
  if (StartsWith(msg, "new group: ") || StartsWith(msg, "group added to ")) {
    Str(e, f.group_name, list_value(msg, "name="));
    iam("creation", "group-created");
    return true;
  }
  std::size_t next = 0;
  if (StartsWith(msg, "add '") || StartsWith(msg, "add member '")) {
    std::string_view user = quoted(msg, 0, next);
    std::string_view group = quoted(msg, next, next);
    if (user.empty() || group.empty()) return false;
    Str(e, f.user_target_name, user);
    AddRelatedUser(e, user);
    Str(e, f.group_name, group);
    iam("change", "user-added-to-group");
    return true;
  }
  if (StartsWith(msg, "delete '") || StartsWith(msg, "remove member '")) {
    std::string_view user = quoted(msg, 0, next);
    std::string_view group = quoted(msg, next, next);
    if (user.empty()) return false;
    Str(e, f.user_target_name, user);
    AddRelatedUser(e, user);
    if (!group.empty()) Str(e, f.group_name, group);
    iam("change", "user-removed-from-group");
    return true;
  }
  if (StartsWith(msg, "delete user '")) {
    std::string_view user = quoted(msg, 0, next);
    Str(e, f.user_target_name, user);
    AddRelatedUser(e, user);
    iam("deletion", "user-deleted");
    return true;
  }
  if (StartsWith(msg, "removed group '") || StartsWith(msg, "group '")) {
    std::string_view group = quoted(msg, 0, next);
    Str(e, f.group_name, group);
    iam("deletion", "group-deleted");
    return true;
  }
  if (StartsWith(msg, "change user '") || StartsWith(msg, "lock user '") || StartsWith(msg, "unlock user '") ||
      StartsWith(msg, "change user name '")) {
    std::string_view user = quoted(msg, 0, next);
    Str(e, f.user_target_name, user);
    AddRelatedUser(e, user);
    const bool lock = StartsWith(msg, "lock");
    const bool unlock = StartsWith(msg, "unlock");
    const bool password = msg.find(" password") != std::string_view::npos;
    iam("change", lock ? "user-locked" : unlock ? "user-unlocked" : password ? "password-changed" : "user-modified");
    return true;
  }
  if (StartsWith(msg, "password for '") || StartsWith(msg, "changed password expiry for ")) {
    std::string_view user = quoted(msg, 0, next);
    if (user.empty()) user = Trim(msg.substr(28));
    Str(e, f.user_target_name, user);
    AddRelatedUser(e, user);
    iam("change", "password-changed");
    return true;
  }
  return false;
}

bool NormalizePam(std::string_view msg, event::Event& e) {
  const Fields& f = F();
  // "pam_unix(sshd:session): session opened for user root(uid=0) by (uid=0)"
  // "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root"
  if (!StartsWith(msg, "pam_")) return false;
  const auto open = msg.find('(');
  const auto close = msg.find("): ");
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return false;
  SetOriginal(e, "pam.module", Value::String(msg.substr(0, open)));
  std::string_view svc = msg.substr(open + 1, close - open - 1);
  const auto colon = svc.find(':');
  if (colon != std::string_view::npos) {
    SetOriginal(e, "pam.service", Value::String(svc.substr(0, colon)));
    SetOriginal(e, "pam.type", Value::String(svc.substr(colon + 1)));
  }
  std::string_view body = msg.substr(close + 3);
  std::size_t pos = 0;
  const bool opened = Consume(body, pos, "session opened for user ");
  if (opened || Consume(body, pos, "session closed for user ")) {
    std::string_view target = StripUid(Word(body, pos));
    std::string_view by;
    if (Consume(body, pos, "by ")) by = StripUid(Word(body, pos));
    if (!by.empty() && by != target) {
      User(e, by);
      Str(e, f.user_effective_name, target);
      AddRelatedUser(e, target);
    } else {
      User(e, target);
    }
    Str(e, f.event_category, "session");
    Str(e, f.event_type, opened ? "start" : "end");
    Str(e, f.event_action, opened ? "session-opened" : "session-closed");
    Str(e, f.event_outcome, "success");
    return true;
  }
  if (StartsWith(body, "authentication failure")) {
    std::string_view user = PamValue(body, "user=");
    if (user.empty()) user = PamValue(body, "ruser=");
    User(e, user);
    std::string_view rhost = PamValue(body, "rhost=");
    if (!rhost.empty() && !SetIp(e, f.source_ip, rhost)) Str(e, f.source_domain, rhost);
    if (auto logname = PamValue(body, "logname="); !logname.empty()) AddRelatedUser(e, logname);
    Auth(e, "authentication-failure", false, "info");
    return true;
  }
  if (StartsWith(body, "check pass; user unknown")) {
    Auth(e, "authentication-failure", false, "info");
    Str(e, f.event_reason, "user unknown");
    return true;
  }
  return false;
}

bool NormalizeCron(std::string_view msg, event::Event& e) {
  const Fields& f = F();
  // "(root) CMD (   /usr/lib/php/sessionclean)"
  if (StartsWith(msg, "pam_")) return NormalizePam(msg, e);
  if (msg.empty() || msg[0] != '(') return false;
  const auto close = msg.find(") ");
  if (close == std::string_view::npos) return false;
  std::string_view user = msg.substr(1, close - 1);
  std::string_view rest = msg.substr(close + 2);
  if (!StartsWith(rest, "CMD (")) return false;
  std::string_view cmd = rest.substr(5);
  if (!cmd.empty() && cmd.back() == ')') cmd.remove_suffix(1);
  User(e, user);
  Str(e, f.process_command_line, Trim(cmd));
  Str(e, f.event_category, "process");
  Str(e, f.event_type, "start");
  Str(e, f.event_action, "cron-command");
  return true;
}

bool NormalizeNetfilter(std::string_view msg, event::Event& e) {
  const Fields& f = F();
  const auto in = msg.find("IN=");
  if (in == std::string_view::npos || (in > 0 && msg[in - 1] != ' ' && msg[in - 1] != ':' && msg[in - 1] != ']'))
    return false;
  if (msg.find(" SRC=", in) == std::string_view::npos) return false;
  // Prefix: after an optional kernel timestamp "[ 1234.567890] ".
  std::string_view prefix = msg.substr(0, in);
  if (!prefix.empty() && prefix[0] == '[') {
    const auto close = prefix.find(']');
    if (close != std::string_view::npos && close > 1 && (IsDigit(prefix[close - 1]) || prefix[close - 1] == ' '))
      prefix = prefix.substr(close + 1);
  }
  prefix = Trim(prefix);
  while (!prefix.empty() && prefix.back() == ':') prefix.remove_suffix(1);
  prefix = Trim(prefix);
  if (!prefix.empty()) Str(e, f.rule_name, prefix);
  // KEY=VALUE tokens separated by single spaces; flags (DF, SYN) are bare words.
  std::size_t pos = in;
  std::string_view proto;
  while (pos < msg.size()) {
    std::size_t end = msg.find(' ', pos);
    if (end == std::string_view::npos) end = msg.size();
    std::string_view tok = msg.substr(pos, end - pos);
    pos = end + 1;
    const auto eq = tok.find('=');
    if (eq == std::string_view::npos) {
      if (!tok.empty()) SetOriginal(e, tok, Value::Bool(true));
      continue;
    }
    std::string_view k = tok.substr(0, eq), v = tok.substr(eq + 1);
    if (!k.empty()) SetOriginal(e, k, Value::String(v));
    if (v.empty()) continue;
    if (k == "IN") Str(e, f.observer_ingress_interface, v);
    else if (k == "OUT") Str(e, f.observer_egress_interface, v);
    else if (k == "SRC") SetIp(e, f.source_ip, v);
    else if (k == "DST") SetIp(e, f.destination_ip, v);
    else if (k == "SPT") SetInt(e, f.source_port, v);
    else if (k == "DPT") SetInt(e, f.destination_port, v);
    else if (k == "LEN") SetInt(e, f.network_bytes, v);
    else if (k == "PROTO") proto = v;
  }
  if (!proto.empty()) {
    char* low = e.arena().Allocate(proto.size());
    for (std::size_t i = 0; i < proto.size(); ++i) low[i] = ToLower(proto[i]);
    Str(e, f.network_transport, std::string_view(low, proto.size()));
  }
  // The action is conventionally spelled in the prefix ("[UFW BLOCK]", "DROP-IN:", "nft accept").
  std::string_view action = "log";
  auto has = [&](std::string_view w) {
    for (std::size_t i = 0; i + w.size() <= prefix.size(); ++i)
      if (EqualsIgnoreCase(prefix.substr(i, w.size()), w)) return true;
    return false;
  };
  if (has("drop") || has("block") || has("deny")) action = "drop";
  else if (has("reject")) action = "reject";
  else if (has("accept") || has("allow")) action = "accept";
  Str(e, f.event_category, "network");
  Str(e, f.event_action, action);
  if (action == "drop" || action == "reject") {
    Str(e, f.event_type, "denied");
    Str(e, f.event_outcome, "failure");
  } else if (action == "accept") {
    Str(e, f.event_type, "allowed");
    Str(e, f.event_outcome, "success");
  } else {
    Str(e, f.event_type, "connection");
  }
  Str(e, f.observer_type, "firewall");
  Str(e, f.observer_product, "netfilter");
  return true;
}

Status NormalizeMessage(std::string_view app, std::string_view msg, std::size_t msg_offset, const ParseContext& ctx,
                        event::Event& e) {
  if (msg.empty()) return Ok();
  if (StartsWith(msg, "CEF:")) return ParseCefPayload(msg, msg_offset, ctx, e);
  if (StartsWith(msg, "LEEF:")) return ParseLeefPayload(msg, msg_offset, ctx, e);
  // `ds`: the event.dataset of what was recognised (docs/formats.md, "event.dataset").
  const char* ds = nullptr;
  switch (app.empty() ? '\0' : app[0]) {
    case 's':
      if (app == "sshd") ds = NormalizeSshd(msg, e) ? "linux.sshd" : nullptr;
      else if (app == "sudo") ds = NormalizeSudo(msg, e) ? "linux.sudo" : nullptr;
      else if (app == "su") ds = NormalizeSu(msg, e) ? "linux.su" : nullptr;
      break;
    case 'u':
      if (app == "useradd" || app == "usermod" || app == "userdel")
        ds = NormalizeAccount(msg, e) ? "linux.account" : nullptr;
      break;
    case 'g':
      if (app == "groupadd" || app == "groupdel" || app == "groupmod" || app == "gpasswd")
        ds = NormalizeAccount(msg, e) ? "linux.account" : nullptr;
      break;
    case 'p':
      if (app == "passwd") ds = NormalizeAccount(msg, e) ? "linux.account" : nullptr;
      break;
    case 'c':
      if (app == "chpasswd" || app == "chage") ds = NormalizeAccount(msg, e) ? "linux.account" : nullptr;
      else if (app == "crond" || app == "cron") ds = NormalizeCron(msg, e) ? "linux.cron" : nullptr;
      break;
    case 'C':
      if (app == "CRON") ds = NormalizeCron(msg, e) ? "linux.cron" : nullptr;
      break;
    case 'k':
      if (app == "kernel") ds = NormalizeNetfilter(msg, e) ? "linux.netfilter" : nullptr;
      break;
    default:
      break;
  }
  if (ds != nullptr) {
    SetLinuxDataset(e, ds);
    return Ok();
  }
  if (msg.find("msg=audit(") != std::string_view::npos &&
      (StartsWith(msg, "type=") || StartsWith(msg, "node="))) {
    return ParseAuditRecords(msg, msg_offset, ctx, e);  // sets linux.auditd
  }
  if (StartsWith(msg, "pam_")) {
    if (NormalizePam(msg, e)) SetLinuxDataset(e, "linux.pam");
    return Ok();
  }
  if (msg.find("IN=") != std::string_view::npos && NormalizeNetfilter(msg, e)) SetLinuxDataset(e, "linux.netfilter");
  return Ok();
}

}  // namespace medsoc::ingest::text
