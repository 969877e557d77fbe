#include "assets/tls_probe.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "core/crypto.h"
#include "core/time.h"

namespace medsoc::assets {
namespace {

std::string NameText(X509_NAME* name) {
  if (!name) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len > 0 ? len : 0));
  BIO_free(bio);
  return out.substr(0, 512);
}

std::string AsnTime(const ASN1_TIME* t) {
  if (!t) return "";
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "";
  std::int64_t days = core::DaysFromCivil(tm.tm_year + 1900, static_cast<unsigned>(tm.tm_mon + 1),
                                          static_cast<unsigned>(tm.tm_mday));
  std::int64_t secs = days * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
  return core::FormatRfc3339(core::Timestamp::FromSeconds(secs), 0);
}

}  // namespace

std::string TlsVersionName(int v) {
  switch (v) {
    case SSL3_VERSION: return "SSLv3";
    case TLS1_VERSION: return "TLSv1.0";
    case TLS1_1_VERSION: return "TLSv1.1";
    case TLS1_2_VERSION: return "TLSv1.2";
    case TLS1_3_VERSION: return "TLSv1.3";
    default: return "unknown";
  }
}

SSL_CTX* NewScanTlsContext(int min_version, int max_version) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!ctx) return nullptr;
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  // Old servers (medical devices often run them) must still be identified: allow everything.
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
  SSL_CTX_set_options(ctx, SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_NO_TICKET);
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, max_version);
  return ctx;
}

TlsInfo CertificateInfo(X509* cert) {
  TlsInfo t;
  if (!cert) return t;
  t.subject = NameText(X509_get_subject_name(cert));
  t.issuer = NameText(X509_get_issuer_name(cert));
  t.not_before = AsnTime(X509_get0_notBefore(cert));
  t.not_after = AsnTime(X509_get0_notAfter(cert));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) == 1)
    t.sha256 = core::HexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
  t.self_signed = X509_check_issued(cert, cert) == X509_V_OK;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    const int n = sk_GENERAL_NAME_num(sans);
    for (int i = 0; i < n && i < 100; ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
      if (gn->type == GEN_DNS) {
        const unsigned char* d = ASN1_STRING_get0_data(gn->d.dNSName);
        int l = ASN1_STRING_length(gn->d.dNSName);
        std::string name(reinterpret_cast<const char*>(d), static_cast<size_t>(l > 0 ? std::min(l, 255) : 0));
        bool printable = true;
        for (unsigned char c : name) printable = printable && c > 0x20 && c < 0x7f;
        if (printable && !name.empty()) t.sans.push_back(name);
      } else if (gn->type == GEN_IPADD) {
        const unsigned char* d = ASN1_STRING_get0_data(gn->d.iPAddress);
        int l = ASN1_STRING_length(gn->d.iPAddress);
        char buf[64];
        if (l == 4) {
          std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", d[0], d[1], d[2], d[3]);
          t.sans.emplace_back(buf);
        }
      }
    }
    GENERAL_NAMES_free(sans);
  }
  return t;
}

Result<TlsInfo> ParseCertificateDer(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (!cert) return Error(ErrorCode::kParse, "not a DER certificate");
  TlsInfo t = CertificateInfo(cert);
  X509_free(cert);
  return t;
}

TlsInfo SessionInfo(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  TlsInfo t = CertificateInfo(cert);
  if (cert) X509_free(cert);
  t.version = TlsVersionName(SSL_version(ssl));
  const char* cipher = SSL_get_cipher_name(ssl);
  t.cipher = cipher ? cipher : "";
  return t;
}

}  // namespace medsoc::assets
