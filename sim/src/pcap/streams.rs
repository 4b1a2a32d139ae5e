//! The world's stream connections as TCP conversations in a pcap (`tcp.rs` numbers the bytes).
//!
//! The world reports what its engines are told (`Observer::on_stream_event`), and the capture
//! writes the segments that made it so, stamped with that event's time: `Accepted` → the SYN and
//! the SYN-ACK, `Connected` → the connector's ACK, `Received` → the message's framed bytes from
//! the far end, `Closed` → the far end's FIN and then this end's (the world closes it too),
//! `Reset` by an RST → the far end's RST, `ConnectFailed` → the SYN (and the RST of a refusal).
//! Writing at delivery time keeps every segment's acknowledgment consistent: the model delivers in
//! order. Handshake and retransmission timing is not shown (one copy of each segment, when it
//! counted), which is what Wireshark's "Follow TCP stream" needs.

use super::tcp::TcpConversation;
use super::PcapWriter;
use crate::net::stream::{End, ResetCause};
use crate::world::StreamInfo;
use peerlab_engine::{ConnectFailure, Instant, StreamEvent};
use std::collections::btree_map::{BTreeMap, Entry};
use std::io::{self, Write};

/// Conversations with their numbering, by the model's flow number.
#[derive(Default)]
pub(super) struct StreamCapture {
    conversations: BTreeMap<u64, TcpConversation>,
}

/// Initial sequence numbers of flow `flow`'s two sides: fixed per flow, spread over the space.
fn isn(flow: u64) -> [u32; 2] {
    let x = (flow as u32).wrapping_add(1).wrapping_mul(0x9e37_79b9);
    [x, x.rotate_left(16) ^ 0x5bd1_e995]
}

impl StreamCapture {
    /// The conversation of `info`'s flow, opened with its SYN and SYN-ACK if it was not yet.
    fn open<W: Write>(
        &mut self,
        w: &mut PcapWriter<W>,
        at: Instant,
        info: &StreamInfo,
    ) -> io::Result<&mut TcpConversation> {
        match self.conversations.entry(info.flow) {
            Entry::Occupied(c) => Ok(c.into_mut()),
            Entry::Vacant(v) => {
                let mut c = TcpConversation::new(info.ends[0], info.ends[1], isn(info.flow));
                c.syn(w, at)?;
                c.syn_ack(w, at)?;
                Ok(v.insert(c))
            }
        }
    }

    /// Writes what stream event `ev` at `info.end` stands for; `frame` encodes a message as its
    /// connection carries it, into `buf`.
    pub(super) fn event<M, W: Write>(
        &mut self,
        w: &mut PcapWriter<W>,
        at: Instant,
        info: &StreamInfo,
        ev: &StreamEvent<M>,
        frame: fn(&M, &mut Vec<u8>),
        buf: &mut Vec<u8>,
    ) -> io::Result<()> {
        let (here, far) = (info.end, info.end.peer());
        match ev {
            StreamEvent::Accepted { .. } => self.open(w, at, info).map(|_| ()),
            StreamEvent::Connected { .. } => self.open(w, at, info)?.ack(w, at, End::Connector),
            StreamEvent::Received { msg, .. } => {
                buf.clear();
                frame(msg, buf);
                self.open(w, at, info)?.data(w, at, far, buf)
            }
            StreamEvent::Closed { .. } => match self.conversations.remove(&info.flow) {
                Some(mut c) => {
                    c.fin(w, at, far)?;
                    c.fin(w, at, here)?;
                    c.ack(w, at, far)
                }
                None => Ok(()),
            },
            StreamEvent::Reset { .. } => match self.conversations.remove(&info.flow) {
                Some(mut c) if info.cause == Some(ResetCause::Rst) => c.rst(w, at, far),
                _ => Ok(()),
            },
            StreamEvent::ConnectFailed { reason, .. } => {
                self.conversations.remove(&info.flow);
                let mut c = TcpConversation::new(info.ends[0], info.ends[1], isn(info.flow));
                match reason {
                    ConnectFailure::Refused => {
                        c.syn(w, at)?;
                        c.rst(w, at, End::Acceptor)
                    }
                    ConnectFailure::TimedOut => c.syn(w, at),
                    ConnectFailure::Unreachable => Ok(()),
                }
            }
        }
    }
}
