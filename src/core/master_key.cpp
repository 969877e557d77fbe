#include "core/master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/crypto.h"

namespace medsoc::core {
namespace {

Result<std::string> DecodeKey(std::string_view hex, const std::string& where) {
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) hex.remove_suffix(1);
  if (hex.size() != kSecretKeyBytes * 2)
    return Error(ErrorCode::kInvalidArgument, where + ": master key must be " + std::to_string(kSecretKeyBytes * 2) +
                                                  " hex characters");
  auto raw = HexDecode(hex);
  if (!raw.ok()) return Error(ErrorCode::kInvalidArgument, where + ": " + raw.error().message());
  return *raw;
}

}  // namespace

Result<std::string> LoadOrCreateMasterKey(const Options& options) {
  if (!options.master_key.empty()) return DecodeKey(options.master_key, "master_key");
  const std::string path = options.data_dir + "/master.key";
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st{};
    if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
      ::close(fd);
      return Error(ErrorCode::kFailedPrecondition,
                   path + " is readable by group or others; run: chmod 600 " + path);
    }
    char buf[128];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n < 0) return Error(ErrorCode::kIo, path + ": " + std::strerror(errno));
    return DecodeKey(std::string_view(buf, static_cast<size_t>(n)), path);
  }
  if (errno != ENOENT) return Error(ErrorCode::kIo, path + ": " + std::strerror(errno));
  std::string key(kSecretKeyBytes, '\0');
  RandomBytes(key.data(), key.size());
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Error(ErrorCode::kIo, "cannot create " + path + ": " + std::strerror(errno));
  const std::string hex = HexEncode(key) + "\n";
  bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Error(ErrorCode::kIo, "cannot write " + path + ": " + std::strerror(errno));
  }
  return key;
}

}  // namespace medsoc::core
