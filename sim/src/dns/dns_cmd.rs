//! `peerlab dns --via CONTROL`: a DNS server for the `pnrp.net` zone on one address the user
//! names (UDP and TCP), answering from PNRP resolves through a running `peerlab node`.
//!
//! Default address 127.0.0.1:5300: loopback, unprivileged, and clear of mDNS's 5353. Point a
//! resolver at it for `pnrp.net` only (systemd-resolved: `DNS=127.0.0.1:5300`, `Domains=~pnrp.net`;
//! dnsmasq: `server=/pnrp.net/127.0.0.1#5300`). Exit codes: 0 after Ctrl-C, 2 for bad flags or an
//! address that cannot be bound.

use super::front::{Front, FrontConfig};
use crate::live::control::RESOLVE_TIMEOUT_MAX_MS;
use crate::live::node_cmd::{run_to_exit, say};
use clap::Args;
use hickory_server::Server;
use peerlab_engine::pnrp::hostname::ZONE;
use peerlab_engine::Duration;
use std::net::SocketAddr;

/// Where `peerlab dns` answers unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5300";
/// Exit code for bad flags or an address that cannot be bound.
pub const EXIT_BAD_INPUT: u8 = 2;
/// A TCP connection that sends no query for this long is closed.
pub const TCP_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Responses queued per TCP connection.
pub const TCP_RESPONSES_QUEUED: usize = 16;
/// Longest TTL a record may have (RFC 2181 §8: 2^31 - 1 seconds).
pub const TTL_MAX_S: u64 = (1 << 31) - 1;

/// `peerlab dns` options.
#[derive(Debug, Args, Clone)]
pub struct DnsArgs {
    /// Control address of the `peerlab node` that resolves (its `--control`).
    #[arg(long, value_name = "ADDR")]
    pub via: SocketAddr,
    /// Address to answer on, UDP and TCP (port 0 = any free port); only this address is bound.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Longest TTL of an answer; shorter when the CPA found expires sooner.
    #[arg(long, default_value = "60s")]
    pub max_ttl: Duration,
    /// Deadline of the PNRP resolve behind each query.
    #[arg(long, default_value = "4s")]
    pub resolve_timeout: Duration,
}

/// The front's settings from the flags, or what is wrong with them.
pub fn front_config(args: &DnsArgs) -> Result<FrontConfig, String> {
    let ttl_s = args.max_ttl.as_micros() / 1_000_000;
    if ttl_s > TTL_MAX_S {
        return Err(format!(
            "--max-ttl {}: at most {TTL_MAX_S} s (RFC 2181 §8)",
            args.max_ttl
        ));
    }
    let timeout_ms = args.resolve_timeout.as_millis();
    if !(1..=RESOLVE_TIMEOUT_MAX_MS).contains(&timeout_ms) {
        return Err(format!(
            "--resolve-timeout {}: between 1 ms and {} s",
            args.resolve_timeout,
            RESOLVE_TIMEOUT_MAX_MS / 1000
        ));
    }
    Ok(FrontConfig {
        via: args.via,
        max_ttl_s: ttl_s as u32,
        resolve_timeout_ms: timeout_ms,
    })
}

/// `peerlab dns`.
pub fn dns_command(args: &DnsArgs) -> u8 {
    let config = match front_config(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "warning: --listen {}: not a loopback address; anyone who reaches it makes this node resolve names",
            args.listen
        );
    }
    run_to_exit(serve(args.listen, config))
}

/// Binds UDP and TCP on `listen`, answers until Ctrl-C.
async fn serve(listen: SocketAddr, config: FrontConfig) -> Result<(), String> {
    let udp = tokio::net::UdpSocket::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on udp {listen}: {e}"))?;
    let local = udp.local_addr().map_err(|e| format!("udp {listen}: {e}"))?;
    let tcp = tokio::net::TcpListener::bind(local)
        .await
        .map_err(|e| format!("cannot listen on tcp {local}: {e}"))?;
    let mut server = Server::new(Front::new(config));
    server.register_socket(udp);
    server.register_listener(tcp, TCP_IDLE_TIMEOUT, TCP_RESPONSES_QUEUED);
    say(&format!(
        "dns listening udp={local} tcp={local} zone={ZONE} via={} max_ttl={}s",
        config.via, config.max_ttl_s
    ));
    let stop = server.shutdown_token().clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            say("interrupted: stopping");
            stop.cancel();
        }
    });
    server
        .block_until_done()
        .await
        .map_err(|e| format!("the dns server stopped: {e}"))?;
    say("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(max_ttl: &str, timeout: &str) -> DnsArgs {
        DnsArgs {
            via: "127.0.0.1:3541".parse().unwrap(),
            listen: DEFAULT_LISTEN.parse().unwrap(),
            max_ttl: max_ttl.parse().unwrap(),
            resolve_timeout: timeout.parse().unwrap(),
        }
    }

    #[test]
    fn flags_are_checked_against_their_ranges() {
        let c = front_config(&args("60s", "4s")).unwrap();
        assert_eq!((c.max_ttl_s, c.resolve_timeout_ms), (60, 4_000));
        assert!(front_config(&args("0s", "4s")).is_ok());
        let e = front_config(&args("100000d", "4s")).unwrap_err();
        assert!(e.contains("--max-ttl"), "{e}");
        let e = front_config(&args("60s", "0s")).unwrap_err();
        assert!(e.contains("--resolve-timeout"), "{e}");
        assert!(front_config(&args("60s", "121s")).is_err());
    }
}
