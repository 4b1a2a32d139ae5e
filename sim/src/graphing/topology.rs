//! The neighbor graph at a sample time: degrees, connected components, diameter and mean path
//! length by breadth-first search (MS-PPGRH §3.1.7.16 leaves the topology to random additions and
//! utility pruning; these figures show what comes of it).
//!
//! Members are numbered densely `0..n`; an edge is a CONNECTED neighbor link as either end reports
//! it (links are symmetric once both ends have processed WELCOME).

use std::collections::VecDeque;

/// Up to this many members, the diameter is exact (one BFS from every member).
pub const EXACT_DIAMETER_MEMBERS: usize = 2_000;
/// Beyond it, BFS runs from this many evenly spaced members plus the farthest member each finds
/// (a double sweep): the figure is then a lower bound.
pub const DIAMETER_SOURCES: usize = 64;

/// An undirected graph over members `0..n`.
#[derive(Clone, Debug, Default)]
pub struct NeighborGraph {
    adj: Vec<Vec<u32>>,
}

/// Distances seen by the BFS runs of [`NeighborGraph::paths`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paths {
    /// Longest shortest path between two members of one component, in hops.
    pub diameter: u32,
    /// Mean shortest path over the pairs measured (same component), in hops.
    pub mean_path: f64,
    /// Whether every member was a source (else `diameter` is a lower bound).
    pub exact: bool,
}

impl NeighborGraph {
    /// `n` members, no links.
    pub fn new(n: usize) -> Self {
        NeighborGraph {
            adj: vec![Vec::new(); n],
        }
    }

    /// Adds the link `a`–`b` (self-links and repeats are ignored).
    pub fn link(&mut self, a: u32, b: u32) {
        if a == b {
            return;
        }
        for (x, y) in [(a, b), (b, a)] {
            let l = &mut self.adj[x as usize];
            if !l.contains(&y) {
                l.push(y);
            }
        }
    }

    /// Members.
    pub fn len(&self) -> usize {
        self.adj.len()
    }

    /// True with no members.
    pub fn is_empty(&self) -> bool {
        self.adj.is_empty()
    }

    /// Member `m`'s degree.
    pub fn degree(&self, m: u32) -> usize {
        self.adj[m as usize].len()
    }

    /// How many members have each degree (index = degree).
    pub fn degree_histogram(&self) -> Vec<u64> {
        let mut h = Vec::new();
        for l in &self.adj {
            if h.len() <= l.len() {
                h.resize(l.len() + 1, 0);
            }
            h[l.len()] += 1;
        }
        h
    }

    /// A component label per member (labels `0..k`, in order of each component's lowest member).
    pub fn components(&self) -> Vec<u32> {
        let mut label = vec![u32::MAX; self.adj.len()];
        let mut next = 0;
        let mut queue = VecDeque::new();
        for start in 0..self.adj.len() {
            if label[start] != u32::MAX {
                continue;
            }
            label[start] = next;
            queue.push_back(start as u32);
            while let Some(m) = queue.pop_front() {
                for &n in &self.adj[m as usize] {
                    if label[n as usize] == u32::MAX {
                        label[n as usize] = next;
                        queue.push_back(n);
                    }
                }
            }
            next += 1;
        }
        label
    }

    /// Distances from `source`: (eccentricity, farthest member, sum of distances, members reached
    /// besides the source).
    fn bfs(&self, source: u32, dist: &mut [u32], queue: &mut VecDeque<u32>) -> (u32, u32, u64, u64) {
        dist.fill(u32::MAX);
        dist[source as usize] = 0;
        queue.clear();
        queue.push_back(source);
        let (mut ecc, mut far, mut sum, mut reached) = (0, source, 0u64, 0u64);
        while let Some(m) = queue.pop_front() {
            let d = dist[m as usize];
            if d > ecc {
                (ecc, far) = (d, m);
            }
            sum += d as u64;
            for &n in &self.adj[m as usize] {
                if dist[n as usize] == u32::MAX {
                    dist[n as usize] = d + 1;
                    reached += 1;
                    queue.push_back(n);
                }
            }
        }
        (ecc, far, sum, reached)
    }

    /// Diameter and mean path length: exact up to [`EXACT_DIAMETER_MEMBERS`] members, else from
    /// [`DIAMETER_SOURCES`] evenly spaced sources and a double sweep (a lower bound).
    pub fn paths(&self) -> Paths {
        let n = self.adj.len();
        let exact = n <= EXACT_DIAMETER_MEMBERS;
        let sources: Vec<u32> = if exact {
            (0..n as u32).collect()
        } else {
            (0..DIAMETER_SOURCES)
                .map(|i| (i * n / DIAMETER_SOURCES) as u32)
                .collect()
        };
        let mut dist = vec![u32::MAX; n];
        let mut queue = VecDeque::new();
        let (mut diameter, mut sum, mut pairs) = (0u32, 0u64, 0u64);
        for s in sources {
            let (ecc, far, s_sum, reached) = self.bfs(s, &mut dist, &mut queue);
            sum += s_sum;
            pairs += reached;
            diameter = diameter.max(ecc);
            if !exact {
                diameter = diameter.max(self.bfs(far, &mut dist, &mut queue).0);
            }
        }
        Paths {
            diameter,
            mean_path: if pairs == 0 {
                0.0
            } else {
                sum as f64 / pairs as f64
            },
            exact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(n: u32) -> NeighborGraph {
        let mut g = NeighborGraph::new(n as usize);
        for i in 0..n {
            g.link(i, (i + 1) % n);
        }
        g
    }

    #[test]
    fn a_ring_has_degree_two_and_half_its_length_as_diameter() {
        let g = ring(10);
        assert_eq!(g.degree_histogram(), vec![0, 0, 10]);
        let p = g.paths();
        assert_eq!(p.diameter, 5);
        assert!(p.exact);
        // Distances from any member of a 10-ring: 1,1,2,2,3,3,4,4,5 → mean 25/9.
        assert!((p.mean_path - 25.0 / 9.0).abs() < 1e-9);
    }

    #[test]
    fn components_and_isolated_members() {
        let mut g = NeighborGraph::new(6);
        g.link(0, 1);
        g.link(1, 0); // a repeat
        g.link(2, 3);
        g.link(3, 4);
        g.link(5, 5); // a self-link
        assert_eq!(g.components(), vec![0, 0, 1, 1, 1, 2]);
        assert_eq!(g.degree_histogram(), vec![1, 4, 1]);
        assert_eq!(g.paths().diameter, 2);
    }

    #[test]
    fn large_graphs_give_a_lower_bound_that_a_path_meets() {
        let n = EXACT_DIAMETER_MEMBERS as u32 + 10;
        let mut g = NeighborGraph::new(n as usize);
        for i in 0..n - 1 {
            g.link(i, i + 1);
        }
        let p = g.paths();
        assert!(!p.exact);
        // A path's ends are found by the double sweep.
        assert_eq!(p.diameter, n - 1);
    }
}
