#include "assets/oui.h"

#include <algorithm>
#include <fstream>

#include "assets/model.h"

namespace medsoc::assets {
namespace {

// Splits one CSV line with quoted fields.
std::vector<std::string> CsvFields(const std::string& line) {
  std::vector<std::string> out;
  std::string cur;
  bool q = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (q) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur.push_back('"');
        ++i;
      } else if (c == '"') {
        q = false;
      } else {
        cur.push_back(c);
      }
    } else if (c == '"') {
      q = true;
    } else if (c == ',') {
      out.push_back(cur);
      cur.clear();
    } else if (c != '\r') {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::uint64_t HexValue(std::string_view hex, bool& ok) {
  std::uint64_t v = 0;
  ok = !hex.empty();
  for (char c : hex) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (d < 0) {
      ok = false;
      return 0;
    }
    v = v * 16 + static_cast<std::uint64_t>(d);
  }
  return v;
}

}  // namespace

void OuiDb::Add(std::string_view hex, std::string vendor) {
  bool ok = false;
  std::uint64_t v = HexValue(hex, ok);
  if (!ok) {
    ++skipped_;
    return;
  }
  if (hex.size() == 6) map24_[v] = std::move(vendor);
  else if (hex.size() == 7) map28_[v] = std::move(vendor);
  else if (hex.size() == 9) map36_[v] = std::move(vendor);
  else ++skipped_;
}

Result<OuiDb> OuiDb::Load(const std::string& dir) {
  OuiDb db;
  bool any = false;
  for (const char* name : {"oui.csv", "mam.csv", "oui36.csv", "iab.csv"}) {
    std::ifstream in(dir + "/" + name);
    if (!in) continue;
    any = true;
    std::string line;
    bool header = true;
    while (std::getline(in, line)) {
      if (header) {
        header = false;
        continue;
      }
      auto f = CsvFields(line);
      if (f.size() < 3 || f[1].empty()) {
        ++db.skipped_;
        continue;
      }
      std::string vendor = f[2];
      while (!vendor.empty() && vendor.back() == ' ') vendor.pop_back();
      db.Add(f[1], vendor);
    }
  }
  if (!any) return Error(ErrorCode::kNotFound, "no IEEE registry files (oui.csv ...) in " + dir + " (Debian: ieee-data)");
  return db;
}

std::string OuiDb::Lookup(std::string_view mac) const {
  auto norm = NormalizeMac(mac);
  if (!norm) return "";
  std::string hex;
  for (char c : *norm)
    if (c != ':') hex.push_back(c);
  bool ok = false;
  std::uint64_t v = HexValue(hex, ok);  // 48 bits
  if (auto it = map36_.find(v >> 12); it != map36_.end()) return it->second;
  if (auto it = map28_.find(v >> 20); it != map28_.end()) return it->second;
  if (auto it = map24_.find(v >> 24); it != map24_.end()) return it->second;
  return "";
}

bool IsFragileVendor(std::string_view vendor) {
  std::string v(vendor);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  static const char* kFragile[] = {"ge healthcare", "ge medical", "siemens healthcare", "siemens healthineers",
                                   "philips medical", "philips healthcare", "mindray", "draeger", "drägerwerk",
                                   "b. braun", "baxter", "carefusion", "becton", "fresenius", "medtronic",
                                   "nihon kohden", "spacelabs", "welch allyn", "hillrom", "hill-rom", "canon medical",
                                   "toshiba medical", "fujifilm", "carestream", "agfa healthcare", "hologic",
                                   "varian medical", "elekta", "shimadzu", "united imaging", "neusoft medical",
                                   "zoll medical", "schiller", "edan instruments", "comen", "biolight",
                                   "rockwell automation", "schneider electric", "wago", "phoenix contact",
                                   "beckhoff", "omron"};
  for (const char* f : kFragile)
    if (v.find(f) != std::string::npos) return true;
  return false;
}

}  // namespace medsoc::assets
