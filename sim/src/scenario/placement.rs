//! Where peers sit and what they run: `[[subnet]]` tables (a LAN behind a gateway whose WAN link
//! reaches the Internet, as a distribution scenario's `[[branch]]`, whose `lan` and `wan` tables
//! they share) and the `[[peers]]` keys `subnet` and `stack`.
//!
//! A group without `subnet` sits on the open Internet beside the subnets (docs/architecture.md
//! §4 "Subnets"). `stack` lists the protocols each of the group's peers runs, bottom up, by the
//! names of the engine's registry (`engine/src/stack/registry.rs`); without it a peer runs
//! [`DEFAULT_STACK`].

use super::distribution::{Lan, Wan};
use super::names::Names;
use super::printable::excerpt;
use super::validate::{root, Validator};
use peerlab_engine::stack::ProtocolId;
use serde::{Deserialize, Serialize};

/// The stack of a group without `stack`: PNRP alone, the protocol of every scenario that names
/// no other (a `[pnrp]` table or none).
pub const DEFAULT_STACK: &[ProtocolId] = &[ProtocolId::Pnrp];

/// `[[subnet]]`: a LAN behind a gateway with a WAN link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetTable {
    /// Unique name, referred to by `[[peers]] subnet`.
    pub name: String,
    /// The LAN: one-way latency between two members, each member's access link.
    #[serde(default)]
    pub lan: Lan,
    /// The gateway's WAN link: rates each way and one-way latency to the Internet.
    pub wan: Wan,
}

impl SubnetTable {
    /// The network model's view of it (WAN queues as deep as `queue_limit_bytes`).
    pub fn to_net(&self, queue_limit_bytes: u64) -> crate::net::Subnet {
        crate::net::Subnet {
            lan_latency: self.lan.latency,
            wan: crate::net::Wan {
                latency: self.wan.latency,
                up_bps: self.wan.up.bps(),
                down_bps: self.wan.down.bps(),
                queue_limit_bytes,
            },
        }
    }
}

/// The protocols of a stack as written (`stack = ["pnrp"]`), or the default; `None` for a name
/// the registry does not know (validation reports it).
pub fn stack_of(written: Option<&[String]>) -> Option<Vec<ProtocolId>> {
    match written {
        None => Some(DEFAULT_STACK.to_vec()),
        Some(names) => names.iter().map(|n| ProtocolId::from_name(n)).collect(),
    }
}

/// The registry's protocol names, quoted, for an error's "allowed" part.
fn registered() -> String {
    ProtocolId::ALL
        .iter()
        .map(|p| format!("\"{}\"", p.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Validator<'_> {
    /// `[[subnet]]` tables, and each group's `subnet` and `stack`.
    pub(super) fn placement(&mut self) {
        let s = self.s;
        let names = Names::new(
            s.subnets.iter().map(|n| n.name.as_str()),
            "(no [[subnet]] tables are defined)",
        );
        for (i, n) in s.subnets.iter().enumerate() {
            let key = root().key("subnet").index(i);
            if names.is_repeat(&n.name, i) || n.name.trim().is_empty() || n.name.chars().any(char::is_control)
            {
                self.push(
                    key.key("name"),
                    format!("\"{}\" is taken or unprintable", excerpt(&n.name)),
                    "a unique, non-empty name without control characters",
                );
            }
            for (k, bw) in [("up", n.wan.up), ("down", n.wan.down)] {
                if bw.bps() == 0 {
                    let what = "a WAN speed of zero carries nothing";
                    self.push(key.key("wan").key(k), what, "a speed such as \"10Mbps\"");
                }
            }
            if n.lan.bandwidth.bps() == 0 {
                let what = "a LAN speed of zero carries nothing";
                self.push(key.key("lan").key("bandwidth"), what, "a speed such as \"1Gbps\"");
            }
        }
        for (i, g) in s.peers.iter().enumerate() {
            let key = root().key("peers").index(i);
            if let Some(subnet) = g.subnet.as_deref().filter(|n| !names.contains(n)) {
                self.push(
                    key.key("subnet"),
                    format!("there is no subnet \"{}\"", excerpt(subnet)),
                    names.shown().to_owned(),
                );
            }
            let Some(stack) = &g.stack else { continue };
            if stack.is_empty() {
                self.push(
                    key.key("stack"),
                    "a peer that runs nothing",
                    format!("a list of {}", registered()),
                );
            }
            let listed = Names::new(stack.iter().map(String::as_str), "");
            for (j, name) in stack.iter().enumerate() {
                if ProtocolId::from_name(name).is_none() {
                    self.push(
                        key.key("stack").index(j),
                        format!("there is no protocol \"{}\"", excerpt(name)),
                        registered(),
                    );
                } else if listed.is_repeat(name, j) {
                    self.push(
                        key.key("stack").index(j),
                        format!("\"{}\" is listed twice", excerpt(name)),
                        "each protocol once",
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_with_overrides;

    const BASE: &str = r#"name = "n"
duration = "1m"
[[subnet]]
name = "office"
wan = { up = "10Mbps", down = "20Mbps" }
[[peers]]
name = "a"
count = 2
"#;

    /// The one-line diagnostics of a scenario that does not load.
    fn errors(text: &str) -> String {
        parse_with_overrides(text, "t.toml", &[]).unwrap_err().to_string()
    }

    #[test]
    fn subnets_and_stacks_decode_with_their_defaults() {
        let text =
            format!("{BASE}subnet = \"office\"\n[[peers]]\nname = \"b\"\ncount = 1\nstack = [\"pnrp\"]\n");
        let s = parse_with_overrides(&text, "t.toml", &[]).unwrap();
        assert_eq!(s.subnets[0].lan.latency, peerlab_engine::Duration::from_millis(1));
        assert_eq!(s.subnets[0].wan.down.bps(), 20_000_000);
        assert_eq!(s.peers[0].subnet.as_deref(), Some("office"));
        assert_eq!(s.peers[1].subnet, None);
        assert_eq!(
            stack_of(s.peers[0].stack.as_deref()),
            Some(vec![ProtocolId::Pnrp])
        );
        assert_eq!(
            stack_of(s.peers[1].stack.as_deref()),
            Some(vec![ProtocolId::Pnrp])
        );
    }

    #[test]
    fn an_unknown_protocol_in_a_stack_is_named_at_its_line_and_column() {
        let e = errors(&format!("{BASE}stack = [\"pnrp\", \"gossip\"]\n"));
        assert!(e.contains("t.toml:9:18"), "{e}");
        assert!(e.contains("peers[0].stack[1]") && e.contains("\"gossip\""), "{e}");
        assert!(e.contains("\"pnrp\", \"distribution\""), "{e}");
    }

    #[test]
    fn a_group_on_a_subnet_that_does_not_exist_is_refused() {
        let e = errors(&format!("{BASE}subnet = \"lab\"\n"));
        assert!(e.contains("t.toml:9:10") && e.contains("peers[0].subnet"), "{e}");
        assert!(e.contains("no subnet \"lab\"") && e.contains("\"office\""), "{e}");
    }

    #[test]
    fn subnet_tables_are_checked_like_branches() {
        let e = errors(&BASE.replace("up = \"10Mbps\"", "up = \"0bps\""));
        assert!(e.contains("subnet[0].wan.up"), "{e}");
        let e = errors(&BASE.replace("wan = {", "wan = { speed = 1, "));
        assert!(
            e.contains("subnet[0].wan.speed") && e.contains("unknown key"),
            "{e}"
        );
        let twice =
            format!("{BASE}[[subnet]]\nname = \"office\"\nwan = {{ up = \"1Mbps\", down = \"1Mbps\" }}\n");
        assert!(errors(&twice).contains("subnet[1].name"));
    }
}
