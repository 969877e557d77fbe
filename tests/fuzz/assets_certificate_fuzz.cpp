// Fuzzes the certificate facts the scanner keeps from a TLS server (subject, issuer, SANs,
// validity): the certificate is chosen by whoever runs the scanned service.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "assets/tls_probe.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)medsoc::assets::ParseCertificateDer(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
