// Fuzzes the fingerprint database: (1) the loader with arbitrary YAML (it must report errors, never
// crash), and (2) identification of arbitrary responses against the shipped database, the path
// every banner of every scanned device takes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "assets/fingerprints.h"
#include "assets/protocols.h"

namespace {
std::shared_ptr<const medsoc::assets::FingerprintDb> Shipped() {
  static std::shared_ptr<const medsoc::assets::FingerprintDb> db = [] {
    const char* src = std::getenv("MEDSOC_SOURCE_DIR");
    std::vector<medsoc::Error> errors;
    auto r = medsoc::assets::FingerprintDb::LoadDir(std::string(src ? src : ".") + "/content/fingerprints", errors);
    return r.ok() ? *r : std::make_shared<const medsoc::assets::FingerprintDb>();
  }();
  return db;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medsoc::assets;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    std::vector<medsoc::Error> errors;
    auto db = FingerprintDb::LoadText(in, "fuzz.yaml", errors);
    (void)db->Identify("null", "SSH-2.0-x\r\n", {});
  } else {
    static const char* kProbes[] = {"null", "http-get", "dicom-echo", "hl7-nmq", "redis-info", "smb2-negotiate"};
    auto fields = DecodeAll(in);
    (void)Shipped()->Identify(kProbes[data[0] / 2 % 6], in, fields);
  }
  return 0;
}
