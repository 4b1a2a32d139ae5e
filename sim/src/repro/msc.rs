//! One resolve drawn as a message-sequence diagram (SVG), for `peerlab replay --msc K/PEER`.
//!
//! (peerlab choice) The engine does not expose which datagrams belong to which `RequestId`, so a resolve
//! is recognised on the wire: the K-th distinct name (P2P ID, the upper 128 bits of the target)
//! that PEER sends an application LOOKUP for (`reason=app-request`, MS-PNRP §2.2.2.8). The diagram
//! holds PEER's LOOKUPs and INQUIREs naming an ID of that name, and every answer (AUTHORITY,
//! ACK) whose acked ID is one of theirs. Resolving the same name twice draws both in one diagram.

use super::trace::TraceLine;
use std::fmt::Write as _;

/// Which resolve to draw: the `k`-th (1-based) application resolve started by `peer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MscSpec {
    /// 1-based ordinal among the peer's resolves.
    pub k: usize,
    /// The resolving peer.
    pub peer: u32,
}

impl std::str::FromStr for MscSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not K/PEER (the K-th resolve started by peer PEER, e.g. `1/17`)");
        let (k, peer) = s.split_once('/').ok_or_else(bad)?;
        let k: usize = k.trim().parse().map_err(|_| bad())?;
        let peer: u32 = peer.trim().parse().map_err(|_| bad())?;
        if k == 0 {
            return Err(bad());
        }
        Ok(MscSpec { k, peer })
    }
}

/// Hex digits of the P2P ID part of a PNRP ID (its upper 128 bits).
const P2P_HEX: usize = 32;

/// The lines of resolve `spec` among `lines` (every line involving `spec.peer`), or `None` when
/// the peer started fewer resolves.
pub fn select_resolve(lines: &[TraceLine], spec: MscSpec) -> Option<Vec<TraceLine>> {
    let p = Some(spec.peer);
    let mut names: Vec<&str> = Vec::new();
    for l in lines {
        if l.dir == "send" && l.from == p && l.msg == "LOOKUP" && l.fields.contains("reason=app-request") {
            let name = l.ids.first().map(|id| &id[..P2P_HEX.min(id.len())])?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let name = *names.get(spec.k - 1)?;
    let mut ids = Vec::new();
    let mut out = Vec::new();
    let mut started = false;
    for l in lines {
        let names_it = l.ids.iter().any(|id| id.starts_with(name));
        let request = l.dir == "send" && l.from == p && matches!(l.msg, "LOOKUP" | "INQUIRE") && names_it;
        started |= request && l.msg == "LOOKUP";
        if !started {
            continue;
        }
        if request {
            ids.push(l.message_id);
            out.push(l.clone());
        } else if l.dir == "recv" && l.to == p && l.acked_id.is_some_and(|a| ids.contains(&a)) {
            out.push(l.clone());
        }
    }
    Some(out)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Draws `lines` as an SVG sequence diagram, `peer`'s lifeline first.
pub fn render_svg(lines: &[TraceLine], peer: u32, title: &str) -> String {
    let mut parts: Vec<String> = vec![peer.to_string()];
    let name_of = |p: Option<u32>, ep: &str| p.map_or_else(|| ep.to_string(), |p| p.to_string());
    for l in lines {
        for n in [name_of(l.from, &l.from_ep), name_of(l.to, &l.to_ep)] {
            if !parts.contains(&n) {
                parts.push(n);
            }
        }
    }
    const LEFT: usize = 150;
    const GAP: usize = 170;
    const TOP: usize = 70;
    const ROW: usize = 30;
    let width = LEFT + GAP * parts.len() + 40;
    let height = TOP + ROW * (lines.len() + 1) + 30;
    let x = |n: &str| LEFT + GAP * parts.iter().position(|p| p == n).unwrap_or(0) + GAP / 2;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<defs><marker id="a" markerWidth="8" markerHeight="8" refX="8" refY="4" orient="auto"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>"#
    );
    let _ = writeln!(s, r#"<text x="10" y="20" font-size="14">{}</text>"#, esc(title));
    for p in &parts {
        let px = x(p);
        let label = if p.parse::<u32>().is_ok() {
            format!("peer {p}")
        } else {
            p.clone()
        };
        let _ = writeln!(
            s,
            r##"<text x="{px}" y="{}" text-anchor="middle" font-weight="bold">{}</text><line x1="{px}" y1="{}" x2="{px}" y2="{}" stroke="#999" stroke-dasharray="4 3"/>"##,
            TOP - 16,
            esc(&label),
            TOP - 8,
            height - 20
        );
    }
    for (row, l) in lines.iter().enumerate() {
        let y = TOP + ROW * (row + 1);
        let (x1, x2) = (x(&name_of(l.from, &l.from_ep)), x(&name_of(l.to, &l.to_ep)));
        let colour = if l.dir == "send" { "#1f5fbf" } else { "#2e8b57" };
        let _ = writeln!(
            s,
            r#"<text x="10" y="{y}">{}</text><line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{colour}" marker-end="url(#a)"/>"#,
            esc(&super::fmt_time(l.t_us))
        );
        let acked = l.acked_id.map(|a| format!(" re #{a}")).unwrap_or_default();
        let label = format!("{} #{}{acked} {}", l.msg, l.message_id, l.fields);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" fill="{colour}">{}</text>"#,
            x1.min(x2) + 4,
            y - 4,
            esc(&label.chars().take(70).collect::<String>())
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(
        dir: &'static str,
        from: u32,
        to: u32,
        msg: &'static str,
        id: u32,
        acked: Option<u32>,
        target: &str,
    ) -> TraceLine {
        TraceLine {
            event: 1,
            t_us: 5,
            dir,
            from: Some(from),
            from_ep: String::new(),
            to: Some(to),
            to_ep: String::new(),
            msg,
            message_id: id,
            acked_id: acked,
            ids: vec![target.to_string()],
            fields: if msg == "LOOKUP" {
                "reason=app-request".into()
            } else {
                String::new()
            },
        }
    }

    #[test]
    fn the_kth_resolve_collects_its_requests_and_their_answers() {
        let a = format!("{}{}", "a".repeat(32), "0".repeat(32));
        let b = format!("{}{}", "b".repeat(32), "0".repeat(32));
        let lines = vec![
            line("send", 1, 2, "LOOKUP", 10, None, &a),
            line("recv", 2, 1, "AUTHORITY", 50, Some(10), ""),
            line("send", 1, 3, "LOOKUP", 11, None, &b),
            line("recv", 3, 1, "AUTHORITY", 51, Some(11), ""),
            line("send", 1, 4, "INQUIRE", 12, None, &b),
            line("recv", 4, 1, "AUTHORITY", 52, Some(12), ""),
        ];
        let second = select_resolve(&lines, MscSpec { k: 2, peer: 1 }).unwrap();
        let ids: Vec<u32> = second.iter().map(|l| l.message_id).collect();
        assert_eq!(ids, vec![11, 51, 12, 52]);
        assert!(select_resolve(&lines, MscSpec { k: 3, peer: 1 }).is_none());
        let svg = render_svg(&second, 1, "resolve 2 of peer 1");
        assert!(svg.starts_with("<svg") && svg.contains("INQUIRE #12") && svg.contains("peer 4"));
        assert_eq!(svg.matches("<line").count(), 4 + 3, "4 arrows and 3 lifelines");
    }

    #[test]
    fn specs_parse_or_explain() {
        assert_eq!("2/17".parse::<MscSpec>(), Ok(MscSpec { k: 2, peer: 17 }));
        assert!("0/17".parse::<MscSpec>().is_err());
        assert!("17".parse::<MscSpec>().is_err());
    }
}
