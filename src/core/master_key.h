// The master key that encrypts secrets at rest (webhook tokens, SSH credentials, SMTP passwords)
// through core::SecretBox. It comes from `master_key` in the configuration (better: the
// environment variable MEDSOC_MASTER_KEY), else from <data_dir>/master.key, which is created with
// a random key on first start, mode 0600. Back that file up apart from the database: without it
// the stored secrets cannot be decrypted.
//
// Thread-safety: call once at start-up.
#pragma once

#include <string>

#include "core/options.h"
#include "core/result.h"

namespace medsoc::core {

// Returns the 32-byte key. Errors: a malformed key, a key file readable by group or others
// (refused, with the chmod to fix it), or an I/O failure.
Result<std::string> LoadOrCreateMasterKey(const Options& options);

}  // namespace medsoc::core
