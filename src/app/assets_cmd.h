// The asset subcommands of the medsoc binary: `medsoc scan` and `medsoc assets list|show|import|
// export|history|reviews`. main.cpp creates one AssetCommands (which adds the subcommands to the
// CLI11 app) before parsing, and calls Run() after: it returns the exit code of the asset
// subcommand that was parsed, or nullopt when another subcommand was.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "app/app.h"
#include "assets/scan_service.h"

namespace CLI {
class App;
}

namespace medsoc::app {

struct ScanFlags {
  std::string targets;               // --targets CIDR|RANGE|FILE
  std::string ports = "top1000";     // --ports SPEC
  int rate = 5000;                   // --rate N (probes per second; 0: unlimited)
  std::string format = "table";      // --format table|json
  int timeout_ms = 1500;             // --timeout-ms
  std::string exclude;               // --exclude CIDR,...
  std::string fragile;               // --fragile CIDR,...
  std::string fingerprints;          // --fingerprints DIR
  std::string snmp_community;        // --snmp-community
  std::string dicom_ae = "ANY-SCP";  // --dicom-called-ae
  bool no_resolve = false;           // -n
  bool no_identify = false;          // --no-identify
  bool no_discovery = false;         // --no-discovery
  std::string scan_type = "auto";    // --scan-type auto|connect|syn
  std::string ping = "arp,icmp,syn,ack";  // --ping: discovery methods of SYN scans
  bool save = false;                 // --save: record the scan and its results in the ledger
  std::string tenant = "default";    // --tenant (with --save)
};

int RunScan(const GlobalFlags& flags, const ScanFlags& scan);

struct AssetsFlags {
  std::string tenant = "default";
  std::string format = "table";  // table, json, csv (list); csv, xlsx (export)
  std::string kind, zone, business_system, status, text;
  std::string id;    // show/history: id, IP or MAC
  std::string file;  // import: input; export: output ("-": stdout)
};

int RunAssetsList(const GlobalFlags& flags, const AssetsFlags& a);
int RunAssetsShow(const GlobalFlags& flags, const AssetsFlags& a);
int RunAssetsHistory(const GlobalFlags& flags, const AssetsFlags& a);
int RunAssetsImport(const GlobalFlags& flags, const AssetsFlags& a);
int RunAssetsExport(const GlobalFlags& flags, const AssetsFlags& a);

// Registers `scan` and `assets ...` on `cli`; `add_globals` adds --config/--data to a subcommand.
class AssetCommands {
 public:
  AssetCommands(CLI::App& cli, GlobalFlags& globals, const std::function<void(CLI::App*)>& add_globals);
  ~AssetCommands();
  std::optional<int> Run();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Where the fingerprint database is: `flag` if set, else `fingerprints/` in the content directory
// (ResolveContentDir: the config's content_dir or $MEDSOC_CONTENT_DIR, else found from the binary).
std::string FingerprintDir(const GlobalFlags& flags, const std::string& flag);

// The scan service of `medsoc serve` from the `assets:` section: policy, scan type and the
// scheduled scan. Errors name the key (assets.scan.exclude: ...).
Result<assets::ScanServiceOptions> ServerScanOptions(const Options& options, const std::string& content_dir);

}  // namespace medsoc::app
