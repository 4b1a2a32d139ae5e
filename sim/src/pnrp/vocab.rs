//! PNRP's scenario vocabulary: the operations its workloads start and the attacks its attackers
//! run.

/// Operation kinds a workload generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    /// Resolve a registered name.
    Resolve,
    /// Register one more name.
    Register,
    /// Unregister one name.
    Unregister,
}

impl OpKind {
    /// The name used in records and summaries.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Resolve => "resolve",
            OpKind::Register => "register",
            OpKind::Unregister => "unregister",
        }
    }
}

/// Attacker behaviours.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Behaviour {
    /// Claims names it holds no key for.
    ForgeCpa,
    /// Answers LOOKUPs with invented entries near the target.
    Poison,
    /// Swallows traffic it should forward or answer.
    Drop,
    /// Re-sends stale or revoked CPAs.
    Replay,
    /// Claims names with broken Certificate Chains (bad signature, expired, another authority's root).
    BrokenChain,
}

impl Behaviour {
    /// The scenario spelling.
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::ForgeCpa => "forge-cpa",
            Behaviour::Poison => "poison",
            Behaviour::Drop => "drop",
            Behaviour::Replay => "replay",
            Behaviour::BrokenChain => "broken-chain",
        }
    }
}
