//! Ground truth about delegated names (MS-PNRP §1.3.2): which names the world had registered by a delegate,
//! under which Certificate Chain, and every delegation it ever issued. The invariant checker uses it to
//! tell a chain-vouched CPA from one that should have been refused (expired, forged, another root).

use crate::oracle::Oracle;
use peerlab_engine::crypto::{Identity, PublicKey};
use peerlab_engine::pnrp::chain::instant_to_unix_secs;
use peerlab_engine::pnrp::{CertChain, CertRole, Delegation, Grant, PeerName};
use peerlab_engine::Instant;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Whether member `member` of a group of `count` has its secured names delegated, for a fraction of `ppm`
/// parts per million: exactly that fraction of the members (rounded down), spread evenly over the group.
pub fn is_delegated(member: usize, ppm: u32) -> bool {
    let at = |m: usize| (m as u64 * ppm as u64) / 1_000_000;
    at(member + 1) > at(member)
}

/// Adds secured name `classifier` of `authority` to the oracle, owned by peer `owner` of `cloud`, who
/// registers it under its own `delegate` key with a chain valid from the start of the run to `until`
/// (roleMember, exactly this classifier: MS-PNRP §2.2.3.5.1.5.1); returns the name's index.
pub fn add_delegated_name(
    oracle: &mut Oracle,
    authority: &Identity,
    classifier: &str,
    delegate: &Arc<Identity>,
    (owner, cloud): (u32, u16),
    until: Instant,
) -> u32 {
    let name = PeerName::secured(authority.authority(), classifier).expect("generated classifiers are valid");
    let grant = Grant {
        role: CertRole::Member,
        classifiers: vec![classifier.to_string()],
    };
    let chain = CertChain::issue(authority, delegate.public_key(), &grant, Instant::ZERO, until);
    let idx = oracle.add_name(name, owner, cloud);
    let delegation = Delegation {
        identity: delegate.clone(),
        chain,
    };
    oracle.delegations.add(idx, Arc::new(delegation));
    idx
}

/// Delegations of one run.
#[derive(Debug, Default)]
pub struct Delegations {
    /// Oracle name index → the delegation its owner registers it with.
    by_name: BTreeMap<u32, Arc<Delegation>>,
    /// Root authority → every chain issued under it.
    issued: BTreeMap<[u8; 20], Vec<CertChain>>,
}

impl Delegations {
    /// Name `name` (an oracle index) is registered through `delegation`.
    pub fn add(&mut self, name: u32, delegation: Arc<Delegation>) {
        self.record(delegation.chain.clone());
        self.by_name.insert(name, delegation);
    }

    /// The delegation name `name` is registered with, if it is delegated.
    pub fn of_name(&self, name: u32) -> Option<&Arc<Delegation>> {
        self.by_name.get(&name)
    }

    /// A chain the world issued (to an honest delegate or, long expired, to an attacker).
    pub fn record(&mut self, chain: CertChain) {
        if let Some(root) = chain.root_authority() {
            self.issued.entry(root).or_default().push(chain);
        }
    }

    /// The root key of the chains issued under `authority`, if any.
    pub fn root_key(&self, authority: &[u8; 20]) -> Option<PublicKey> {
        let chain = self.issued.get(authority)?.first()?;
        chain.certs().first().map(|c| c.key.clone())
    }

    /// True when an issued chain lets `key` publish `name` at `now`: it covers the name and key, and every
    /// certificate is within its validity (MS-PNRP §3.1.5.10).
    pub fn vouches(&self, name: &PeerName, key: &PublicKey, now: Instant) -> bool {
        let t = instant_to_unix_secs(now);
        self.issued.get(&name.authority).is_some_and(|chains| {
            chains.iter().any(|c| {
                c.covers(name, key) && c.certs().iter().all(|x| x.not_before <= t && t <= x.not_after)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerlab_engine::crypto::Scheme;
    use peerlab_engine::Duration;

    #[test]
    fn delegated_members_are_the_fraction_spread_evenly() {
        let picked: Vec<usize> = (0..10).filter(|m| is_delegated(*m, 300_000)).collect();
        assert_eq!(picked, vec![3, 6, 9]);
        assert_eq!((0..1000).filter(|m| is_delegated(*m, 250_000)).count(), 250);
        assert!(!(0..50).any(|m| is_delegated(m, 0)));
        assert!((0..50).all(|m| is_delegated(m, 1_000_000)));
    }

    #[test]
    fn only_an_unexpired_issued_chain_vouches() {
        let auth = Identity::generate(Scheme::Ed25519, [1; 32]);
        let (a, b) = (
            Identity::generate(Scheme::Ed25519, [2; 32]),
            Identity::generate(Scheme::Ed25519, [3; 32]),
        );
        let grant = Grant {
            role: CertRole::Member,
            classifiers: vec!["svc".into()],
        };
        let until = Instant::ZERO + Duration::from_secs(100);
        let chain = CertChain::issue(&auth, a.public_key(), &grant, Instant::ZERO, until);
        let mut d = Delegations::default();
        d.add(
            7,
            Arc::new(Delegation {
                identity: a.clone(),
                chain,
            }),
        );
        let name = PeerName::secured(auth.authority(), "svc").unwrap();
        assert!(d.vouches(&name, a.public_key(), Instant::ZERO + Duration::from_secs(50)));
        assert!(!d.vouches(&name, a.public_key(), until + Duration::from_secs(1)));
        assert!(!d.vouches(&name, b.public_key(), Instant::ZERO));
        assert!(!d.vouches(
            &PeerName::secured(auth.authority(), "other").unwrap(),
            a.public_key(),
            Instant::ZERO
        ));
        assert!(d.of_name(7).is_some() && d.of_name(8).is_none());
        assert_eq!(d.root_key(&auth.authority()).as_ref(), Some(auth.public_key()));
    }
}
