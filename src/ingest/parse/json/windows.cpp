// Windows event log records as JSON, in the three shapes collectors emit. One parser reads all
// three (the shape is recognised per message); every shape yields the same result:
//  - original fields under Sigma's names: the System fields EventID, Channel, Provider_Name,
//    Computer, EventRecordID, Level, Task, Opcode, Keywords, TimeCreated, ProcessID, ThreadID,
//    UserID, and every EventData / UserData field under its own name (Image, CommandLine, User,
//    TargetUserName, LogonType, IpAddress, ...). Other leaves keep their flattened path.
//  - ECS normalized fields: event.code, winlog.event_id, winlog.channel, winlog.provider_name,
//    event.provider, host.name, winlog.computer_name, winlog.record_id, process.*, user.*,
//    source.*, destination.*, network.transport, dns.question.name, file.path, registry.path, ...
//
// Shapes:
//  (1) evtx_dump JSON: {"Event":{"#attributes":{"xmlns":...},"System":{"Provider":{"#attributes":
//      {"Name":...,"Guid":...}},"EventID":4688 | {"#attributes":{"Qualifiers":0},"#text":4688},
//      "TimeCreated":{"#attributes":{"SystemTime":"2024-...Z"}},"EventRecordID":1,"Channel":...,
//      "Computer":...,"Execution":{"#attributes":{"ProcessID":4,"ThreadID":8}},"Security":...},
//      "EventData":{"Name":value,...} | {"Data":[{"#attributes":{"Name":"X"},"#text":"v"},...]}}}
//      ("X_attributes" objects of evtx_dump --separate-json-attributes and "@Name" keys of
//      xmltodict-style converters are read too; UserData leaves are kept under their leaf name.)
//  (2) NXLog flat JSON (im_msvistalog + to_json): {"EventID":4688,"Channel":"Security",
//      "SourceName":"Microsoft-Windows-Security-Auditing","Hostname":"pc1","EventTime":
//      "2024-03-03 10:01:02" (local time), "@timestamp"/"TimeCreated" (UTC), ..., EventData fields
//      at top level}. Aliases Provider_Name (from SourceName, else ProviderName) and Computer (from
//      Hostname) are added as originals.
//  (3) Winlogbeat / ECS JSON: {"@timestamp":...,"winlog":{"event_id":"4688","channel":...,
//      "provider_name":...,"computer_name":...,"record_id":...,"event_data":{...}},"host":{"name":..}}.
//      winlog.event_data.X and winlog.user_data.X become original X; ECS fields already present
//      (host.*, process.*, user.*, source.*, ...) are kept as normalized fields too.
//
// Event time: @timestamp, else System TimeCreated/SystemTime (UTC), else Sysmon UtcTime (UTC),
// else NXLog EventTime (local time of the source: ParseContext::tz_offset_minutes).
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "ingest/parse/json/common.h"
#include "ingest/parse/text_common.h"
#include "ingest/parse/json/flat_json.h"
#include "ingest/parse/json/parsers.h"

namespace medsoc::ingest::json {

namespace {

using event::FieldId;
using event::FieldSpace;
using event::Value;

enum Role : std::uint8_t {
  kKeep,  // original only
  kSkip,  // dropped (xmlns and similar)
  kPassthrough,  // original, and normalized under the same (ECS) name when not set otherwise
  kEventID, kChannel, kProvider, kProviderFallback, kComputer, kHostFallback, kRecordId, kSystemTime,
  kTimestamp, kLocalTime, kUtcTime, kMessage, kKeywords,
  kDataName, kDataText,
  // EventData
  kImage, kCommandLine, kParentImage, kParentCommandLine, kProcessId, kParentProcessId, kNewProcessName,
  kNewProcessId, kProcessName, kParentProcessName, kProcessGuid, kCurrentDirectory, kIntegrityLevel, kUser,
  kSubjectUserName, kSubjectDomainName, kTargetUserName, kTargetDomainName, kLogonType, kIpAddress, kIpPort,
  kSourceIp, kSourcePort, kDestinationIp, kDestinationPort, kProtocol, kSourceHostname, kDestinationHostname,
  kQueryName, kTargetFilename, kImageLoaded, kTargetObject, kHashes, kServiceName,
  kRoleCount
};

struct NameRole {
  std::string_view name;
  Role role;
};

// Canonical (Sigma) names with a role; anything else is kKeep.
constexpr NameRole kCanonical[] = {
    {"EventID", kEventID}, {"Channel", kChannel}, {"Provider_Name", kProvider}, {"Computer", kComputer},
    {"EventRecordID", kRecordId}, {"TimeCreated", kSystemTime}, {"Keywords", kKeywords},
    {"Image", kImage}, {"CommandLine", kCommandLine}, {"ParentImage", kParentImage},
    {"ParentCommandLine", kParentCommandLine}, {"ProcessId", kProcessId}, {"ParentProcessId", kParentProcessId},
    {"NewProcessName", kNewProcessName}, {"NewProcessId", kNewProcessId}, {"ProcessName", kProcessName},
    {"ParentProcessName", kParentProcessName}, {"ProcessGuid", kProcessGuid},
    {"CurrentDirectory", kCurrentDirectory}, {"IntegrityLevel", kIntegrityLevel}, {"User", kUser},
    {"SubjectUserName", kSubjectUserName}, {"SubjectDomainName", kSubjectDomainName},
    {"TargetUserName", kTargetUserName}, {"TargetDomainName", kTargetDomainName}, {"LogonType", kLogonType},
    {"IpAddress", kIpAddress}, {"IpPort", kIpPort}, {"SourceIp", kSourceIp}, {"SourcePort", kSourcePort},
    {"DestinationIp", kDestinationIp}, {"DestinationPort", kDestinationPort}, {"SourceAddress", kSourceIp},
    {"DestAddress", kDestinationIp}, {"DestPort", kDestinationPort}, {"Protocol", kProtocol},
    {"SourceHostname", kSourceHostname}, {"DestinationHostname", kDestinationHostname},
    {"QueryName", kQueryName}, {"TargetFilename", kTargetFilename}, {"ImageLoaded", kImageLoaded},
    {"TargetObject", kTargetObject}, {"Hashes", kHashes}, {"ServiceName", kServiceName},
    {"UtcTime", kUtcTime},
};

Role CanonicalRole(std::string_view name) {
  for (const NameRole& nr : kCanonical)
    if (nr.name == name) return nr.role;
  return kKeep;
}

struct Entry {
  FieldId id;  // original field id (kNoField: not kept)
  Role role;
};

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Path -> Entry for the paths a parser instance has seen (the Windows names and whatever else a
// source sends): open addressing over one array, keys in one byte pool, a hash that reads eight
// bytes at a time. A hit costs one hash, usually one probe and one comparison; no allocation once
// warm. (It replaced std::unordered_map<std::string, Entry>: 8 % of the parse in perf.)
class PathTable {
 public:
  static constexpr std::size_t kMaxEntries = 8192;  // hostile key variety: cleared beyond this

  static std::uint64_t Hash(std::string_view s) {
    const char* p = s.data();
    std::size_t n = s.size();
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
      h ^= h >> 29;
      p += 8;
      n -= 8;
    }
    if (n > 0) {
      std::uint64_t w;
      if (n >= 4) {
        std::uint32_t lo, hi;
        std::memcpy(&lo, p, 4);
        std::memcpy(&hi, p + n - 4, 4);
        w = lo | (std::uint64_t{hi} << 32);
      } else {
        w = static_cast<unsigned char>(p[0]) | (std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) |
            (std::uint64_t{static_cast<unsigned char>(p[n - 1])} << 16);
      }
      h = (h ^ w) * 0x94d049bb133111ebull;
    }
    h ^= h >> 32;
    return h | 1;  // 0 marks an empty slot
  }

  const Entry* Find(std::string_view key, std::uint64_t h) const {
    if (slots_.empty()) return nullptr;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& sl = slots_[i];
      if (sl.hash == 0) return nullptr;
      if (sl.hash == h && sl.len == key.size() && Same(pool_.data() + sl.off, key.data(), key.size())) return &sl.entry;
    }
  }

  const Entry& Insert(std::string_view key, std::uint64_t h, Entry e) {
    if (count_ >= kMaxEntries) Clear();
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = h & mask;
    while (slots_[i].hash != 0) i = (i + 1) & mask;
    slots_[i] = Slot{h, static_cast<std::uint32_t>(pool_.size()), static_cast<std::uint32_t>(key.size()), e};
    pool_.append(key);
    ++count_;
    return slots_[i].entry;
  }

  // Equality of two n-byte keys without a libc call (keys are short; memcmp was 6 % of the parse).
  // Reads only inside [0, n) of both: overlapping 8- or 4-byte words at either end.
  static bool Same(const char* a, const char* b, std::size_t n) {
    auto w8 = [](const char* p) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      return w;
    };
    auto w4 = [](const char* p) {
      std::uint32_t w;
      std::memcpy(&w, p, 4);
      return w;
    };
    if (n >= 8) {
      for (std::size_t i = 0; i + 8 < n; i += 8)
        if (w8(a + i) != w8(b + i)) return false;
      return w8(a + n - 8) == w8(b + n - 8);
    }
    if (n >= 4) return w4(a) == w4(b) && w4(a + n - 4) == w4(b + n - 4);
    for (std::size_t i = 0; i < n; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }

  void Clear() {
    slots_.assign(slots_.size(), Slot{});
    pool_.clear();
    count_ = 0;
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t off = 0;
    std::uint32_t len = 0;
    Entry entry{event::kNoField, kKeep};
  };
  void Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& sl : old) {
      if (sl.hash == 0) continue;
      std::size_t i = sl.hash & mask;
      while (slots_[i].hash != 0) i = (i + 1) & mask;
      slots_[i] = sl;
    }
  }
  std::vector<Slot> slots_;
  std::string pool_;
  std::size_t count_ = 0;
};


// evtx_dump path -> (canonical name, role).
std::pair<std::string, Role> ResolveEvtx(std::string_view path) {
  constexpr std::string_view kSys = "Event.System.";
  constexpr std::string_view kData = "Event.EventData.";
  constexpr std::string_view kUser = "Event.UserData.";
  if (StartsWith(path, kSys)) {
    std::string_view rest = path.substr(kSys.size());
    // Attributes in the three spellings: X.#attributes.A, X_attributes.A, X.@A
    std::string_view elem = rest, attr;
    if (auto p = rest.find(".#attributes."); p != std::string_view::npos) {
      elem = rest.substr(0, p);
      attr = rest.substr(p + 13);
    } else if (auto q = rest.find("_attributes."); q != std::string_view::npos) {
      elem = rest.substr(0, q);
      attr = rest.substr(q + 12);
    } else if (auto r = rest.find(".@"); r != std::string_view::npos) {
      elem = rest.substr(0, r);
      attr = rest.substr(r + 2);
    } else if (auto t = rest.find(".#text"); t != std::string_view::npos) {
      elem = rest.substr(0, t);
    } else if (auto d = rest.find('.'); d != std::string_view::npos && rest.substr(0, d) == "Provider") {
      elem = "Provider";
      attr = rest.substr(d + 1);
    }
    if (elem == "Provider") {
      if (attr == "Name") return {"Provider_Name", kProvider};
      if (attr.empty()) return {"Provider_Name", kProvider};
      return {"Provider_" + std::string(attr), kKeep};
    }
    if (elem == "TimeCreated") return {"TimeCreated", kSystemTime};
    if (elem == "EventID") {
      if (attr.empty()) return {"EventID", kEventID};
      return {std::string(attr), kKeep};  // Qualifiers
    }
    if (elem == "Execution" || elem == "Security" || elem == "Correlation") {
      if (attr.empty()) return {std::string(elem), kKeep};
      return {std::string(attr), kKeep};  // ProcessID, ThreadID, UserID, ActivityID
    }
    if (!attr.empty()) return {std::string(elem) + "_" + std::string(attr), kKeep};
    std::string name(elem);
    return {name, CanonicalRole(name)};
  }
  if (StartsWith(path, kData)) {
    std::string_view rest = path.substr(kData.size());
    if (rest == "Data.#attributes.Name" || rest == "Data.@Name" || rest == "Data_attributes.Name")
      return {"", kDataName};
    if (rest == "Data.#text" || rest == "Data.value" || rest == "Data.$") return {"", kDataText};
    if (StartsWith(rest, "#attributes") || StartsWith(rest, "@xmlns")) return {"", kSkip};
    if (rest == "Data") return {"Data", kKeep};
    if (auto p = rest.find(".#text"); p != std::string_view::npos) rest = rest.substr(0, p);
    std::string name(rest);
    return {name, CanonicalRole(name)};
  }
  if (StartsWith(path, kUser)) {
    if (path.find("#attributes") != std::string_view::npos || path.find(".@xmlns") != std::string_view::npos)
      return {"", kSkip};
    const auto dot = path.rfind('.');
    std::string name(path.substr(dot + 1));
    return {name, CanonicalRole(name)};
  }
  if (StartsWith(path, "Event.#attributes") || StartsWith(path, "Event.@xmlns")) return {"", kSkip};
  if (path == "@timestamp") return {"@timestamp", kTimestamp};
  return {std::string(path), kKeep};
}

std::pair<std::string, Role> ResolveNxlog(std::string_view path) {
  if (path == "SourceName") return {"SourceName", kProvider};
  if (path == "ProviderName") return {"ProviderName", kProviderFallback};
  if (path == "Hostname") return {"Hostname", kHostFallback};
  if (path == "EventTime") return {"EventTime", kLocalTime};
  if (path == "@timestamp") return {"@timestamp", kTimestamp};
  if (path == "Message") return {"Message", kMessage};
  if (path == "RecordNumber") return {"RecordNumber", kRecordId};
  std::string name(path);
  return {name, CanonicalRole(name)};
}

bool IsEcsPrefix(std::string_view path) {
  static constexpr std::string_view kPrefixes[] = {"host.", "event.", "process.", "user.", "source.",
                                                   "destination.", "network.", "file.", "registry.", "dns.",
                                                   "url.", "log.level", "related.", "service.", "group."};
  for (std::string_view p : kPrefixes)
    if (StartsWith(path, p)) return true;
  return false;
}

std::pair<std::string, Role> ResolveWinlogbeat(std::string_view path) {
  constexpr std::string_view kW = "winlog.";
  if (StartsWith(path, kW)) {
    std::string_view rest = path.substr(kW.size());
    if (StartsWith(rest, "event_data.")) {
      std::string name(rest.substr(11));
      return {name, CanonicalRole(name)};
    }
    if (StartsWith(rest, "user_data.")) {
      std::string_view r2 = rest.substr(10);
      std::string name(r2.substr(r2.rfind('.') == std::string_view::npos ? 0 : r2.rfind('.') + 1));
      return {name, CanonicalRole(name)};
    }
    if (rest == "event_id") return {"EventID", kEventID};
    if (rest == "channel") return {"Channel", kChannel};
    if (rest == "provider_name") return {"Provider_Name", kProvider};
    if (rest == "computer_name") return {"Computer", kComputer};
    if (rest == "record_id") return {"EventRecordID", kRecordId};
    if (rest == "process.pid") return {"ProcessID", kKeep};
    if (rest == "process.thread.id") return {"ThreadID", kKeep};
    if (rest == "user.identifier") return {"UserID", kKeep};
    if (rest == "keywords") return {"Keywords", kKeywords};
    if (rest == "opcode") return {"Opcode", kKeep};
    if (rest == "task") return {"Task", kKeep};
    if (rest == "provider_guid") return {"Provider_Guid", kKeep};
    return {std::string(path), kKeep};
  }
  if (path == "@timestamp") return {"@timestamp", kTimestamp};
  if (path == "message") return {"message", kMessage};
  if (path == "host.name") return {"host.name", kHostFallback};
  if (IsEcsPrefix(path)) return {std::string(path), kPassthrough};
  return {std::string(path), kKeep};
}

enum class Shape : std::uint8_t { kEvtx, kNxlog, kWinlogbeat };

// Logon-type events whose subject is the target account (winlogbeat does the same).
bool IsLogonEvent(std::int64_t id) {
  switch (id) {
    case 4624: case 4625: case 4634: case 4647: case 4648: case 4672: case 4768: case 4769: case 4771:
    case 4776: case 4778: case 4779:
      return true;
    default:
      return false;
  }
}

std::string_view TransportName(const Value& v) {
  if (v.is_string()) {
    const std::string_view s = v.str();
    if (EqualsIgnoreCase(s, "tcp")) return "tcp";
    if (EqualsIgnoreCase(s, "udp")) return "udp";
    if (EqualsIgnoreCase(s, "icmp")) return "icmp";
  }
  auto n = v.AsInt();
  if (!n) return {};
  switch (*n) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 58: return "ipv6-icmp";
    default: return {};
  }
}

// event.dataset from the channel: windows.security, windows.system, windows.application,
// windows.sysmon, windows.powershell, else "windows.<channel as a slug>" (docs/formats.md).
void SetWindowsDataset(event::Event& e, const Value* channel, const Value* provider) {
  const std::string_view c = channel && channel->is_string() ? channel->str() : std::string_view();
  const std::string_view p = provider && provider->is_string() ? provider->str() : std::string_view();
  auto is = [&](std::string_view a) { return text::EqualsIgnoreCase(c, a); };
  const char* ds = nullptr;
  if (is("Security")) ds = "windows.security";
  else if (is("System")) ds = "windows.system";
  else if (is("Application")) ds = "windows.application";
  else if (is("Microsoft-Windows-Sysmon/Operational") || p == "Microsoft-Windows-Sysmon") ds = "windows.sysmon";
  else if (is("Windows PowerShell") || is("Microsoft-Windows-PowerShell/Operational")) ds = "windows.powershell";
  if (ds != nullptr) {
    e.Set(F().event_dataset, Value::String(ds));
    return;
  }
  if (c.empty()) {
    e.Set(F().event_dataset, Value::String("windows.event"));
    return;
  }
  text::SetDatasetSlug(e, "windows", c);
}

class WindowsJsonParser final : public Parser {
 public:
  explicit WindowsJsonParser(WindowsShape claim) : claim_(claim) {}

  std::string_view name() const override {
    switch (claim_) {
      case WindowsShape::kEvtxDump: return "evtx_json";
      case WindowsShape::kNxlog: return "nxlog_json";
      case WindowsShape::kWinlogbeat: return "winlogbeat_json";
      case WindowsShape::kAny: break;
    }
    return "windows_json";
  }

  int Detect(std::string_view s) const override {
    const std::size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string_view::npos || s[b] != '{') return 0;
    const bool evtx = s.find("\"System\"") != std::string_view::npos && s.find("\"Event\"") != std::string_view::npos;
    const bool wlb = s.find("\"winlog\"") != std::string_view::npos &&
                     (s.find("\"event_id\"") != std::string_view::npos || s.find("\"channel\"") != std::string_view::npos);
    const bool nx = s.find("\"EventID\"") != std::string_view::npos &&
                    (s.find("\"Channel\"") != std::string_view::npos || s.find("\"SourceName\"") != std::string_view::npos);
    switch (claim_) {
      case WindowsShape::kEvtxDump: return evtx ? 96 : 0;
      case WindowsShape::kWinlogbeat: return wlb ? 96 : 0;
      case WindowsShape::kNxlog: return nx && !evtx && !wlb ? 96 : 0;
      case WindowsShape::kAny: return (evtx || wlb || nx) ? 95 : 0;
    }
    return 0;
  }

  Status Parse(std::string_view message, const ParseContext& ctx, event::Event& e) override {
    MEDSOC_TRY(CheckSize(message, ctx));
    MEDSOC_TRY(flat_.Parse(message, ctx.max_json_depth, e));
    if (!flat_.top_is_object())
      return Error(ErrorCode::kParse, "JSON at byte 0: a Windows event must be a JSON object");
    if (flat_.invalid_utf8()) AddFlag(e, kFlagInvalidUtf8);
    const auto& fields = flat_.fields();
    Shape shape = Shape::kNxlog;
    for (const FlatField& f : fields) {
      // Only paths starting with 'E' or 'w' can decide (the flat NXLog shape scans every field).
      if (f.path.empty() || (f.path[0] != 'E' && f.path[0] != 'w')) continue;
      if (StartsWith(f.path, "Event.System.") || StartsWith(f.path, "Event.EventData")) {
        shape = Shape::kEvtx;
        break;
      }
      if (StartsWith(f.path, "winlog.")) {
        shape = Shape::kWinlogbeat;
        break;
      }
    }
    auto& cache = caches_[static_cast<int>(shape)];
    has_.fill(false);
    pending_element_ = 0;
    pending_name_ = {};
    pending_text_ = nullptr;

    for (const FlatField& f : fields) {
      const std::uint64_t h = PathTable::Hash(f.path);
      const Entry* found = cache.Find(f.path, h);
      if (found == nullptr) {
        auto [name, role] = shape == Shape::kEvtx ? ResolveEvtx(f.path)
                            : shape == Shape::kNxlog ? ResolveNxlog(f.path)
                                                     : ResolveWinlogbeat(f.path);
        Entry en{event::kNoField, role};
        if (!name.empty()) {
          auto r = event::DefaultFieldTable().Intern(name);
          if (r.ok()) en.id = *r;
        }
        found = &cache.Insert(f.path, h, en);
      }
      const Entry& en = *found;
      if (en.role == kSkip) continue;
      if (en.role == kDataName || en.role == kDataText) {
        if (f.element != pending_element_) FlushData(e);
        pending_element_ = f.element;
        if (en.role == kDataName) {
          if (f.value.is_string()) pending_name_ = f.value.str();
        } else {
          pending_text_ = &f.value;
        }
        continue;
      }
      if (!en.id.valid()) continue;
      e.Append(en.id, f.value, FieldSpace::kOriginal);
      if (en.role == kPassthrough) {
        passthrough_.push_back(&f);
      } else if (en.role != kKeep && !has_[en.role]) {
        has_[en.role] = true;
        slots_[en.role] = f.value;
      }
    }
    FlushData(e);
    Normalize(e, ctx, shape);
    for (const FlatField* f : passthrough_) {
      const FieldId id = event::DefaultFieldTable().Find(f->path);
      if (id.valid() && !e.Has(id)) e.Set(id, f->value);
    }
    passthrough_.clear();
    if (!has_[kEventID])
      return Error(ErrorCode::kParse, "JSON at byte 0: no EventID found (not a Windows event record)");
    return Ok();
  }

 private:
  // Emits the pending evtx "Data" element (Name + #text) as an original field.
  void FlushData(event::Event& e) {
    if (pending_element_ == 0 && pending_name_.empty() && pending_text_ == nullptr) return;
    if (!pending_name_.empty()) {
      const std::uint64_t h = PathTable::Hash(pending_name_);
      const Entry* found = data_names_.Find(pending_name_, h);
      if (found == nullptr) {
        Entry en{event::kNoField, CanonicalRole(pending_name_)};
        auto r = event::DefaultFieldTable().Intern(pending_name_);
        if (r.ok()) en.id = *r;
        found = &data_names_.Insert(pending_name_, h, en);
      }
      const Entry& en = *found;
      if (en.id.valid()) {
        const Value v = pending_text_ ? *pending_text_ : Value::String("");
        e.Append(en.id, v, FieldSpace::kOriginal);
        if (en.role != kKeep && !has_[en.role]) {
          has_[en.role] = true;
          slots_[en.role] = v;
        }
      }
    } else if (pending_text_ != nullptr) {
      static const FieldId data_id = *event::DefaultFieldTable().Intern("Data");
      e.Append(data_id, *pending_text_, FieldSpace::kOriginal);
    }
    pending_element_ = 0;
    pending_name_ = {};
    pending_text_ = nullptr;
  }

  const Value* Slot(Role r) const {
    return has_[r] && !IsEmptyValue(slots_[r]) ? &slots_[r] : nullptr;
  }

  void AddAlias(event::Event& e, FieldId id, const Value& v) {
    if (id.valid() && !e.Has(id, FieldSpace::kOriginal)) e.Set(id, v, FieldSpace::kOriginal);
  }
  static FieldId InternOrNone(std::string_view name) {
    auto r = event::DefaultFieldTable().Intern(name);
    return r.ok() ? *r : event::kNoField;
  }

  // "DOMAIN\user" -> user.domain, user.name.
  void SetUser(event::Event& e, const Value& v, const Value* domain) {
    if (!v.is_string()) return;
    const std::string_view s = v.str();
    const auto bs = s.find('\\');
    if (bs != std::string_view::npos) {
      e.Set(F().user_domain, Value::String(s.substr(0, bs)));
      e.Set(F().user_name, Value::String(s.substr(bs + 1)));
    } else {
      e.Set(F().user_name, v);
      if (domain && domain->is_string()) e.Set(F().user_domain, *domain);
    }
    e.Append(F().related_user, e.Get(F().user_name));
  }

  static std::string_view BaseName(std::string_view path) {
    const auto p = path.find_last_of("\\/");
    return p == std::string_view::npos ? path : path.substr(p + 1);
  }

  void SetExe(event::Event& e, FieldId exe, FieldId name, const Value& v) {
    e.Set(exe, v);
    if (v.is_string()) e.Set(name, Value::String(BaseName(v.str())));
  }

  void Normalize(event::Event& e, const ParseContext& ctx, Shape shape) {
    const Fields& f = F();
    // Sigma aliases for the NXLog shape.
    if (shape == Shape::kNxlog) {
      if (const Value* p = Slot(kProvider)) AddAlias(e, alias_provider_, *p);
      else if (const Value* p2 = Slot(kProviderFallback)) AddAlias(e, alias_provider_, *p2);
      if (const Value* h = Slot(kHostFallback)) AddAlias(e, alias_computer_, *h);
      if (const Value* r = Slot(kRecordId)) AddAlias(e, alias_record_id_, *r);
    }
    const Value* provider = Slot(kProvider) ? Slot(kProvider) : Slot(kProviderFallback);
    const Value* computer = Slot(kComputer) ? Slot(kComputer) : Slot(kHostFallback);
    std::int64_t event_id = -1;
    if (const Value* id = Slot(kEventID)) {
      if (auto n = id->AsInt()) event_id = *n;
      SetKeyword(e, f.event_code, *id);
      SetKeyword(e, f.winlog_event_id, *id);
    }
    if (const Value* c = Slot(kChannel)) e.Set(f.winlog_channel, *c);
    if (provider) {
      e.Set(f.winlog_provider_name, *provider);
      e.Set(f.event_provider, *provider);
    }
    if (computer) {
      e.Set(f.host_name, *computer);
      e.Set(f.winlog_computer_name, *computer);
    }
    if (const Value* r = Slot(kRecordId)) SetKeyword(e, f.winlog_record_id, *r);
    if (const Value* m = Slot(kMessage)) e.Set(f.message, *m);
    e.Set(f.event_kind, Value::String("event"));
    e.Set(f.event_module, Value::String(
        provider && provider->is_string() && provider->str() == "Microsoft-Windows-Sysmon" ? "sysmon" : "windows"));
    if (!e.Has(f.event_dataset)) SetWindowsDataset(e, Slot(kChannel), provider);

    // Time.
    bool timed = false;
    for (Role r : {kTimestamp, kSystemTime}) {
      if (!timed)
        if (const Value* t = Slot(r)) timed = SetTimeFromValue(e, *t, ctx);
    }
    if (!timed)
      if (const Value* t = Slot(kUtcTime)) {
        ParseContext utc = ctx;
        utc.tz_offset_minutes = 0;
        timed = SetTimeFromValue(e, *t, utc);
      }
    if (!timed)
      if (const Value* t = Slot(kLocalTime)) timed = SetTimeFromValue(e, *t, ctx);

    // Outcome from the audit keywords.
    if (const Value* k = Slot(kKeywords); k && k->is_string()) {
      if (k->str() == "0x8020000000000000" || k->str() == "Audit Success") e.Set(f.event_outcome, Value::String("success"));
      else if (k->str() == "0x8010000000000000" || k->str() == "Audit Failure") e.Set(f.event_outcome, Value::String("failure"));
    }

    // Processes. Security 4688: NewProcessName/NewProcessId are the new process, ProcessId and
    // ParentProcessName the creator. Sysmon: Image/ProcessId and ParentImage/ParentProcessId.
    const bool is_4688 = event_id == 4688 && !Slot(kImage);
    if (const Value* v = Slot(kImage)) SetExe(e, f.process_executable, f.process_name, *v);
    if (const Value* v = Slot(kNewProcessName)) SetExe(e, f.process_executable, f.process_name, *v);
    if (const Value* v = Slot(kProcessName); v && !e.Has(f.process_executable))
      SetExe(e, f.process_executable, f.process_name, *v);
    if (const Value* v = Slot(kCommandLine)) {
      e.Set(f.process_command_line, *v);
      e.Set(f.winlog_event_data_command_line, *v);
    }
    if (const Value* v = Slot(kParentImage)) SetExe(e, f.process_parent_executable, f.process_parent_name, *v);
    if (const Value* v = Slot(kParentProcessName)) SetExe(e, f.process_parent_executable, f.process_parent_name, *v);
    if (const Value* v = Slot(kParentCommandLine)) e.Set(f.process_parent_command_line, *v);
    if (is_4688) {
      if (const Value* v = Slot(kNewProcessId)) SetLong(e, f.process_pid, *v);
      if (const Value* v = Slot(kProcessId)) SetLong(e, f.process_parent_pid, *v);
    } else {
      if (const Value* v = Slot(kProcessId)) SetLong(e, f.process_pid, *v);
      if (const Value* v = Slot(kNewProcessId)) SetLong(e, f.process_pid, *v);
      if (const Value* v = Slot(kParentProcessId)) SetLong(e, f.process_parent_pid, *v);
    }
    if (const Value* v = Slot(kProcessGuid)) e.Set(f.process_entity_id, *v);
    if (const Value* v = Slot(kCurrentDirectory)) e.Set(f.process_working_directory, *v);
    if (const Value* v = Slot(kIntegrityLevel)) e.Set(f.process_integrity_level, *v);
    if (const Value* v = Slot(kHashes); v && v->is_string()) {
      const std::string_view h = v->str();
      if (auto p = h.find("SHA256="); p != std::string_view::npos) {
        std::string_view rest = h.substr(p + 7);
        rest = rest.substr(0, rest.find(','));
        e.Set(f.process_hash_sha256, Value::String(rest));
      }
    }

    // Users.
    const Value* subject = Slot(kSubjectUserName);
    const Value* target = Slot(kTargetUserName);
    if (target) e.Set(f.winlog_event_data_target_user_name, *target);
    if (const Value* u = Slot(kUser)) {
      SetUser(e, *u, nullptr);
    } else if (IsLogonEvent(event_id) && target) {
      SetUser(e, *target, Slot(kTargetDomainName));
    } else if (subject) {
      SetUser(e, *subject, Slot(kSubjectDomainName));
      if (target) e.Set(f.user_target_name, *target);
    } else if (target) {
      SetUser(e, *target, Slot(kTargetDomainName));
    }
    if (subject && target && !(e.Get(f.user_name) == *target)) e.Append(f.related_user, *target);
    if (const Value* v = Slot(kLogonType)) {
      SetKeyword(e, f.winlog_logon_type, *v);
      SetKeyword(e, f.winlog_event_data_logon_type, *v);
    }

    // Network.
    if (const Value* v = Slot(kIpAddress)) SetIp(e, f.source_ip, *v);
    if (const Value* v = Slot(kIpPort); v && v->AsInt().value_or(0) > 0) SetLong(e, f.source_port, *v);
    if (const Value* v = Slot(kSourceIp)) SetIp(e, f.source_ip, *v);
    if (const Value* v = Slot(kSourcePort)) SetLong(e, f.source_port, *v);
    if (const Value* v = Slot(kDestinationIp)) SetIp(e, f.destination_ip, *v);
    if (const Value* v = Slot(kDestinationPort)) SetLong(e, f.destination_port, *v);
    if (const Value* v = Slot(kSourceHostname)) e.Set(F().source_address, *v);
    if (const Value* v = Slot(kDestinationHostname)) e.Set(F().destination_address, *v);
    if (const Value* v = Slot(kProtocol)) {
      const std::string_view t = TransportName(*v);
      if (!t.empty()) e.Set(f.network_transport, Value::String(t));
    }
    for (FieldId ipf : {f.source_ip, f.destination_ip})
      if (const Value* ip = e.Find(ipf)) e.Append(f.related_ip, *ip);

    // Objects.
    if (const Value* v = Slot(kQueryName)) e.Set(f.dns_question_name, *v);
    if (const Value* v = Slot(kTargetFilename)) {
      e.Set(f.file_path, *v);
      if (v->is_string()) e.Set(f.file_name, Value::String(BaseName(v->str())));
    }
    if (const Value* v = Slot(kImageLoaded); v && !e.Has(f.file_path)) e.Set(f.file_path, *v);
    if (const Value* v = Slot(kTargetObject)) e.Set(f.registry_path, *v);
    if (const Value* v = Slot(kServiceName)) e.Set(f.service_name, *v);

    // Category and type for the common events.
    std::string_view cat, type, outcome;
    const bool sysmon = e.Get(f.event_module).is_string() && e.Get(f.event_module).str() == "sysmon";
    if (sysmon) {
      switch (event_id) {
        case 1: cat = "process"; type = "start"; break;
        case 3: cat = "network"; type = "connection"; break;
        case 5: cat = "process"; type = "end"; break;
        case 7: cat = "library"; type = "start"; break;
        case 11: cat = "file"; type = "creation"; break;
        case 12: case 13: case 14: cat = "registry"; type = "change"; break;
        case 22: cat = "network"; type = "protocol"; break;
        case 23: case 26: cat = "file"; type = "deletion"; break;
        default: break;
      }
    } else {
      switch (event_id) {
        case 4624: cat = "authentication"; type = "start"; outcome = "success"; break;
        case 4625: cat = "authentication"; type = "start"; outcome = "failure"; break;
        case 4634: case 4647: cat = "authentication"; type = "end"; break;
        case 4688: cat = "process"; type = "start"; break;
        case 4689: cat = "process"; type = "end"; break;
        case 4720: cat = "iam"; type = "creation"; break;
        case 4726: cat = "iam"; type = "deletion"; break;
        case 4740: cat = "iam"; type = "change"; break;
        case 4768: case 4769: case 4776: cat = "authentication"; type = "start"; break;
        case 1102: cat = "configuration"; type = "deletion"; break;
        case 7045: case 4697: cat = "configuration"; type = "creation"; break;
        default: break;
      }
    }
    if (!cat.empty()) e.Set(f.event_category, Value::String(cat));
    if (!type.empty()) e.Set(f.event_type, Value::String(type));
    if (!outcome.empty()) e.Set(f.event_outcome, Value::String(outcome));
  }

  WindowsShape claim_;
  FlatJson flat_;
  // Original-field ids of the NXLog aliases (interned once, not per event).
  const FieldId alias_provider_ = InternOrNone("Provider_Name");
  const FieldId alias_computer_ = InternOrNone("Computer");
  const FieldId alias_record_id_ = InternOrNone("EventRecordID");
  std::array<PathTable, 3> caches_;
  PathTable data_names_;
  std::array<Value, kRoleCount> slots_{};
  std::array<bool, kRoleCount> has_{};
  std::vector<const FlatField*> passthrough_;
  std::uint32_t pending_element_ = 0;
  std::string_view pending_name_;
  const Value* pending_text_ = nullptr;
};

}  // namespace

std::unique_ptr<Parser> MakeWindowsJsonParser(WindowsShape shape) {
  return std::make_unique<WindowsJsonParser>(shape);
}

}  // namespace medsoc::ingest::json
