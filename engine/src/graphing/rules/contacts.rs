//! Contact maintenance (MS-PPGRH §1.3.2.2, §3.1.7.12, §3.1.6.3, §3.1.7.5): a self-selected band
//! of nodes publishes contact records carrying their view of the signature; the band's size
//! grows with log(graph size) through the signature S, the graph's lowest node id.
//!
//! Cmin is real-valued (`60 − log2 S`), so counts are compared with it as reals: "below Cmin"
//! means `count < Cmin`, "above Cmax" means `count > Cmin + 5`. A contact also republishes its
//! record whenever the signature differs from the one its record carries (MS-PPGRH §1.3.2.2).

use super::publish::InternalRecord;
use crate::graphing::{ContactFormula, CONTACT_TYPE};
use crate::Duration;

/// Lifetime of a contact record (MS-PPGRH §3.1.7.5).
pub const CONTACT_LIFETIME: Duration = Duration::from_secs(900);
/// Cmax − Cmin (MS-PPGRH §3.1.7.12).
pub const CONTACT_BAND_WIDTH: f64 = 5.0;

/// The desired number of live contact records, `[min, max]` (MS-PPGRH §3.1.7.12).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContactBand {
    /// Cmin.
    pub min: f64,
    /// Cmax = Cmin + 5.
    pub max: f64,
}

impl ContactBand {
    /// Whether `count` live contacts are too few.
    pub fn below(self, count: usize) -> bool {
        (count as f64) < self.min
    }
    /// Whether `count` live contacts are too many.
    pub fn above(self, count: usize) -> bool {
        (count as f64) > self.max
    }
}

/// The band for signature `signature` (MS-PPGRH §3.1.7.12): as printed `Cmin = 5` when
/// `S ≥ 2^60`, else `60 − log2 S`; or `max(5, 60 − log2 S)`. S = 0 is read as 1 (log2 0 is
/// undefined), giving Cmin = 60.
pub fn contact_band(signature: u64, formula: ContactFormula) -> ContactBand {
    let by_log = 60.0 - (signature.max(1) as f64).log2();
    let min = match formula {
        ContactFormula::AsPrinted if signature >= 1 << 60 => 5.0,
        ContactFormula::AsPrinted => by_log,
        ContactFormula::AtLeastFive => by_log.max(5.0),
    };
    ContactBand {
        min,
        max: min + CONTACT_BAND_WIDTH,
    }
}

/// Contact maintenance (MS-PPGRH §3.1.7.12): whether to arm the contact timer, given whether
/// the node has a live contact record of its own and the count of live contact records (its own
/// included). Without a live signature record there is no S and nothing to do.
pub fn contact_maintenance(
    own_live: bool,
    live_contacts: usize,
    signature: Option<u64>,
    formula: ContactFormula,
) -> bool {
    let Some(s) = signature else { return false };
    let band = contact_band(s, formula);
    (!own_live && band.below(live_contacts)) || (own_live && band.above(live_contacts))
}

/// What the contact timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactAction {
    /// Publish (or update) the node's contact record.
    Publish,
    /// Delete the node's contact record.
    Delete,
    /// The imbalance is gone.
    Nothing,
}

/// The contact timer fired (MS-PPGRH §3.1.6.3): re-check the imbalance.
pub fn contact_timer_fired(
    own_live: bool,
    live_contacts: usize,
    signature: Option<u64>,
    formula: ContactFormula,
) -> ContactAction {
    let Some(s) = signature else {
        return ContactAction::Nothing;
    };
    let band = contact_band(s, formula);
    match own_live {
        true if band.above(live_contacts) => ContactAction::Delete,
        false if band.below(live_contacts) => ContactAction::Publish,
        _ => ContactAction::Nothing,
    }
}

/// The contact record to publish with `payload` (signature, node id, listening addresses;
/// MS-PPGRH §2.2.3.3): random id bound to the node's peer id, 900 s, autorefresh
/// (MS-PPGRH §3.1.7.5).
pub fn contact_record(payload: Vec<u8>) -> InternalRecord {
    InternalRecord {
        record_type: CONTACT_TYPE,
        fixed_id: None,
        payload,
        attributes: String::new(),
        lifetime: CONTACT_LIFETIME,
        autorefresh: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_band_follows_the_signature_and_the_formula() {
        let b = contact_band(1 << 60, ContactFormula::AsPrinted);
        assert_eq!((b.min, b.max), (5.0, 10.0));
        // Just below 2^60 the printed formula drops to about 0.
        let b = contact_band((1 << 60) - 1, ContactFormula::AsPrinted);
        assert!(b.min < 1e-9 && b.min >= 0.0);
        assert_eq!(contact_band((1 << 60) - 1, ContactFormula::AtLeastFive).min, 5.0);
        // About 1,000 nodes: S ≈ 2^54, Cmin = 6.
        assert_eq!(contact_band(1 << 54, ContactFormula::AsPrinted).min, 6.0);
        assert_eq!(contact_band(1 << 54, ContactFormula::AtLeastFive).min, 6.0);
        assert_eq!(contact_band(0, ContactFormula::AsPrinted).min, 60.0);
        assert_eq!(contact_band(1 << 62, ContactFormula::AtLeastFive).min, 5.0);
    }

    #[test]
    fn maintenance_arms_on_imbalance_and_the_timer_rechecks() {
        let s = Some(1u64 << 54); // band [6, 11]
        let f = ContactFormula::AsPrinted;
        assert!(contact_maintenance(false, 5, s, f));
        assert!(!contact_maintenance(false, 6, s, f));
        assert!(
            !contact_maintenance(true, 5, s, f),
            "already a contact: too few is not its business"
        );
        assert!(contact_maintenance(true, 12, s, f));
        assert!(!contact_maintenance(true, 11, s, f));
        assert!(!contact_maintenance(false, 0, None, f));
        assert_eq!(contact_timer_fired(false, 5, s, f), ContactAction::Publish);
        assert_eq!(contact_timer_fired(false, 6, s, f), ContactAction::Nothing);
        assert_eq!(contact_timer_fired(true, 12, s, f), ContactAction::Delete);
        assert_eq!(contact_timer_fired(true, 5, s, f), ContactAction::Nothing);
        assert_eq!(contact_timer_fired(false, 0, None, f), ContactAction::Nothing);
        let rec = contact_record(vec![1]);
        assert_eq!(
            (rec.fixed_id, rec.lifetime, rec.autorefresh),
            (None, CONTACT_LIFETIME, true)
        );
    }
}
