// MAC address vendors from the IEEE registries as Debian's ieee-data package ships them
// (/usr/share/ieee-data/{oui,mam,oui36,iab}.csv: "Registry,Assignment,Organization Name,
// Organization Address"). MA-L assignments are 24-bit prefixes, MA-M 28-bit, MA-S/IAB 36-bit; a
// lookup takes the longest matching prefix. The files are read at run time, never shipped.
//
// Thread-safety: immutable after Load; Lookup is const.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace medsoc::assets {

class OuiDb {
 public:
  // Loads every registry file found in `dir`; malformed lines are counted in `skipped`, not fatal.
  // kNotFound when none of the files exist.
  static Result<OuiDb> Load(const std::string& dir = "/usr/share/ieee-data");

  // Vendor for a MAC in any common spelling; "" when unknown or not a MAC.
  std::string Lookup(std::string_view mac) const;
  std::size_t size() const { return map24_.size() + map28_.size() + map36_.size(); }
  std::size_t skipped() const { return skipped_; }

  // Adds one assignment (hex prefix of 6, 7 or 9 digits); used by Load and tests.
  void Add(std::string_view hex_prefix, std::string vendor);

 private:
  std::unordered_map<std::uint64_t, std::string> map24_, map28_, map36_;
  std::size_t skipped_ = 0;
};

// True for vendors of medical and industrial equipment whose devices get only light probes
// (GE Healthcare, Siemens Healthineers, Philips Medical, Mindray, ...).
bool IsFragileVendor(std::string_view vendor);

}  // namespace medsoc::assets
