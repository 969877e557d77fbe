#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "auth/passwords.h"
#include "auth/permissions.h"
#include "auth/principal.h"
#include "auth/service.h"
#include "core/time.h"
#include "store/sqlite/state_store.h"

namespace medsoc::auth {
namespace {

constexpr const char* kStrong = "Str0ng-Passw0rd!";

TEST(Passwords, HashIsArgon2idAndVerifies) {
  auto h = HashPassword(kStrong, "interactive");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(VerifyPassword(*h, kStrong));
  EXPECT_FALSE(VerifyPassword(*h, "Str0ng-Passw0rd?"));
  EXPECT_FALSE(VerifyPassword("", kStrong));
  EXPECT_FALSE(VerifyPassword("garbage", kStrong));
  auto h2 = HashPassword(kStrong, "interactive");
  EXPECT_NE(*h, *h2);  // salted
  EXPECT_FALSE(HashPassword(kStrong, "extreme").ok());
}

TEST(Passwords, PolicyListsEveryBrokenRule) {
  PasswordPolicyOptions p;
  EXPECT_TRUE(CheckPasswordPolicy(kStrong, "alice", p).ok());
  auto st = CheckPasswordPolicy("abc", "alice", p);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("12"), std::string::npos);
  EXPECT_NE(st.error().message().find("at least 3 of"), std::string::npos);
  EXPECT_FALSE(CheckPasswordPolicy("Alice-Password1", "Alice-Password1", p).ok());
  // Length counts code points: twelve Chinese characters are twelve characters.
  p.min_classes = 1;
  EXPECT_TRUE(CheckPasswordPolicy("医院信息安全运营平台密码", "x", p).ok());
  EXPECT_EQ(CodePointCount("医院"), 2);
}

TEST(Passwords, GeneratedPasswordsSatisfyThePolicy) {
  PasswordPolicyOptions p;
  p.min_classes = 4;
  p.min_length = 20;
  for (int i = 0; i < 200; ++i) {
    std::string pw = GenerateRandomPassword(20);
    EXPECT_EQ(pw.size(), 20u);
    EXPECT_TRUE(CheckPasswordPolicy(pw, "admin", p).ok()) << pw;
  }
}

TEST(Permissions, SeparationOfDuties) {
  EXPECT_TRUE(RoleHas(Role::kSysAdmin, Permission::kUsersWrite));
  EXPECT_FALSE(RoleHas(Role::kSysAdmin, Permission::kAuditRead));
  EXPECT_FALSE(RoleHas(Role::kSysAdmin, Permission::kContentWrite));
  EXPECT_TRUE(RoleHas(Role::kSecAdmin, Permission::kContentWrite));
  EXPECT_FALSE(RoleHas(Role::kSecAdmin, Permission::kUsersWrite));
  EXPECT_FALSE(RoleHas(Role::kSecAdmin, Permission::kAuditRead));
  EXPECT_EQ(RolePermissions(Role::kAuditor), std::vector<Permission>{Permission::kAuditRead});
  for (Permission p : AllPermissions()) {
    if (p == Permission::kDashboardsRead || p == Permission::kReportsRead) continue;
    EXPECT_FALSE(RoleHas(Role::kViewer, p)) << PermissionName(p);
  }
  for (Permission p : AllPermissions()) EXPECT_EQ(ParsePermission(PermissionName(p)), p);
  for (Role r : AllRoles()) EXPECT_EQ(ParseRole(RoleName(r)), r);
}

TEST(Principal, TokenScopesRestrictTheRole) {
  Principal p;
  p.kind = Principal::Kind::kToken;
  p.role = Role::kSysAdmin;
  p.token_scopes = {Permission::kMetricsRead};
  EXPECT_TRUE(p.Has(Permission::kMetricsRead));
  EXPECT_FALSE(p.Has(Permission::kUsersRead));
  EXPECT_TRUE(p.Has(Permission::kAuthenticated));
  p.token_scopes = {Permission::kAuditRead};  // a scope the role lacks grants nothing
  EXPECT_FALSE(p.Has(Permission::kAuditRead));
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/medsoc-auth-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto s = store::sqlite::SqliteStateStore::Open(dir_ + "/state.db", 5000);
    ASSERT_TRUE(s.ok()) << s.error().ToString();
    store_ = std::move(*s);
    audit_ = std::make_unique<AuditTrail>(*store_);
    AuthOptions o;
    o.argon2_strength = "interactive";
    o.lockout_threshold = 3;
    service_ = std::make_unique<AuthService>(*store_, *audit_, o);
  }
  void TearDown() override {
    core::SetClockOffsetForTest(0);
    service_.reset();
    audit_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  store::TenantScope Default() { return store::TenantScope::Of("default"); }

  std::string dir_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<AuditTrail> audit_;
  std::unique_ptr<AuthService> service_;
};

TEST_F(AuthServiceTest, BootstrapCreatesTheAdministratorOnce) {
  auto first = service_->BootstrapAdmin();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  auto again = service_->BootstrapAdmin();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
  auto login = service_->Login("admin", **first, "127.0.0.1");
  ASSERT_TRUE(login.ok()) << login.error().ToString();
  EXPECT_TRUE(login->principal.must_change_password);
  EXPECT_TRUE(login->principal.provider_wide);
  EXPECT_EQ(login->principal.role, Role::kSysAdmin);
}

TEST_F(AuthServiceTest, LockoutThenRecovery) {
  ASSERT_TRUE(service_->CreateUser(Default(), {.username = "nurse", .role = Role::kViewer, .password = kStrong}).ok());
  EXPECT_EQ(service_->Login("nurse", "bad", "ip").error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(service_->Login("nurse", "bad", "ip").error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(service_->Login("nurse", "bad", "ip").error().code(), ErrorCode::kLocked);
  EXPECT_EQ(service_->Login("nurse", kStrong, "ip").error().code(), ErrorCode::kLocked);
  core::SetClockOffsetForTest(core::Minutes(16));
  EXPECT_TRUE(service_->Login("nurse", kStrong, "ip").ok());
}

TEST_F(AuthServiceTest, SessionsExpireWhenIdle) {
  ASSERT_TRUE(service_->CreateUser(Default(), {.username = "doc", .role = Role::kAnalyst, .password = kStrong,
                                               .must_change_password = false})
                  .ok());
  auto login = service_->Login("doc", kStrong, "ip");
  ASSERT_TRUE(login.ok());
  EXPECT_TRUE(service_->AuthenticateSession(login->session_token).ok());
  EXPECT_FALSE(service_->AuthenticateSession(login->session_token + "x").ok());
  core::SetClockOffsetForTest(core::Minutes(31));
  EXPECT_EQ(service_->AuthenticateSession(login->session_token).error().code(), ErrorCode::kUnauthenticated);
}

TEST_F(AuthServiceTest, PasswordHistoryIsEnforced) {
  auto user = service_->CreateUser(Default(), {.username = "lab", .role = Role::kViewer, .password = kStrong});
  ASSERT_TRUE(user.ok());
  ASSERT_TRUE(service_->SetPassword(Default(), user->id, "Second-Passw0rd!", false).ok());
  auto again = service_->SetPassword(Default(), user->id, kStrong, false);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), ErrorCode::kInvalidArgument);
}

TEST_F(AuthServiceTest, TokensAreScopedAndExpire) {
  auto user = service_->CreateUser(Default(), {.username = "ops", .role = Role::kSecAdmin, .password = kStrong,
                                               .must_change_password = false});
  ASSERT_TRUE(user.ok());
  auto login = service_->Login("ops", kStrong, "ip");
  ASSERT_TRUE(login.ok());
  EXPECT_FALSE(service_->CreateToken(login->principal, "x", {Permission::kUsersWrite}, 10).ok());
  auto token = service_->CreateToken(login->principal, "collector", {Permission::kIngestWrite}, 10);
  ASSERT_TRUE(token.ok());
  auto p = service_->AuthenticateToken(token->secret);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->Has(Permission::kIngestWrite));
  EXPECT_FALSE(p->Has(Permission::kContentWrite));
  core::SetClockOffsetForTest(core::Days(11));
  EXPECT_FALSE(service_->AuthenticateToken(token->secret).ok());
}

}  // namespace
}  // namespace medsoc::auth

namespace medsoc::auth {
namespace {

TEST_F(AuthServiceTest, SprayingFromOneAddressIsThrottledAcrossAccounts) {
  AuthOptions o;
  o.argon2_strength = "interactive";
  o.source_failure_threshold = 4;
  AuthService service(*store_, *audit_, o);
  for (const char* name : {"u1", "u2", "u3", "u4", "u5"})
    ASSERT_TRUE(service.CreateUser(Default(), {.username = name, .role = Role::kViewer, .password = kStrong}).ok());
  // One failure per account: no account reaches its lockout, but the address does.
  for (const char* name : {"u1", "u2", "u3", "u4"})
    EXPECT_EQ(service.Login(name, "wrong", "10.9.9.9").error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(service.Login("u5", kStrong, "10.9.9.9").error().code(), ErrorCode::kResourceExhausted);
  // Another address is unaffected, and so are the accounts themselves.
  EXPECT_TRUE(service.Login("u5", kStrong, "10.1.1.1").ok());
  core::SetClockOffsetForTest(core::Minutes(16));
  EXPECT_TRUE(service.Login("u1", kStrong, "10.9.9.9").ok());
}

}  // namespace
}  // namespace medsoc::auth
