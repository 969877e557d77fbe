// Triage scores alerts against the asset ledger: this adapter answers triage's AssetLookup from
// assets::AssetLedger. Lives in app/ because triage does not depend on the assets module.
//
// Mapping (ledger attribute -> triage::AssetInfo): id; hostname, else name -> name; ips; the highest
// of the confidentiality / integrity / availability levels (1-5) -> criticality (0 when none is
// rated: triage then uses its own table or the default 3); zone; zone "internet" or "dmz" ->
// internet_facing; business_system -> asset_group. Retired assets are ignored.
//
// Thread-safety: the returned lookup is as thread-safe as the ledger (it is).
#pragma once

#include "assets/ledger.h"
#include "triage/service.h"

namespace medsoc::app {

triage::AssetInfo TriageAssetFromLedger(const assets::Asset& asset);

// Looks an address up with AssetLedger::FindByAddress and a host name among the assets whose name
// or hostname equals it (case-insensitive). Ledger errors are logged and count as "not found".
triage::AssetLookup MakeLedgerAssetLookup(assets::AssetLedger& ledger);

}  // namespace medsoc::app
