//! The content server (origin): publishes content, hashes it in the background and serves content
//! information, whole bodies and missing-data ranges (MS-PCCRTP §3.2; Win32 `PeerDistServer*` API).

use super::config::DistConfig;
use super::content::{compute_info_with, unit_data, ContentInfo, ContentSpec};
use super::info_codec;
use super::message::{DistMessage, OriginMessage};
use crate::{Duration, Endpoint, Instant, Node, RequestId, Transmit};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// What an application asks the origin to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCommand {
    /// Publish content (Win32 `PeerDistServerPublishStream`); hashing starts per `hash_on_publish`.
    Publish {
        /// The content.
        spec: ContentSpec,
    },
    /// Stop serving content (`PeerDistServerUnpublish`).
    Unpublish {
        /// Content id.
        content: u64,
    },
}

/// What the origin reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerEvent {
    /// The command completed.
    Done {
        /// The command's id.
        request: RequestId,
        /// False when publishing existing or unpublishing unknown content.
        ok: bool,
    },
    /// Content information became available (MS-PCCRTP §3.2 \[W\]: later requests get peerdist).
    HashesReady {
        /// Content id.
        content: u64,
        /// Encoded content-information bytes.
        info_len: usize,
        /// Publication to readiness.
        hashing_time: Duration,
    },
}

/// Origin counters (WAN accounting happens in the network; these are the server's view).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Requests for content information answered with it.
    pub info_responses: u64,
    /// Requests answered with the whole body because hashes were not ready.
    pub full_bodies: u64,
    /// Missing-data range requests answered.
    pub range_responses: u64,
    /// Entity bytes sent in full bodies and ranges.
    pub content_bytes: u64,
    /// Content-information bytes sent.
    pub info_bytes: u64,
    /// Requests answered 404.
    pub not_found: u64,
}

#[derive(Debug)]
enum HashState {
    Unhashed,
    Hashing { since: Instant },
    Ready(Arc<ContentInfo>),
}

#[derive(Debug)]
struct Published {
    spec: ContentSpec,
    state: HashState,
}

/// The origin content server as a sans-IO node.
#[derive(Debug)]
pub struct ContentServer {
    cfg: DistConfig,
    me: Endpoint,
    published: BTreeMap<u64, Published>,
    timers: BTreeMap<(Instant, u64), u64>,
    next_id: u64,
    transmits: VecDeque<Transmit<DistMessage>>,
    events: VecDeque<ServerEvent>,
    /// Counters.
    pub stats: ServerStats,
}

impl ContentServer {
    /// An origin at `me` with the given configuration.
    pub fn new(me: Endpoint, cfg: DistConfig) -> Self {
        ContentServer {
            cfg,
            me,
            published: BTreeMap::new(),
            timers: BTreeMap::new(),
            next_id: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: ServerStats::default(),
        }
    }
    /// This server's endpoint.
    pub fn endpoint(&self) -> Endpoint {
        self.me
    }
    /// The content information of published content, once hashed.
    pub fn info(&self, content: u64) -> Option<Arc<ContentInfo>> {
        match &self.published.get(&content)?.state {
            HashState::Ready(i) => Some(i.clone()),
            _ => None,
        }
    }

    fn start_hashing(&mut self, now: Instant, content: u64) {
        let Some(p) = self.published.get_mut(&content) else {
            return;
        };
        if matches!(p.state, HashState::Unhashed) {
            p.state = HashState::Hashing { since: now };
            let micros = p.spec.size.saturating_mul(1_000_000) / self.cfg.hash_rate_bytes_per_sec.max(1);
            self.next_id += 1;
            self.timers
                .insert((now + Duration::from_micros(micros), self.next_id), content);
        }
    }

    fn send(&mut self, to: Endpoint, msg: OriginMessage) {
        self.transmits.push_back(Transmit {
            to,
            msg: DistMessage::Origin(Arc::new(msg)),
        });
    }

    fn on_get(&mut self, now: Instant, from: Endpoint, tag: u64, content: u64) {
        let Some(p) = self.published.get(&content) else {
            self.stats.not_found += 1;
            return self.send(from, OriginMessage::NotFound { tag, content });
        };
        let spec = p.spec;
        if let HashState::Ready(info) = &p.state {
            let info = info.clone();
            self.stats.info_responses += 1;
            self.stats.info_bytes += info_codec::encoded_len(&info) as u64;
            return self.send(
                from,
                OriginMessage::Info {
                    tag,
                    content,
                    size: spec.size,
                    info,
                },
            );
        }
        // MS-PCCRTP §3.2 [W]: the first request starts hashing; it and every request during hashing get the
        // plain body.
        self.start_hashing(now, content);
        self.stats.full_bodies += 1;
        self.stats.content_bytes += spec.size;
        let data = match self.cfg.data_mode {
            super::DataMode::Real => Some(Arc::from(spec.bytes(0, spec.size))),
            super::DataMode::Modeled => None,
        };
        self.send(
            from,
            OriginMessage::Body {
                tag,
                content,
                size: spec.size,
                data,
            },
        );
    }

    fn on_range(&mut self, from: Endpoint, tag: u64, content: u64, segment: u32, first: u32, count: u32) {
        let units = self.published.get(&content).and_then(|p| match &p.state {
            HashState::Ready(info) => {
                let seg = info.segments.get(segment as usize)?;
                let end = first
                    .checked_add(count)
                    .filter(|&e| first >= seg.first_block && e <= seg.listed_units().end && count > 0)?;
                let bytes: u64 = (first..end).map(|u| seg.unit_len(u) as u64).sum();
                if bytes > self.cfg.origin_range_max_bytes.max(seg.block_size as u64) {
                    return None;
                }
                (first..end)
                    .map(|u| unit_data(&p.spec, info, self.cfg.data_mode, segment as usize, u))
                    .collect()
            }
            _ => None,
        });
        match units {
            Some(units) => {
                let units: Vec<_> = units;
                self.stats.range_responses += 1;
                self.stats.content_bytes += units.iter().map(|u| u.len() as u64).sum::<u64>();
                self.send(
                    from,
                    OriginMessage::Range {
                        tag,
                        content,
                        segment,
                        first,
                        units,
                    },
                );
            }
            None => {
                self.stats.not_found += 1;
                self.send(from, OriginMessage::NotFound { tag, content });
            }
        }
    }
}

impl Node for ContentServer {
    type Message = DistMessage;
    type Command = ServerCommand;
    type Event = ServerEvent;

    fn handle_message(&mut self, now: Instant, from: Endpoint, msg: DistMessage) {
        let DistMessage::Origin(m) = msg else { return };
        match *m {
            OriginMessage::Get { tag, content } => self.on_get(now, from, tag, content),
            OriginMessage::GetRange {
                tag,
                content,
                segment,
                first,
                count,
            } => self.on_range(from, tag, content, segment, first, count),
            _ => {}
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        while let Some((&(at, seq), &content)) = self.timers.iter().next() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, seq));
            let Some(p) = self.published.get_mut(&content) else {
                continue;
            };
            let HashState::Hashing { since } = p.state else {
                continue;
            };
            let info = compute_info_with(
                &p.spec,
                self.cfg.info_version,
                self.cfg.content_hash(),
                self.cfg.data_mode,
                self.cfg.passphrase.as_bytes(),
            );
            let info_len = info_codec::encoded_len(&info);
            p.state = HashState::Ready(Arc::new(info));
            self.events.push_back(ServerEvent::HashesReady {
                content,
                info_len,
                hashing_time: now.saturating_since(since),
            });
        }
    }

    fn handle_command(&mut self, now: Instant, cmd: ServerCommand) -> RequestId {
        self.next_id += 1;
        let request = RequestId(self.next_id);
        let ok = match cmd {
            ServerCommand::Publish { spec } => {
                let fresh = !self.published.contains_key(&spec.id);
                if fresh {
                    self.published.insert(
                        spec.id,
                        Published {
                            spec,
                            state: HashState::Unhashed,
                        },
                    );
                    if self.cfg.hash_on_publish {
                        self.start_hashing(now, spec.id);
                    }
                }
                fresh
            }
            ServerCommand::Unpublish { content } => self.published.remove(&content).is_some(),
        };
        self.events.push_back(ServerEvent::Done { request, ok });
        request
    }

    fn poll_transmit(&mut self) -> Option<Transmit<DistMessage>> {
        self.transmits.pop_front()
    }

    fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timers.keys().next().map(|(at, _)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::content::InfoVersion;
    use std::net::Ipv6Addr;

    fn get(s: &mut ContentServer, now: Instant, tag: u64) -> OriginMessage {
        let client = Endpoint::new(Ipv6Addr::LOCALHOST, 9);
        s.handle_message(
            now,
            client,
            DistMessage::Origin(Arc::new(OriginMessage::Get { tag, content: 1 })),
        );
        let t = s.poll_transmit().expect("an answer");
        assert_eq!(t.to, client);
        let DistMessage::Origin(m) = t.msg else {
            panic!("origin answer")
        };
        (*m).clone()
    }

    #[test]
    fn first_requests_get_the_body_until_hashes_are_ready() {
        let cfg = DistConfig {
            hash_rate_bytes_per_sec: 1_000_000,
            info_version: InfoVersion::V1,
            ..Default::default()
        };
        let mut s = ContentServer::new(Endpoint::new(Ipv6Addr::LOCALHOST, 80), cfg);
        let r = s.handle_command(
            Instant::ZERO,
            ServerCommand::Publish {
                spec: ContentSpec { id: 1, size: 200_000 },
            },
        );
        assert_eq!(s.poll_event(), Some(ServerEvent::Done { request: r, ok: true }));
        assert!(s.poll_timeout().is_none(), "Windows hashes on first request");
        let t1 = Instant::from_micros(10);
        assert!(
            matches!(get(&mut s, t1, 1), OriginMessage::Body { size: 200_000, data: Some(d), .. } if d.len() == 200_000)
        );
        let ready = s.poll_timeout().expect("hashing timer");
        assert_eq!(ready, t1 + Duration::from_millis(200));
        assert!(matches!(
            get(&mut s, t1 + Duration::from_millis(100), 2),
            OriginMessage::Body { .. }
        ));
        s.handle_timeout(ready);
        assert!(matches!(
            s.poll_event(),
            Some(ServerEvent::HashesReady {
                content: 1,
                info_len: 230,
                ..
            })
        ));
        let OriginMessage::Info { info, .. } = get(&mut s, ready, 3) else {
            panic!("expected content info")
        };
        assert_eq!(info.unit_count(), 4);
        let client = Endpoint::new(Ipv6Addr::LOCALHOST, 9);
        let range = OriginMessage::GetRange {
            tag: 4,
            content: 1,
            segment: 0,
            first: 2,
            count: 2,
        };
        s.handle_message(ready, client, DistMessage::Origin(Arc::new(range)));
        let DistMessage::Origin(m) = s.poll_transmit().expect("answer").msg else {
            panic!("origin answer")
        };
        let OriginMessage::Range { units, .. } = &*m else {
            panic!("expected a range")
        };
        assert_eq!(units.iter().map(|u| u.len()).sum::<u32>(), 200_000 - 2 * 65_536);
        let bad = OriginMessage::GetRange {
            tag: 5,
            content: 1,
            segment: 0,
            first: 3,
            count: 2,
        };
        s.handle_message(ready, client, DistMessage::Origin(Arc::new(bad)));
        assert!(
            matches!(s.poll_transmit().map(|t| t.msg), Some(DistMessage::Origin(m)) if matches!(*m, OriginMessage::NotFound { .. }))
        );
        assert_eq!(s.stats.full_bodies, 2);
    }
}
