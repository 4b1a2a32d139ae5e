//! Connection maintenance (MS-PPGRH §3.1.7.14, §3.1.7.16) and connection utility
//! (MS-PPGRH §3.1.7.33): prune the least useful neighbor above the ideal degree on the
//! maintenance timer, otherwise open a connection to a random candidate when below it.
//!
//! Utility is integer arithmetic, `LU ← ⌊31·LU/32⌋ + (useful ? 128 : 0)`, exact on every
//! platform; a link that only delivers new records settles near 4,064 (the real-valued fixed point
//! is 4,096), one that delivers nothing new decays to 0.

use crate::Endpoint;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};

/// Utility added for a useful FLOOD (MS-PPGRH §3.1.7.33).
pub const UTILITY_BONUS: u32 = 128;

/// The utility after one FLOOD over the link: received (the receiver's own verdict) or
/// acknowledged (the ACK's U bit) (MS-PPGRH §3.1.7.33).
pub fn update_utility(utility: u32, useful: bool) -> u32 {
    let decayed = (u64::from(utility) * 31 / 32) as u32;
    if useful {
        decayed.saturating_add(UTILITY_BONUS)
    } else {
        decayed
    }
}

/// What triggered graph maintenance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaintenanceTrigger {
    /// The graph maintenance timer (MS-PPGRH §3.1.6.6).
    Timer,
    /// Any other trigger: first WELCOME, listening, DISCONNECT, address change.
    Event,
}

/// One neighbor link as connection maintenance sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighborUtility {
    /// The neighbor's node id.
    pub node_id: u64,
    /// The link's utility.
    pub utility: u32,
}

/// What connection maintenance does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionAction {
    /// Degree is fine.
    Nothing,
    /// DISCONNECT (LEAST_USEFUL) this neighbor.
    Prune(u64),
    /// Attempt one new connection (see [`choose_candidate`]).
    Connect,
}

/// Connection maintenance (MS-PPGRH §3.1.7.14) over the CONNECTED neighbor links in neighbor
/// sequence order. Above `ideal` on the timer: prune the lowest utility, ties going to the
/// earliest in sequence order (the first found scanning the neighbor list). No neighbor at all,
/// fewer than `min` once synchronized, or fewer than `ideal` on the timer: connect.
pub fn connection_maintenance(
    neighbors: &[NeighborUtility],
    trigger: MaintenanceTrigger,
    never_connected: bool,
    min: usize,
    ideal: usize,
) -> ConnectionAction {
    let n = neighbors.len();
    let timer = trigger == MaintenanceTrigger::Timer;
    if n > ideal && timer {
        // min_by_key returns the first of equal minima.
        return neighbors
            .iter()
            .min_by_key(|nb| nb.utility)
            .map_or(ConnectionAction::Nothing, |nb| {
                ConnectionAction::Prune(nb.node_id)
            });
    }
    if n == 0 || (n < min && !never_connected) || (n < ideal && timer) {
        ConnectionAction::Connect
    } else {
        ConnectionAction::Nothing
    }
}

/// A node to connect to: from the presence list, the contact list (node id known) or the
/// referral list (address only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Its node id, when known.
    pub node_id: Option<u64>,
    /// Where to connect.
    pub endpoint: Endpoint,
}

/// What the node is already connected or connecting to, and itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exclusions {
    /// The local node id.
    pub own_node_id: u64,
    /// The local listening addresses.
    pub own_endpoints: BTreeSet<Endpoint>,
    /// Node ids of neighbors (and links being set up, when known).
    pub node_ids: BTreeSet<u64>,
    /// Remote addresses of current and pending connections.
    pub endpoints: BTreeSet<Endpoint>,
}

/// Picks a connection candidate uniformly from the union of presence, contact and referral
/// candidates (MS-PPGRH §3.1.7.14), one per address (a known node id wins over an anonymous
/// referral for the same address), excluding the node itself and nodes it is connected to.
/// Referrals carry no node id, so one can only be excluded by address; a duplicate that slips
/// through is refused by the responder (DUPLICATE_CONNECTION).
pub fn choose_candidate(
    candidates: impl IntoIterator<Item = Candidate>,
    exclude: &Exclusions,
    rng: &mut impl Rng,
) -> Option<Candidate> {
    let mut union: BTreeMap<Endpoint, Option<u64>> = BTreeMap::new();
    for c in candidates {
        let slot = union.entry(c.endpoint).or_insert(c.node_id);
        if slot.is_none() {
            *slot = c.node_id;
        }
    }
    let pool: Vec<Candidate> = union
        .into_iter()
        .map(|(endpoint, node_id)| Candidate { node_id, endpoint })
        .filter(|c| {
            !exclude.own_endpoints.contains(&c.endpoint)
                && !exclude.endpoints.contains(&c.endpoint)
                && c.node_id
                    .is_none_or(|id| id != exclude.own_node_id && !exclude.node_ids.contains(&id))
        })
        .collect();
    if pool.is_empty() {
        None
    } else {
        Some(pool[rng.gen_range(0..pool.len())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use std::net::Ipv6Addr;

    fn nb(node_id: u64, utility: u32) -> NeighborUtility {
        NeighborUtility { node_id, utility }
    }

    #[test]
    fn utility_decays_and_rewards_in_integers() {
        assert_eq!(update_utility(0, true), 128);
        assert_eq!(update_utility(128, false), 124);
        assert_eq!(update_utility(1, false), 0);
        let mut lu = 0;
        for _ in 0..1_000 {
            lu = update_utility(lu, true);
        }
        assert!((4_000..4_096).contains(&lu), "{lu}");
        assert_eq!(update_utility(lu, true), lu, "a fixed point");
        assert_eq!(
            update_utility(u32::MAX, true),
            (u64::from(u32::MAX) * 31 / 32) as u32 + 128
        );
    }

    #[test]
    fn maintenance_prunes_above_ideal_and_connects_below() {
        use ConnectionAction::*;
        use MaintenanceTrigger::*;
        let four = [nb(1, 50), nb(2, 10), nb(3, 10), nb(4, 90)];
        assert_eq!(connection_maintenance(&four, Timer, false, 2, 3), Prune(2));
        assert_eq!(connection_maintenance(&four, Event, false, 2, 3), Nothing);
        assert_eq!(connection_maintenance(&four[..3], Timer, false, 2, 3), Nothing);
        assert_eq!(connection_maintenance(&four[..2], Timer, false, 2, 3), Connect);
        assert_eq!(connection_maintenance(&four[..2], Event, false, 2, 3), Nothing);
        assert_eq!(connection_maintenance(&four[..1], Event, false, 2, 3), Connect);
        assert_eq!(connection_maintenance(&four[..1], Event, true, 2, 3), Nothing);
        assert_eq!(connection_maintenance(&[], Event, true, 2, 3), Connect);
    }

    fn ep(n: u16) -> Endpoint {
        Endpoint::new(Ipv6Addr::LOCALHOST, n)
    }

    #[test]
    fn candidates_exclude_self_and_neighbors_and_are_uniform() {
        let cands = [
            Candidate {
                node_id: None,
                endpoint: ep(1),
            },
            Candidate {
                node_id: Some(11),
                endpoint: ep(1),
            },
            Candidate {
                node_id: Some(7),
                endpoint: ep(2),
            }, // self
            Candidate {
                node_id: Some(12),
                endpoint: ep(3),
            }, // neighbor
            Candidate {
                node_id: None,
                endpoint: ep(4),
            }, // pending connection
            Candidate {
                node_id: None,
                endpoint: ep(5),
            }, // own address
            Candidate {
                node_id: None,
                endpoint: ep(6),
            },
        ];
        let ex = Exclusions {
            own_node_id: 7,
            own_endpoints: [ep(5)].into(),
            node_ids: [12].into(),
            endpoints: [ep(4)].into(),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut counts = BTreeMap::new();
        for _ in 0..4_000 {
            let c = choose_candidate(cands, &ex, &mut rng).unwrap();
            *counts.entry((c.endpoint.port, c.node_id)).or_insert(0u32) += 1;
        }
        assert_eq!(
            counts.keys().copied().collect::<Vec<_>>(),
            vec![(1, Some(11)), (6, None)]
        );
        assert!(
            counts.values().all(|&n| (1_800..2_200).contains(&n)),
            "{counts:?}"
        );
        assert_eq!(choose_candidate(cands[2..6].iter().copied(), &ex, &mut rng), None);
    }
}
