#include "assets/model.h"
#include "core/strings.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace medsoc::assets {
namespace {

const std::vector<AttributeSpec>& Specs() {
  static const std::vector<AttributeSpec> specs = {
      {"name", "资产名称", "Name", AttrType::kText, {}},
      {"kind", "资产类型", "Kind", AttrType::kEnum,
       {{"server", "服务器"},
        {"workstation", "终端"},
        {"clinical_terminal", "临床终端"},
        {"network_device", "网络设备"},
        {"security_device", "安全设备"},
        {"printer", "打印机"},
        {"imaging_modality", "影像设备"},
        {"patient_monitor", "监护设备"},
        {"dicom_node", "PACS/DICOM节点"},
        {"medical_device", "医疗设备"},
        {"plc", "工控设备"},
        {"iot", "物联网设备"},
        {"mobile", "移动设备"},
        {"web_application", "Web应用"},
        {"database", "数据库"},
        {"llm_endpoint", "大模型接口"},
        {"code_repository", "代码仓库"},
        {"unknown", "未分类"}}},
      {"business_system", "业务系统", "Business system", AttrType::kText, {}},
      {"ips", "IP地址", "IP addresses", AttrType::kList, {}},
      {"macs", "MAC地址", "MAC addresses", AttrType::kList, {}},
      {"mac_vendor", "MAC厂商", "MAC vendor", AttrType::kText, {}},
      {"hostname", "主机名", "Hostname", AttrType::kText, {}},
      {"os", "操作系统", "Operating system", AttrType::kText, {}},
      {"os_version", "系统版本", "OS version", AttrType::kText, {}},
      {"vendor", "厂商", "Vendor", AttrType::kText, {}},
      {"model", "型号", "Model", AttrType::kText, {}},
      {"firmware", "固件版本", "Firmware", AttrType::kText, {}},
      {"rule_version", "规则库版本", "Rule library version", AttrType::kText, {}},
      {"owner_department", "责任部门", "Owner department", AttrType::kText, {}},
      {"owner", "责任人", "Owner", AttrType::kText, {}},
      {"location", "物理位置", "Location", AttrType::kText, {}},
      {"zone", "网络区域", "Zone", AttrType::kEnum,
       {{"internet", "互联网"}, {"dmz", "DMZ"}, {"intranet", "内网"}, {"medical", "医疗网"}, {"management", "管理网"}}},
      {"confidentiality", "机密性", "Confidentiality", AttrType::kLevel, {}},
      {"integrity", "完整性", "Integrity", AttrType::kLevel, {}},
      {"availability", "可用性", "Availability", AttrType::kLevel, {}},
      {"fragile", "易损设备", "Fragile", AttrType::kEnum, {{"yes", "是"}, {"no", "否"}}},
      {"tags", "标签", "Tags", AttrType::kList, {}},
      {"notes", "备注", "Notes", AttrType::kText, {}},
  };
  return specs;
}

std::string Trim(std::string_view s) {
  auto is_space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && is_space(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  // Also the ideographic space U+3000, common in Chinese spreadsheets.
  while (s.size() >= 3 && s.substr(0, 3) == "\xE3\x80\x80") s.remove_prefix(3);
  while (s.size() >= 3 && s.substr(s.size() - 3) == "\xE3\x80\x80") s.remove_suffix(3);
  return std::string(s);
}

using core::EqualsIgnoreCase;

std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    std::string t = Trim(cur);
    if (!t.empty()) out.push_back(std::move(t));
    cur.clear();
  };
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == ';' || c == ',' || c == '\n' || c == '\r') {
      flush();
      ++i;
    } else if (text.substr(i, 3) == "\xEF\xBC\x9B" || text.substr(i, 3) == "\xEF\xBC\x8C" ||
               text.substr(i, 3) == "\xE3\x80\x81") {  // ； ， 、
      flush();
      i += 3;
    } else {
      cur.push_back(c);
      ++i;
    }
  }
  flush();
  return out;
}

}  // namespace

std::string_view SourceName(Source s) {
  switch (s) {
    case Source::kScan: return "scan";
    case Source::kAgent: return "agent";
    case Source::kImport: return "import";
    case Source::kLog: return "log";
    case Source::kManual: return "manual";
  }
  return "manual";
}

std::optional<Source> ParseSource(std::string_view n) {
  for (Source s : {Source::kScan, Source::kAgent, Source::kImport, Source::kLog, Source::kManual})
    if (SourceName(s) == n) return s;
  return std::nullopt;
}

std::string_view StatusName(AssetStatus s) {
  switch (s) {
    case AssetStatus::kActive: return "active";
    case AssetStatus::kOffline: return "offline";
    case AssetStatus::kRetired: return "retired";
  }
  return "active";
}

std::optional<AssetStatus> ParseStatus(std::string_view n) {
  if (n == "active" || n == "在用") return AssetStatus::kActive;
  if (n == "offline" || n == "离线") return AssetStatus::kOffline;
  if (n == "retired" || n == "已退役" || n == "退役") return AssetStatus::kRetired;
  return std::nullopt;
}

std::string_view ChangeKindName(ChangeKind k) {
  switch (k) {
    case ChangeKind::kNewAsset: return "new_asset";
    case ChangeKind::kGone: return "gone";
    case ChangeKind::kBack: return "back";
    case ChangeKind::kServiceOpened: return "service_opened";
    case ChangeKind::kServiceClosed: return "service_closed";
    case ChangeKind::kVersionChanged: return "version_changed";
    case ChangeKind::kUnknownInLogs: return "unknown_in_logs";
    case ChangeKind::kNewExposure: return "new_exposure";
    case ChangeKind::kAttributeChanged: return "attribute_changed";
  }
  return "attribute_changed";
}

const std::vector<AttributeSpec>& AttributeSpecs() { return Specs(); }

const AttributeSpec* FindAttribute(std::string_view name) {
  for (const auto& s : Specs())
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<std::string> ListFromJson(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& e : j)
    if (e.is_string()) out.push_back(e.get<std::string>());
  return out;
}

std::string ListToJson(const std::vector<std::string>& items) {
  if (items.empty()) return "";
  return nlohmann::json(items).dump();
}

std::optional<std::string> NormalizeMac(std::string_view mac) {
  std::string hex;
  for (char c : mac) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (c != ':' && c != '-' && c != '.' && c != ' ') {
      return std::nullopt;
    }
  }
  if (hex.size() != 12) return std::nullopt;
  std::string out;
  for (int i = 0; i < 6; ++i) {
    if (i) out.push_back(':');
    out.append(hex, i * 2, 2);
  }
  return out;
}

std::optional<std::string> NormalizeIp(std::string_view ip) {
  std::string s = Trim(ip);
  char buf[INET6_ADDRSTRLEN];
  unsigned char bin[16];
  if (inet_pton(AF_INET, s.c_str(), bin) == 1) {
    inet_ntop(AF_INET, bin, buf, sizeof buf);
    return std::string(buf);
  }
  if (inet_pton(AF_INET6, s.c_str(), bin) == 1) {
    inet_ntop(AF_INET6, bin, buf, sizeof buf);
    return std::string(buf);
  }
  return std::nullopt;
}

Result<std::string> NormalizeValue(const AttributeSpec& spec, std::string_view raw) {
  std::string value = Trim(raw);
  switch (spec.type) {
    case AttrType::kText:
      if (value.size() > 4096)
        return Error(ErrorCode::kInvalidArgument, std::string(spec.name) + ": longer than 4096 bytes");
      return value;
    case AttrType::kLevel:
      if (value.empty()) return value;
      if (value.size() == 1 && value[0] >= '1' && value[0] <= '5') return value;
      return Error(ErrorCode::kInvalidArgument,
                   std::string(spec.name) + ": '" + value + "' is not a level 1-5 (GB/T 20984)");
    case AttrType::kEnum: {
      if (value.empty()) return value;
      for (const auto& v : spec.values)
        if (EqualsIgnoreCase(v.name, value) || v.zh == value) return std::string(v.name);
      std::string allowed;
      for (const auto& v : spec.values) allowed += (allowed.empty() ? "" : ", ") + std::string(v.name);
      return Error(ErrorCode::kInvalidArgument,
                   std::string(spec.name) + ": '" + value + "' is not one of " + allowed);
    }
    case AttrType::kList: {
      std::vector<std::string> items;
      if (!value.empty() && value.front() == '[') {
        auto j = nlohmann::json::parse(value, nullptr, false);
        if (!j.is_array()) return Error(ErrorCode::kInvalidArgument, std::string(spec.name) + ": malformed JSON array");
        for (const auto& e : j) {
          if (!e.is_string()) return Error(ErrorCode::kInvalidArgument, std::string(spec.name) + ": items must be strings");
          std::string t = Trim(e.get<std::string>());
          if (!t.empty()) items.push_back(t);
        }
      } else {
        items = SplitList(value);
      }
      std::vector<std::string> out;
      for (auto& item : items) {
        if (spec.name == "ips") {
          auto ip = NormalizeIp(item);
          if (!ip) return Error(ErrorCode::kInvalidArgument, "ips: '" + item + "' is not an IP address");
          item = *ip;
        } else if (spec.name == "macs") {
          auto mac = NormalizeMac(item);
          if (!mac) return Error(ErrorCode::kInvalidArgument, "macs: '" + item + "' is not a MAC address");
          item = *mac;
        }
        if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
      }
      return ListToJson(out);
    }
  }
  return value;
}

std::string Asset::Get(std::string_view name) const {
  auto it = attrs.find(std::string(name));
  return it == attrs.end() ? std::string() : it->second.value;
}

std::vector<std::string> Asset::GetList(std::string_view name) const { return ListFromJson(Get(name)); }

}  // namespace medsoc::assets
