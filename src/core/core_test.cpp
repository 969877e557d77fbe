// Unit tests for the small core pieces: time, ids, crypto, Result and the registry.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/registry.h"
#include "core/result.h"
#include "core/time.h"
#include "core/yaml_guard.h"

namespace medsoc::core {
namespace {

// --- time.h ------------------------------------------------------------------------------------

std::int64_t ParseOrDie(std::string_view text) {
  auto r = ParseRfc3339(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? r->ns : 0;
}

TEST(TimeTest, FormatsEpochWithEachPrecision) {
  EXPECT_EQ(FormatRfc3339({0}, 3), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339({0}, 0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339({123'456'789}, 6), "1970-01-01T00:00:00.123456Z");
  EXPECT_EQ(FormatRfc3339({123'456'789}, 9), "1970-01-01T00:00:00.123456789Z");
  EXPECT_EQ(FormatRfc3339({0}), "1970-01-01T00:00:00.000Z");  // default: milliseconds
}

TEST(TimeTest, FormatsKnownInstants) {
  EXPECT_EQ(FormatRfc3339(Timestamp::FromSeconds(946'684'800), 0), "2000-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(Timestamp::FromSeconds(1'709'164'800), 0), "2024-02-29T00:00:00Z");  // leap day
  EXPECT_EQ(FormatRfc3339(Timestamp::FromSeconds(4'102'444'799), 0), "2099-12-31T23:59:59Z");
}

TEST(TimeTest, FormatsBeforeTheEpoch) {
  EXPECT_EQ(FormatRfc3339({-1}, 9), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339(Timestamp::FromMillis(-1500), 3), "1969-12-31T23:59:58.500Z");
  EXPECT_EQ(Timestamp{-1}.seconds(), -1);
  EXPECT_EQ(Timestamp::FromSeconds(-2).seconds(), -2);
}

TEST(TimeTest, ParsesUtcAndOffsets) {
  EXPECT_EQ(ParseOrDie("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseOrDie("2000-01-01T00:00:00Z"), Seconds(946'684'800));
  EXPECT_EQ(ParseOrDie("2024-03-01T08:00:00+08:00"), ParseOrDie("2024-03-01T00:00:00Z"));
  EXPECT_EQ(ParseOrDie("2024-02-29T18:30:00-05:30"), ParseOrDie("2024-03-01T00:00:00Z"));
  EXPECT_EQ(ParseOrDie("2024-01-01T00:00:00+00:00"), ParseOrDie("2024-01-01T00:00:00Z"));
  EXPECT_EQ(ParseOrDie("2024-01-01T00:00:00-00:00"), ParseOrDie("2024-01-01T00:00:00Z"));
  // Offsets move across the day and year boundary.
  EXPECT_EQ(ParseOrDie("2024-01-01T01:00:00+02:00"), ParseOrDie("2023-12-31T23:00:00Z"));
}

TEST(TimeTest, ParsesLowercaseAndSpaceSeparator) {
  EXPECT_EQ(ParseOrDie("2024-05-06t07:08:09z"), ParseOrDie("2024-05-06T07:08:09Z"));
  EXPECT_EQ(ParseOrDie("2024-05-06 07:08:09Z"), ParseOrDie("2024-05-06T07:08:09Z"));
}

TEST(TimeTest, ParsesFractions) {
  const std::int64_t base = ParseOrDie("2024-05-06T07:08:09Z");
  EXPECT_EQ(ParseOrDie("2024-05-06T07:08:09.5Z"), base + 500'000'000);
  EXPECT_EQ(ParseOrDie("2024-05-06T07:08:09.123Z"), base + 123'000'000);
  EXPECT_EQ(ParseOrDie("2024-05-06T07:08:09.000001Z"), base + 1'000);
  EXPECT_EQ(ParseOrDie("2024-05-06T07:08:09.123456789Z"), base + 123'456'789);
  // Digits past nanoseconds are accepted and dropped.
  EXPECT_EQ(ParseOrDie("2024-05-06T07:08:09.1234567899999Z"), base + 123'456'789);
  EXPECT_EQ(ParseOrDie("2024-05-06T07:08:09.25+01:00"), base - Hours(1) + 250'000'000);
}

TEST(TimeTest, LeapDays) {
  EXPECT_TRUE(ParseRfc3339("2024-02-29T00:00:00Z").ok());
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z").ok());   // divisible by 400
  EXPECT_FALSE(ParseRfc3339("1900-02-29T00:00:00Z").ok());  // divisible by 100 only
  EXPECT_FALSE(ParseRfc3339("2023-02-29T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2024-02-30T00:00:00Z").ok());
  EXPECT_EQ(ParseOrDie("2024-03-01T00:00:00Z") - ParseOrDie("2024-02-28T00:00:00Z"), Days(2));
  EXPECT_EQ(ParseOrDie("2023-03-01T00:00:00Z") - ParseOrDie("2023-02-28T00:00:00Z"), Days(1));
}

TEST(TimeTest, LeapSecondIsClamped) {
  EXPECT_EQ(ParseOrDie("2016-12-31T23:59:60Z"), ParseOrDie("2016-12-31T23:59:59Z"));
}

TEST(TimeTest, RejectsInvalidInput) {
  for (std::string_view bad : {
           "",
           "2024",
           "2024-01-01",
           "2024-01-01T00:00:00",         // no zone
           "2024-01-01T00:00Z",           // no seconds
           "2024-13-01T00:00:00Z",        // month
           "2024-00-01T00:00:00Z",
           "2024-01-00T00:00:00Z",
           "2024-04-31T00:00:00Z",        // April has 30 days
           "2024-01-01T24:00:00Z",        // hour
           "2024-01-01T00:60:00Z",        // minute
           "2024-01-01T00:00:61Z",        // second
           "2024-01-01X00:00:00Z",        // separator
           "2024/01/01T00:00:00Z",
           "2024-01-01T00:00:00.Z",       // empty fraction
           "2024-01-01T00:00:00+0800",    // offset without colon
           "2024-01-01T00:00:00+08",
           "2024-01-01T00:00:00+24:00",   // offset hour
           "2024-01-01T00:00:00+08:60",   // offset minute
           "2024-01-01T00:00:00Zjunk",    // trailing
           "2024-01-01T00:00:00ZZ",
           "2024-01-01T00:00:00 Z",
           "２０２４-01-01T00:00:00Z",     // non-ASCII digits
           "-024-01-01T00:00:00Z",
       }) {
    auto r = ParseRfc3339(bad);
    EXPECT_FALSE(r.ok()) << "accepted: " << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), ErrorCode::kParse);
    }
  }
}

TEST(TimeTest, RoundTripsAtEveryPrecision) {
  std::mt19937_64 rng(42);
  // 1900 .. 2200, including instants before the epoch.
  std::uniform_int_distribution<std::int64_t> dist(Seconds(-2'208'988'800), Seconds(7'258'118'400));
  for (int i = 0; i < 2000; ++i) {
    Timestamp t{dist(rng)};
    EXPECT_EQ(ParseOrDie(FormatRfc3339(t, 9)), t.ns) << FormatRfc3339(t, 9);
    std::int64_t ms_floor = t.ns - ((t.ns % 1'000'000) + 1'000'000) % 1'000'000;
    EXPECT_EQ(ParseOrDie(FormatRfc3339(t, 3)), ms_floor) << FormatRfc3339(t, 3);
  }
}

TEST(TimeTest, CivilDaysRoundTrip) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11'017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  for (std::int64_t day = -800'000; day <= 800'000; day += 7) {
    std::int64_t y;
    unsigned m, d;
    CivilFromDays(day, y, m, d);
    ASSERT_EQ(DaysFromCivil(y, m, d), day) << y << "-" << m << "-" << d;
    ASSERT_GE(m, 1u);
    ASSERT_LE(m, 12u);
    ASSERT_GE(d, 1u);
    ASSERT_LE(d, 31u);
  }
}

TEST(TimeTest, ClockOffsetForTests) {
  const Timestamp before = Now();
  SetClockOffsetForTest(Hours(24));
  const Timestamp shifted = Now();
  SetClockOffsetForTest(0);
  EXPECT_GE(shifted.ns - before.ns, Hours(24));
  EXPECT_LT(Now().ns, shifted.ns);
}

// --- ids.h -------------------------------------------------------------------------------------

// The millisecond time in the first ten characters of an id.
std::int64_t IdMillis(const std::string& id) {
  static constexpr std::string_view kDigits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  std::int64_t v = 0;
  for (size_t i = 0; i < 10; ++i) v = v * 32 + static_cast<std::int64_t>(kDigits.find(id[i]));
  return v;
}

TEST(IdsTest, Shape) {
  for (int i = 0; i < 100; ++i) {
    std::string id = NewId();
    EXPECT_EQ(id.size(), 26u);
    EXPECT_TRUE(IsValidId(id)) << id;
    EXPECT_EQ(id.find_first_of("ILOUabcdefghijklmnopqrstuvwxyz"), std::string::npos) << id;
  }
}

TEST(IdsTest, EncodesTheCreationTime) {
  std::int64_t before = Now().millis();
  std::string id = NewId();
  std::int64_t after = Now().millis();
  EXPECT_GE(IdMillis(id), before);
  EXPECT_LE(IdMillis(id), after);
}

TEST(IdsTest, IsValidIdRejectsOtherShapes) {
  EXPECT_FALSE(IsValidId(""));
  EXPECT_FALSE(IsValidId("01HV2Z4Q8R6W3X5Y7A9B0C1D2"));    // 25
  EXPECT_FALSE(IsValidId("01HV2Z4Q8R6W3X5Y7A9B0C1D2EF"));  // 27
  EXPECT_TRUE(IsValidId("01HV2Z4Q8R6W3X5Y7A9B0C1D2E"));
  EXPECT_FALSE(IsValidId("01hv2z4q8r6w3x5y7a9b0c1d2e"));  // lowercase
  EXPECT_FALSE(IsValidId("01HV2Z4Q8R6W3X5Y7A9B0C1D2I"));  // I, L, O, U are not Crockford digits
  EXPECT_FALSE(IsValidId("01HV2Z4Q8R6W3X5Y7A9B0C1D2L"));
  EXPECT_FALSE(IsValidId("01HV2Z4Q8R6W3X5Y7A9B0C1D2O"));
  EXPECT_FALSE(IsValidId("01HV2Z4Q8R6W3X5Y7A9B0C1D2U"));
  EXPECT_FALSE(IsValidId("81HV2Z4Q8R6W3X5Y7A9B0C1D2E"));  // more than 128 bits
  EXPECT_FALSE(IsValidId("01HV2Z4Q8R6W3X5Y7A9B0C1D2-"));
}

TEST(IdsTest, TenThousandAreUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.insert(NewId());
  EXPECT_EQ(ids.size(), 10'000u);
}

TEST(IdsTest, SortAsStringsByCreationTime) {
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    SetClockOffsetForTest(Minutes(i));
    ids.push_back(NewId());
  }
  SetClockOffsetForTest(0);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

// --- crypto.h ----------------------------------------------------------------------------------

TEST(CryptoTest, HexRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::string hex = HexEncode(all);
  EXPECT_EQ(hex.size(), 512u);
  EXPECT_EQ(hex.substr(0, 8), "00010203");
  EXPECT_EQ(hex.substr(504), "fcfdfeff");
  auto back = HexDecode(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, all);
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(*HexDecode(""), "");
  EXPECT_EQ(*HexDecode("DEADbeef"), "\xde\xad\xbe\xef");
}

TEST(CryptoTest, HexDecodeRejectsBadInput) {
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_FALSE(HexDecode("0g").ok());
  EXPECT_FALSE(HexDecode("0 ").ok());
  EXPECT_EQ(HexDecode("abc").error().code(), ErrorCode::kParse);
}

TEST(CryptoTest, Base64UrlKnownVectors) {
  // RFC 4648 section 10, without padding.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg");
  EXPECT_EQ(Base64UrlEncode("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xbf"), "-_-_");  // URL-safe alphabet
}

TEST(CryptoTest, Base64UrlRoundTrip) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 100; ++len) {
    std::string bytes(len, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string text = Base64UrlEncode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    auto back = Base64UrlDecode(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(*back, bytes);
  }
}

TEST(CryptoTest, Base64UrlDecodeRejectsBadInput) {
  EXPECT_FALSE(Base64UrlDecode("Zm9v!").ok());
  EXPECT_FALSE(Base64UrlDecode("Zm9v+").ok());  // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Zg==").ok());   // padding
  EXPECT_FALSE(Base64UrlDecode("Z").ok());      // impossible length
}

TEST(CryptoTest, Sha256KnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256("abc").size(), 32u);
  EXPECT_EQ(HexEncode(Sha256("abc")), Sha256Hex("abc"));
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("token", "token"));
  EXPECT_FALSE(ConstantTimeEquals("token", "tokem"));
  EXPECT_FALSE(ConstantTimeEquals("token", "token2"));
}

TEST(CryptoTest, RandomTokens) {
  std::string a = RandomToken(), b = RandomToken();
  EXPECT_EQ(a.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_NE(a, b);
  EXPECT_TRUE(Base64UrlDecode(a).ok());
  EXPECT_EQ(RandomToken(3).size(), 4u);
}

std::string TestKey(char fill) { return std::string(kSecretKeyBytes, fill); }

TEST(CryptoTest, SecretBoxSealOpen) {
  SecretBox box(TestKey('k'));
  for (std::string plain : {std::string(), std::string("webhook-token"), std::string(10000, 'x')}) {
    std::string sealed = box.Seal(plain);
    EXPECT_EQ(sealed.rfind("v1:", 0), 0u);
    EXPECT_EQ(sealed.find(plain.empty() ? "\x01" : plain), std::string::npos);
    auto opened = box.Open(sealed);
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    EXPECT_EQ(*opened, plain);
  }
  EXPECT_NE(box.Seal("same"), box.Seal("same"));  // fresh nonce each time
}

TEST(CryptoTest, SecretBoxDetectsTampering) {
  SecretBox box(TestKey('k'));
  std::string sealed = box.Seal("ssh password");
  // Flip each payload character in turn (to another base64url character): none may open.
  for (size_t i = 3; i + 1 < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    auto r = box.Open(bad);
    EXPECT_FALSE(r.ok()) << "tampered at " << i;
  }
  auto truncated = box.Open(sealed.substr(0, 3 + 32));  // 24 bytes: shorter than nonce + MAC
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().code(), ErrorCode::kCorruption);
  auto version = box.Open("v2:" + sealed.substr(3));
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.error().code(), ErrorCode::kCorruption);
  EXPECT_FALSE(box.Open("").ok());
  EXPECT_FALSE(box.Open("v1:").ok());
  auto not_base64 = box.Open("v1:***");
  ASSERT_FALSE(not_base64.ok());
  EXPECT_EQ(not_base64.error().code(), ErrorCode::kCorruption);  // damaged storage, not user input
}

TEST(CryptoTest, SecretBoxWrongKey) {
  SecretBox box(TestKey('k'));
  SecretBox other(TestKey('j'));
  auto r = other.Open(box.Seal("secret"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
}

// --- result.h ----------------------------------------------------------------------------------

Result<int> ParsePositive(int v) {
  if (v <= 0) return Error(ErrorCode::kInvalidArgument, "not positive");
  return v;
}

Status CheckPositive(int v) {
  MEDSOC_TRY(ParsePositive(v));
  return Ok();
}

Result<int> Doubled(int v) {
  MEDSOC_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return x * 2;
}

Result<std::string> Describe(int v) {
  MEDSOC_ASSIGN_OR_RETURN(auto x, Doubled(v));
  MEDSOC_ASSIGN_OR_RETURN(auto y, Doubled(x));  // two on consecutive lines must not clash
  return std::to_string(y);
}

TEST(ResultTest, ValueAndError) {
  Result<int> ok = 5;
  EXPECT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(*ok, 5);
  EXPECT_EQ(ok.value_or(1), 5);
  Result<int> bad = Error(ErrorCode::kNotFound, "missing");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(bad.value_or(1), 1);
  Result<std::string> s = std::string("abc");
  EXPECT_EQ(s->size(), 3u);
  std::string moved = std::move(s).value();
  EXPECT_EQ(moved, "abc");
}

TEST(ResultTest, TryAndAssignOrReturn) {
  EXPECT_TRUE(CheckPositive(1).ok());
  Status s = CheckPositive(0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "not positive");
  EXPECT_EQ(*Doubled(4), 8);
  EXPECT_EQ(Doubled(-4).error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(*Describe(3), "12");
  EXPECT_FALSE(Describe(-3).ok());
  EXPECT_TRUE(Ok().ok());
}

TEST(ResultTest, ToStringWithPositions) {
  EXPECT_EQ(Error(ErrorCode::kParse, "bad").ToString(), "bad");
  EXPECT_EQ(Error(ErrorCode::kParse, "bad", {"rules.yaml", 3, 7}).ToString(), "rules.yaml:3:7: bad");
  EXPECT_EQ(Error(ErrorCode::kParse, "bad", {"rules.yaml", 3, 0}).ToString(), "rules.yaml:3: bad");
  EXPECT_EQ(Error(ErrorCode::kParse, "bad", {"rules.yaml", 0, 0}).ToString(), "rules.yaml: bad");
}

TEST(ResultTest, WithContextKeepsCodeAndPosition) {
  Error e = Error(ErrorCode::kIo, "disk full", {"f", 1, 2}).WithContext("saving incident");
  EXPECT_EQ(e.message(), "saving incident: disk full");
  EXPECT_EQ(e.code(), ErrorCode::kIo);
  EXPECT_EQ(e.ToString(), "f:1:2: saving incident: disk full");
}

TEST(ResultTest, ErrorCodeNames) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInvalidArgument), "invalid_argument");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kParse), "parse_error");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kLocked), "locked");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kInternal), "internal");
}

// --- registry.h --------------------------------------------------------------------------------

struct Notifier {
  virtual ~Notifier() = default;
  virtual std::string Name() const = 0;
};
struct EmailNotifier : Notifier {
  std::string Name() const override { return "email"; }
};
struct WebhookNotifier : Notifier {
  std::string Name() const override { return "webhook"; }
};
struct Parser {
  virtual ~Parser() = default;
};

TEST(RegistryTest, AddCreateAndNames) {
  Registry r;
  ASSERT_TRUE(r.Add<Notifier>("webhook", [] { return std::make_unique<WebhookNotifier>(); }).ok());
  ASSERT_TRUE(r.Add<Notifier>("email", [] { return std::make_unique<EmailNotifier>(); }).ok());
  auto n = r.Create<Notifier>("email");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)->Name(), "email");
  EXPECT_EQ(r.Names<Notifier>(), (std::vector<std::string>{"email", "webhook"}));
  // Each Create makes a new instance.
  auto a = r.Create<Notifier>("webhook");
  auto b = r.Create<Notifier>("webhook");
  EXPECT_NE(a->get(), b->get());
}

TEST(RegistryTest, InterfacesHaveSeparateNames) {
  Registry r;
  ASSERT_TRUE(r.Add<Notifier>("syslog", [] { return std::make_unique<EmailNotifier>(); }).ok());
  ASSERT_TRUE(r.Add<Parser>("syslog", [] { return std::make_unique<Parser>(); }).ok());
  EXPECT_TRUE(r.Create<Parser>("syslog").ok());
  EXPECT_TRUE(r.Names<Parser>().size() == 1);
}

TEST(RegistryTest, DuplicateUnknownAndFrozen) {
  Registry r;
  EXPECT_TRUE(r.Names<Notifier>().empty());
  ASSERT_TRUE(r.Add<Notifier>("email", [] { return std::make_unique<EmailNotifier>(); }).ok());
  Status dup = r.Add<Notifier>("email", [] { return std::make_unique<EmailNotifier>(); });
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), ErrorCode::kAlreadyExists);
  auto missing = r.Create<Notifier>("pager");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(r.Create<Parser>("email").ok());
  r.Freeze();
  Status late = r.Add<Notifier>("sms", [] { return std::make_unique<EmailNotifier>(); });
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(r.Create<Notifier>("email").ok());  // lookups still work after Freeze
}

// --- yaml_guard.h ------------------------------------------------------------------------------

TEST(YamlGuardTest, AcceptsOrdinaryMultiDocumentYaml) {
  EXPECT_FALSE(CheckYamlBounds("a: 1\nb: [x, y]\n---\nc: &k {d: 2}\ne: *k\n", "ok.yml"));
}

TEST(YamlGuardTest, StopsTheEndlessDocumentStreamYamlCppEmits) {
  // yaml-cpp 0.7 turns this flow mapping with a quoted anchor name into endless empty documents;
  // found by fuzzing the Sigma reader (it exhausted 2 GB before the guard).
  const std::string hostile =
      "&\"for-at\":\"medsoc-correlation-state\",\"version\":1,\"correlations\":[alues\":[\"a\"],"
      "\"entries\":[{\"t\":0,\"i\":0,\"r\":0}]}]}]}";
  auto err = CheckYamlBounds(hostile, "hostile.yml");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->pos()->file, "hostile.yml");
}

TEST(YamlGuardTest, RefusesAliasBombsWithPosition) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string prev = "a";
  for (char c = 'b'; c <= 'i'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += (i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = std::string(1, c);
  }
  auto err = CheckYamlBounds(bomb, "bomb.yml");
  ASSERT_TRUE(err);
  EXPECT_EQ(err->code(), ErrorCode::kResourceExhausted);
  EXPECT_GT(err->pos()->line, 1);
  EXPECT_NE(err->message().find("expands"), std::string::npos) << err->message();
}

TEST(YamlGuardTest, RefusesDeepNestingAndReportsSyntaxErrors) {
  auto deep = CheckYamlBounds(std::string(500, '[') + std::string(500, ']'), "deep.yml");
  ASSERT_TRUE(deep);
  EXPECT_NE(deep->message().find("deeper"), std::string::npos) << deep->message();
  auto bad = CheckYamlBounds("a: [1, 2\nb: 3\n", "bad.yml");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->code(), ErrorCode::kParse);
}

}  // namespace
}  // namespace medsoc::core
