//! `peerlab run --pcap FILE`: a world observer writing every datagram (IPv6 + UDP) and every
//! stream connection (IPv6 + TCP, `streams.rs`) of a run to a pcap file, for any protocol given
//! its codec.

use super::streams::StreamCapture;
use super::PcapWriter;
use crate::addr;
use crate::world::{Observer, Protocol, StreamInfo, World};
use peerlab_engine::pnrp::{self, Message};
use peerlab_engine::{Endpoint, Instant, StreamEvent};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;
use std::sync::{Arc, Mutex};

/// How a protocol's messages look on the wire.
pub struct Codec<M> {
    /// A datagram's bytes (the UDP payload).
    pub datagram: fn(&M, &mut Vec<u8>),
    /// A stream message's bytes as framed on its connection (the TCP payload).
    pub frame: fn(&M, &mut Vec<u8>),
}

impl<M> Clone for Codec<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Codec<M> {}

/// PNRP's codec (MS-PNRP §2.2); PNRP runs over datagrams only.
fn pnrp_codec() -> Codec<Message> {
    Codec {
        datagram: pnrp::wire::encode,
        frame: pnrp::wire::encode,
    }
}

/// What a [`PcapObserver`] did, readable after the run (the observer itself lives in the world).
#[derive(Debug, Default, Clone)]
pub struct PcapStatus {
    /// Records written.
    pub records: u64,
    /// Datagrams and stream events left out by the node filter.
    pub filtered_out: u64,
    /// The first write error, if any (later packets are skipped).
    pub error: Option<String>,
}

/// A world observer that writes every transmitted datagram and every stream connection's
/// segments to a pcap file.
pub struct PcapObserver<M> {
    writer: PcapWriter<BufWriter<File>>,
    nodes: Option<BTreeSet<u32>>,
    payload: Vec<u8>,
    status: Arc<Mutex<PcapStatus>>,
    codec: Codec<M>,
    streams: StreamCapture,
}

impl PcapObserver<Message> {
    /// Creates `path` for a PNRP run; with `nodes`, only traffic of those peer indices is kept.
    pub fn create(path: &Path, nodes: Option<&[u32]>) -> io::Result<(Self, Arc<Mutex<PcapStatus>>)> {
        Self::with_codec(path, nodes, pnrp_codec())
    }
}

impl<M> PcapObserver<M> {
    /// Creates `path` for a protocol whose messages `codec` encodes; with `nodes`, only traffic
    /// sent by or addressed to those peer indices is kept.
    pub fn with_codec(
        path: &Path,
        nodes: Option<&[u32]>,
        codec: Codec<M>,
    ) -> io::Result<(Self, Arc<Mutex<PcapStatus>>)> {
        let writer = PcapWriter::new(BufWriter::with_capacity(
            1 << 16,
            peerlab_reports::output::create_file(path)?,
        ))?;
        let status = Arc::new(Mutex::new(PcapStatus::default()));
        let obs = PcapObserver {
            writer,
            nodes: nodes.map(|n| n.iter().copied().collect()),
            payload: Vec::with_capacity(2048),
            status: status.clone(),
            codec,
            streams: StreamCapture::default(),
        };
        Ok((obs, status))
    }

    fn keep(&self, from: Option<u32>, to: &Endpoint) -> bool {
        match &self.nodes {
            None => true,
            Some(set) => {
                from.is_some_and(|f| set.contains(&f))
                    || addr::peer_of_addr(&to.addr).is_some_and(|(i, _)| set.contains(&i))
            }
        }
    }

    fn status(&self) -> std::sync::MutexGuard<'_, PcapStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether to write: the filter keeps it and no write failed yet.
    fn admit(&mut self, from: Option<u32>, to: &Endpoint) -> bool {
        if !self.keep(from, to) {
            self.status().filtered_out += 1;
            return false;
        }
        self.status().error.is_none()
    }

    fn written(&mut self, result: io::Result<()>) {
        let records = self.writer.records();
        let mut s = self.status();
        match result {
            Ok(()) => s.records = records,
            Err(e) => {
                if s.error.is_none() {
                    s.error = Some(e.to_string());
                }
            }
        }
    }
}

impl<M> Observer<M> for PcapObserver<M> {
    fn on_transmit(&mut self, now: Instant, _event: u64, from: u32, src: Endpoint, to: Endpoint, msg: &M) {
        if !self.admit(Some(from), &to) {
            return;
        }
        self.payload.clear();
        (self.codec.datagram)(msg, &mut self.payload);
        let result = self.writer.write_udp(now, src, to, &self.payload);
        self.written(result);
    }

    fn on_stream_event(
        &mut self,
        now: Instant,
        _event: u64,
        _to: u32,
        info: &StreamInfo,
        ev: &StreamEvent<M>,
    ) {
        let connector = addr::peer_of_addr(&info.ends[0].addr).map(|(i, _)| i);
        if !self.admit(connector, &info.ends[1]) {
            return;
        }
        let result = self.streams.event(
            &mut self.writer,
            now,
            info,
            ev,
            self.codec.frame,
            &mut self.payload,
        );
        self.written(result);
    }
}

impl<M> Drop for PcapObserver<M> {
    fn drop(&mut self) {
        let result = self.writer.flush();
        self.written(result);
    }
}

/// `peerlab run --pcap FILE [--pcap-nodes ...]` for a PNRP run.
pub fn attach(
    world: &mut crate::pnrp::PnrpWorld,
    args: &crate::cli::RunArgs,
) -> Result<Option<Arc<Mutex<PcapStatus>>>, u8> {
    attach_with(world, args, pnrp_codec())
}

/// `peerlab run --pcap FILE [--pcap-nodes ...]`: installs the observer on `world`, whose
/// protocol's messages `codec` encodes; exit code 2 when the file cannot be created.
pub fn attach_with<P: Protocol>(
    world: &mut World<P>,
    args: &crate::cli::RunArgs,
    codec: Codec<P::Message>,
) -> Result<Option<Arc<Mutex<PcapStatus>>>, u8> {
    let Some(path) = &args.pcap else { return Ok(None) };
    let peers = world.peer_count();
    if let Some(bad) = args.pcap_nodes.iter().find(|&&i| i as usize >= peers) {
        // A filter naming no peer would write an empty capture without a word.
        eprintln!(
            "error: --pcap-nodes: peer {bad} does not exist; allowed: peer indices 0 to {} (this scenario has {peers} peers)",
            peers.saturating_sub(1)
        );
        return Err(crate::run::EXIT_BAD_INPUT);
    }
    let nodes = (!args.pcap_nodes.is_empty()).then_some(args.pcap_nodes.as_slice());
    match PcapObserver::with_codec(path, nodes, codec) {
        Ok((obs, status)) => {
            world.add_observer(Box::new(obs));
            Ok(Some(status))
        }
        Err(e) => {
            eprintln!("error: cannot create {}: {e}", path.display());
            Err(crate::run::EXIT_BAD_INPUT)
        }
    }
}

/// After the run (the world, and with it the observer, is gone): says what was written.
pub fn report(
    status: Option<Arc<Mutex<PcapStatus>>>,
    args: &crate::cli::RunArgs,
    quiet: bool,
) -> Result<(), u8> {
    let (Some(status), Some(path)) = (status, &args.pcap) else {
        return Ok(());
    };
    let s = status.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(e) = s.error {
        eprintln!("error: writing {}: {e}", path.display());
        return Err(crate::run::EXIT_BAD_INPUT);
    }
    if !quiet {
        println!("pcap: {} packets written to {}", s.records, path.display());
    }
    Ok(())
}
