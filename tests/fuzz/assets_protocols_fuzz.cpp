// Fuzzes every response decoder of the scanner (src/assets/protocols.h) and the fingerprint
// matcher over one input: the bytes a scanned device sent. Decoders must never read past the
// input, loop, or crash on hostile answers; the first byte picks which decoder sees the rest, and
// DecodeAll then runs all of them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "assets/protocols.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace medsoc::assets;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  Fields f;
  switch (data[0] % 15) {
    case 0: DecodeHttp(in, f); break;
    case 1: DecodeSsh(in, f); break;
    case 2: DecodeMysql(in, f); break;
    case 3: DecodePostgres(in, f); break;
    case 4: DecodeMssqlPrelogin(in, f); break;
    case 5: DecodeRdp(in, f); break;
    case 6: DecodeSmb(in, f); break;
    case 7: DecodeDicom(in, f); break;
    case 8: DecodeHl7(in, f); break;
    case 9: DecodeSnmp(in, f); break;
    case 10: DecodeDns(in, f); break;
    case 11: DecodeNtp(in, f); break;
    case 12: DecodeNetbios(in, f); break;
    case 13: DecodeModbus(in, f); break;
    default: (void)PrintableBanner(in); break;
  }
  f = DecodeAll(in);
  // The DICOM dialog must accept any reply without reading outside it.
  ProbeParams params;
  auto dialog = MakeDialog("dicom_echo", params);
  (void)dialog->Start();
  (void)dialog->Next(in);
  (void)dialog->Next(in);
  (void)dialog->Next(in);
  return 0;
}
