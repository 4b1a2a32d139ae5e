//! The stream-socket seam of the live driver: TCP connections, real (tokio) or simulated
//! (turmoil), each served by one task that moves bytes between its socket and the driver.
//!
//! The driver owns the protocol side (framing, connection ids, the node's stream events); a
//! connection task only reads bytes, writes bytes, and reports what the socket did. A reset is
//! a close with a zero linger time where the socket supports it (tokio), so the far side gets a
//! real RST; turmoil's sockets close.

use peerlab_engine::{ConnId, ConnectFailure};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Bytes a connection task reads at once.
pub const READ_CHUNK_BYTES: usize = 16 * 1024;

/// A family of TCP sockets.
pub trait TcpFamily: 'static {
    /// A connected stream.
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;
    /// A listening socket.
    type Listener: Send + 'static;
    /// Listens on `addr`.
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;
    /// Waits for the next connection.
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send + '_;
    /// Connects to `addr`.
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Aborts a connection (an RST where the socket can send one).
    fn abort(stream: Self::Stream);
}

/// tokio's real TCP sockets.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTcp;

impl TcpFamily for TokioTcp {
    type Stream = tokio::net::TcpStream;
    type Listener = tokio::net::TcpListener;
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send {
        tokio::net::TcpListener::bind(addr)
    }
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send + '_ {
        listener.accept()
    }
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send {
        tokio::net::TcpStream::connect(addr)
    }
    fn abort(stream: Self::Stream) {
        // SO_LINGER 0: closing sends an RST instead of a FIN. tokio deprecates `set_linger`
        // because a non-zero linger blocks the thread on drop; a zero linger returns at once.
        #[allow(deprecated)]
        let _ = stream.set_linger(Some(std::time::Duration::ZERO));
    }
}

/// turmoil's simulated TCP sockets.
#[derive(Debug, Clone, Copy, Default)]
pub struct TurmoilTcp;

impl TcpFamily for TurmoilTcp {
    type Stream = turmoil::net::TcpStream;
    type Listener = turmoil::net::TcpListener;
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send {
        turmoil::net::TcpListener::bind(addr)
    }
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send + '_ {
        listener.accept()
    }
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send {
        turmoil::net::TcpStream::connect(addr)
    }
    fn abort(_stream: Self::Stream) {}
}

/// What the driver tells a connection task.
#[derive(Debug)]
pub enum ToSocket {
    /// Write these bytes.
    Bytes(Vec<u8>),
    /// Send a FIN after what was written, then end.
    Close,
    /// Abort now.
    Reset,
}

/// What a connection task reports to the driver.
#[derive(Debug)]
pub enum FromSocket<S> {
    /// The connection the driver asked for is established.
    Connected(ConnId),
    /// The connection could not be established.
    ConnectFailed(ConnId, ConnectFailure),
    /// A listener accepted a connection on local `port`.
    Accepted {
        /// The connected socket (the driver starts its task).
        stream: S,
        /// The far end.
        from: SocketAddr,
        /// The local port.
        port: u16,
    },
    /// Bytes arrived.
    Bytes(ConnId, Vec<u8>),
    /// The far side closed (FIN).
    Eof(ConnId),
    /// The far side aborted, or the socket failed.
    Reset(ConnId),
}

/// The engine's reason for a failed connect.
pub fn connect_failure(e: &io::Error) -> ConnectFailure {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
        io::ErrorKind::TimedOut => ConnectFailure::TimedOut,
        _ => ConnectFailure::Unreachable,
    }
}

/// Accepts connections on `listener` forever, handing each to the driver.
pub async fn accept_loop<F: TcpFamily>(
    listener: F::Listener,
    port: u16,
    tx: mpsc::UnboundedSender<FromSocket<F::Stream>>,
) {
    loop {
        match F::accept(&listener).await {
            Ok((stream, from)) => {
                if tx.send(FromSocket::Accepted { stream, from, port }).is_err() {
                    return;
                }
            }
            // A failed accept (a connection reset before it was taken) loses only that one.
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

/// Opens a connection to `to` and serves it.
pub async fn connect<F: TcpFamily>(
    conn: ConnId,
    to: SocketAddr,
    rx: mpsc::UnboundedReceiver<ToSocket>,
    tx: mpsc::UnboundedSender<FromSocket<F::Stream>>,
) {
    match F::connect(to).await {
        Ok(stream) => {
            if tx.send(FromSocket::Connected(conn)).is_ok() {
                serve::<F>(conn, stream, rx, tx).await;
            }
        }
        Err(e) => {
            let _ = tx.send(FromSocket::ConnectFailed(conn, connect_failure(&e)));
        }
    }
}

/// Moves bytes between `stream` and the driver until either side ends the connection.
pub async fn serve<F: TcpFamily>(
    conn: ConnId,
    stream: F::Stream,
    mut rx: mpsc::UnboundedReceiver<ToSocket>,
    tx: mpsc::UnboundedSender<FromSocket<F::Stream>>,
) {
    let (mut read, mut write) = tokio::io::split(stream);
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    let mut far_closed = false;
    loop {
        tokio::select! {
            biased;
            out = rx.recv() => match out {
                Some(ToSocket::Bytes(b)) => {
                    if write.write_all(&b).await.is_err() {
                        let _ = tx.send(FromSocket::Reset(conn));
                        return;
                    }
                }
                Some(ToSocket::Close) => {
                    let _ = write.shutdown().await;
                    return;
                }
                // The driver dropped the connection (or asked for a reset).
                Some(ToSocket::Reset) | None => {
                    F::abort(read.unsplit(write));
                    return;
                }
            },
            n = read.read(&mut buf), if !far_closed => match n {
                Ok(0) => {
                    far_closed = true;
                    let _ = tx.send(FromSocket::Eof(conn));
                }
                Ok(n) => {
                    let _ = tx.send(FromSocket::Bytes(conn, buf[..n].to_vec()));
                }
                Err(_) => {
                    let _ = tx.send(FromSocket::Reset(conn));
                    return;
                }
            },
        }
    }
}
