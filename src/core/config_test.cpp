#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace medsoc::core {
namespace {

// "line:column: message" for each error, so expectations read like the tool's output.
std::vector<std::string> Problems(std::string_view yaml) {
  std::vector<std::string> out;
  for (const Error& e : CheckConfig(yaml, "m.yaml")) {
    EXPECT_TRUE(e.pos().has_value()) << e.message();
    EXPECT_EQ(e.pos()->file, "m.yaml");
    out.push_back(std::to_string(e.pos()->line) + ":" + std::to_string(e.pos()->column) + ": " + e.message());
  }
  return out;
}

std::string OneProblem(std::string_view yaml) {
  auto p = Problems(yaml);
  EXPECT_EQ(p.size(), 1u) << ::testing::PrintToString(p);
  return p.empty() ? "" : p[0];
}

Options MustLoad(std::string_view yaml) {
  auto r = LoadConfigString(yaml, "m.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : Options{};
}

// A fake environment for ApplyEnvironment. Function pointers cannot capture, so it is a global
// that each test resets.
std::map<std::string, std::string> g_env;
const char* FakeGetenv(const char* name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string SourceDir() {
  const char* dir = std::getenv("MEDSOC_SOURCE_DIR");
  return dir ? dir : "";
}

// Compares `actual` with the committed file `relative`; with MEDSOC_UPDATE_GOLDEN=1 rewrites it.
void ExpectGolden(const std::string& relative, const std::string& actual, const std::string& regenerate) {
  if (SourceDir().empty()) GTEST_SKIP() << "MEDSOC_SOURCE_DIR is not set (ctest sets it)";
  const std::string path = SourceDir() + "/" + relative;
  const char* update = std::getenv("MEDSOC_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  EXPECT_EQ(ReadFile(path), actual) << relative << " is out of date with the schema in src/core/config.cpp.\n"
                                    << "Regenerate it with `" << regenerate << "`, or run this test with "
                                    << "MEDSOC_UPDATE_GOLDEN=1.";
}

// --- Defaults and valid files ---------------------------------------------------------------

TEST(ConfigTest, EmptyFileIsAllDefaults) {
  for (std::string_view yaml : {"", "\n", "# only a comment\n", "---\n", "~\n"}) {
    EXPECT_TRUE(CheckConfig(yaml, "m.yaml").empty()) << yaml;
    Options o = MustLoad(yaml);
    Options d;
    EXPECT_EQ(o.data_dir, d.data_dir);
    EXPECT_EQ(o.log.level, "info");
    EXPECT_EQ(o.server.max_body_bytes, 1u << 20);
    EXPECT_EQ(o.auth.password.min_length, 12);
    EXPECT_EQ(o.store.backend, "sqlite");
  }
}

TEST(ConfigTest, LoadsEveryKind) {
  Options o = MustLoad(R"(
data_dir: /var/lib/medsoc
log:
  level: debug
  format: json
server:
  listen: 0.0.0.0:9443
  tls:
    cert_file: /etc/medsoc/cert.pem
    key_file: /etc/medsoc/key.pem
    min_version: "1.3"
  threads: 8
  max_body_bytes: 4MiB
  max_header_bytes: 32768
  max_connections: 50000
auth:
  password: {min_length: 14, history: 0}
  argon2_strength: sensitive
store:
  busy_timeout_ms: 0
)");
  EXPECT_EQ(o.data_dir, "/var/lib/medsoc");
  EXPECT_EQ(o.log.level, "debug");
  EXPECT_EQ(o.log.format, "json");
  EXPECT_EQ(o.server.listen, "0.0.0.0:9443");
  EXPECT_EQ(o.server.tls.cert_file, "/etc/medsoc/cert.pem");
  EXPECT_EQ(o.server.tls.key_file, "/etc/medsoc/key.pem");
  EXPECT_EQ(o.server.tls.min_version, "1.3");
  EXPECT_EQ(o.server.threads, 8);
  EXPECT_EQ(o.server.max_body_bytes, 4u << 20);
  EXPECT_EQ(o.server.max_header_bytes, 32768u);
  EXPECT_EQ(o.server.max_connections, 50000u);
  EXPECT_EQ(o.auth.password.min_length, 14);
  EXPECT_EQ(o.auth.password.history, 0);
  EXPECT_EQ(o.auth.password.min_classes, 3);  // untouched keys keep their defaults
  EXPECT_EQ(o.auth.argon2_strength, "sensitive");
  EXPECT_EQ(o.store.busy_timeout_ms, 0);
}

TEST(ConfigTest, NullValuesAndEmptySectionsKeepDefaults) {
  Options o = MustLoad("log:\nserver:\n  threads: ~\n  tls:\nauth: {}\n");
  EXPECT_EQ(o.server.threads, 0);
  EXPECT_EQ(o.log.level, "info");
}

TEST(ConfigTest, PlainScalarsAreStringsForStringKeys) {
  // 1.3 would be a float and 8080 an int in YAML's core schema; string keys take the text.
  Options o = MustLoad("server:\n  tls: {min_version: 1.3}\nlog:\n  file: 8080\n");
  EXPECT_EQ(o.server.tls.min_version, "1.3");
  EXPECT_EQ(o.log.file, "8080");
}

TEST(ConfigTest, AliasesShareValues) {
  Options o = MustLoad("auth:\n  session_idle_minutes: &m 45\n  lockout_window_minutes: *m\n");
  EXPECT_EQ(o.auth.session_idle_minutes, 45);
  EXPECT_EQ(o.auth.lockout_window_minutes, 45);
}

// --- Type errors with exact positions -------------------------------------------------------

TEST(ConfigTest, NotAnInteger) {
  EXPECT_EQ(OneProblem("server:\n  threads: many\n"), "2:12: server.threads: expected an integer, got 'many'");
  EXPECT_EQ(OneProblem("server:\n  threads: 1.5\n"), "2:12: server.threads: expected an integer, got '1.5'");
  EXPECT_EQ(OneProblem("server:\n  threads: 99999999999999999999\n"),
            "2:12: server.threads: expected an integer, got '99999999999999999999'");
}

TEST(ConfigTest, IntegerOutOfRange) {
  EXPECT_EQ(OneProblem("auth:\n  password:\n    min_length: 4\n"),
            "3:17: auth.password.min_length: 4 is out of range (8..256)");
  EXPECT_EQ(OneProblem("server:\n  threads: -1\n"), "2:12: server.threads: -1 is out of range (0..1024)");
  EXPECT_EQ(OneProblem("server:\n  max_connections: 0\n"),
            "2:20: server.max_connections: 0 is out of range (1..1000000)");
}

TEST(ConfigTest, BadSize) {
  EXPECT_EQ(OneProblem("server:\n  max_body_bytes: 10 MB\n"),
            "2:19: server.max_body_bytes: expected a size in bytes, optionally with a unit (e.g. 1048576 or "
            "1MiB), got '10 MB'");
  EXPECT_EQ(OneProblem("server:\n  max_body_bytes: 2GiB\n"),
            "2:19: server.max_body_bytes: 2GiB is out of range (1KiB..1GiB)");
  EXPECT_EQ(OneProblem("server:\n  max_header_bytes: 99999999999TiB\n"),
            "2:21: server.max_header_bytes: expected a size in bytes, optionally with a unit (e.g. 1048576 or "
            "1MiB), got '99999999999TiB'");
}

TEST(ConfigTest, BadEnumSuggestsTheClosestWord) {
  EXPECT_EQ(OneProblem("log:\n  level: verbose\n"),
            "2:10: log.level: 'verbose' is not one of: trace, debug, info, warn, error, critical, off");
  EXPECT_EQ(OneProblem("log: {level: warning}\n"),
            "1:14: log.level: 'warning' is not one of: trace, debug, info, warn, error, critical, off; did you "
            "mean 'warn'?");
  EXPECT_EQ(OneProblem("log:\n  format: xml\n"), "2:11: log.format: 'xml' is not one of: text, json");
  EXPECT_EQ(OneProblem("auth:\n  argon2_strength: strong\n"),
            "2:20: auth.argon2_strength: 'strong' is not one of: interactive, moderate, sensitive");
  EXPECT_EQ(OneProblem("server:\n  tls:\n    min_version: \"1.1\"\n"),
            "3:18: server.tls.min_version: '1.1' is not one of: 1.2, 1.3; did you mean '1.2'?");
  EXPECT_EQ(OneProblem("store:\n  backend: postgres\n"), "2:12: store.backend: 'postgres' is not one of: sqlite");
}

TEST(ConfigTest, MappingOrSequenceWhereScalarExpected) {
  EXPECT_EQ(OneProblem("server:\n  listen:\n    host: x\n"),
            "3:5: server.listen: expected a string, got a mapping");
  EXPECT_EQ(OneProblem("server:\n  threads: [1, 2]\n"), "2:12: server.threads: expected an integer, got a sequence");
}

TEST(ConfigTest, ScalarWhereSectionExpected) {
  EXPECT_EQ(OneProblem("server: 8080\n"), "1:9: server: expected a mapping of keys (this is a section), got a scalar");
  EXPECT_EQ(OneProblem("server:\n  tls: on\n"),
            "2:8: server.tls: expected a mapping of keys (this is a section), got a scalar");
}

TEST(ConfigTest, TopLevelMustBeAMapping) {
  EXPECT_EQ(OneProblem("- a\n- b\n"), "1:1: the configuration must be a mapping of keys and sections, got a sequence");
  EXPECT_EQ(OneProblem("hello\n"), "1:1: the configuration must be a mapping of keys and sections, got a scalar");
}

TEST(ConfigTest, DuplicateKeys) {
  EXPECT_EQ(OneProblem("log:\n  level: info\n  level: debug\n"),
            "3:3: log.level: duplicate key (first at line 2, column 3)");
  EXPECT_EQ(OneProblem("server: {}\nserver: {}\n"), "2:1: server: duplicate key (first at line 1, column 1)");
}

TEST(ConfigTest, NonScalarKey) {
  EXPECT_EQ(OneProblem("? [a, b]\n: 1\n"), "1:3: a key must be a plain word, got a sequence");
}

// --- Unknown keys ----------------------------------------------------------------------------

TEST(ConfigTest, UnknownKeySuggestsClosest) {
  EXPECT_EQ(OneProblem("server:\n  lisen: 127.0.0.1:80\n"),
            "2:3: server.lisen: unknown key; did you mean 'server.listen'?");
  EXPECT_EQ(OneProblem("servr:\n  listen: x\n"), "1:1: servr: unknown key; did you mean 'server'?");
}

TEST(ConfigTest, NestedUnknownKey) {
  EXPECT_EQ(OneProblem("server:\n  tls:\n    certfile: a.pem\n"),
            "3:5: server.tls.certfile: unknown key; did you mean 'server.tls.cert_file'?");
  EXPECT_EQ(OneProblem("auth:\n  password:\n    min_lenght: 10\n"),
            "3:5: auth.password.min_lenght: unknown key; did you mean 'auth.password.min_length'?");
}

TEST(ConfigTest, KeyInTheWrongSectionSuggestsTheRightOne) {
  EXPECT_EQ(OneProblem("listen: 0.0.0.0:80\n"), "1:1: listen: unknown key; did you mean 'server.listen'?");
}

TEST(ConfigTest, UnknownKeyWithoutSuggestion) {
  EXPECT_EQ(OneProblem("plugins:\n  - x\n"), "1:1: plugins: unknown key");
}

TEST(ConfigTest, UnknownKeysAreEscapedAndShortened) {
  EXPECT_EQ(OneProblem("\"a\\nb\": 1\n"), "1:1: a\\x0ab: unknown key");
  EXPECT_EQ(OneProblem(std::string(100, 'k') + ": 1\n"), "1:1: " + std::string(64, 'k') + "...: unknown key");
}

TEST(ConfigTest, DottedKeysAreRejected) {
  EXPECT_EQ(OneProblem("server.listen: 0.0.0.0:80\n"),
            "1:1: server.listen: dotted keys are not supported; nest the sections (`server:` then `  listen: ...`)");
}

// --- Several problems at once ------------------------------------------------------------------

TEST(ConfigTest, CollectsEveryProblemInDocumentOrder) {
  auto p = Problems(R"(server:
  lisen: 1
  threads: x
  tls:
    cert_file: a.pem
log:
  level: loud
auth:
  password:
    min_classes: 9
bogus: 1
)");
  std::vector<std::string> want = {
      "2:3: server.lisen: unknown key; did you mean 'server.listen'?",
      "3:12: server.threads: expected an integer, got 'x'",
      "5:16: server.tls.key_file: required when server.tls.cert_file is set",
      "7:10: log.level: 'loud' is not one of: trace, debug, info, warn, error, critical, off",
      "10:18: auth.password.min_classes: 9 is out of range (1..4)",
      "11:1: bogus: unknown key",
  };
  EXPECT_EQ(p, want);
}

TEST(ConfigTest, LoadConfigStringListsEveryProblemOnePerLine) {
  auto r = LoadConfigString("server:\n  threads: x\nlog:\n  level: loud\n", "m.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "m.yaml:2:12: server.threads: expected an integer, got 'x'\n"
            "m.yaml:4:10: log.level: 'loud' is not one of: trace, debug, info, warn, error, critical, off");
}

// --- Validation beyond types -------------------------------------------------------------------

TEST(ConfigTest, ListenAcceptsHostPort) {
  for (std::string_view v : {"127.0.0.1:8080", "0.0.0.0:1", "localhost:65535", "soc.example-hospital.org:443",
                             "\"[::1]:8443\"", "\"[::]:80\"", "\"[2001:db8::7]:8443\"", "\"\""}) {
    std::string yaml = "server:\n  listen: " + std::string(v) + "\n";
    EXPECT_TRUE(CheckConfig(yaml, "m.yaml").empty()) << v;
  }
}

TEST(ConfigTest, ListenRejectsMalformed) {
  auto problem = [](std::string_view v) { return OneProblem("server:\n  listen: \"" + std::string(v) + "\"\n"); };
  EXPECT_EQ(problem("8080"),
            "2:11: server.listen: invalid value '8080': expected HOST:PORT, e.g. 127.0.0.1:8443, 0.0.0.0:8443 or "
            "[::1]:8443");
  EXPECT_EQ(problem("127.0.0.1:0"), "2:11: server.listen: invalid value '127.0.0.1:0': the port must be a number "
                                    "from 1 to 65535");
  EXPECT_EQ(problem("127.0.0.1:65536"),
            "2:11: server.listen: invalid value '127.0.0.1:65536': the port must be a number from 1 to 65535");
  EXPECT_EQ(problem("127.0.0.1:http"),
            "2:11: server.listen: invalid value '127.0.0.1:http': the port must be a number from 1 to 65535");
  EXPECT_EQ(problem("127.0.0.1:"),
            "2:11: server.listen: invalid value '127.0.0.1:': the port must be a number from 1 to 65535");
  EXPECT_EQ(problem(":8080"), "2:11: server.listen: invalid value ':8080': the host is missing (0.0.0.0 listens on "
                              "every IPv4 interface)");
  EXPECT_EQ(problem("::1:8080"),
            "2:11: server.listen: invalid value '::1:8080': an IPv6 address must be in brackets, e.g. [::1]:8443");
  EXPECT_EQ(problem("[::1:8080"),
            "2:11: server.listen: invalid value '[::1:8080': IPv6 address is missing its closing ']'");
  EXPECT_EQ(problem("[::1]8080"),
            "2:11: server.listen: invalid value '[::1]8080': expected HOST:PORT, e.g. 127.0.0.1:8443, "
            "0.0.0.0:8443 or [::1]:8443");
  EXPECT_EQ(problem("[zz]:80"), "2:11: server.listen: invalid value '[zz]:80': 'zz' is not an IPv6 address");
  EXPECT_EQ(problem("bad host:80"),
            "2:11: server.listen: invalid value 'bad host:80': the host may contain only letters, digits, '.' and "
            "'-'");
}

TEST(ConfigTest, TlsCertAndKeyComeInPairs) {
  EXPECT_EQ(OneProblem("server:\n  tls:\n    cert_file: c.pem\n"),
            "3:16: server.tls.key_file: required when server.tls.cert_file is set");
  EXPECT_EQ(OneProblem("server:\n  tls:\n    key_file: k.pem\n"),
            "3:15: server.tls.cert_file: required when server.tls.key_file is set");
  EXPECT_TRUE(CheckConfig("server:\n  tls:\n    cert_file: c.pem\n    key_file: k.pem\n", "m.yaml").empty());
}

TEST(ConfigTest, MasterKeyMustBe64HexCharactersAndIsNeverEchoed) {
  const std::string good(64, 'a');
  EXPECT_EQ(MustLoad("master_key: " + good + "\n").master_key, good);
  std::string p = OneProblem("master_key: s3cr3t-value\n");
  EXPECT_EQ(p, "1:13: master_key: invalid value (secret value not shown): must be 64 hexadecimal characters "
               "(32 bytes), got 12 characters");
  EXPECT_EQ(p.find("s3cr3t"), std::string::npos);
  std::string not_hex(63, 'a');
  not_hex += 'g';
  p = OneProblem("master_key: " + not_hex + "\n");
  EXPECT_EQ(p, "1:13: master_key: invalid value (secret value not shown): must be 64 hexadecimal characters "
               "(32 bytes); it contains other characters");
}

// --- Syntax and hostile input ------------------------------------------------------------------

TEST(ConfigTest, SyntaxErrorHasPosition) {
  auto errors = CheckConfig("log:\n  level: [info\nserver: {}\n", "m.yaml");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code(), ErrorCode::kParse);
  ASSERT_TRUE(errors[0].pos().has_value());
  EXPECT_EQ(errors[0].pos()->line, 3);
  EXPECT_EQ(errors[0].pos()->column, 7);
  EXPECT_EQ(errors[0].message(), "YAML syntax error: end of sequence flow not found");

  EXPECT_EQ(OneProblem("log:\n  level: info\n bad: 1\n"), "3:2: YAML syntax error: end of map not found");
  EXPECT_EQ(OneProblem("server:\n  listen: a: b\n"), "2:12: YAML syntax error: illegal map value");
}

TEST(ConfigTest, OnlyOneDocument) {
  EXPECT_EQ(OneProblem("log: {}\n---\nserver: {}\n"), "2:1: only one YAML document is allowed in a configuration file");
}

TEST(ConfigTest, RecursiveAliasIsRejected) {
  EXPECT_EQ(OneProblem("a: &x [*x]\n"), "1:8: alias refers to an anchor that is not complete here");
}

TEST(ConfigTest, DeepNestingIsRejected) {
  std::string flow = std::string(1000, '[') + std::string(1000, ']');
  auto p = Problems(flow);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "1:65: nesting deeper than 64 levels");
  // Unclosed brackets: yaml-cpp reads each '[' as the start of an implicit key, two levels a time.
  p = Problems(std::string(100000, '['));
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0], "1:33: nesting deeper than 64 levels");

  std::string block;
  for (int i = 0; i < 200; ++i) block += std::string(static_cast<size_t>(i) * 2, ' ') + "k:\n";
  p = Problems(block);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_NE(p[0].find("nesting deeper than 64 levels"), std::string::npos) << p[0];
}

TEST(ConfigTest, TooLarge) {
  std::string yaml = "# " + std::string(1 << 20, 'x') + "\n";
  auto errors = CheckConfig(yaml, "m.yaml");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(errors[0].message(), "configuration is 1048579 bytes; the limit is 1 MiB");
}

TEST(ConfigTest, ManyAliasesDoNotExpand) {
  // "Billion laughs": each level refers to the previous one ten times. Shared, not copied.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 30; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", " : "") + prev;
    yaml += "]\n";
  }
  auto errors = CheckConfig(yaml, "m.yaml");
  EXPECT_EQ(errors.size(), 30u);  // each top-level key is unknown; nothing is expanded
}

// --- Files -------------------------------------------------------------------------------------

TEST(ConfigTest, FileNotFound) {
  auto r = LoadConfigFile("/nonexistent/medsoc.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
  EXPECT_EQ(r.error().message(),
            "cannot open configuration file '/nonexistent/medsoc.yaml': No such file or directory");
}

TEST(ConfigTest, DirectoryIsAnIoError) {
  auto r = LoadConfigFile("/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kIo);
}

TEST(ConfigTest, LoadConfigFileReportsThePath) {
  std::string path = ::testing::TempDir() + "config_test_medsoc.yaml";
  std::ofstream(path) << "log:\n  level: chatty\n";
  auto r = LoadConfigFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().rfind(path + ":2:10: log.level:", 0), 0u) << r.error().message();
  std::ofstream(path) << "log:\n  level: warn\n";
  auto ok = LoadConfigFile(path);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->log.level, "warn");
  std::remove(path.c_str());
}

// --- Environment -------------------------------------------------------------------------------

TEST(ConfigTest, EnvironmentOverridesTheFile) {
  Options o = MustLoad("auth:\n  lockout_threshold: 3\n");
  g_env = {{"MEDSOC_AUTH_LOCKOUT_THRESHOLD", "7"},
           {"MEDSOC_SERVER_TLS_KEY_PASSWORD", "hunter2"},
           {"MEDSOC_MASTER_KEY", std::string(64, 'F')},
           {"MEDSOC_DATA_DIR", "/srv/medsoc"},
           {"MEDSOC_SERVER_MAX_BODY_BYTES", "2MiB"},
           {"MEDSOC_SERVER_MAX_CONNECTIONS", "10"},
           {"MEDSOC_LOG_LEVEL", "warn"},
           {"MEDSOC_SERVER_LISTEN", "[::1]:8443"},
           {"MEDSOC_LOG_FILE", ""}};  // empty: unset
  ASSERT_TRUE(ApplyEnvironment(o, FakeGetenv).ok());
  EXPECT_EQ(o.auth.lockout_threshold, 7);
  EXPECT_EQ(o.server.tls.key_password, "hunter2");
  EXPECT_EQ(o.master_key, std::string(64, 'F'));
  EXPECT_EQ(o.data_dir, "/srv/medsoc");
  EXPECT_EQ(o.server.max_body_bytes, 2u << 20);
  EXPECT_EQ(o.server.max_connections, 10u);
  EXPECT_EQ(o.log.level, "warn");
  EXPECT_EQ(o.server.listen, "[::1]:8443");
  EXPECT_EQ(o.log.file, "");
  EXPECT_EQ(o.auth.lockout_window_minutes, 15);
}

TEST(ConfigTest, EnvironmentErrorsNameTheVariableAndChangeNothing) {
  Options o;
  g_env = {{"MEDSOC_AUTH_LOCKOUT_THRESHOLD", "abc"},
           {"MEDSOC_LOG_LEVEL", "loud"},
           {"MEDSOC_MASTER_KEY", "tooshort-secret"},
           {"MEDSOC_SERVER_LISTEN", "nope"},
           {"MEDSOC_DATA_DIR", "/elsewhere"}};
  Status s = ApplyEnvironment(o, FakeGetenv);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            "MEDSOC_MASTER_KEY (master_key): invalid value (secret value not shown): must be 64 hexadecimal "
            "characters (32 bytes), got 15 characters\n"
            "MEDSOC_LOG_LEVEL (log.level): 'loud' is not one of: trace, debug, info, warn, error, critical, off\n"
            "MEDSOC_SERVER_LISTEN (server.listen): invalid value 'nope': expected HOST:PORT, e.g. 127.0.0.1:8443, "
            "0.0.0.0:8443 or [::1]:8443\n"
            "MEDSOC_AUTH_LOCKOUT_THRESHOLD (auth.lockout_threshold): expected an integer, got 'abc'");
  EXPECT_EQ(o.data_dir, "./var");  // all or nothing
}

TEST(ConfigTest, EnvironmentTlsPairing) {
  Options o;
  g_env = {{"MEDSOC_SERVER_TLS_CERT_FILE", "/etc/c.pem"}};
  Status s = ApplyEnvironment(o, FakeGetenv);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(),
            "server.tls.key_file (MEDSOC_SERVER_TLS_KEY_FILE): required when server.tls.cert_file is set");
  g_env["MEDSOC_SERVER_TLS_KEY_FILE"] = "/etc/k.pem";
  EXPECT_TRUE(ApplyEnvironment(o, FakeGetenv).ok());
  EXPECT_EQ(o.server.tls.key_file, "/etc/k.pem");
}

TEST(ConfigTest, EnvironmentDefaultsToProcessEnvironment) {
  Options o;
  ::setenv("MEDSOC_STORE_BUSY_TIMEOUT_MS", "1234", 1);
  Status s = ApplyEnvironment(o);
  ::unsetenv("MEDSOC_STORE_BUSY_TIMEOUT_MS");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(o.store.busy_timeout_ms, 1234);
}

// --- Generated documents -----------------------------------------------------------------------

TEST(ConfigTest, ReferenceDocumentsEveryKey) {
  std::string md = ConfigReferenceMarkdown();
  std::string example = ExampleConfigYaml();
  for (std::string_view key : {"data_dir", "master_key", "log.level", "log.format", "log.file", "server.listen",
                               "server.tls.cert_file", "server.tls.key_file", "server.tls.key_password",
                               "server.tls.min_version", "server.threads", "server.max_body_bytes",
                               "server.max_header_bytes", "server.request_timeout_seconds",
                               "server.idle_timeout_seconds", "server.shutdown_grace_seconds",
                               "server.max_connections", "server.portal_dir", "auth.password.min_length",
                               "auth.password.min_classes", "auth.password.history", "auth.password.max_age_days",
                               "auth.lockout_threshold", "auth.lockout_window_minutes",
                               "auth.lockout_duration_minutes", "auth.session_idle_minutes",
                               "auth.session_max_hours", "auth.token_max_days", "auth.argon2_strength",
                               "store.backend", "store.busy_timeout_ms"}) {
    EXPECT_NE(md.find("| `" + std::string(key) + "` |"), std::string::npos) << key;
  }
  EXPECT_NE(md.find("MEDSOC_SERVER_TLS_KEY_PASSWORD"), std::string::npos);
  EXPECT_NE(md.find("medsoc config check FILE"), std::string::npos);
  EXPECT_NE(md.find("--data"), std::string::npos);
}

TEST(ConfigTest, ExampleLoadsToTheDefaults) {
  std::string example = ExampleConfigYaml();
  EXPECT_TRUE(CheckConfig(example, "example.yaml").empty());
  Options o = MustLoad(example);
  Options d;
  EXPECT_EQ(o.data_dir, d.data_dir);
  EXPECT_EQ(o.server.max_body_bytes, d.server.max_body_bytes);
  EXPECT_EQ(o.server.max_header_bytes, d.server.max_header_bytes);
  EXPECT_EQ(o.server.tls.min_version, d.server.tls.min_version);
  EXPECT_EQ(o.auth.token_max_days, d.auth.token_max_days);
  // Secrets are present only as comments.
  EXPECT_NE(example.find("# master_key:"), std::string::npos);
  EXPECT_NE(example.find("# key_password:"), std::string::npos);
}

TEST(ConfigTest, DocsConfigurationMdIsUpToDate) {
  ExpectGolden("docs/configuration.md", ConfigReferenceMarkdown(),
               "build/debug/medsoc config reference > docs/configuration.md");
}

TEST(ConfigTest, ExampleFileIsUpToDateAndLoads) {
  ExpectGolden("content/medsoc.example.yaml", ExampleConfigYaml(),
               "build/debug/medsoc config example > content/medsoc.example.yaml");
  if (SourceDir().empty()) return;
  auto r = LoadConfigFile(SourceDir() + "/content/medsoc.example.yaml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
}

}  // namespace
}  // namespace medsoc::core
