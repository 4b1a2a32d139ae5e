//! The protocols the simulator hosts, listed in one place: a scenario names its protocol by the
//! section it carries, and [`Hosted::of`] is the only code that maps one to the other. Adding a
//! protocol adds a variant here and its arm in `Hosted::of` (docs/architecture.md §3b, "How to add
//! a protocol").

use crate::scenario::Scenario;

/// A protocol a scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hosted {
    /// PNRP (MS-PNRP), the plug-in `crate::pnrp::PnrpProtocol` in the generic world.
    Pnrp,
    /// Peer Distribution (MS-PCCRD, MS-PCCRR, MS-PCHC): the `[distribution]` section,
    /// run by `crate::dist_world`.
    Distribution,
    /// Peer Graphing (MS-PPGRH): the `[graphing]` section, the plug-in
    /// `crate::graphing::GraphingProtocol` in the generic world.
    Graphing,
}

impl Hosted {
    /// The protocol scenario `s` runs.
    pub fn of(s: &Scenario) -> Hosted {
        if s.distribution.is_some() {
            Hosted::Distribution
        } else if s.graphing.is_some() {
            Hosted::Graphing
        } else {
            Hosted::Pnrp
        }
    }
}
