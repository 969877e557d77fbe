#include "app/asset_feedback.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <unordered_set>
#include <vector>

#include "event/field.h"
#include "store/tenant.h"

namespace medsoc::app {
namespace {

struct Net {
  event::IpAddress network;
  int prefix;
};

const std::vector<Net>& InternalNets() {
  static const std::vector<Net> kNets = [] {
    std::vector<Net> nets;
    for (auto [text, prefix] : std::initializer_list<std::pair<const char*, int>>{
             {"10.0.0.0", 8}, {"172.16.0.0", 12}, {"192.168.0.0", 16}, {"100.64.0.0", 10}, {"fc00::", 7}})
      nets.push_back({*event::IpAddress::Parse(text), prefix});
    return nets;
  }();
  return kNets;
}

event::FieldId Id(std::string_view name) {
  auto id = event::DefaultFieldTable().Intern(name);
  return id.ok() ? *id : event::FieldId{};
}

// Runs on the parse workers for every batch: an address already handed on by this worker within
// kRecheckAfter is skipped by a lookup that allocates nothing (most events repeat a few hundred
// internal addresses), so only new addresses are turned into text and queued.
class SightingStage final : public ingest::TransformStage {
 public:
  explicit SightingStage(AssetFeedback& feedback) : feedback_(feedback) {}
  std::string_view name() const override { return "asset_sightings"; }

  Status Process(event::Batch& batch) override {
    static const event::FieldId kFields[] = {Id("source.ip"), Id("destination.ip"), Id("host.ip"), Id("client.ip"),
                                             Id("server.ip")};
    static const event::FieldId kDataset = Id("event.dataset");
    const auto now = std::chrono::steady_clock::now();
    if (now - cache_start_ > AssetFeedback::kRecheckAfter || recent_.size() > kMaxRecent) {
      recent_.clear();
      cache_start_ = now;
    }
    std::map<std::string, std::set<std::string>> fresh;
    for (const event::Event& e : batch) {
      if (const event::Value* ds = e.Find(kDataset); ds != nullptr && ds->is_string() && ds->str() == "assets.change")
        continue;
      const std::string_view tenant = e.tenant_id().empty() ? store::kDefaultTenant : e.tenant_id();
      for (event::FieldId f : kFields) {
        const event::Value* v = f.valid() ? e.Find(f) : nullptr;
        if (v == nullptr) continue;
        auto ip = v->AsIp();
        if (!ip || !IsInternalAddress(*ip)) continue;
        const event::IpAddress plain = ip->Unmapped();
        if (!recent_.insert({std::hash<std::string_view>{}(tenant), plain.bytes()}).second) continue;
        fresh[std::string(tenant)].insert(plain.ToString());
      }
    }
    for (const auto& [tenant, ips] : fresh) feedback_.NoteAddresses(tenant, ips);
    return Ok();
  }

 private:
  static constexpr std::size_t kMaxRecent = 200'000;
  struct Key {
    std::size_t tenant;
    std::array<std::uint8_t, 16> ip;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      std::uint64_t a, b;
      std::memcpy(&a, k.ip.data(), 8);
      std::memcpy(&b, k.ip.data() + 8, 8);
      return k.tenant ^ (a * 0x9E3779B97F4A7C15ull) ^ (b * 0xC2B2AE3D27D4EB4Full);
    }
  };

  AssetFeedback& feedback_;
  std::unordered_set<Key, KeyHash> recent_;
  std::chrono::steady_clock::time_point cache_start_ = std::chrono::steady_clock::now();
};

}  // namespace

bool IsInternalAddress(const event::IpAddress& ip) {
  for (const Net& n : InternalNets())
    if (ip.InNetwork(n.network, n.prefix)) return true;
  return false;
}

AssetFeedback::AssetFeedback(assets::AssetLedger& ledger, SubmitFn submit, std::chrono::milliseconds flush_interval)
    : ledger_(ledger), submit_(std::move(submit)), interval_(flush_interval) {}

AssetFeedback::~AssetFeedback() { Stop(); }

ingest::StageFactory AssetFeedback::Stage() {
  return [this] { return std::make_unique<SightingStage>(*this); };
}

assets::ChangeListener AssetFeedback::Listener() {
  // Runs with the ledger's lock held: only queue.
  return [this](const std::string& tenant, const assets::Change& change) {
    std::lock_guard lock(mu_);
    if (pending_changes_.size() >= kMaxPendingChanges) {
      dropped_changes_.fetch_add(1);
      return;
    }
    pending_changes_.emplace_back(tenant, assets::ChangeEventJson(tenant, change));
    cv_.notify_one();
  };
}

void AssetFeedback::NoteAddresses(const std::string& tenant, const std::set<std::string>& ips) {
  std::lock_guard lock(mu_);
  auto& set = pending_ips_[tenant];
  for (const auto& ip : ips) {
    if (set.count(ip) != 0) continue;
    if (pending_ip_count_ >= kMaxPendingAddresses) {
      dropped_addresses_.fetch_add(1);
      continue;
    }
    set.insert(ip);
    ++pending_ip_count_;
  }
}

void AssetFeedback::Start() {
  std::lock_guard lock(mu_);
  if (worker_.joinable()) return;
  stop_ = false;
  worker_ = std::thread([this] { Run(); });
}

void AssetFeedback::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (worker_.joinable()) worker_.join();
  Flush();
}

void AssetFeedback::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, interval_, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    Flush();
    lock.lock();
  }
}

void AssetFeedback::Flush() {
  std::lock_guard flush_lock(flush_mu_);
  std::map<std::string, std::set<std::string>> ips;
  std::deque<std::pair<std::string, std::string>> changes;
  {
    std::lock_guard lock(mu_);
    ips.swap(pending_ips_);
    pending_ip_count_ = 0;
    changes.swap(pending_changes_);
  }
  // Sightings first: the unknown_in_logs changes they record join this round's change events.
  const auto now = std::chrono::steady_clock::now();
  if (recent_.size() > 2 * kMaxPendingAddresses) recent_.clear();
  for (const auto& [tenant, set] : ips) {
    std::vector<std::string> fresh;
    for (const auto& ip : set) {
      auto [it, inserted] = recent_.try_emplace(tenant + '|' + ip, now);
      if (!inserted && now - it->second < kRecheckAfter) continue;
      it->second = now;
      fresh.push_back(ip);
    }
    if (fresh.empty()) continue;
    auto unknown = ledger_.NoteAddressesSeen(store::TenantScope::Of(tenant), fresh, "events");
    if (!unknown.ok()) {
      spdlog::warn("assets: recording {} addresses seen in events of tenant {}: {}", fresh.size(), tenant,
                   unknown.error().ToString());
      continue;
    }
    unknown_recorded_.fetch_add(unknown->size());
  }
  {
    std::lock_guard lock(mu_);
    while (!pending_changes_.empty()) {
      changes.push_back(std::move(pending_changes_.front()));
      pending_changes_.pop_front();
    }
  }
  // Consecutive changes of one tenant go as one NDJSON body (one batch, one durable write),
  // not one submit per change: a scan or a burst of unknown addresses makes hundreds at once.
  while (!changes.empty()) {
    const std::string tenant = changes.front().first;
    std::string body;
    std::size_t lines = 0;
    for (auto it = changes.begin(); it != changes.end() && it->first == tenant && lines < kMaxLinesPerSubmit &&
                                    body.size() < kMaxBytesPerSubmit;
         ++it, ++lines) {
      body += it->second;
      body += '\n';
    }
    if (!submit_ || !submit_(tenant, body)) {
      // The pipeline refused (overload, stopping): keep the rest for the next round, bounded.
      std::lock_guard lock(mu_);
      while (!changes.empty()) {
        if (pending_changes_.size() >= kMaxPendingChanges) {
          dropped_changes_.fetch_add(changes.size());
          break;
        }
        pending_changes_.push_back(std::move(changes.front()));
        changes.pop_front();
      }
      return;
    }
    changes_submitted_.fetch_add(lines);
    changes.erase(changes.begin(), changes.begin() + static_cast<std::ptrdiff_t>(lines));
  }
}

}  // namespace medsoc::app
