//! From a validated scenario to a concrete `Plan` for one seed (docs/architecture.md §1 "expand(seed)"):
//! ranges are sampled from the `expand` stream, units become integers, files named by the scenario
//! (latency matrix, session traces) are read, and group names become indices.

use crate::churn::{Arrivals, SessionLength};
use crate::net::{
    Bandwidth as NetBandwidth, GilbertScope, Jitter as NetJitter, LatencyModel, LossModel, NetConfig,
    NodeClass,
};
use crate::plan::{
    AttackerPlan, ChecksPlan, FaultKind, FaultPlan, GroupPlan, PartitionSides, Plan, WorkloadPlan,
};
use crate::pnrp::{Behaviour, OpKind};
use crate::popularity::Popularity;
use crate::scenario::{self as sc, Scenario, Value};
use peerlab_engine::pnrp;
use peerlab_engine::{derive_seed, Duration, Instant, NodeRng};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Why a valid-looking scenario cannot be expanded (a file it names is unreadable or malformed).
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", sc::escape(file), sc::escape(what))]
pub struct ExpandError {
    /// The scenario (or the file it names).
    pub file: String,
    /// What is wrong and what is allowed.
    pub what: String,
}

/// Expands `s` (loaded from `source`) into a plan.
pub fn plan(s: &Scenario, source: &Path) -> Result<Plan, ExpandError> {
    let mut rng = NodeRng::from_seed(derive_seed(s.seed, "expand", 0));
    let err = |what: String| ExpandError {
        file: source.display().to_string(),
        what,
    };
    // Maps, not scans: a file of many groups, workloads and faults expands in near-linear time.
    let mut by_name: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, g) in s.peers.iter().enumerate() {
        by_name.entry(g.name.as_str()).or_insert(i);
    }
    let group_index = |name: &str| by_name.get(name).copied();
    let mut groups = Vec::new();
    let mut clouds: Vec<String> = Vec::new();
    let mut cloud_index: BTreeMap<&str, u16> = BTreeMap::new();
    for g in &s.peers {
        let cloud = *cloud_index.entry(g.cloud.as_str()).or_insert_with(|| {
            clouds.push(g.cloud.clone());
            // Validation allows at most u16::MAX groups (scenario::GROUPS_MAX), so of clouds.
            (clouds.len() - 1) as u16
        });
        let count = g.count.sample(&mut rng) as usize;
        let arrivals = arrivals(&g.join, &mut rng);
        let joins = arrivals
            .join_times(count, &mut rng)
            .map_err(|e| err(format!("peers `{}`: {e}", sc::excerpt(&g.name))))?;
        let session = match &g.session {
            None => None,
            Some(model) => Some(
                session(model, s, &mut rng)
                    .map_err(|e| err(format!("peers `{}`: {e}", sc::excerpt(&g.name))))?,
            ),
        };
        groups.push(GroupPlan {
            name: g.name.clone(),
            joins,
            session,
            graceful_leave: g.leave == sc::Leave::Graceful,
            rejoin_after: g.rejoin.as_ref().map(|r| r.after.sample(&mut rng)),
            secured_names: g.names.secured.sample(&mut rng) as u32,
            unsecured_names: g.names.unsecured.sample(&mut rng) as u32,
            resolve_only_ppm: s.pnrp.resolve_only.sample(&mut rng).ppm(),
            delegated_ppm: s.pnrp.delegated.sample(&mut rng).ppm(),
            seed_group: g.seed_server,
            cloud,
            friendly_name: match g.friendly_name.as_deref() {
                Some(text) => Some(
                    pnrp::FriendlyName::utf16(text)
                        .map_err(|e| err(format!("peers `{}`: {e}", sc::excerpt(&g.name))))?,
                ),
                None => None,
            },
            service_location_prefix: g.service_location_prefix.map(|a| (u128::from(a) >> 64) as u64),
            // Drawn only when given, so scenarios without payloads keep their random streams.
            payload_bytes: g.payload.as_ref().map(|v| v.sample(&mut rng).bytes() as u32),
            subnet: g
                .subnet
                .as_deref()
                .and_then(|n| s.subnets.iter().position(|x| x.name == n))
                .map(|i| i as u32),
            stack: sc::stack_of(g.stack.as_deref()).ok_or_else(|| {
                err(format!(
                    "peers `{}`: key `stack`: an unknown protocol",
                    sc::excerpt(&g.name)
                ))
            })?,
        });
    }
    let honest: u64 = groups.iter().map(|g| g.joins.len() as u64).sum();
    let groups_named = |names: &[String]| -> Result<Vec<usize>, ExpandError> {
        names
            .iter()
            .map(|n| group_index(n).ok_or_else(|| err(format!("no peer group `{}`", sc::excerpt(n)))))
            .collect()
    };
    let all_groups: Vec<usize> = (0..groups.len()).collect();
    let end = Instant::ZERO + s.duration;
    let mut workloads = Vec::new();
    for w in &s.workload {
        let from = if w.from == "all" {
            all_groups.clone()
        } else {
            groups_named(std::slice::from_ref(&w.from))?
        };
        let popularity = match &w.target {
            sc::Target::Uniform => Popularity::Uniform,
            sc::Target::Zipf { exponent } => Popularity::Zipf {
                exponent: exponent.sample(&mut rng),
            },
        };
        workloads.push(WorkloadPlan {
            kind: match w.kind {
                sc::OpKind::Resolve => OpKind::Resolve,
                sc::OpKind::Register => OpKind::Register,
                sc::OpKind::Unregister => OpKind::Unregister,
            },
            from,
            start: Instant::ZERO + w.start.sample(&mut rng),
            stop: w
                .stop
                .as_ref()
                .map_or(end, |v| Instant::ZERO + v.sample(&mut rng)),
            rate_per_s: w.rate.sample(&mut rng).per_sec_f64(),
            popularity,
            include_offline: w.include_offline,
            timeout: w.timeout.sample(&mut rng),
            payload_bytes: w.payload.as_ref().map(|v| v.sample(&mut rng).bytes() as u32),
            want_payload: w.want_payload.unwrap_or(true),
        });
    }
    let mut faults = Vec::new();
    for f in &s.fault {
        faults.push(fault(f, honest, &mut rng, &groups_named)?);
    }
    let mut attackers = Vec::new();
    for a in &s.attackers {
        let count = match (&a.count, &a.fraction) {
            (Some(c), _) => c.sample(&mut rng) as u32,
            (None, Some(f)) => f.sample(&mut rng).of(honest) as u32,
            (None, None) => 0,
        };
        attackers.push(AttackerPlan {
            count,
            behaviour: match a.behaviour {
                sc::Behaviour::ForgeCpa => Behaviour::ForgeCpa,
                sc::Behaviour::Poison => Behaviour::Poison,
                sc::Behaviour::Drop => Behaviour::Drop,
                sc::Behaviour::Replay => Behaviour::Replay,
                sc::Behaviour::BrokenChain => Behaviour::BrokenChain,
            },
            start: Instant::ZERO + a.start.sample(&mut rng),
            joins: arrivals(&a.join, &mut rng)
                .join_times(count as usize, &mut rng)
                .map_err(|e| err(format!("attackers: {e}")))?,
        });
    }
    let attacker_total = attackers.iter().map(|a| a.count).sum();
    s.pnrp
        .config
        .validate()
        .map_err(|e| err(format!("key `pnrp`: {e}")))?;
    let net = net_config(s, &groups, attacker_total, &mut rng, source)?;
    // Drawn last, so scenarios without [graphing] keep their random streams.
    let graphing = match &s.graphing {
        Some(g) => Some(Arc::new(
            crate::graphing::GraphingPlan::expand(s, g, &mut rng).map_err(err)?,
        )),
        None => None,
    };
    let queue_limit = net.queue_limit_bytes;
    Ok(Plan {
        name: s.name.clone(),
        seed: s.seed,
        duration: s.duration,
        net,
        pnrp: Arc::new(s.pnrp.config.clone()),
        scheme: s.pnrp.crypto,
        wire_bytes: s.pnrp.wire_bytes,
        seed_servers: s.pnrp.seed_servers.sample(&mut rng) as u32,
        clouds,
        groups,
        workloads,
        faults,
        attackers,
        checks: ChecksPlan {
            max_failed_ppm: s.checks.max_failed_ratio.ppm(),
            fail_on_violation: s.checks.fail_on_violation,
            liveness_within: s.checks.liveness_within,
            min_leafset_correct_ppm: s.checks.min_leafset_correct.map(|r| r.ppm()),
        },
        sample_every: s.output.sample_every,
        warmup: s.output.warmup,
        records: s.output.records,
        trace: s.output.trace,
        graphing,
        subnets: s.subnets.iter().map(|n| n.to_net(queue_limit)).collect(),
    })
}

/// Peers per group (and attackers per table) `check` expands: every error of `plan` comes from a
/// model's parameters, a group's name or a file, never from how many peers there are, so a copy
/// of the scenario with at most this many fails exactly where the whole would, without building
/// state for each of its peers (ten million of them took 15 s and 1 GB).
const CHECK_PEERS: u64 = 2;

/// Expands `s` as `plan` does, with every group and attacker count cut to `CHECK_PEERS`: what
/// `peerlab check` runs to find what would stop `peerlab run` after validation.
pub fn check(s: &Scenario, source: &Path) -> Result<Plan, ExpandError> {
    let cut = |v: &Value<u64>| match *v {
        Value::Fixed(n) => Value::Fixed(n.min(CHECK_PEERS)),
        Value::Range(lo, hi) => Value::Range(lo.min(CHECK_PEERS), hi.min(CHECK_PEERS)),
    };
    let mut small = s.clone();
    for g in &mut small.peers {
        g.count = cut(&g.count);
    }
    for a in &mut small.attackers {
        a.count = a.count.as_ref().map(cut);
    }
    plan(&small, source)
}

fn arrivals(join: &sc::Join, rng: &mut NodeRng) -> Arrivals {
    match join {
        sc::Join::AtStart => Arrivals::At(Instant::ZERO),
        sc::Join::At { at } => Arrivals::At(Instant::ZERO + at.sample(rng)),
        sc::Join::Ramp { over, start } => Arrivals::Ramp {
            start: Instant::ZERO + start.sample(rng),
            over: over.sample(rng),
        },
        sc::Join::Poisson { rate, start } => Arrivals::Poisson {
            start: Instant::ZERO + start.sample(rng),
            rate_per_sec: rate.sample(rng).per_sec_f64(),
        },
    }
}

pub(crate) fn session(model: &sc::Session, s: &Scenario, rng: &mut NodeRng) -> Result<SessionLength, String> {
    let r = match model {
        sc::Session::Exponential { mean } => SessionLength::exponential(mean.sample(rng)),
        sc::Session::Weibull { mean, shape } => SessionLength::weibull(mean.sample(rng), shape.sample(rng)),
        sc::Session::Pareto { mean, shape } => SessionLength::pareto(mean.sample(rng), shape.sample(rng)),
        sc::Session::Fixed { length } => Ok(SessionLength::fixed(length.sample(rng))),
        sc::Session::Trace { file } => SessionLength::trace(sc::read_trace(&s.resolve_path(file)?)?),
    };
    r.map_err(|e| e.to_string())
}

/// Maps group names to their indices, or says which name does not exist.
type GroupLookup<'a> = dyn Fn(&[String]) -> Result<Vec<usize>, ExpandError> + 'a;

fn fault(
    f: &sc::Fault,
    honest: u64,
    rng: &mut NodeRng,
    groups_named: &GroupLookup<'_>,
) -> Result<FaultPlan, ExpandError> {
    let count = |c: &Option<Value<u64>>, fr: &Option<Value<sc::Ratio>>, rng: &mut NodeRng| match (c, fr) {
        (Some(c), _) => c.sample(rng) as u32,
        (None, Some(f)) => f.sample(rng).of(honest) as u32,
        (None, None) => 1,
    };
    let group_list = |g: &Option<String>| {
        g.as_ref()
            .map_or(Ok(Vec::new()), |g| groups_named(std::slice::from_ref(g)))
    };
    let at = |v: &Value<Duration>, rng: &mut NodeRng| Instant::ZERO + v.sample(rng);
    Ok(match f {
        sc::Fault::Partition {
            at: t,
            heal,
            groups,
            one_way,
        } => {
            let sides = match groups {
                sc::PartitionGroups::Fractions(f) => {
                    PartitionSides::Fractions(f.iter().map(|r| r.ppm()).collect())
                }
                sc::PartitionGroups::Named(n) => PartitionSides::Groups(
                    n.iter()
                        .map(|side| groups_named(side))
                        .collect::<Result<_, _>>()?,
                ),
            };
            let label = match groups {
                sc::PartitionGroups::Fractions(f) => {
                    format!(
                        "partition {}",
                        f.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("/")
                    )
                }
                sc::PartitionGroups::Named(n) => format!(
                    "partition {}",
                    n.iter().map(|side| side.join("+")).collect::<Vec<_>>().join("/")
                ),
            };
            FaultPlan {
                kind: FaultKind::Partition {
                    sides,
                    one_way: *one_way,
                },
                at: at(t, rng),
                until: heal.as_ref().map(|h| at(h, rng)),
                label: if *one_way {
                    format!("one-way {label}")
                } else {
                    label
                },
            }
        }
        sc::Fault::Crash {
            at: t,
            count: c,
            fraction,
            group,
            restart_after,
        } => {
            let n = count(c, fraction, rng);
            FaultPlan {
                kind: FaultKind::Crash {
                    count: n,
                    groups: group_list(group)?,
                    restart_after: restart_after.as_ref().map(|r| r.sample(rng)),
                },
                at: at(t, rng),
                until: None,
                label: format!("crash {n}"),
            }
        }
        sc::Fault::AddressChange {
            at: t,
            count: c,
            fraction,
            group,
        } => {
            let n = count(c, fraction, rng);
            FaultPlan {
                kind: FaultKind::AddressChange {
                    count: n,
                    groups: group_list(group)?,
                },
                at: at(t, rng),
                until: None,
                label: format!("address change {n}"),
            }
        }
        sc::Fault::Loss { at: t, until, loss } => {
            let ppm = loss_model(loss, rng).mean_ppm();
            FaultPlan {
                kind: FaultKind::Loss { loss_ppm: ppm },
                at: at(t, rng),
                until: Some(at(until, rng)),
                label: format!("loss +{:.2}%", ppm as f64 / 1e4),
            }
        }
        sc::Fault::Latency { at: t, until, add } => {
            let add = add.sample(rng);
            FaultPlan {
                kind: FaultKind::Latency { add },
                at: at(t, rng),
                until: Some(at(until, rng)),
                label: format!("latency +{add}"),
            }
        }
    })
}

fn loss_model(loss: &sc::Loss, rng: &mut NodeRng) -> LossModel {
    match loss {
        sc::Loss::Independent { rate } => {
            let ppm = rate.sample(rng).ppm();
            if ppm == 0 {
                LossModel::None
            } else {
                LossModel::Independent { ppm }
            }
        }
        sc::Loss::GilbertElliott {
            p_good_to_bad,
            p_bad_to_good,
            loss_good,
            loss_bad,
        } => LossModel::GilbertElliott {
            p_gb_ppm: p_good_to_bad.sample(rng).ppm(),
            p_bg_ppm: p_bad_to_good.sample(rng).ppm(),
            loss_good_ppm: loss_good.sample(rng).ppm(),
            loss_bad_ppm: loss_bad.sample(rng).ppm(),
            scope: GilbertScope::PerLink,
        },
    }
}

fn net_config(
    s: &Scenario,
    groups: &[GroupPlan],
    attackers: u32,
    rng: &mut NodeRng,
    source: &Path,
) -> Result<NetConfig, ExpandError> {
    let n = &s.network;
    let latency = match &n.latency {
        sc::Latency::Matrix { file, groups: order } => {
            matrix(s, file, order.as_deref(), groups, attackers, source)?
        }
        other => {
            latency_model(other, rng).ok_or_else(|| err_at(source, "network.latency: no model".into()))?
        }
    };
    let mut cfg = NetConfig::with_latency(latency);
    cfg.jitter = match &n.jitter {
        None => NetJitter::None,
        Some(sc::Jitter::Relative(r)) => NetJitter::FractionPpm(r.sample(rng).ppm()),
        Some(sc::Jitter::Absolute(d)) => NetJitter::Absolute(d.sample(rng)),
    };
    cfg.loss = loss_model(&n.loss, rng);
    if let Some(b) = &n.bandwidth {
        (cfg.bandwidth, cfg.queue_limit_bytes) = link(b, rng);
    }
    cfg.mtu_bytes = Some(n.mtu.sample(rng) as u32);
    // A group's own latency or bandwidth makes its members a node class. Drawn after the network's
    // values so that a scenario without them expands exactly as before.
    for (g, plan) in s.peers.iter().zip(groups) {
        // A group on a subnet without a link of its own gets the subnet's LAN link.
        let lan = plan.subnet.map(|i| s.subnets[i as usize].lan.bandwidth.bps());
        let class = if g.latency.is_none() && g.bandwidth.is_none() && lan.is_none() {
            0
        } else {
            let latency = match &g.latency {
                None => None,
                Some(l) => Some(latency_model(l, rng).ok_or_else(|| {
                    err_at(
                        source,
                        format!(
                            "peers `{}`: key `latency`: a group cannot have a matrix model; allowed: constant, uniform, internet",
                            g.name
                        ),
                    )
                })?),
            };
            let lan = lan.map(|bps| {
                let rates = crate::net::Bandwidth {
                    up_bps: bps,
                    down_bps: bps,
                };
                (rates, cfg.queue_limit_bytes)
            });
            cfg.classes.push(NodeClass::new(
                latency,
                g.bandwidth.as_ref().map(|b| link(b, rng)).or(lan),
            ));
            cfg.classes.len() as u16
        };
        cfg.node_class
            .extend(std::iter::repeat_n(class, plan.joins.len()));
    }
    if cfg.classes.is_empty() {
        cfg.node_class.clear();
    }
    Ok(cfg)
}

fn err_at(source: &Path, what: String) -> ExpandError {
    ExpandError {
        file: source.display().to_string(),
        what,
    }
}

/// A non-matrix latency model with its ranges drawn; `None` for a matrix (it needs the groups).
fn latency_model(l: &sc::Latency, rng: &mut NodeRng) -> Option<LatencyModel> {
    Some(match l {
        sc::Latency::Constant { value } => LatencyModel::Constant(value.sample(rng)),
        sc::Latency::Uniform { min, max } => LatencyModel::Uniform {
            min: min.sample(rng),
            max: max.sample(rng),
        },
        sc::Latency::Internet { median, tail } => LatencyModel::Internet {
            median: median.sample(rng),
            tail: tail.sample(rng),
        },
        sc::Latency::Matrix { .. } => return None,
    })
}

/// A group's access link: rates (an absent one is unlimited) and queue limit.
fn link(b: &sc::LinkBandwidth, rng: &mut NodeRng) -> (NetBandwidth, u64) {
    let rates = NetBandwidth {
        up_bps: b.up.as_ref().map_or(0, |v| v.sample(rng).bps()),
        down_bps: b.down.as_ref().map_or(0, |v| v.sample(rng).bps()),
    };
    (rates, b.queue.sample(rng).bytes())
}

/// Reads a latency matrix CSV: one row per group, milliseconds, rows and columns in `order`.
fn matrix(
    s: &Scenario,
    file: &str,
    order: Option<&[String]>,
    groups: &[GroupPlan],
    attackers: u32,
    source: &Path,
) -> Result<LatencyModel, ExpandError> {
    let path = s.resolve_path(file).map_err(|what| ExpandError {
        file: source.display().to_string(),
        what,
    })?;
    let e = |what: String| ExpandError {
        file: sc::escape(&path.display().to_string()),
        what,
    };
    let table = sc::read_matrix(&path).map_err(e)?;
    let names: Vec<String> = match order {
        Some(o) => o.to_vec(),
        None => groups.iter().map(|g| g.name.clone()).collect(),
    };
    if table.len() != names.len() || table.iter().any(|r| r.len() != names.len()) {
        return Err(e(format!(
            "the matrix must be {0}×{0} (one row and column per group: {1}); it is {2} rows",
            names.len(),
            sc::excerpt(&names.join(", ")),
            table.len()
        )));
    }
    let mut row_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        row_of.entry(n.as_str()).or_insert(i);
    }
    let mut node_group = Vec::new();
    for g in groups {
        let idx = row_of.get(g.name.as_str()).copied().ok_or_else(|| ExpandError {
            file: source.display().to_string(),
            what: format!(
                "network.latency.groups does not list peer group `{}`",
                sc::excerpt(&g.name)
            ),
        })?;
        node_group.extend(std::iter::repeat_n(idx as u16, g.joins.len()));
    }
    // Attackers sit in the first group's region.
    node_group.extend(std::iter::repeat_n(0u16, attackers as usize));
    Ok(LatencyModel::Matrix { table, node_group })
}

/// The `config.json` written beside every run: the scenario as parsed, the seed, where it came from
/// and the one-line replay command.
pub fn config_json(s: &Scenario, plan: &Plan, source: &Path, replay: &str) -> String {
    let groups: Vec<serde_json::Value> = plan
        .groups
        .iter()
        .map(|g| {
            serde_json::json!({
                "name": g.name,
                "count": g.joins.len(),
                "first_join_s": g.joins.first().map(|t| t.since_epoch().as_secs_f64()),
                "last_join_s": g.joins.last().map(|t| t.since_epoch().as_secs_f64()),
            })
        })
        .collect();
    let v = serde_json::json!({
        "source_path": source.display().to_string(),
        "replay": replay,
        "seed": plan.seed,
        "description": s.description,
        "peerlab_version": env!("CARGO_PKG_VERSION"),
        "scenario": s,
        // Every point MS-PNRP leaves open, by section, with the variant this run used.
        "choices": match &s.graphing {
            Some(g) => serde_json::json!(g.choices()),
            None => serde_json::json!(s.pnrp.choices()),
        },
        "expanded": {
            "groups": groups,
            "attackers": plan.attackers.iter().map(|a| serde_json::json!({"count": a.count, "behaviour": a.behaviour.name()})).collect::<Vec<_>>(),
            "seed_servers": plan.seed_servers,
            "clouds": plan.clouds,
        },
    });
    serde_json::to_string_pretty(&v).expect("config serializes")
}
