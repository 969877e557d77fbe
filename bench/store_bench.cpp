// Benchmarks for the SQLite state store, each against a baseline measured in the same run:
//
//   AppendAudit      hash-chained append (BEGIN IMMEDIATE, read the chain head, SHA-256, INSERT,
//                    COMMIT with synchronous=FULL)
//   PlainInsert      baseline: one INSERT of the same columns into an un-chained table, one
//                    transaction per row, same connection settings and synchronous=FULL, through
//                    the same Database layer. The ratio is the price of the chain.
//   GetUser          SqliteStateStore::GetUser (mutex, cached statement, tenant-scoped lookup)
//   RawSelect        baseline: the same SELECT by primary key on a raw prepared statement
//
// Each pair is printed at the end as "<name>: N/s vs baseline M/s = ratio". Databases live in a
// temporary directory under /tmp, removed at exit.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "core/ids.h"
#include "store/sqlite/db.h"
#include "store/sqlite/state_store.h"

namespace {

using medsoc::store::AuditRecord;
using medsoc::store::TenantScope;
using medsoc::store::User;
using medsoc::store::sqlite::ConnectionOptions;
using medsoc::store::sqlite::Database;
using medsoc::store::sqlite::SqliteStateStore;
using medsoc::store::sqlite::Synchronous;
using medsoc::store::sqlite::Transaction;

class BenchDir {
 public:
  BenchDir() {
    char tmpl[] = "/tmp/medsoc-store-bench-XXXXXX";
    path_ = ::mkdtemp(tmpl) != nullptr ? tmpl : "";
  }
  ~BenchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

BenchDir& Dir() {
  static BenchDir dir;
  return dir;
}

// Rates (items per second) of the last run of each benchmark, for the summary.
std::map<std::string, double>& Rates() {
  static std::map<std::string, double> rates;
  return rates;
}

void Record(benchmark::State& state, const std::string& name, std::chrono::steady_clock::duration elapsed) {
  double seconds = std::chrono::duration<double>(elapsed).count();
  double rate = seconds > 0 ? static_cast<double>(state.iterations()) / seconds : 0;
  Rates()[name] = rate;
  state.SetItemsProcessed(state.iterations());
}

AuditRecord SampleAudit(int i) {
  AuditRecord r;
  r.time = medsoc::core::Timestamp{1'700'000'000'000'000'000 + i};
  r.tenant_id = "default";
  r.user = "admin";
  r.role = "sysadmin";
  r.source_ip = "10.20.30.40";
  r.action = "POST /api/v1/users";
  r.target = "user:01HZX3Q4J5K6M7N8P9R0S1T2V3";
  r.outcome = "success";
  r.detail = "created user zhang.wei (analyst)";
  return r;
}

void BM_AppendAudit(benchmark::State& state) {
  auto store = SqliteStateStore::Open(Dir().File("audit.db"));
  if (!store.ok()) {
    state.SkipWithError(store.error().ToString().c_str());
    return;
  }
  int i = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto row = (*store)->AppendAudit(SampleAudit(i++));
    if (!row.ok()) {
      state.SkipWithError(row.error().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(row->seq);
  }
  Record(state, "AppendAudit", std::chrono::steady_clock::now() - start);
}

void BM_PlainInsert(benchmark::State& state) {
  ConnectionOptions options;
  options.synchronous = Synchronous::kFull;
  auto db = Database::Open(Dir().File("plain.db"), options);
  if (!db.ok() || !(*db)->ExecScript("CREATE TABLE IF NOT EXISTS plain_audit (seq INTEGER PRIMARY KEY, time INTEGER, "
                                     "tenant_id TEXT, user TEXT, role TEXT, source_ip TEXT, action TEXT, target TEXT, "
                                     "outcome TEXT, detail TEXT, prev_hash TEXT, hash TEXT)")
                     .ok()) {
    state.SkipWithError("cannot create the baseline table");
    return;
  }
  int i = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    AuditRecord r = SampleAudit(i++);
    auto tx = Transaction::Begin(**db);
    auto insert = (*db)->Prepare(
        "INSERT INTO plain_audit (time, tenant_id, user, role, source_ip, action, target, outcome, detail, prev_hash, "
        "hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', '')");
    if (!tx.ok() || !insert.ok() ||
        !(*insert)->BindAll(r.time.ns, r.tenant_id, r.user, r.role, r.source_ip, r.action, r.target, r.outcome, r.detail)
             .ok() ||
        !(*insert)->Run().ok()) {
      state.SkipWithError("baseline insert failed");
      return;
    }
    if (!tx->Commit().ok()) {
      state.SkipWithError("baseline commit failed");
      return;
    }
  }
  Record(state, "PlainInsert", std::chrono::steady_clock::now() - start);
}

constexpr int kUsers = 1000;

// The users database shared by GetUser and RawSelect; ids[i] is the id of user i.
struct UserFixture {
  std::unique_ptr<SqliteStateStore> store;
  std::vector<std::string> ids;
};

UserFixture& Users() {
  static UserFixture fx = [] {
    UserFixture f;
    auto store = SqliteStateStore::Open(Dir().File("users.db"));
    if (!store.ok()) return f;
    f.store = std::move(store).value();
    TenantScope scope = TenantScope::Of("default");
    for (int i = 0; i < kUsers; ++i) {
      User u;
      u.id = medsoc::core::NewId();
      u.tenant_id = "default";
      u.username = "user" + std::to_string(i);
      u.display_name = "用户" + std::to_string(i);
      u.role = "analyst";
      u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
      if (!f.store->CreateUser(scope, u).ok()) return UserFixture{};
      f.ids.push_back(u.id);
    }
    (void)f.store->Flush();
    return f;
  }();
  return fx;
}

void BM_GetUser(benchmark::State& state) {
  UserFixture& fx = Users();
  if (!fx.store) {
    state.SkipWithError("cannot build the users database");
    return;
  }
  TenantScope scope = TenantScope::Of("default");
  std::size_t i = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    auto user = fx.store->GetUser(scope, fx.ids[i++ % fx.ids.size()]);
    if (!user.ok() || !user->has_value()) {
      state.SkipWithError("GetUser failed");
      return;
    }
    benchmark::DoNotOptimize((*user)->username.data());
  }
  Record(state, "GetUser", std::chrono::steady_clock::now() - start);
}

void BM_RawSelect(benchmark::State& state) {
  UserFixture& fx = Users();
  if (!fx.store) {
    state.SkipWithError("cannot build the users database");
    return;
  }
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_open_v2(Dir().File("users.db").c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
          SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "SELECT id, tenant_id, username, display_name, role, provider_wide, disabled, password_hash, "
                         "must_change_password, password_changed_at, locked_until, created_at, last_login_at "
                         "FROM users WHERE tenant_id = ? AND id = ?",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    state.SkipWithError("cannot prepare the baseline SELECT");
    sqlite3_close_v2(db);
    return;
  }
  std::size_t i = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    const std::string& id = fx.ids[i++ % fx.ids.size()];
    sqlite3_bind_text(stmt, 1, "default", -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    if (sqlite3_step(stmt) != SQLITE_ROW) {
      state.SkipWithError("baseline SELECT found no row");
      break;
    }
    // Copy the columns out, as GetUser does, so the comparison is like for like.
    std::string username(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2)));
    std::string hash(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 7)));
    benchmark::DoNotOptimize(username.data());
    benchmark::DoNotOptimize(hash.data());
    sqlite3_reset(stmt);
  }
  Record(state, "RawSelect", std::chrono::steady_clock::now() - start);
  sqlite3_finalize(stmt);
  sqlite3_close_v2(db);
}

// Baselines first, so each measured benchmark runs after its baseline on a warmed cache.
BENCHMARK(BM_PlainInsert)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_AppendAudit)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_RawSelect)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_GetUser)->Unit(benchmark::kMicrosecond)->UseRealTime();

void PrintRatio(const char* measured, const char* baseline) {
  auto& rates = Rates();
  auto m = rates.find(measured);
  auto b = rates.find(baseline);
  if (m == rates.end() || b == rates.end() || b->second <= 0) return;
  std::printf("%-12s %12.0f/s vs %-12s %12.0f/s  ratio %.3f\n", measured, m->second, baseline, b->second,
              m->second / b->second);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("\nstore_bench ratios (measured / baseline, same run):\n");
  PrintRatio("AppendAudit", "PlainInsert");
  PrintRatio("GetUser", "RawSelect");
  return 0;
}
