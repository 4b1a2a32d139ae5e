//! The datagram-socket seam of the live driver: one trait, implemented for tokio's real UDP socket
//! and for turmoil's simulated one, so the same driver runs on a network and in a simulation
//! (docs/architecture.md §4 "Live drivers").
//!
//! The engine speaks IPv6 only (MS-PNRP §1.3.3, peerlab choice: IPv4 peers are IPv4-mapped `::ffff:a.b.c.d`
//! inside route entries and endpoint arrays); [`endpoint_of`] and [`socket_addr_of`] translate at
//! this edge, so an IPv4 socket sends to a plain `SocketAddrV4`.

use peerlab_engine::Endpoint;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// An unconnected datagram socket the driver can receive from and send to.
///
/// `recv_from` must be cancel safe (the driver polls it inside a `select!`): losing the race must
/// not lose a datagram. Both tokio's and turmoil's sockets guarantee that.
pub trait DatagramSocket {
    /// Waits for the next datagram; returns its length and its source.
    fn recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a;
    /// Sends one datagram to `to`.
    fn send_to<'a>(&'a self, buf: &'a [u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>> + 'a;
    /// The address the socket is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}

impl DatagramSocket for tokio::net::UdpSocket {
    fn recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a {
        tokio::net::UdpSocket::recv_from(self, buf)
    }
    fn send_to<'a>(&'a self, buf: &'a [u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>> + 'a {
        tokio::net::UdpSocket::send_to(self, buf, to)
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        tokio::net::UdpSocket::local_addr(self)
    }
}

impl DatagramSocket for turmoil::net::UdpSocket {
    fn recv_from<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + 'a {
        turmoil::net::UdpSocket::recv_from(self, buf)
    }
    fn send_to<'a>(&'a self, buf: &'a [u8], to: SocketAddr) -> impl Future<Output = io::Result<usize>> + 'a {
        turmoil::net::UdpSocket::send_to(self, buf, to)
    }
    fn local_addr(&self) -> io::Result<SocketAddr> {
        turmoil::net::UdpSocket::local_addr(self)
    }
}

/// The engine endpoint of a socket address: IPv4 becomes IPv4-mapped IPv6 (MS-PNRP §1.3.3).
pub fn endpoint_of(addr: SocketAddr) -> Endpoint {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    Endpoint::new(ip, addr.port())
}

/// The socket address to send to for an engine endpoint: IPv4-mapped addresses go back to IPv4.
pub fn socket_addr_of(ep: Endpoint) -> SocketAddr {
    match ep.addr.to_ipv4_mapped() {
        Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, ep.port)),
        None => SocketAddr::V6(SocketAddrV6::new(ep.addr, ep.port, 0, 0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_round_trips_through_the_mapped_form() {
        let a: SocketAddr = "127.0.0.1:3540".parse().unwrap();
        let ep = endpoint_of(a);
        assert_eq!(ep.addr, "::ffff:127.0.0.1".parse::<std::net::Ipv6Addr>().unwrap());
        assert_eq!(socket_addr_of(ep), a);
    }

    #[test]
    fn ipv6_stays_ipv6() {
        let a: SocketAddr = "[::1]:40000".parse().unwrap();
        let ep = endpoint_of(a);
        assert_eq!(ep.addr, std::net::Ipv6Addr::LOCALHOST);
        assert_eq!(socket_addr_of(ep), a);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tokio_socket_sends_and_receives_on_loopback() {
        let a = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = DatagramSocket::local_addr(&b).unwrap();
        DatagramSocket::send_to(&a, b"pnrp", to).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = DatagramSocket::recv_from(&b, &mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pnrp");
        assert_eq!(from, DatagramSocket::local_addr(&a).unwrap());
    }
}
