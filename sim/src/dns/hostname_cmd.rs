//! `peerlab hostname NAME`: the host name of a peer name, or the peer name of a host name under
//! `pnrp.net`, as `PeerNameToPeerHostName` and `PeerHostNameToPeerName` give them.

use crate::scenario::escape;
use clap::Args;
use peerlab_engine::pnrp::hostname::{from_host_name, to_host_name, ZONE};
use peerlab_engine::pnrp::PeerName;

/// Exit code for input that is neither a convertible peer name nor a peer host name.
pub const EXIT_BAD_INPUT: u8 = 2;

/// `peerlab hostname` options.
#[derive(Debug, Args, Clone)]
pub struct HostnameArgs {
    /// A peer name (`0.classifier` or `<40 hex digits>.classifier`), or a host name under pnrp.net
    /// (anything ending in `.pnrp.net`).
    pub name: String,
    /// Read NAME as a peer name even when it ends in `.pnrp.net` (a classifier may).
    #[arg(long)]
    pub peer_name: bool,
}

/// True when `text` ends in `.pnrp.net` (any case, one final dot allowed) or is the zone itself.
fn is_host_name(text: &str) -> bool {
    let name = text.strip_suffix('.').unwrap_or(text);
    let suffix = format!(".{ZONE}");
    name.eq_ignore_ascii_case(ZONE)
        || name
            .len()
            .checked_sub(suffix.len())
            .is_some_and(|cut| name.as_bytes()[cut..].eq_ignore_ascii_case(suffix.as_bytes()))
}

/// The converted text, or an error message naming the input.
pub fn convert(text: &str, as_peer_name: bool) -> Result<String, String> {
    let shown = escape(text);
    if !as_peer_name && is_host_name(text) {
        return from_host_name(text)
            .map(|n| n.to_string())
            .map_err(|e| format!("`{shown}` is not a peer host name: {e}"));
    }
    let name = PeerName::parse(text).map_err(|e| {
        format!(
            "`{shown}` is neither a peer name ({}) nor a host name under {ZONE}; write 0.<classifier>, \
             <40 hex digits>.<classifier>, or <labels>.{ZONE}",
            // The peer-name error quotes the input as it is.
            escape(&e.to_string())
        )
    })?;
    to_host_name(&name).map_err(|e| format!("peer name `{shown}` has no host name: {e}"))
}

/// `peerlab hostname`: prints the conversion; exit 0, or 2 with a message.
pub fn hostname_command(args: &HostnameArgs) -> u8 {
    match convert(&args.name, args.peer_name) {
        Ok(out) => {
            println!("{out}");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways_by_the_suffix() {
        assert_eq!(convert("0.johndoe", false).as_deref(), Ok("johndoe.pnrp.net"));
        assert_eq!(convert("johndoe.PNRP.net.", false).as_deref(), Ok("0.johndoe"));
        let secured = "4562b4628ac54782dda52789038476237e7c7263.p";
        let host = "p.p4562b4628ac54782dda52789038476237e7c7263.pnrp.net";
        assert_eq!(convert(secured, false).as_deref(), Ok(host));
        assert_eq!(convert(host, false).as_deref(), Ok(secured));
        // A classifier ending in `.pnrp.net` needs --peer-name.
        assert_eq!(convert("0.pnrp.net", false).as_deref(), Ok("0.0"));
        assert_eq!(convert("0.pnrp.net", true).as_deref(), Ok("pnrp.net.pnrp.net"));
    }

    #[test]
    fn bad_input_gets_a_message_naming_it() {
        let e = convert("printer", false).unwrap_err();
        assert!(e.contains("`printer` is neither a peer name"), "{e}");
        let e = convert("0.my printer", false).unwrap_err();
        assert!(e.contains("has no host name") && e.contains("' '"), "{e}");
        let e = convert("a..pnrp.net", false).unwrap_err();
        assert!(
            e.contains("not a peer host name") && e.contains("empty label"),
            "{e}"
        );
        let e = convert("\u{1b}[2J.x", false).unwrap_err();
        assert!(!e.contains('\u{1b}'), "{e}");
    }
}
