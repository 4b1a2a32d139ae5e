//! Every PNRP constant and implementation choice, with its spec default (pnrp.md §5, §4.16).
//! OWNER: PNRP node helper (extend freely; keep `deny_unknown_fields` and `default`).

use crate::Duration;
use serde::{Deserialize, Serialize};

/// Protocol constants and [CHOICE]/[AMBIG] knobs; a scenario's `[pnrp]` table overrides any of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PnrpConfig {
    /// Maintenance timer period (§4.11, §5.1: 15 s).
    pub maintenance_period: Duration,
}

impl Default for PnrpConfig {
    fn default() -> Self {
        PnrpConfig { maintenance_period: Duration::from_secs(15) }
    }
}
