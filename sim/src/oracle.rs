//! The simulator's ground truth (docs/architecture.md §4): who registered which name under which PNRP ID, and
//! who is alive. Checkers and metrics compare what nodes believe against it.
//!
//! Clouds are separate overlays (MS-PNRP §1.3.3: messages never cross clouds), so each cloud has its
//! own ring of registrations: leaf sets and workload targets are judged within one cloud.

use peerlab_engine::pnrp::{PeerName, PnrpId};
use std::collections::{BTreeMap, BTreeSet};

/// Leaf-set size per side (MS-PNRP §3.2.1).
pub const LEAF_SIDE: usize = 5;

/// Name index standing for a registration with no oracle name (see `register_foreign`).
pub const FOREIGN: u32 = u32::MAX;

/// One name some honest peer owns.
#[derive(Clone, Debug)]
pub struct NameInfo {
    /// The peer name.
    pub name: PeerName,
    /// Index of the owning peer.
    pub owner: u32,
    /// The cloud (index into `Plan::clouds`) the name is registered in.
    pub cloud: u16,
    /// The PNRP ID of the current registration, once the registration completed.
    pub id: Option<PnrpId>,
    /// Bytes of the extended payload the name is registered with (MS-PNRP §2.2.3.3); `None` = none.
    pub payload_bytes: Option<u32>,
}

/// Ground truth about names and registrations.
#[derive(Debug, Default)]
pub struct Oracle {
    names: Vec<NameInfo>,
    /// Per cloud, in order of creation.
    clouds: Vec<CloudTruth>,
    /// Every ID that was ever registered and later withdrawn (for "stale endpoint" verdicts).
    retired: BTreeSet<PnrpId>,
    /// P2P IDs (an ID's high half) of the unsecured names: their CPAs prove nothing (MS-PNRP §1.3.1.3).
    unsecured_p2p: BTreeSet<u128>,
    /// Delegated names and every delegation issued (MS-PNRP §1.3.2).
    pub delegations: crate::delegations::Delegations,
}

/// One cloud's registrations.
#[derive(Debug, Default)]
struct CloudTruth {
    /// Completed, current registrations of honest peers: ID → name index.
    registered: BTreeMap<PnrpId, u32>,
    /// Name indices currently registered, kept sorted (stable popularity order, O(1) indexing).
    registered_names: Vec<u32>,
    /// Every name index of the cloud, registered or not, in creation order.
    names: Vec<u32>,
}

impl Oracle {
    /// Records that name `idx` is registered with a payload of `bytes` bytes (`None`: without one).
    pub fn set_payload(&mut self, idx: u32, bytes: Option<u32>) {
        if let Some(n) = self.names.get_mut(idx as usize) {
            n.payload_bytes = bytes;
        }
    }

    /// Records a new name owned by `owner` in cloud `cloud`; returns its index.
    pub fn add_name(&mut self, name: PeerName, owner: u32, cloud: u16) -> u32 {
        if !name.is_secured() {
            self.unsecured_p2p.insert(name.p2p_id());
        }
        let idx = self.names.len() as u32;
        self.names.push(NameInfo {
            name,
            owner,
            cloud,
            id: None,
            payload_bytes: None,
        });
        self.cloud_mut(cloud).names.push(idx);
        idx
    }

    fn cloud_mut(&mut self, cloud: u16) -> &mut CloudTruth {
        let c = cloud as usize;
        if self.clouds.len() <= c {
            self.clouds.resize_with(c + 1, CloudTruth::default);
        }
        &mut self.clouds[c]
    }

    /// An empty cloud stands in for one that has no name yet.
    fn cloud(&self, cloud: u16) -> &CloudTruth {
        static EMPTY: CloudTruth = CloudTruth {
            registered: BTreeMap::new(),
            registered_names: Vec::new(),
            names: Vec::new(),
        };
        self.clouds.get(cloud as usize).unwrap_or(&EMPTY)
    }

    /// The name with index `idx`.
    pub fn name(&self, idx: u32) -> &NameInfo {
        &self.names[idx as usize]
    }

    /// How many names cloud `cloud` has (registered or not).
    pub fn name_count(&self, cloud: u16) -> usize {
        self.cloud(cloud).names.len()
    }

    /// The `k`-th name of cloud `cloud` in creation order.
    pub fn nth_name(&self, cloud: u16, k: usize) -> Option<u32> {
        self.cloud(cloud).names.get(k).copied()
    }

    /// The registration of name `idx` completed under `id`.
    pub fn registered(&mut self, idx: u32, id: PnrpId) {
        let info = &mut self.names[idx as usize];
        let (old, cloud) = (info.id.replace(id), info.cloud);
        let c = self.cloud_mut(cloud);
        if let Some(old) = old {
            c.registered.remove(&old);
        }
        c.registered.insert(id, idx);
        if let Err(pos) = c.registered_names.binary_search(&idx) {
            c.registered_names.insert(pos, idx);
        }
        if let Some(old) = old {
            self.retired.insert(old);
        }
    }

    /// A registration in cloud `cloud` that is real but no workload target (an attacker's own
    /// name): it belongs in the true leaf sets of its neighbours.
    pub fn register_foreign(&mut self, cloud: u16, id: PnrpId) {
        self.cloud_mut(cloud).registered.insert(id, FOREIGN);
    }

    /// Name `idx` is no longer registered (unregistered, or its owner left or crashed).
    pub fn withdrawn(&mut self, idx: u32) {
        let info = &mut self.names[idx as usize];
        let (old, cloud) = (info.id.take(), info.cloud);
        let c = self.cloud_mut(cloud);
        if let Some(old) = old {
            c.registered.remove(&old);
        }
        if let Ok(pos) = c.registered_names.binary_search(&idx) {
            c.registered_names.remove(pos);
        }
        if let Some(old) = old {
            self.retired.insert(old);
        }
    }

    /// True when name `idx` is currently registered.
    pub fn is_registered(&self, idx: u32) -> bool {
        let cloud = self.names[idx as usize].cloud;
        self.cloud(cloud).registered_names.binary_search(&idx).is_ok()
    }

    /// How many names of cloud `cloud` are currently registered.
    pub fn registered_count(&self, cloud: u16) -> usize {
        self.cloud(cloud).registered_names.len()
    }

    /// The `k`-th currently registered name of cloud `cloud` in stable order.
    pub fn nth_registered(&self, cloud: u16, k: usize) -> Option<u32> {
        self.cloud(cloud).registered_names.get(k).copied()
    }

    /// The name index registered under `id` in any cloud, if it is current.
    pub fn owner_of_id(&self, id: &PnrpId) -> Option<u32> {
        self.clouds.iter().find_map(|c| c.registered.get(id).copied())
    }

    /// True when `id` belongs to one of the scenario's unsecured names (`0.classifier`): anyone may
    /// sign a valid CPA for it, since its key is bound to nothing (MS-PNRP §1.3.1.3).
    pub fn is_unsecured_id(&self, id: &PnrpId) -> bool {
        self.unsecured_p2p.contains(&id.p2p_id())
    }

    /// True when `id` was registered once and has been withdrawn since.
    pub fn is_retired(&self, id: &PnrpId) -> bool {
        self.retired.contains(id)
    }

    /// The true leaf set of `id` in cloud `cloud`: the nearest current registrations below and
    /// above, nearest first (MS-PNRP §3.2.1), wrapping round the cloud's ring.
    pub fn true_leaf_set(&self, cloud: u16, id: PnrpId) -> (Vec<PnrpId>, Vec<PnrpId>) {
        let c = self.cloud(cloud);
        (c.true_below(id).collect(), c.true_above(id).collect())
    }

    /// The cloud `id` is registered in (cloud 0 when it is in none).
    pub fn cloud_of_id(&self, id: &PnrpId) -> u16 {
        self.clouds
            .iter()
            .position(|c| c.registered.contains_key(id))
            .unwrap_or(0) as u16
    }

    /// True when `below` and `above` (nearest first) are exactly `true_leaf_set(id)`; builds
    /// nothing, for the samples that compare thousands of leaf sets.
    pub fn is_true_leaf_set(
        &self,
        cloud: u16,
        id: PnrpId,
        below: impl Iterator<Item = PnrpId>,
        above: impl Iterator<Item = PnrpId>,
    ) -> bool {
        let c = self.cloud(cloud);
        c.true_below(id).eq(below) && c.true_above(id).eq(above)
    }
}

impl CloudTruth {
    /// Members per side of a true leaf set of `id`.
    fn leaf_per_side(&self, id: PnrpId) -> usize {
        let others = self
            .registered
            .len()
            .saturating_sub(usize::from(self.registered.contains_key(&id)));
        LEAF_SIDE.min(others)
    }

    /// The lower side of `true_leaf_set(id)`: walks counter-clockwise; the half-ring rule of
    /// MS-PNRP §1.3.1.2 decides which side an ID is on.
    fn true_below(&self, id: PnrpId) -> impl Iterator<Item = PnrpId> + '_ {
        self.registered
            .range(..id)
            .rev()
            .chain(self.registered.range(id..).rev())
            .map(|(k, _)| *k)
            .filter(move |k| *k != id && !id.is_above(*k))
            .take(self.leaf_per_side(id))
    }

    /// The upper side of `true_leaf_set(id)`: walks clockwise.
    fn true_above(&self, id: PnrpId) -> impl Iterator<Item = PnrpId> + '_ {
        self.registered
            .range(id..)
            .chain(self.registered.range(..id))
            .map(|(k, _)| *k)
            .filter(move |k| *k != id && id.is_above(*k))
            .take(self.leaf_per_side(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oracle_with(ids: &[u128]) -> Oracle {
        let mut o = Oracle::default();
        for (i, v) in ids.iter().enumerate() {
            let idx = o.add_name(PeerName::unsecured(&format!("n{i}")).unwrap(), i as u32, 0);
            o.registered(idx, PnrpId::new(0, *v));
        }
        o
    }

    #[test]
    fn leaf_sets_are_the_nearest_on_each_side() {
        let o = oracle_with(&(1..=20).map(|v| v * 10).collect::<Vec<_>>());
        let (below, above) = o.true_leaf_set(0, PnrpId::new(0, 100));
        assert_eq!(below, [90, 80, 70, 60, 50].map(|v| PnrpId::new(0, v)));
        assert_eq!(above, [110, 120, 130, 140, 150].map(|v| PnrpId::new(0, v)));
    }

    #[test]
    fn leaf_sets_wrap_round_the_ring() {
        let o = oracle_with(&[10, 20, 30, 40, 50, 60, 70]);
        let (below, above) = o.true_leaf_set(0, PnrpId::new(0, 20));
        assert_eq!(below[0], PnrpId::new(0, 10));
        assert_eq!(above[0], PnrpId::new(0, 30));
        // Seven IDs: each side may hold at most the six others, split by ring position.
        assert!(below.len() <= 5 && above.len() <= 5);
    }

    #[test]
    fn leaf_set_comparison_agrees_with_the_built_leaf_set() {
        let o = oracle_with(&[10, 20, 30, 40, 50, 60, 70, 1 << 127, (1 << 127) + 5]);
        for probe in [5u128, 20, 35, 70, 1 << 127, u128::MAX] {
            let id = PnrpId::new(0, probe);
            let (below, above) = o.true_leaf_set(0, id);
            assert!(o.is_true_leaf_set(0, id, below.iter().copied(), above.iter().copied()));
            // One member short, one extra, or one swapped are all mismatches.
            let short = &below[..below.len().saturating_sub(1)];
            if !below.is_empty() {
                assert!(!o.is_true_leaf_set(0, id, short.iter().copied(), above.iter().copied()));
            }
            let extra = above.iter().copied().chain([PnrpId::new(9, 9)]);
            assert!(!o.is_true_leaf_set(0, id, below.iter().copied(), extra));
            if below.len() >= 2 {
                let mut swapped = below.clone();
                swapped.swap(0, 1);
                assert!(!o.is_true_leaf_set(0, id, swapped.into_iter(), above.iter().copied()));
            }
        }
    }

    #[test]
    fn clouds_have_separate_rings_and_targets() {
        let mut o = oracle_with(&[10, 20, 30]);
        let other = o.add_name(PeerName::unsecured("far").unwrap(), 9, 1);
        o.registered(other, PnrpId::new(0, 25));
        // Cloud 0's ring does not see cloud 1's registration, and the other way round.
        let (below, above) = o.true_leaf_set(0, PnrpId::new(0, 20));
        assert_eq!(
            (below, above),
            (vec![PnrpId::new(0, 10)], vec![PnrpId::new(0, 30)])
        );
        assert_eq!(o.true_leaf_set(1, PnrpId::new(0, 25)), (vec![], vec![]));
        assert_eq!((o.registered_count(0), o.registered_count(1)), (3, 1));
        assert_eq!(o.nth_registered(1, 0), Some(other));
        assert_eq!((o.name_count(0), o.name_count(1), o.name_count(7)), (3, 1, 0));
        assert_eq!(o.cloud_of_id(&PnrpId::new(0, 25)), 1);
        assert_eq!(o.owner_of_id(&PnrpId::new(0, 25)), Some(other));
    }

    #[test]
    fn withdrawn_ids_are_retired() {
        let mut o = oracle_with(&[5, 6]);
        o.withdrawn(0);
        assert!(o.is_retired(&PnrpId::new(0, 5)));
        assert_eq!(o.registered_count(0), 1);
        assert_eq!(o.nth_registered(0, 0), Some(1));
    }
}
