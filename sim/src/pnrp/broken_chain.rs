//! The `broken-chain` attacker's Certificate Chains (MS-PNRP §2.2.3.5, §3.1.5.10): each claim of a victim's
//! secured name comes with a chain that must not hold, in turn one whose signatures are forged, one the
//! victim really issued but that has expired (a former delegate), and one rooted in the attacker's own key.

use super::{PCore, PnrpProtocol};
use peerlab_engine::pnrp::chain::identity_label;
use peerlab_engine::pnrp::{CertChain, CertRole, Grant};
use peerlab_engine::Duration;

impl PnrpProtocol {
    /// The broken chain attacker `peer` presents for its `claim`-th claim, of name `victim` (oracle index).
    pub(super) fn broken_chain(&mut self, core: &PCore, peer: u32, victim: u32, claim: usize) -> Vec<u8> {
        let mallory = core
            .peer(peer)
            .data
            .identity
            .clone()
            .expect("attackers have identities");
        let info = self.oracle.name(victim).clone();
        let grant = Grant {
            role: CertRole::Member,
            classifiers: vec![info.name.classifier.clone()],
        };
        let owner = core.peer(info.owner).data.identity.clone();
        let authority_key = match &owner {
            Some(id) if id.authority() == info.name.authority => Some(id.public_key().clone()),
            _ => self.oracle.delegations.root_key(&info.name.authority),
        };
        let (from, until) = (
            peerlab_engine::Instant::ZERO,
            core.now() + Duration::from_secs(86_400),
        );
        let own = CertChain::issue(&mallory, mallory.public_key(), &grant, from, until);
        match (claim % 3, authority_key, owner) {
            // The victim's root key, every certificate signed by the attacker.
            (0, Some(key), _) => {
                let mut certs = own.certs().to_vec();
                let label = identity_label(&key);
                let peer_name = info
                    .name
                    .authority
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    + ".";
                certs[0].key = key;
                for c in certs.iter_mut() {
                    c.issuer = label.clone();
                    c.issuer_alt = Some(label.clone());
                    c.peer_name = Some(peer_name.clone());
                }
                certs[0].subject = label.clone();
                certs[0].subject_alt = Some(label);
                let forged = certs.into_iter().map(|c| c.sign(&mallory)).collect();
                CertChain::from_certs(forged).der().to_vec()
            }
            // A genuine delegation from the victim that ended a second ago.
            (1, _, Some(victim_key)) if victim_key.authority() == info.name.authority => {
                let ended = peerlab_engine::Instant::ZERO
                    + core.now().saturating_since(from + Duration::from_secs(1));
                let chain = CertChain::issue(&victim_key, mallory.public_key(), &grant, from, ended);
                self.oracle.delegations.record(chain.clone());
                chain.der().to_vec()
            }
            // The attacker's own root.
            _ => own.der().to_vec(),
        }
    }
}
