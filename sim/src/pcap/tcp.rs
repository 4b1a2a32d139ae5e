//! pcap of TCP: one stream connection's segments as real IPv6 + TCP packets (RFC 9293 §3.1
//! header, sequence and acknowledgment numbers, SYN / SYN-ACK / ACK / FIN / RST flags, the
//! checksum over the IPv6 pseudo-header), so that Wireshark's "Follow TCP stream" and
//! `tshark -z follow,tcp,raw,0` reassemble the payload bytes.
//!
//! A [`TcpConversation`] numbers each side's bytes from its initial sequence number; every
//! segment after the SYN acknowledges everything the other side has sent so far (the stream model
//! delivers in order, so a capture written at delivery times is consistent). Data is cut into
//! segments of at most [`MSS_BYTES`]; the last segment of a message carries PSH. The window
//! field is a constant 65,535 (no window scaling option).

use super::{ipv6_checksum, PcapWriter, IPV6_HEADER_BYTES};
use crate::net::stream::{End, MSS_BYTES};
use peerlab_engine::{Endpoint, Instant};
use std::io::{self, Write};
use std::net::Ipv6Addr;

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// TCP header length without options.
pub const TCP_HEADER_BYTES: usize = 20;
/// FIN flag.
pub const FIN: u8 = 0x01;
/// SYN flag.
pub const SYN: u8 = 0x02;
/// RST flag.
pub const RST: u8 = 0x04;
/// PSH flag.
pub const PSH: u8 = 0x08;
/// ACK flag.
pub const ACK: u8 = 0x10;
/// Receive window advertised in every segment.
const WINDOW: u16 = 65_535;

/// One TCP connection's wire numbering.
#[derive(Clone, Debug)]
pub struct TcpConversation {
    /// Connector's and acceptor's endpoints.
    ends: [Endpoint; 2],
    /// Next sequence number each side sends.
    next_seq: [u32; 2],
    /// Whether each side's SYN has been sent (before it, a side acknowledges nothing).
    synced: [bool; 2],
    segment: Vec<u8>,
}

impl TcpConversation {
    /// A connection from `connector` to `acceptor` whose sides start at these initial sequence
    /// numbers.
    pub fn new(connector: Endpoint, acceptor: Endpoint, isn: [u32; 2]) -> Self {
        TcpConversation {
            ends: [connector, acceptor],
            next_seq: isn,
            synced: [false; 2],
            segment: Vec::with_capacity(TCP_HEADER_BYTES + MSS_BYTES as usize),
        }
    }

    /// The connector's SYN.
    pub fn syn<W: Write>(&mut self, w: &mut PcapWriter<W>, at: Instant) -> io::Result<()> {
        self.write(w, at, End::Connector, SYN, &[])
    }

    /// The acceptor's SYN-ACK.
    pub fn syn_ack<W: Write>(&mut self, w: &mut PcapWriter<W>, at: Instant) -> io::Result<()> {
        self.write(w, at, End::Acceptor, SYN | ACK, &[])
    }

    /// A pure ACK from `from`.
    pub fn ack<W: Write>(&mut self, w: &mut PcapWriter<W>, at: Instant, from: End) -> io::Result<()> {
        self.write(w, at, from, ACK, &[])
    }

    /// A message's bytes from `from`, in segments of at most [`MSS_BYTES`], PSH on the last.
    pub fn data<W: Write>(
        &mut self,
        w: &mut PcapWriter<W>,
        at: Instant,
        from: End,
        payload: &[u8],
    ) -> io::Result<()> {
        let mut chunks = payload.chunks(MSS_BYTES as usize).peekable();
        while let Some(c) = chunks.next() {
            let flags = if chunks.peek().is_none() { ACK | PSH } else { ACK };
            self.write(w, at, from, flags, c)?;
        }
        Ok(())
    }

    /// `from`'s FIN.
    pub fn fin<W: Write>(&mut self, w: &mut PcapWriter<W>, at: Instant, from: End) -> io::Result<()> {
        self.write(w, at, from, FIN | ACK, &[])
    }

    /// `from`'s RST (with ACK once the other side is known, as stacks send it).
    pub fn rst<W: Write>(&mut self, w: &mut PcapWriter<W>, at: Instant, from: End) -> io::Result<()> {
        let flags = if self.synced[from.peer() as usize] {
            RST | ACK
        } else {
            RST
        };
        self.write(w, at, from, flags, &[])
    }

    /// Writes one segment and advances `from`'s sequence number (SYN and FIN count one).
    fn write<W: Write>(
        &mut self,
        w: &mut PcapWriter<W>,
        at: Instant,
        from: End,
        flags: u8,
        payload: &[u8],
    ) -> io::Result<()> {
        let (i, j) = (from as usize, from.peer() as usize);
        let (src, dst) = (self.ends[i], self.ends[j]);
        let ack = if flags & ACK != 0 { self.next_seq[j] } else { 0 };
        let s = &mut self.segment;
        s.clear();
        s.extend_from_slice(&src.port.to_be_bytes());
        s.extend_from_slice(&dst.port.to_be_bytes());
        s.extend_from_slice(&self.next_seq[i].to_be_bytes());
        s.extend_from_slice(&ack.to_be_bytes());
        s.push(((TCP_HEADER_BYTES / 4) as u8) << 4);
        s.push(flags);
        s.extend_from_slice(&WINDOW.to_be_bytes());
        s.extend_from_slice(&[0, 0, 0, 0]); // checksum (below), urgent pointer
        s.extend_from_slice(payload);
        let sum = ipv6_checksum(&src.addr, &dst.addr, IPPROTO_TCP, s);
        s[16..18].copy_from_slice(&sum.to_be_bytes());
        w.write_ipv6(at, &src.addr, &dst.addr, IPPROTO_TCP, s)?;
        let consumed = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        self.next_seq[i] = self.next_seq[i].wrapping_add(consumed);
        if flags & SYN != 0 {
            self.synced[i] = true;
        }
        Ok(())
    }
}

/// A TCP segment read back from an IPv6 packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSegment {
    /// Source address and port.
    pub src: Endpoint,
    /// Destination address and port.
    pub dst: Endpoint,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// Flag bits ([`SYN`], [`ACK`], ...).
    pub flags: u8,
    /// The data.
    pub payload: Vec<u8>,
}

/// The TCP segment of an IPv6 packet whose lengths and checksum are right; `None` otherwise.
pub fn tcp6_segment(packet: &[u8]) -> Option<TcpSegment> {
    if packet.len() < IPV6_HEADER_BYTES + TCP_HEADER_BYTES || packet[0] >> 4 != 6 || packet[6] != IPPROTO_TCP
    {
        return None;
    }
    let plen = u16::from_be_bytes([packet[4], packet[5]]) as usize;
    if plen != packet.len() - IPV6_HEADER_BYTES {
        return None;
    }
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&packet[8..24]).ok()?);
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&packet[24..40]).ok()?);
    let tcp = &packet[IPV6_HEADER_BYTES..];
    let offset = usize::from(tcp[12] >> 4) * 4;
    if offset < TCP_HEADER_BYTES || offset > tcp.len() || ipv6_checksum(&src, &dst, IPPROTO_TCP, tcp) != 0 {
        return None;
    }
    let u16_at = |i: usize| u16::from_be_bytes([tcp[i], tcp[i + 1]]);
    let u32_at = |i: usize| u32::from_be_bytes([tcp[i], tcp[i + 1], tcp[i + 2], tcp[i + 3]]);
    Some(TcpSegment {
        src: Endpoint::new(src, u16_at(0)),
        dst: Endpoint::new(dst, u16_at(2)),
        seq: u32_at(4),
        ack: u32_at(8),
        flags: tcp[13],
        payload: tcp[offset..].to_vec(),
    })
}

/// The bytes tshark's "Follow TCP stream" reassembles for TCP stream `index` of the capture at
/// `path`: (first node's, second node's). Panics when tshark cannot run (tests only).
#[cfg(test)]
pub(crate) fn tshark_follow(path: &std::path::Path, index: u32) -> (Vec<u8>, Vec<u8>) {
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args(["-q", "-z", &format!("follow,tcp,raw,{index}")])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    // Raw follow output: one hex line per segment, the second node's indented by a tab.
    let (mut first, mut second) = (Vec::new(), Vec::new());
    for line in text.lines().skip_while(|l| !l.starts_with("Node 1:")).skip(1) {
        let hex = line.trim_start_matches('\t');
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let decoded = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"));
        if line.starts_with('\t') {
            second.extend(decoded);
        } else {
            first.extend(decoded);
        }
    }
    (first, second)
}

#[cfg(test)]
mod tests {
    use super::super::read_pcap;
    use super::*;

    /// A small HTTP-like conversation: handshake, a request, a 3,500-byte answer in three
    /// segments, FINs both ways.
    fn conversation() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let client = Endpoint::new("2001:db8::1".parse().unwrap(), 49_152);
        let server = Endpoint::new("2001:db8::2".parse().unwrap(), 80);
        let request = b"GET /content HTTP/1.1\r\nHost: server\r\n\r\n".to_vec();
        let answer: Vec<u8> = (0..3_500u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let mut c = TcpConversation::new(client, server, [1_000, u32::MAX - 100]);
        let ms = |k: u64| Instant::from_micros(k * 1_000);
        c.syn(&mut w, ms(0)).unwrap();
        c.syn_ack(&mut w, ms(50)).unwrap();
        c.ack(&mut w, ms(100), End::Connector).unwrap();
        c.data(&mut w, ms(100), End::Connector, &request).unwrap();
        c.data(&mut w, ms(150), End::Acceptor, &answer).unwrap();
        c.fin(&mut w, ms(151), End::Acceptor).unwrap();
        c.ack(&mut w, ms(200), End::Connector).unwrap();
        c.fin(&mut w, ms(201), End::Connector).unwrap();
        c.ack(&mut w, ms(251), End::Acceptor).unwrap();
        w.flush().unwrap();
        (w.into_inner(), request, answer)
    }

    #[test]
    fn a_conversation_reads_back_with_valid_checksums_and_numbering() {
        let (bytes, request, answer) = conversation();
        let (_, records) = read_pcap(&bytes).unwrap();
        let segs: Vec<TcpSegment> = records
            .iter()
            .map(|r| tcp6_segment(&r.data).expect("valid"))
            .collect();
        let flags: Vec<u8> = segs.iter().map(|s| s.flags).collect();
        assert_eq!(
            flags,
            [
                SYN,
                SYN | ACK,
                ACK,
                ACK | PSH,
                ACK,
                ACK,
                ACK | PSH,
                FIN | ACK,
                ACK,
                FIN | ACK,
                ACK
            ]
        );
        assert_eq!(
            (segs[0].seq, segs[1].seq, segs[1].ack),
            (1_000, u32::MAX - 100, 1_001)
        );
        // Reassemble each direction by sequence number, past the wrap of the server's numbers.
        let reassemble = |port: u16, isn: u32| -> Vec<u8> {
            let mut out = Vec::new();
            for s in segs
                .iter()
                .filter(|s| s.src.port == port && !s.payload.is_empty())
            {
                assert_eq!(s.seq, isn.wrapping_add(1 + out.len() as u32), "contiguous");
                out.extend_from_slice(&s.payload);
            }
            out
        };
        assert_eq!(reassemble(49_152, 1_000), request);
        assert_eq!(reassemble(80, u32::MAX - 100), answer);
        // The last ACKs acknowledge each FIN.
        let fin_seq = (u32::MAX - 100).wrapping_add(1 + 3_500);
        assert_eq!(segs[8].ack, fin_seq + 1);
        let mut broken = records[4].data.clone();
        *broken.last_mut().unwrap() ^= 1;
        assert_eq!(tcp6_segment(&broken), None);
    }

    /// Run with `cargo test --release -p peerlab-sim -- --ignored tshark` where tshark is installed.
    #[test]
    #[ignore = "needs tshark on PATH"]
    fn tshark_follow_tcp_stream_reassembles_both_directions() {
        let (bytes, request, answer) = conversation();
        let path = std::env::temp_dir().join(format!("peerlab-tcp-{}.pcap", std::process::id()));
        std::fs::write(&path, &bytes).unwrap();
        let (client, server) = tshark_follow(&path, 0);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(client, request);
        assert_eq!(server, answer);
    }
}
