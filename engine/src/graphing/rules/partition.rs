//! Partition detection and repair (MS-PPGRH §1.3.2.3-5, §3.1.7.13, §3.1.6.5, §3.1.7.15): a live
//! contact record whose signature differs from the signature record reveals another partition;
//! after the partition timer the node connects to each such contact. Long-term repair (MS-PPGRH
//! §3.1.7.15) needs no function: a node with a live contact record of its own asks the application
//! (in Grouping, a PNRP resolve) for another connection on every maintenance pass.

use std::collections::BTreeSet;

/// A live contact record as partition detection sees it; `A` is whatever the caller needs to
/// connect (its addresses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactView<A> {
    /// The contact's node id.
    pub node_id: u64,
    /// The signature the contact published.
    pub signature: u64,
    /// How to reach it.
    pub addresses: A,
}

/// Partition detection (MS-PPGRH §3.1.7.13): whether some live contact's signature differs from
/// the signature record's, i.e. whether to arm the partition timer. Without a live signature
/// record there is nothing to compare against.
pub fn partition_detected(contact_signatures: impl IntoIterator<Item = u64>, signature: Option<u64>) -> bool {
    signature.is_some_and(|s| contact_signatures.into_iter().any(|c| c != s))
}

/// The partition timer fired (MS-PPGRH §3.1.6.5): the contacts that still mismatch, to connect
/// to. The node itself and current neighbors are left out (no connection to oneself; a second
/// link to a neighbor would be refused as a duplicate, MS-PPGRH §3.1.5.2.1).
pub fn partition_targets<A>(
    contacts: impl IntoIterator<Item = ContactView<A>>,
    signature: Option<u64>,
    own_node_id: u64,
    neighbors: &BTreeSet<u64>,
) -> Vec<ContactView<A>> {
    let Some(s) = signature else { return Vec::new() };
    contacts
        .into_iter()
        .filter(|c| c.signature != s && c.node_id != own_node_id && !neighbors.contains(&c.node_id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(node_id: u64, signature: u64) -> ContactView<&'static str> {
        ContactView {
            node_id,
            signature,
            addresses: "addr",
        }
    }

    #[test]
    fn mismatching_contacts_are_detected_and_targeted() {
        assert!(!partition_detected([5, 5, 5], Some(5)));
        assert!(partition_detected([5, 3, 5], Some(5)));
        assert!(!partition_detected([3], None));
        let neighbors: BTreeSet<u64> = [20].into();
        let targets = partition_targets([c(10, 5), c(11, 3), c(12, 3), c(20, 3)], Some(5), 12, &neighbors);
        assert_eq!(targets.iter().map(|t| t.node_id).collect::<Vec<_>>(), vec![11]);
        assert!(partition_targets([c(11, 3)], None, 1, &neighbors).is_empty());
    }
}
