// Asset routes: the ledger (资产台账), its spreadsheet import/export, business systems, reviews of
// scan results that disagree with curated values, the changes feed, scans, the internet exposure
// ledger (互联网出口映射台账) and the domain inventory. Reading needs assets.read, changing
// assets.write; the dispatcher records every state-changing request in the audit trail.
#pragma once

#include "api/dispatcher.h"
#include "api/router.h"
#include "assets/ledger.h"
#include "assets/scan_service.h"

namespace medsoc::api {

// `scans` may be null (no scanner configured): the scan routes then answer 503.
void RegisterAssetRoutes(Router& router, ApiServices& services, assets::AssetLedger& ledger,
                         assets::ScanService* scans);

nlohmann::json AssetJson(const assets::Asset& asset);

}  // namespace medsoc::api
