// TLS for the scanner: a client context that accepts any certificate and every protocol version
// (the scanner reports what a server offers; it trusts nothing it sees), and the extraction of the
// certificate facts the ledger keeps (subject, issuer, SANs, validity, SHA-256, self-signed).
//
// Thread-safety: ScanTlsContext is created once and shared read-only; SSL objects made from it
// belong to one connection.
#pragma once

#include <string>
#include <string_view>

#include "assets/model.h"
#include "core/result.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct x509_st X509;

namespace medsoc::assets {

// REQUIRES: min/max are 0 (library bounds) or TLS1_VERSION..TLS1_3_VERSION.
SSL_CTX* NewScanTlsContext(int min_version = 0, int max_version = 0);

// Facts of a leaf certificate.
TlsInfo CertificateInfo(X509* cert);
// Parses a DER certificate (fuzzing, tests).
Result<TlsInfo> ParseCertificateDer(std::string_view der);
// Negotiated version, cipher and peer certificate of a finished handshake.
TlsInfo SessionInfo(SSL* ssl);

// "TLSv1.2" for TLS1_2_VERSION etc.
std::string TlsVersionName(int version);

}  // namespace medsoc::assets
