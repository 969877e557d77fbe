// Content normalizers for the MSG part of syslog records (and of lines without a header), chosen
// by the program name (APP-NAME / TAG) first and then by content:
//
//   program                       normalizer   what it recognises
//   sshd                          Sshd         Accepted/Failed password|publickey|keyboard-interactive,
//                                              Invalid user, Disconnected/Connection closed, max attempts
//   sudo                          Sudo         "user : TTY=.. ; PWD=.. ; USER=.. ; COMMAND=..", failures
//   su                            Su           "(to root) alice on pts/0", FAILED SU, Successful su
//   useradd usermod userdel       Account      new user/group, add to group, delete, password changes
//   groupadd groupdel groupmod passwd chpasswd gpasswd chage
//   CRON crond cron               Cron         "(user) CMD (command)"
//   kernel, ulogd, any with IN= SRC= Netfilter iptables/nftables LOG lines; the log prefix is rule.name
//   audit auditd audispd, or "msg=audit(" content  Auditd (auditd.h)
//   any program, "pam_*(...)"     Pam          session opened/closed, authentication failure (rhost)
//   any program, "CEF:" / "LEEF:" payload      cef.h
//
// An unrecognised message is not an error: it keeps the syslog fields and `message`. Only a CEF,
// LEEF or audit payload that is recognised but malformed returns an Error.
//
// Thread-safety: free functions.
#pragma once

#include <string_view>

#include "ingest/parse/parser.h"

namespace medsoc::ingest::text {

// `msg_offset`: byte offset of `msg` in the whole message, for error positions.
Status NormalizeMessage(std::string_view app, std::string_view msg, std::size_t msg_offset, const ParseContext& ctx,
                        event::Event& e);

// The individual normalizers; each returns true when it recognised the message. `msg` must live in
// event storage.
bool NormalizeSshd(std::string_view msg, event::Event& e);
bool NormalizeSudo(std::string_view msg, event::Event& e);
bool NormalizeSu(std::string_view msg, event::Event& e);
bool NormalizeAccount(std::string_view msg, event::Event& e);
bool NormalizePam(std::string_view msg, event::Event& e);
bool NormalizeCron(std::string_view msg, event::Event& e);
bool NormalizeNetfilter(std::string_view msg, event::Event& e);

}  // namespace medsoc::ingest::text
