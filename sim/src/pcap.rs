//! pcap export of simulated traffic: every datagram a peer transmits, encoded with the
//! protocol's real codec (MS-PNRP's for PNRP), wrapped in IPv6 + UDP headers with correct
//! checksums, and every stream connection as TCP segments (`tcp.rs`), stamped with simulated
//! time, in a classic pcap file (LINKTYPE_RAW) that tshark and Wireshark open.
//!
//! Wireshark's PNRP dissector binds to UDP port 3540 (MS-PNRP §1.9), which is the port every
//! simulated peer uses (`addr::PNRP_PORT`). Timestamps are simulated microseconds since the run's
//! epoch, shown as seconds after 1970-01-01.

use peerlab_engine::{Endpoint, Instant};
use std::io::{self, Write};
use std::net::Ipv6Addr;

mod observer;
mod streams;
pub mod tcp;

pub use observer::{attach, attach_with, report, Codec, PcapObserver, PcapStatus};

/// pcap magic for microsecond timestamps, written little-endian.
pub const PCAP_MAGIC: u32 = 0xa1b2_c3d4;
/// LINKTYPE_RAW: each record starts with an IP header (IPv4 or IPv6 by its version nibble).
pub const LINKTYPE_RAW: u32 = 101;
/// Snapshot length written in the header (the largest IPv6 payload plus its header).
pub const SNAPLEN: u32 = 65_575;
/// IPv6 header length.
pub const IPV6_HEADER_BYTES: usize = 40;
/// UDP header length.
pub const UDP_HEADER_BYTES: usize = 8;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// Hop limit written in every IPv6 header.
const HOP_LIMIT: u8 = 64;

/// Writes pcap records of IPv6/UDP datagrams.
pub struct PcapWriter<W: Write> {
    out: W,
    packet: Vec<u8>,
    records: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the global header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&PCAP_MAGIC.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone: timestamps are UTC
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&SNAPLEN.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            packet: Vec::with_capacity(2048),
            records: 0,
        })
    }

    /// Writes one UDP datagram from `src` to `dst` carrying `payload`, at simulated time `at`.
    pub fn write_udp(&mut self, at: Instant, src: Endpoint, dst: Endpoint, payload: &[u8]) -> io::Result<()> {
        let udp_len = UDP_HEADER_BYTES + payload.len();
        let udp_len16 = u16::try_from(udp_len)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "datagram larger than 65,527 bytes"))?;
        let p = &mut self.packet;
        p.clear();
        ipv6_header(p, udp_len16, IPPROTO_UDP, &src.addr, &dst.addr);
        // UDP header (RFC 768); checksum filled below.
        p.extend_from_slice(&src.port.to_be_bytes());
        p.extend_from_slice(&dst.port.to_be_bytes());
        p.extend_from_slice(&udp_len16.to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        let sum = udp6_checksum(&src.addr, &dst.addr, &p[IPV6_HEADER_BYTES..]);
        p[IPV6_HEADER_BYTES + 6..IPV6_HEADER_BYTES + 8].copy_from_slice(&sum.to_be_bytes());
        self.write_record(at)
    }

    /// Writes an IPv6 packet from `src` to `dst` whose payload is `transport` (a complete
    /// transport header and data, checksum included) of protocol `next_header`.
    pub fn write_ipv6(
        &mut self,
        at: Instant,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        next_header: u8,
        transport: &[u8],
    ) -> io::Result<()> {
        let len = u16::try_from(transport.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "IPv6 payload larger than 65,535 bytes",
            )
        })?;
        self.packet.clear();
        ipv6_header(&mut self.packet, len, next_header, src, dst);
        self.packet.extend_from_slice(transport);
        self.write_record(at)
    }

    /// Writes the packet in `self.packet` as one record stamped `at`.
    fn write_record(&mut self, at: Instant) -> io::Result<()> {
        let p = &self.packet;
        let us = at.as_micros();
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((us / 1_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(p.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(p.len() as u32).to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(p)?;
        self.records += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The sink, after the records written.
    pub fn into_inner(self) -> W {
        self.out
    }

    /// Flushes the sink.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Appends an IPv6 header (RFC 8200 §3: version 6, traffic class 0, flow label 0).
fn ipv6_header(p: &mut Vec<u8>, payload_len: u16, next_header: u8, src: &Ipv6Addr, dst: &Ipv6Addr) {
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&payload_len.to_be_bytes());
    p.push(next_header);
    p.push(HOP_LIMIT);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
}

/// The UDP checksum over the IPv6 pseudo-header (RFC 8200 §8.1) and `udp` (header + payload,
/// checksum field zero). IPv6 forbids a zero checksum, so a computed 0 is sent as 0xffff.
pub fn udp6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, udp: &[u8]) -> u16 {
    match ipv6_checksum(src, dst, IPPROTO_UDP, udp) {
        0 => 0xffff,
        s => s,
    }
}

/// The Internet checksum (RFC 1071) of an upper-layer packet `data` (its checksum field zero)
/// over the IPv6 pseudo-header (RFC 8200 §8.1) for protocol `next_header`.
pub fn ipv6_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, data: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |bytes: &[u8]| {
        for c in bytes.chunks(2) {
            let hi = c[0] as u64;
            let lo = c.get(1).copied().unwrap_or(0) as u64;
            sum += (hi << 8) | lo;
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(data.len() as u32).to_be_bytes());
    add(&[0, 0, 0, next_header]);
    add(data);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// One record read back from a pcap file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapRecord {
    /// Timestamp, microseconds.
    pub t_us: u64,
    /// The captured bytes (an IPv6 packet for LINKTYPE_RAW).
    pub data: Vec<u8>,
}

/// Why a pcap file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PcapError {
    /// The global header is missing or not ours.
    #[error("bad pcap header: {0}")]
    Header(String),
    /// A record runs past the end of the file.
    #[error("record {index} is truncated")]
    Truncated {
        /// Record index.
        index: usize,
    },
}

/// Reads a little-endian microsecond pcap file (as written here): link type and records.
pub fn read_pcap(bytes: &[u8]) -> Result<(u32, Vec<PcapRecord>), PcapError> {
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    if bytes.len() < 24 {
        return Err(PcapError::Header("shorter than 24 bytes".into()));
    }
    if u32_at(bytes, 0) != PCAP_MAGIC {
        return Err(PcapError::Header(format!("magic {:#x}", u32_at(bytes, 0))));
    }
    let linktype = u32_at(bytes, 20);
    let mut records = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        let index = records.len();
        if at + 16 > bytes.len() {
            return Err(PcapError::Truncated { index });
        }
        let (sec, usec, incl) = (
            u32_at(bytes, at),
            u32_at(bytes, at + 4),
            u32_at(bytes, at + 8) as usize,
        );
        let start = at + 16;
        let end = start.checked_add(incl).filter(|e| *e <= bytes.len());
        let Some(end) = end else {
            return Err(PcapError::Truncated { index });
        };
        records.push(PcapRecord {
            t_us: sec as u64 * 1_000_000 + usec as u64,
            data: bytes[start..end].to_vec(),
        });
        at = end;
    }
    Ok((linktype, records))
}

/// The UDP payload of an IPv6/UDP packet whose lengths and checksum are right; `None` otherwise.
pub fn udp6_payload(packet: &[u8]) -> Option<&[u8]> {
    if packet.len() < IPV6_HEADER_BYTES + UDP_HEADER_BYTES || packet[0] >> 4 != 6 || packet[6] != IPPROTO_UDP
    {
        return None;
    }
    let plen = u16::from_be_bytes([packet[4], packet[5]]) as usize;
    if plen != packet.len() - IPV6_HEADER_BYTES {
        return None;
    }
    let udp = &packet[IPV6_HEADER_BYTES..];
    if u16::from_be_bytes([udp[4], udp[5]]) as usize != udp.len() {
        return None;
    }
    let src = Ipv6Addr::from(<[u8; 16]>::try_from(&packet[8..24]).ok()?);
    let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&packet[24..40]).ok()?);
    let mut zeroed = udp.to_vec();
    zeroed[6] = 0;
    zeroed[7] = 0;
    let want = udp6_checksum(&src, &dst, &zeroed);
    (u16::from_be_bytes([udp[6], udp[7]]) == want).then_some(&udp[UDP_HEADER_BYTES..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_a_known_packet() {
        // A UDP datagram 2001:db8::1:1234 → 2001:db8::2:3540 carrying "hi", checksum computed by
        // hand: the one's complement sum of pseudo-header, header and data.
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let udp = [0x04, 0xd2, 0x0d, 0xd4, 0x00, 0x0a, 0, 0, b'h', b'i'];
        let sum = udp6_checksum(&src, &dst, &udp);
        // Verifying: summing everything including the checksum gives 0xffff.
        let mut with = udp.to_vec();
        with[6..8].copy_from_slice(&sum.to_be_bytes());
        let mut total: u64 = 0;
        for b in [
            &src.octets()[..],
            &dst.octets()[..],
            &[0, 0, 0, 10, 0, 0, 0, 17],
            &with[..],
        ] {
            for c in b.chunks(2) {
                total += ((c[0] as u64) << 8) | c.get(1).copied().unwrap_or(0) as u64;
            }
        }
        while total > 0xffff {
            total = (total & 0xffff) + (total >> 16);
        }
        assert_eq!(total, 0xffff);
    }

    #[test]
    fn written_records_read_back_with_valid_checksums() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        let a = Endpoint::new("2001:db8::1".parse().unwrap(), 3540);
        let b = Endpoint::new("2001:db8::2".parse().unwrap(), 3540);
        w.write_udp(Instant::from_micros(1_500_000), a, b, b"odd")
            .unwrap();
        w.write_udp(Instant::from_micros(2_000_001), b, a, &[0u8; 100])
            .unwrap();
        let bytes = w.out.clone();
        let (lt, recs) = read_pcap(&bytes).unwrap();
        assert_eq!(lt, LINKTYPE_RAW);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].t_us, 1_500_000);
        assert_eq!(udp6_payload(&recs[0].data), Some(&b"odd"[..]));
        assert_eq!(udp6_payload(&recs[1].data).map(|p| p.len()), Some(100));
        let mut broken = recs[0].data.clone();
        *broken.last_mut().unwrap() ^= 1;
        assert_eq!(udp6_payload(&broken), None);
        assert!(read_pcap(&bytes[..bytes.len() - 1]).is_err());
    }
}
