//! Bandwidth shared max-min fairly among the active stream directions (processor sharing over
//! several links), generalising the Peer Distribution world's one-link `PsLink`.
//!
//! Each direction of a connection that has bytes to send is *active* on the links of its path
//! (`subnet::PathLinks`). Rates are max-min fair, by progressive filling: the link whose capacity
//! divided by its unfixed directions is smallest fixes those directions at that share, its
//! capacity is spent, and the next tightest link follows. A direction's rate is therefore its
//! bottleneck share: two directions on a 10 Mbps link get 5 Mbps each, a third joining makes it
//! 3.33 each; a direction also limited to 2 Mbps elsewhere leaves 8 Mbps to the other. Links of
//! rate 0 are unlimited; a direction with no limited link sends at once ([`UNLIMITED`]).
//!
//! Rates are recomputed whenever the active set changes: O(directions × links) per change, fine
//! for the hundreds of concurrent flows peerlab's worlds hold. Work is kept in units of 10⁻⁹ bit
//! (a rate in bit/s serves `rate` units per ns), so runs reproduce exactly.

use crate::net::LinkId;
use std::collections::BTreeMap;

/// The rate of a direction whose path has no limited link.
pub(crate) const UNLIMITED: u64 = u64::MAX;

/// Work of `bytes` in 10⁻⁹ bit.
pub(crate) fn work(bytes: u64) -> u128 {
    u128::from(bytes) * 8 * 1_000_000_000
}

/// Nanoseconds a direction at `rate_bps` needs for `left` units of work (rounded up).
pub(crate) fn ns_for(left: u128, rate_bps: u64) -> u64 {
    if rate_bps == UNLIMITED || left == 0 {
        return 0;
    }
    u64::try_from(left.div_ceil(u128::from(rate_bps))).unwrap_or(u64::MAX)
}

/// Max-min fair rates (bit/s) of directions crossing `paths`, given each link's capacity in bit/s
/// (0 = unlimited). Deterministic: ties between equally tight links break by [`LinkId`] order.
pub(crate) fn max_min_rates(paths: &[&[LinkId]], capacity: impl Fn(LinkId) -> u64) -> Vec<u64> {
    // Per limited link: remaining capacity and the unfixed directions on it.
    let mut links: BTreeMap<LinkId, (u128, Vec<usize>)> = BTreeMap::new();
    for (i, p) in paths.iter().enumerate() {
        for &l in p.iter() {
            let cap = capacity(l);
            if cap > 0 {
                links
                    .entry(l)
                    .or_insert_with(|| (u128::from(cap), Vec::new()))
                    .1
                    .push(i);
            }
        }
    }
    let mut rates = vec![UNLIMITED; paths.len()];
    let mut fixed = vec![false; paths.len()];
    loop {
        // The tightest link: least share per unfixed direction (compared as fractions).
        let tightest = links
            .iter()
            .filter(|(_, (_, on))| !on.is_empty())
            .min_by(|(_, (ca, a)), (_, (cb, b))| (ca * b.len() as u128).cmp(&(cb * a.len() as u128)));
        let Some((&link, (cap, on))) = tightest else {
            break;
        };
        let share = cap / on.len() as u128;
        let rate = u64::try_from(share).unwrap_or(UNLIMITED - 1).max(1);
        let now_fixed: Vec<usize> = on.clone();
        for &i in &now_fixed {
            fixed[i] = true;
            rates[i] = rate;
            for l in paths[i].iter() {
                if let Some((c, list)) = links.get_mut(l) {
                    *c = c.saturating_sub(share);
                    list.retain(|&j| j != i);
                }
            }
        }
        links.remove(&link);
    }
    debug_assert!(rates.iter().zip(&fixed).all(|(r, f)| *f || *r == UNLIMITED));
    rates
}

#[cfg(test)]
mod tests {
    use super::*;
    use LinkId::{Down, Up};

    const MBPS: u64 = 1_000_000;

    #[test]
    fn two_flows_halve_a_link_and_a_third_takes_a_third() {
        let cap = |l: LinkId| if l == Up(0) { 10 * MBPS } else { 0 };
        let p = [Up(0), Down(1)];
        let q = [Up(0), Down(2)];
        let r = [Up(0), Down(3)];
        assert_eq!(max_min_rates(&[&p], cap), vec![10 * MBPS]);
        assert_eq!(max_min_rates(&[&p, &q], cap), vec![5 * MBPS; 2]);
        assert_eq!(max_min_rates(&[&p, &q, &r], cap), vec![3_333_333; 3]);
    }

    #[test]
    fn a_flow_limited_elsewhere_leaves_the_rest_to_the_others() {
        let cap = |l: LinkId| match l {
            Up(0) => 10 * MBPS,
            Down(2) => 2 * MBPS,
            _ => 0,
        };
        let a = [Up(0), Down(1)];
        let b = [Up(0), Down(2)];
        let c = [Up(3), Down(1)];
        assert_eq!(
            max_min_rates(&[&a, &b, &c], cap),
            vec![8 * MBPS, 2 * MBPS, UNLIMITED]
        );
    }

    #[test]
    fn transmission_time_rounds_up() {
        // 1,500 bytes at 10 Mbps: 1.2 ms.
        assert_eq!(ns_for(work(1_500), 10 * MBPS), 1_200_000);
        assert_eq!(ns_for(work(1), 3), 2_666_666_667);
        assert_eq!(ns_for(work(9), UNLIMITED), 0);
    }
}
