//! AUTHORITY fragment reassembly (MS-PNRP §3.1.5.6, §3.1.5.2), keyed by (Message ID, source endpoint).
//! Bounded in contexts and in total buffered bytes (MS-PNRP §3.1.5.6, peerlab choice).

use super::message::{Authority, AUTHORITY_BUFFER_MAX, AUTHORITY_FRAGMENT_MAX};
use crate::Endpoint;
use std::collections::BTreeMap;

/// What one fragment did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragment {
    /// The buffer is complete: its bytes.
    Complete(Vec<u8>),
    /// More fragments are needed.
    Partial,
    /// The fragment was invalid or could not be stored (reason for the drop counter).
    Dropped(&'static str),
}

#[derive(Clone, Debug)]
struct Context {
    acked_id: u32,
    size: usize,
    buf: Vec<u8>,
    got: u32,
    received: usize,
}

/// The Reassembly List.
#[derive(Clone, Debug)]
pub struct Reassembly {
    contexts: BTreeMap<(u32, Endpoint), Context>,
    bytes: usize,
    max_contexts: usize,
    max_bytes: usize,
}

impl Reassembly {
    /// An empty list holding at most `max_contexts` contexts and `max_bytes` bytes.
    pub fn new(max_contexts: usize, max_bytes: usize) -> Self {
        Reassembly {
            contexts: BTreeMap::new(),
            bytes: 0,
            max_contexts,
            max_bytes,
        }
    }

    /// Number of open contexts.
    pub fn len(&self) -> usize {
        self.contexts.len()
    }

    /// True when no context is open.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.contexts.is_empty()
    }

    /// Bytes buffered by all contexts.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Takes one fragment from `from` (MS-PNRP §3.1.5.6 receiving rules, MS-PNRP §3.1.5.2 AUTHORITY checks).
    pub fn add(&mut self, from: Endpoint, a: &Authority) -> Fragment {
        let size = a.size as usize;
        let offset = a.offset as usize;
        let len = a.fragment.len();
        if size == 0 || size > AUTHORITY_BUFFER_MAX {
            return Fragment::Dropped("authority_size");
        }
        if !offset.is_multiple_of(AUTHORITY_FRAGMENT_MAX) || offset + len > size {
            return Fragment::Dropped("authority_offset");
        }
        // Every fragment but the last is exactly 1,188 bytes (MS-PNRP §2.2.2.6).
        if len != AUTHORITY_FRAGMENT_MAX.min(size - offset) {
            return Fragment::Dropped("authority_fragment_len");
        }
        if offset == 0 && len == size {
            return Fragment::Complete(a.fragment.to_vec());
        }
        let key = (a.message_id, from);
        if !self.contexts.contains_key(&key) {
            if self.contexts.len() >= self.max_contexts || self.bytes + size > self.max_bytes {
                return Fragment::Dropped("reassembly_full");
            }
            self.bytes += size;
            let ctx = Context {
                acked_id: a.acked_id,
                size,
                buf: vec![0; size],
                got: 0,
                received: 0,
            };
            self.contexts.insert(key, ctx);
        }
        let Some(ctx) = self.contexts.get_mut(&key) else {
            return Fragment::Dropped("reassembly_full");
        };
        if ctx.size != size || ctx.acked_id != a.acked_id {
            // MS-PNRP §3.1.5.6: a Size differing from the context's drops the datagram and the whole context.
            self.discard(key);
            return Fragment::Dropped("authority_size_mismatch");
        }
        let bit = 1u32 << (offset / AUTHORITY_FRAGMENT_MAX);
        if ctx.got & bit == 0 {
            ctx.buf[offset..offset + len].copy_from_slice(&a.fragment);
            ctx.got |= bit;
            ctx.received += len;
        }
        if ctx.received == ctx.size {
            let ctx = self.contexts.remove(&key).map(|c| {
                self.bytes -= c.size;
                c.buf
            });
            return ctx.map_or(Fragment::Dropped("reassembly_full"), Fragment::Complete);
        }
        Fragment::Partial
    }

    fn discard(&mut self, key: (u32, Endpoint)) {
        if let Some(c) = self.contexts.remove(&key) {
            self.bytes -= c.size;
        }
    }

    /// Deletes the contexts answering `acked_id` (its LOOKUP/INQUIRE timed out or finished, MS-PNRP
    /// §3.1.5.6).
    pub fn purge_acked(&mut self, acked_id: u32) {
        let keys: Vec<_> = self
            .contexts
            .iter()
            .filter(|(_, c)| c.acked_id == acked_id)
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.discard(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;
    use std::sync::Arc;

    fn frag(size: usize, offset: usize, bytes: &[u8]) -> Authority {
        Authority {
            message_id: 9,
            acked_id: 4,
            size: size as u16,
            offset: offset as u16,
            fragment: Arc::from(bytes),
        }
    }

    #[test]
    fn fragments_reassemble_in_any_order() {
        let ep = Endpoint::new(Ipv6Addr::LOCALHOST, 5000);
        let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        let mut r = Reassembly::new(4, 100_000);
        assert_eq!(r.add(ep, &frag(3000, 2376, &data[2376..])), Fragment::Partial);
        assert_eq!(r.add(ep, &frag(3000, 0, &data[..1188])), Fragment::Partial);
        assert_eq!(
            r.add(ep, &frag(3000, 0, &data[..1188])),
            Fragment::Partial,
            "duplicates are harmless"
        );
        assert_eq!(
            r.add(ep, &frag(3000, 1188, &data[1188..2376])),
            Fragment::Complete(data.clone())
        );
        assert!(r.is_empty());
        assert_eq!(r.bytes(), 0);
    }

    #[test]
    fn bad_fragments_are_dropped_and_bounds_hold() {
        let ep = Endpoint::new(Ipv6Addr::LOCALHOST, 5000);
        let mut r = Reassembly::new(1, 100_000);
        assert_eq!(
            r.add(ep, &frag(100, 0, &[0; 100])),
            Fragment::Complete(vec![0; 100])
        );
        assert_eq!(
            r.add(ep, &frag(3000, 5, &[0; 10])),
            Fragment::Dropped("authority_offset")
        );
        assert_eq!(
            r.add(ep, &frag(3000, 0, &[0; 10])),
            Fragment::Dropped("authority_fragment_len")
        );
        assert_eq!(
            r.add(ep, &frag(40_000, 0, &[0; 1188])),
            Fragment::Dropped("authority_size")
        );
        assert_eq!(r.add(ep, &frag(3000, 0, &[0; 1188])), Fragment::Partial);
        let other = Endpoint::new(Ipv6Addr::LOCALHOST, 5001);
        assert_eq!(
            r.add(other, &frag(3000, 0, &[0; 1188])),
            Fragment::Dropped("reassembly_full")
        );
        assert_eq!(
            r.add(ep, &frag(2500, 1188, &[0; 1188])),
            Fragment::Dropped("authority_size_mismatch")
        );
        assert!(r.is_empty());
        assert_eq!(r.add(ep, &frag(3000, 0, &[0; 1188])), Fragment::Partial);
        r.purge_acked(4);
        assert!(r.is_empty());
    }
}
