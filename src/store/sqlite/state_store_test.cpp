#include "store/sqlite/state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/ids.h"
#include "store/sqlite/db.h"
#include "store/sqlite/migrations.h"

namespace medsoc::store::sqlite {
namespace {

// A private directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/medsoc-store-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    EXPECT_NE(made, nullptr);
    path_ = made != nullptr ? made : "/tmp";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs SQL on the database file with a separate, raw connection (bypassing every guard of ours).
int RawExec(const std::string& path, const std::string& sql, std::string* errmsg = nullptr) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc == SQLITE_OK) {
    char* err = nullptr;
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    if (errmsg != nullptr) *errmsg = err != nullptr ? err : "";
    sqlite3_free(err);
  }
  sqlite3_close_v2(db);
  return rc;
}

int FileMode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

std::string Hash(std::string_view secret) { return core::Sha256Hex(secret); }

class SqliteStateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/state.db";
    Reopen();
    ASSERT_TRUE(store_->CreateTenant({"hosp-a", "甲医院", core::Timestamp{1}}).ok());
    ASSERT_TRUE(store_->CreateTenant({"hosp-b", "乙医院", core::Timestamp{2}}).ok());
  }

  void Reopen() {
    store_.reset();
    auto opened = SqliteStateStore::Open(path_, 2000);
    ASSERT_TRUE(opened.ok()) << opened.error().ToString();
    store_ = std::move(opened).value();
  }

  User MakeUser(const std::string& tenant, const std::string& username) {
    User u;
    u.id = core::NewId();
    u.tenant_id = tenant;
    u.username = username;
    u.display_name = "用户 " + username;
    u.role = "analyst";
    u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$salt$hash-" + username;
    u.password_changed_at = core::Timestamp{100};
    u.created_at = core::Timestamp{50};
    return u;
  }

  User AddUser(const std::string& tenant, const std::string& username) {
    User u = MakeUser(tenant, username);
    auto status = store_->CreateUser(TenantScope::Of(tenant), u);
    EXPECT_TRUE(status.ok()) << status.error().ToString();
    return u;
  }

  ApiToken MakeToken(const std::string& tenant, const std::string& secret) {
    ApiToken t;
    t.id = core::NewId();
    t.tenant_id = tenant;
    t.name = "siem-forwarder";
    t.token_hash = Hash(secret);
    t.role = "analyst";
    t.scopes = {"alerts.read", "events.read"};
    t.created_by = "someone";
    t.created_at = core::Timestamp{10};
    t.expires_at = core::Timestamp{core::Days(365)};
    return t;
  }

  AuditRecord MakeAudit(const std::string& tenant, const std::string& action, int i = 0) {
    AuditRecord r;
    r.time = core::Timestamp{1'000'000 + i};
    r.tenant_id = tenant;
    r.user = "alice";
    r.role = "sysadmin";
    r.source_ip = "10.0.0.7";
    r.action = action;
    r.target = "user:" + std::to_string(i);
    r.outcome = "success";
    r.detail = "row " + std::to_string(i) + " 审计";
    return r;
  }

  TempDir dir_;
  std::string path_;
  std::unique_ptr<SqliteStateStore> store_;
  TenantScope a_ = TenantScope::Of("hosp-a");
  TenantScope b_ = TenantScope::Of("hosp-b");
};

// --- migrations and files ---

TEST_F(SqliteStateStoreTest, MigrationsAreIdempotentOnReopen) {
  Reopen();
  Reopen();
  auto db = Database::Open(path_, {});
  ASSERT_TRUE(db.ok()) << db.error().ToString();
  auto version = CurrentSchemaVersion(**db);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, LatestVersion(StateMigrations()));
  auto count = (*db)->Prepare("SELECT count(*) FROM schema_migrations");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE((*count)->Step().value());
  EXPECT_EQ((*count)->ColumnInt64(0), static_cast<std::int64_t>(StateMigrations().size()));

  auto tenants = store_->ListTenants();
  ASSERT_TRUE(tenants.ok());
  ASSERT_EQ(tenants->size(), 3u);  // default + the fixture's two; the default row is not duplicated
  auto def = store_->GetTenant(std::string(kDefaultTenant));
  ASSERT_TRUE(def.ok() && def->has_value());
  EXPECT_EQ((*def)->name, "默认租户");
  EXPECT_GT((*def)->created_at.ns, 0);
}

TEST_F(SqliteStateStoreTest, EveryTableCarriesTenantId) {
  auto db = Database::Open(path_, {});
  ASSERT_TRUE(db.ok());
  auto tables = (*db)->Prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
      "AND name <> 'schema_migrations' AND name NOT IN "
      "(SELECT m.name FROM sqlite_schema m, pragma_table_info(m.name) c WHERE c.name = 'tenant_id')");
  ASSERT_TRUE(tables.ok()) << tables.error().ToString();
  auto row = (*tables)->Step();
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(*row) << "table without tenant_id: " << (*tables)->ColumnText(0);
}

TEST(SqliteMigrationsTest, RefusesNewerSchema) {
  TempDir dir;
  std::string path = dir.path() + "/state.db";
  {
    auto store = SqliteStateStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.error().ToString();
  }
  ASSERT_EQ(RawExec(path, "INSERT INTO schema_migrations VALUES (999, 'from the future', 0)"), SQLITE_OK);
  auto store = SqliteStateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message().find("999"), std::string::npos) << store.error().message();
  EXPECT_NE(store.error().message().find("newer"), std::string::npos) << store.error().message();
}

TEST(SqliteMigrationsTest, AppliesOnlyNewStepsInOrder) {
  TempDir dir;
  auto db = Database::Open(dir.path() + "/m.db", {});
  ASSERT_TRUE(db.ok());
  std::vector<Migration> steps = {{1, "one", "CREATE TABLE t (tenant_id TEXT, x INTEGER)"}};
  ASSERT_TRUE(RunMigrations(**db, steps).ok());
  steps.push_back({2, "two", "INSERT INTO t VALUES ('default', 2)"});
  ASSERT_TRUE(RunMigrations(**db, steps).ok());
  ASSERT_TRUE(RunMigrations(**db, steps).ok());  // nothing left to do
  EXPECT_EQ(CurrentSchemaVersion(**db).value(), 2);
  auto n = (*db)->Prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE((*n)->Step().value());
  EXPECT_EQ((*n)->ColumnInt64(0), 1);
}

TEST(SqliteMigrationsTest, FailedStepRollsBackAndIsReported) {
  TempDir dir;
  auto db = Database::Open(dir.path() + "/m.db", {});
  ASSERT_TRUE(db.ok());
  std::vector<Migration> steps = {{1, "broken", "CREATE TABLE t (x INTEGER); INSERT INTO nowhere VALUES (1)"}};
  auto status = RunMigrations(**db, steps);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("migration 1 (broken)"), std::string::npos) << status.error().message();
  EXPECT_EQ(CurrentSchemaVersion(**db).value(), 0);
  auto t = (*db)->Prepare("SELECT count(*) FROM sqlite_schema WHERE name = 't'");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->Step().value());
  EXPECT_EQ((*t)->ColumnInt64(0), 0) << "the half-applied migration was not rolled back";
}

TEST(SqliteDbTest, ErrorsNameTheSqlAndTheCause) {
  TempDir dir;
  auto db = Database::Open(dir.path() + "/e.db", {});
  ASSERT_TRUE(db.ok());
  auto stmt = (*db)->Prepare("SELECT no_such_column FROM sqlite_schema");
  ASSERT_FALSE(stmt.ok());
  EXPECT_EQ(stmt.error().code(), ErrorCode::kInternal);
  EXPECT_NE(stmt.error().message().find("no such column"), std::string::npos) << stmt.error().message();
  EXPECT_NE(stmt.error().message().find("SELECT no_such_column"), std::string::npos);
  std::string long_sql = "SELECT 1 FROM no_such_table" + std::string(100, ' ') + "-- tail-marker";
  auto long_stmt = (*db)->Prepare(long_sql);
  ASSERT_FALSE(long_stmt.ok());
  EXPECT_NE(long_stmt.error().message().find("no such table"), std::string::npos);
  EXPECT_EQ(long_stmt.error().message().find("tail-marker"), std::string::npos) << "SQL is cut at 80 characters";
}

TEST(SqliteDbTest, TransactionRollsBackUnlessCommitted) {
  TempDir dir;
  auto opened = Database::Open(dir.path() + "/t.db", {});
  ASSERT_TRUE(opened.ok());
  Database& db = **opened;
  ASSERT_TRUE(db.ExecScript("CREATE TABLE t (x INTEGER)").ok());
  {
    auto tx = Transaction::Begin(db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.ExecScript("INSERT INTO t VALUES (1)").ok());
  }
  {
    auto tx = Transaction::Begin(db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.ExecScript("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(tx->Commit().ok());
  }
  auto sum = db.Prepare("SELECT coalesce(sum(x), 0) FROM t");
  ASSERT_TRUE(sum.ok());
  ASSERT_TRUE((*sum)->Step().value());
  EXPECT_EQ((*sum)->ColumnInt64(0), 2);
  EXPECT_FALSE(db.InTransaction());
}

TEST(SqliteDbTest, StatementsAreCachedAndResetBetweenUses) {
  TempDir dir;
  auto opened = Database::Open(dir.path() + "/c.db", {});
  ASSERT_TRUE(opened.ok());
  Database& db = **opened;
  Statement* first = nullptr;
  {
    auto s = db.Prepare("SELECT ?1 || :name");
    ASSERT_TRUE(s.ok());
    first = &**s;
    ASSERT_TRUE((*s)->BindText(1, "a").ok());
    ASSERT_TRUE((*s)->BindText(":name", "b").ok());
    ASSERT_TRUE((*s)->Step().value());
    EXPECT_EQ((*s)->ColumnText(0), "ab");
  }
  auto s = db.Prepare("SELECT ?1 || :name");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(&**s, first);
  ASSERT_TRUE((*s)->Step().value());
  EXPECT_TRUE((*s)->ColumnIsNull(0)) << "bindings were cleared";
  EXPECT_FALSE((*s)->BindText(":missing", "x").ok());
}

TEST(SqliteStateStoreFilesTest, PermissionsArePrivate) {
  TempDir dir;
  std::string data_dir = dir.path() + "/var/lib/medsoc";
  std::string path = data_dir + "/state.db";
  auto store = SqliteStateStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  ASSERT_TRUE((*store)->PutSetting("k", "v").ok());
  EXPECT_EQ(FileMode(data_dir), 0700);
  EXPECT_EQ(FileMode(dir.path() + "/var"), 0700);
  EXPECT_EQ(FileMode(path), 0600);
  EXPECT_EQ(FileMode(path + "-wal"), 0600);
  EXPECT_EQ(FileMode(path + "-shm"), 0600);
}

TEST(SqliteStateStoreFilesTest, TightensAnExistingLooseFile) {
  TempDir dir;
  std::string path = dir.path() + "/state.db";
  {
    auto store = SqliteStateStore::Open(path);
    ASSERT_TRUE(store.ok());
  }
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto store = SqliteStateStore::Open(path);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(FileMode(path), 0600);
}

TEST(SqliteStateStoreFilesTest, RefusesSymlinkInPlaceOfDatabase) {
  TempDir dir;
  std::string target = dir.path() + "/elsewhere.db";
  std::string path = dir.path() + "/state.db";
  ASSERT_EQ(::symlink(target.c_str(), path.c_str()), 0);
  auto store = SqliteStateStore::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), ErrorCode::kIo);
}

TEST_F(SqliteStateStoreTest, FlushTruncatesWal) {
  ASSERT_TRUE(store_->PutSetting("bootstrap.admin_created", "1").ok());
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(std::filesystem::file_size(path_ + "-wal"), 0u);
  auto v = store_->GetSetting("bootstrap.admin_created");
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, "1");
}

// --- tenants and settings ---

TEST_F(SqliteStateStoreTest, Tenants) {
  EXPECT_EQ(store_->CreateTenant({"hosp-a", "dup", {}}).error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateTenant({"Bad_Slug", "x", {}}).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->CreateTenant({"", "x", {}}).error().code(), ErrorCode::kInvalidArgument);
  auto got = store_->GetTenant("hosp-b");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->name, "乙医院");
  EXPECT_EQ((*got)->created_at.ns, 2);
  EXPECT_FALSE(store_->GetTenant("nope")->has_value());
}

TEST_F(SqliteStateStoreTest, Settings) {
  EXPECT_FALSE(store_->GetSetting("missing")->has_value());
  ASSERT_TRUE(store_->PutSetting("a", "1").ok());
  ASSERT_TRUE(store_->PutSetting("a", "2").ok());
  EXPECT_EQ(store_->GetSetting("a")->value(), "2");
  EXPECT_EQ(store_->PutSetting("", "x").error().code(), ErrorCode::kInvalidArgument);
  // Settings rows must name '*' or an existing tenant.
  std::string err;
  EXPECT_NE(RawExec(path_, "INSERT INTO settings VALUES ('ghost', 'k', 'v', 0)", &err), SQLITE_OK);
  EXPECT_EQ(RawExec(path_, "INSERT INTO settings VALUES ('hosp-a', 'k', 'v', 0)"), SQLITE_OK);
}

// --- users ---

TEST_F(SqliteStateStoreTest, UsersCrud) {
  User u = MakeUser("hosp-a", "alice");
  u.provider_wide = true;
  u.must_change_password = true;
  u.locked_until = core::Timestamp{777};
  u.last_login_at = core::Timestamp{888};
  ASSERT_TRUE(store_->CreateUser(a_, u).ok());
  AddUser("hosp-a", "bob");

  auto got = store_->GetUser(a_, u.id);
  ASSERT_TRUE(got.ok() && got->has_value());
  const User& g = **got;
  EXPECT_EQ(g.id, u.id);
  EXPECT_EQ(g.tenant_id, "hosp-a");
  EXPECT_EQ(g.username, "alice");
  EXPECT_EQ(g.display_name, "用户 alice");
  EXPECT_EQ(g.role, "analyst");
  EXPECT_TRUE(g.provider_wide);
  EXPECT_FALSE(g.disabled);
  EXPECT_EQ(g.password_hash, u.password_hash);
  EXPECT_TRUE(g.must_change_password);
  EXPECT_EQ(g.password_changed_at.ns, 100);
  EXPECT_EQ(g.locked_until.ns, 777);
  EXPECT_EQ(g.created_at.ns, 50);
  EXPECT_EQ(g.last_login_at.ns, 888);

  EXPECT_EQ(store_->GetUserByName(a_, "alice")->value().id, u.id);
  EXPECT_EQ(store_->FindUserForLogin("alice")->value().id, u.id);
  EXPECT_FALSE(store_->FindUserForLogin("ALICE")->has_value()) << "lookups are exact";
  EXPECT_EQ(store_->ListUsers(a_)->size(), 2u);
  EXPECT_EQ(store_->CountUsers().value(), 2);

  u.display_name = "Alice Zhang";
  u.role = "secadmin";
  u.disabled = true;
  u.must_change_password = false;
  u.created_at = core::Timestamp{999};  // immutable: ignored
  ASSERT_TRUE(store_->UpdateUser(a_, u).ok());
  auto updated = store_->GetUser(a_, u.id).value().value();
  EXPECT_EQ(updated.display_name, "Alice Zhang");
  EXPECT_EQ(updated.role, "secadmin");
  EXPECT_TRUE(updated.disabled);
  EXPECT_FALSE(updated.must_change_password);
  EXPECT_EQ(updated.created_at.ns, 50);

  User ghost = MakeUser("hosp-a", "ghost");
  EXPECT_EQ(store_->UpdateUser(a_, ghost).error().code(), ErrorCode::kNotFound);
  User moved = u;
  moved.tenant_id = "hosp-b";
  EXPECT_EQ(store_->UpdateUser(a_, moved).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->GetUser(a_, u.id).value().value().tenant_id, "hosp-a");
}

TEST_F(SqliteStateStoreTest, DuplicateUsername) {
  User alice = AddUser("hosp-a", "alice");
  EXPECT_EQ(store_->CreateUser(a_, MakeUser("hosp-a", "alice")).error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateUser(b_, MakeUser("hosp-b", "alice")).error().code(), ErrorCode::kAlreadyExists)
      << "unique across the deployment";
  EXPECT_EQ(store_->CreateUser(b_, MakeUser("hosp-b", "Alice")).error().code(), ErrorCode::kAlreadyExists)
      << "and case-insensitively";
  User same_id = MakeUser("hosp-a", "carol");
  same_id.id = alice.id;
  EXPECT_EQ(store_->CreateUser(a_, same_id).error().code(), ErrorCode::kAlreadyExists);
  User bob = AddUser("hosp-a", "bob");
  bob.username = "alice";
  EXPECT_EQ(store_->UpdateUser(a_, bob).error().code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->CountUsers().value(), 2);
}

TEST_F(SqliteStateStoreTest, CreateUserRejectsForeignTenantAndBadInput) {
  EXPECT_EQ(store_->CreateUser(a_, MakeUser("hosp-b", "mallory")).error().code(), ErrorCode::kInvalidArgument);
  User no_id = MakeUser("hosp-a", "x");
  no_id.id.clear();
  EXPECT_EQ(store_->CreateUser(a_, no_id).error().code(), ErrorCode::kInvalidArgument);
  TenantScope ghost = TenantScope::Of("ghost");
  EXPECT_EQ(store_->CreateUser(ghost, MakeUser("ghost", "y")).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->CountUsers().value(), 0);
}

// --- tenant isolation, one test per family of scoped methods ---

TEST_F(SqliteStateStoreTest, IsolationUsers) {
  User alice = AddUser("hosp-a", "alice");
  User bob = AddUser("hosp-b", "bob");
  EXPECT_FALSE(store_->GetUser(a_, bob.id)->has_value());
  EXPECT_FALSE(store_->GetUser(b_, alice.id)->has_value());
  EXPECT_FALSE(store_->GetUserByName(a_, "bob")->has_value());
  auto list = store_->ListUsers(a_);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, alice.id);

  // Update of B's user through A's scope, whether or not the struct claims tenant A.
  User hijack = bob;
  hijack.password_hash = "attacker";
  hijack.role = "sysadmin";
  EXPECT_EQ(store_->UpdateUser(a_, hijack).error().code(), ErrorCode::kNotFound);
  hijack.tenant_id = "hosp-a";
  EXPECT_EQ(store_->UpdateUser(a_, hijack).error().code(), ErrorCode::kNotFound);
  auto unchanged = store_->GetUser(b_, bob.id).value().value();
  EXPECT_EQ(unchanged.password_hash, bob.password_hash);
  EXPECT_EQ(unchanged.role, "analyst");
}

TEST_F(SqliteStateStoreTest, IsolationPasswordHistory) {
  User alice = AddUser("hosp-a", "alice");
  ASSERT_TRUE(store_->AddPasswordHistory(a_, alice.id, "h1", core::Timestamp{1}).ok());
  ASSERT_TRUE(store_->AddPasswordHistory(a_, alice.id, "h2", core::Timestamp{2}).ok());
  ASSERT_TRUE(store_->AddPasswordHistory(a_, alice.id, "h3", core::Timestamp{3}).ok());
  EXPECT_EQ(store_->RecentPasswordHashes(a_, alice.id, 2).value(), (std::vector<std::string>{"h3", "h2"}));
  EXPECT_EQ(store_->RecentPasswordHashes(a_, alice.id, 10)->size(), 3u);
  EXPECT_TRUE(store_->RecentPasswordHashes(a_, alice.id, 0)->empty());

  EXPECT_TRUE(store_->RecentPasswordHashes(b_, alice.id, 10)->empty());
  auto cross = store_->AddPasswordHistory(b_, alice.id, "planted", core::Timestamp{9});
  ASSERT_FALSE(cross.ok());
  EXPECT_EQ(cross.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->RecentPasswordHashes(a_, alice.id, 1).value(), (std::vector<std::string>{"h3"}));
}

TEST_F(SqliteStateStoreTest, IsolationLoginFailures) {
  User alice = AddUser("hosp-a", "alice");
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->RecordLoginFailure(a_, alice.id, core::Timestamp{100 + i}).ok());
  EXPECT_EQ(store_->CountLoginFailures(a_, alice.id, core::Timestamp{0}).value(), 3);
  EXPECT_EQ(store_->CountLoginFailures(a_, alice.id, core::Timestamp{101}).value(), 2);
  EXPECT_EQ(store_->CountLoginFailures(b_, alice.id, core::Timestamp{0}).value(), 0);

  EXPECT_EQ(store_->RecordLoginFailure(b_, alice.id, core::Timestamp{200}).error().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(store_->ClearLoginFailures(b_, alice.id).ok());
  EXPECT_EQ(store_->CountLoginFailures(a_, alice.id, core::Timestamp{0}).value(), 3) << "B cleared A's failures";
  ASSERT_TRUE(store_->ClearLoginFailures(a_, alice.id).ok());
  EXPECT_EQ(store_->CountLoginFailures(a_, alice.id, core::Timestamp{0}).value(), 0);
}

TEST_F(SqliteStateStoreTest, IsolationApiTokens) {
  ApiToken ta = MakeToken("hosp-a", "secret-a");
  ApiToken tb = MakeToken("hosp-b", "secret-b");
  ASSERT_TRUE(store_->CreateApiToken(a_, ta).ok());
  ASSERT_TRUE(store_->CreateApiToken(b_, tb).ok());
  EXPECT_EQ(store_->CreateApiToken(a_, MakeToken("hosp-b", "x")).error().code(), ErrorCode::kInvalidArgument);

  auto list = store_->ListApiTokens(a_);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, ta.id);
  EXPECT_FALSE(store_->GetApiToken(a_, tb.id)->has_value());
  EXPECT_EQ(store_->RevokeApiToken(a_, tb.id, core::Timestamp{5}).error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetApiToken(b_, tb.id).value().value().revoked_at.ns, 0);
}

TEST_F(SqliteStateStoreTest, IsolationSessions) {
  User alice = AddUser("hosp-a", "alice");
  Session s{Hash("cookie"), alice.id, "hosp-a", "hosp-a", "csrf", "10.1.1.1", {10}, {10}};
  ASSERT_TRUE(store_->CreateSession(s).ok());
  ASSERT_TRUE(store_->DeleteUserSessions(b_, alice.id).ok());
  EXPECT_TRUE(store_->FindSession(s.id_hash)->has_value()) << "B deleted A's session";
  Session forged{Hash("forged"), alice.id, "hosp-b", "hosp-b", "csrf", "10.1.1.1", {10}, {10}};
  EXPECT_EQ(store_->CreateSession(forged).error().code(), ErrorCode::kNotFound)
      << "a session's tenant must be its user's";
}

TEST_F(SqliteStateStoreTest, IsolationAuditList) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(store_->AppendAudit(MakeAudit(i % 2 ? "hosp-b" : "hosp-a", "x", i)).ok());
  auto a = store_->ListAudit(a_, {});
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  for (const auto& r : *a) EXPECT_EQ(r.tenant_id, "hosp-a");
  EXPECT_EQ(store_->ListAudit(TenantScope::Of("ghost"), {})->size(), 0u);
}

// --- sessions and tokens ---

TEST_F(SqliteStateStoreTest, SessionLifecycle) {
  User alice = AddUser("hosp-a", "alice");
  Session s{Hash("c1"), alice.id, "hosp-a", "hosp-a", "csrf-1", "10.1.1.1", {100}, {100}};
  Session old{Hash("c2"), alice.id, "hosp-a", "hosp-a", "csrf-2", "10.1.1.2", {10}, {10}};
  ASSERT_TRUE(store_->CreateSession(s).ok());
  ASSERT_TRUE(store_->CreateSession(old).ok());
  EXPECT_EQ(store_->CreateSession(s).error().code(), ErrorCode::kAlreadyExists);

  Session raw_cookie = s;
  raw_cookie.id_hash = "not-a-sha256-cookie-value";
  EXPECT_EQ(store_->CreateSession(raw_cookie).error().code(), ErrorCode::kInvalidArgument) << "secrets are never stored";

  auto found = store_->FindSession(s.id_hash);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->user_id, alice.id);
  EXPECT_EQ((*found)->csrf_token, "csrf-1");
  EXPECT_EQ((*found)->source_ip, "10.1.1.1");
  EXPECT_EQ((*found)->created_at.ns, 100);

  ASSERT_TRUE(store_->TouchSession(s.id_hash, core::Timestamp{500}).ok());
  EXPECT_EQ(store_->FindSession(s.id_hash).value()->last_seen_at.ns, 500);
  ASSERT_TRUE(store_->SetSessionTenant(s.id_hash, "hosp-b").ok());
  EXPECT_EQ(store_->FindSession(s.id_hash).value()->active_tenant_id, "hosp-b");
  EXPECT_EQ(store_->SetSessionTenant(s.id_hash, "ghost").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->TouchSession(Hash("nope"), core::Timestamp{1}).error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(store_->DeleteSessionsIdleSince(core::Timestamp{100}).ok());
  EXPECT_FALSE(store_->FindSession(old.id_hash)->has_value());
  EXPECT_TRUE(store_->FindSession(s.id_hash)->has_value());

  ASSERT_TRUE(store_->DeleteSession(s.id_hash).ok());
  EXPECT_FALSE(store_->FindSession(s.id_hash)->has_value());
  EXPECT_TRUE(store_->DeleteSession(s.id_hash).ok()) << "idempotent";

  ASSERT_TRUE(store_->CreateSession(s).ok());
  ASSERT_TRUE(store_->CreateSession(old).ok());
  ASSERT_TRUE(store_->DeleteUserSessions(a_, alice.id).ok());
  EXPECT_FALSE(store_->FindSession(s.id_hash)->has_value());
  EXPECT_FALSE(store_->FindSession(old.id_hash)->has_value());
}

TEST_F(SqliteStateStoreTest, TokenFindRevokeTouch) {
  ApiToken t = MakeToken("hosp-a", "secret");
  t.scopes = {"alerts.read", "we\"ird\\scope,with\ncontrol\x01", "审计.读"};
  ASSERT_TRUE(store_->CreateApiToken(a_, t).ok());
  EXPECT_EQ(store_->CreateApiToken(a_, MakeToken("hosp-a", "secret")).error().code(), ErrorCode::kAlreadyExists);
  ApiToken raw = MakeToken("hosp-a", "x");
  raw.token_hash = "medsoc_live_abcdef";
  EXPECT_EQ(store_->CreateApiToken(a_, raw).error().code(), ErrorCode::kInvalidArgument);

  auto found = store_->FindApiToken(Hash("secret"));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, t.id);
  EXPECT_EQ((*found)->tenant_id, "hosp-a");
  EXPECT_EQ((*found)->scopes, t.scopes);
  EXPECT_EQ((*found)->expires_at, t.expires_at);
  EXPECT_FALSE(store_->FindApiToken(Hash("wrong"))->has_value());

  ApiToken empty_scopes = MakeToken("hosp-a", "s2");
  empty_scopes.scopes.clear();
  ASSERT_TRUE(store_->CreateApiToken(a_, empty_scopes).ok());
  EXPECT_TRUE(store_->GetApiToken(a_, empty_scopes.id).value()->scopes.empty());

  ASSERT_TRUE(store_->TouchApiToken(t.id, core::Timestamp{42}).ok());
  EXPECT_EQ(store_->GetApiToken(a_, t.id).value()->last_used_at.ns, 42);
  EXPECT_EQ(store_->TouchApiToken("nope", core::Timestamp{42}).error().code(), ErrorCode::kNotFound);

  ASSERT_TRUE(store_->RevokeApiToken(a_, t.id, core::Timestamp{70}).ok());
  ASSERT_TRUE(store_->RevokeApiToken(a_, t.id, core::Timestamp{80}).ok());
  EXPECT_EQ(store_->FindApiToken(Hash("secret")).value()->revoked_at.ns, 70) << "first revocation time is kept";
  EXPECT_EQ(store_->RevokeApiToken(a_, "nope", core::Timestamp{1}).error().code(), ErrorCode::kNotFound);
}

// --- audit trail ---

TEST(AuditHashTest, CoversEveryFieldAndIsUnambiguous) {
  AuditRecord r;
  r.seq = 7;
  r.time = core::Timestamp{123};
  r.tenant_id = "t";
  r.user = "ab";
  r.role = "c";
  r.source_ip = "ip";
  r.action = "act";
  r.target = "tgt";
  r.outcome = "success";
  r.detail = "d";
  r.prev_hash = "p";
  const std::string base = AuditRowHash(r);
  EXPECT_EQ(base.size(), 64u);
  EXPECT_EQ(base, AuditRowHash(r));
  AuditRecord with_hash = r;
  with_hash.hash = "ignored";
  EXPECT_EQ(AuditRowHash(with_hash), base) << "the hash field itself is not hashed";

  std::set<std::string> seen{base};
  auto differs = [&](auto mutate) {
    AuditRecord m = r;
    mutate(m);
    return seen.insert(AuditRowHash(m)).second;
  };
  EXPECT_TRUE(differs([](AuditRecord& m) { m.seq = 8; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.time = core::Timestamp{124}; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.tenant_id = "u"; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.user = "ax"; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.role = "x"; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.source_ip = "ipx"; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.action = "actx"; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.target = "tgtx"; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.outcome = "failure"; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.detail = "dx"; }));
  EXPECT_TRUE(differs([](AuditRecord& m) { m.prev_hash = "q"; }));
  // Moving bytes across a field boundary must change the hash.
  EXPECT_TRUE(differs([](AuditRecord& m) { m.user = "a"; m.role = "bc"; }));
}

TEST_F(SqliteStateStoreTest, AuditAppendAndVerify) {
  auto empty = store_->VerifyAudit();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->intact);
  EXPECT_EQ(empty->rows_checked, 0);

  std::string prev;
  for (int i = 1; i <= 5; ++i) {
    auto row = store_->AppendAudit(MakeAudit("hosp-a", "auth.login", i));
    ASSERT_TRUE(row.ok()) << row.error().ToString();
    EXPECT_EQ(row->seq, i);
    EXPECT_EQ(row->prev_hash, prev);
    EXPECT_EQ(row->hash, AuditRowHash(*row));
    prev = row->hash;
  }
  Reopen();  // the chain continues across reopen
  auto sixth = store_->AppendAudit(MakeAudit("hosp-b", "auth.logout", 6));
  ASSERT_TRUE(sixth.ok());
  EXPECT_EQ(sixth->seq, 6);
  EXPECT_EQ(sixth->prev_hash, prev);

  auto v = store_->VerifyAudit();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
  EXPECT_EQ(v->rows_checked, 6);
  EXPECT_FALSE(v->first_broken.has_value());

  AuditRecord no_tenant = MakeAudit("", "x");
  EXPECT_EQ(store_->AppendAudit(no_tenant).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->AppendAudit(MakeAudit("ghost", "x")).error().code(), ErrorCode::kNotFound);
  AuditRecord untimed = MakeAudit("hosp-a", "x");
  untimed.time = core::Timestamp{0};
  EXPECT_GT(store_->AppendAudit(untimed).value().time.ns, 0);
  EXPECT_TRUE(store_->VerifyAudit()->intact);
}

TEST_F(SqliteStateStoreTest, AuditListFilters) {
  const char* actions[] = {"auth.login", "auth.logout", "POST /api/v1/users", "auth.login", "auth.login"};
  for (int i = 0; i < 5; ++i) {
    AuditRecord r = MakeAudit("hosp-a", actions[i], i);
    r.time = core::Timestamp{(i + 1) * 100};
    r.user = i % 2 ? "bob" : "alice";
    r.outcome = i == 3 ? "failure" : "success";
    ASSERT_TRUE(store_->AppendAudit(r).ok());
  }
  auto seqs = [&](const AuditQuery& q) {
    std::vector<std::int64_t> out;
    auto rows = store_->ListAudit(a_, q);
    EXPECT_TRUE(rows.ok());
    if (rows.ok()) {
      for (const auto& r : *rows) out.push_back(r.seq);
    }
    return out;
  };
  using V = std::vector<std::int64_t>;
  EXPECT_EQ(seqs({}), (V{5, 4, 3, 2, 1})) << "newest first";
  AuditQuery q;
  q.user = "bob";
  EXPECT_EQ(seqs(q), (V{4, 2}));
  q = {};
  q.action_prefix = "auth.log";
  EXPECT_EQ(seqs(q), (V{5, 4, 2, 1}));
  q.action_prefix = "auth.login";
  EXPECT_EQ(seqs(q), (V{5, 4, 1}));
  q.action_prefix = "auth.%";  // no wildcards: a prefix is literal
  EXPECT_EQ(seqs(q), V{});
  q = {};
  q.outcome = "failure";
  EXPECT_EQ(seqs(q), (V{4}));
  q = {};
  q.from = core::Timestamp{200};
  q.to = core::Timestamp{400};
  EXPECT_EQ(seqs(q), (V{3, 2}));
  q = {};
  q.limit = 2;
  EXPECT_EQ(seqs(q), (V{5, 4}));
  q.before_seq = 4;
  EXPECT_EQ(seqs(q), (V{3, 2}));
  q.before_seq = 2;
  EXPECT_EQ(seqs(q), (V{1}));
}

TEST_F(SqliteStateStoreTest, AuditTriggersRefuseUpdateAndDelete) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(store_->AppendAudit(MakeAudit("hosp-a", "x", i)).ok());
  std::string err;
  EXPECT_NE(RawExec(path_, "UPDATE audit_log SET detail = 'rewritten' WHERE seq = 2", &err), SQLITE_OK);
  EXPECT_NE(err.find("audit_log is append-only"), std::string::npos) << err;
  EXPECT_NE(RawExec(path_, "DELETE FROM audit_log WHERE seq = 2", &err), SQLITE_OK);
  EXPECT_NE(err.find("audit_log is append-only"), std::string::npos) << err;
  EXPECT_NE(RawExec(path_, "DELETE FROM audit_log", &err), SQLITE_OK);
  EXPECT_EQ(store_->ListAudit(a_, {})->size(), 3u);
  EXPECT_TRUE(store_->VerifyAudit()->intact);
}

TEST_F(SqliteStateStoreTest, VerifyReportsTamperedRow) {
  for (int i = 1; i <= 6; ++i) ASSERT_TRUE(store_->AppendAudit(MakeAudit("hosp-a", "x", i)).ok());
  store_.reset();
  ASSERT_EQ(RawExec(path_,
                    "DROP TRIGGER audit_log_no_update;"
                    "UPDATE audit_log SET detail = 'nothing happened here' WHERE seq = 4;"),
            SQLITE_OK);
  Reopen();
  auto v = store_->VerifyAudit();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->intact);
  ASSERT_TRUE(v->first_broken.has_value());
  EXPECT_EQ(v->first_broken->seq, 4);
  EXPECT_EQ(v->first_broken->detail, "nothing happened here");
  EXPECT_EQ(v->rows_checked, 4);
  EXPECT_NE(v->reason.find("hash"), std::string::npos) << v->reason;
}

TEST_F(SqliteStateStoreTest, VerifyReportsRehashedRowThroughTheLink) {
  // A forger who also recomputes the tampered row's hash breaks the next row's prev_hash link.
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(store_->AppendAudit(MakeAudit("hosp-a", "x", i)).ok());
  AuditRecord forged = store_->ListAudit(a_, {}).value()[2];  // seq 2
  ASSERT_EQ(forged.seq, 2);
  forged.detail = "forged";
  std::string new_hash = AuditRowHash(forged);
  store_.reset();
  ASSERT_EQ(RawExec(path_, "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail = 'forged', hash = '" +
                               new_hash + "' WHERE seq = 2;"),
            SQLITE_OK);
  Reopen();
  auto v = store_->VerifyAudit().value();
  EXPECT_FALSE(v.intact);
  ASSERT_TRUE(v.first_broken.has_value());
  EXPECT_EQ(v.first_broken->seq, 3);
  EXPECT_NE(v.reason.find("prev_hash"), std::string::npos) << v.reason;
}

TEST_F(SqliteStateStoreTest, VerifyReportsDeletedRow) {
  for (int i = 1; i <= 5; ++i) ASSERT_TRUE(store_->AppendAudit(MakeAudit("hosp-a", "x", i)).ok());
  store_.reset();
  ASSERT_EQ(RawExec(path_, "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 3;"), SQLITE_OK);
  Reopen();
  auto v = store_->VerifyAudit().value();
  EXPECT_FALSE(v.intact);
  ASSERT_TRUE(v.first_broken.has_value());
  EXPECT_EQ(v.first_broken->seq, 4);
  EXPECT_NE(v.reason.find("missing"), std::string::npos) << v.reason;
}

TEST_F(SqliteStateStoreTest, ConcurrentAppendsKeepOneChain) {
  constexpr int kThreads = 4;
  constexpr int kRows = 200;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRows; ++i) {
        auto r = store_->AppendAudit(MakeAudit(t % 2 ? "hosp-b" : "hosp-a", "thread." + std::to_string(t), i));
        if (!r.ok()) ++failures[t];
        // Readers interleave with writers.
        if (i % 50 == 0 && !store_->ListAudit(t % 2 ? b_ : a_, {}).ok()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  auto v = store_->VerifyAudit();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->reason;
  EXPECT_EQ(v->rows_checked, kThreads * kRows);
}

TEST(SqliteStateStoreProcessesTest, TwoStoresOnOneFileShareOneChain) {
  // Two connections (as the server and the CLI would have) append alternately.
  TempDir dir;
  std::string path = dir.path() + "/state.db";
  auto s1 = SqliteStateStore::Open(path);
  auto s2 = SqliteStateStore::Open(path);
  ASSERT_TRUE(s1.ok() && s2.ok());
  std::thread t1([&] {
    for (int i = 0; i < 50; ++i) EXPECT_TRUE((*s1)->AppendAudit({0, {1}, "default", "a", "r", "", "x", "", "success", "", "", ""}).ok());
  });
  std::thread t2([&] {
    for (int i = 0; i < 50; ++i) EXPECT_TRUE((*s2)->AppendAudit({0, {2}, "default", "b", "r", "", "y", "", "success", "", "", ""}).ok());
  });
  t1.join();
  t2.join();
  auto v = (*s1)->VerifyAudit().value();
  EXPECT_TRUE(v.intact) << v.reason;
  EXPECT_EQ(v.rows_checked, 100);
}

TEST(SqliteStateStoreMemoryTest, InMemoryDatabaseWorks) {
  auto store = SqliteStateStore::Open(":memory:");
  ASSERT_TRUE(store.ok()) << store.error().ToString();
  ASSERT_TRUE((*store)->PutSetting("k", "v").ok());
  EXPECT_EQ((*store)->GetSetting("k")->value(), "v");
  ASSERT_TRUE((*store)->AppendAudit({0, {1}, "default", "a", "r", "", "x", "", "success", "", "", ""}).ok());
  EXPECT_TRUE((*store)->VerifyAudit()->intact);
  EXPECT_TRUE((*store)->Flush().ok());
}

}  // namespace
}  // namespace medsoc::store::sqlite
