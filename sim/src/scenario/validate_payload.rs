//! Validation of the extended-payload keys: `[[peers]].payload`, `[[workload]].payload` (registrations)
//! and `[[workload]].want_payload` (resolves). A payload holds 1 to 4,096 bytes (MS-PNRP §2.2.3.3).

use super::activity::OpKind;
use super::spans::KeyPath;
use super::units::ByteSize;
use super::validate::{root, Validator};
use super::value::Value;
use peerlab_engine::pnrp::payload::PAYLOAD_BINARY_MAX;

/// What the size keys allow, for messages.
const SIZE_ALLOWED: &str =
    "a size from 1B to 4096B (4KiB), the most an extended payload holds (MS-PNRP §2.2.3.3)";

impl Validator<'_> {
    /// Every payload key: sizes in range, each key on the operation it applies to.
    pub(super) fn payloads(&mut self) {
        for (i, g) in self.s.peers.iter().enumerate() {
            if let Some(size) = &g.payload {
                self.payload_size(root().key("peers").index(i).key("payload"), size);
            }
        }
        for (i, w) in self.s.workload.iter().enumerate() {
            let key = root().key("workload").index(i);
            if let Some(size) = &w.payload {
                if w.kind == OpKind::Register {
                    self.payload_size(key.key("payload"), size);
                } else {
                    self.push(
                        key.key("payload"),
                        "only registrations attach a payload",
                        "this key on a `kind = \"register\"` workload (a resolve asks for one with `want_payload`)",
                    );
                }
            }
            if w.want_payload.is_some() && w.kind != OpKind::Resolve {
                self.push(
                    key.key("want_payload"),
                    "only resolves ask for a payload",
                    "this key on a `kind = \"resolve\"` workload",
                );
            }
        }
    }

    /// A payload size (every value of a range) within 1 to 4,096 bytes.
    fn payload_size(&mut self, key: KeyPath, size: &Value<ByteSize>) {
        let (lo, hi) = (size.lo().bytes(), size.hi().bytes());
        if lo == 0 || hi > PAYLOAD_BINARY_MAX as u64 {
            self.push(key, format!("`{size}` is out of range"), SIZE_ALLOWED);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse;

    const BASE: &str = r#"
name = "p"
duration = "10m"

[[peers]]
name = "peers"
count = 10
"#;

    fn issues(extra: &str) -> String {
        match parse(&format!("{BASE}{extra}"), "p.toml") {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn payload_keys_are_accepted_where_they_apply() {
        let ok = "payload = \"4KB\"\n\n[[workload]]\nkind = \"register\"\nrate = \"1/s\"\npayload = \"1..4096\"\n\n[[workload]]\nkind = \"resolve\"\nrate = \"1/s\"\nwant_payload = false\n";
        assert_eq!(issues(ok), "");
    }

    #[test]
    fn payload_sizes_and_misplaced_keys_name_file_line_and_key() {
        let e = issues("payload = \"5KB\"\n");
        assert!(
            e.contains("p.toml:8:11: key `peers[0].payload`: `5KB` is out of range"),
            "{e}"
        );
        assert!(e.contains("4096B"), "{e}");
        let e = issues("payload = \"0B\"\n");
        assert!(e.contains("key `peers[0].payload`"), "{e}");
        let e = issues("\n[[workload]]\nkind = \"resolve\"\nrate = \"1/s\"\npayload = \"1KB\"\n");
        assert!(
            e.contains("p.toml:12:11: key `workload[0].payload`: only registrations"),
            "{e}"
        );
        let e = issues("\n[[workload]]\nkind = \"register\"\nrate = \"1/s\"\nwant_payload = true\n");
        assert!(e.contains("key `workload[0].want_payload`: only resolves"), "{e}");
        let e = issues("payload = \"1KB..8KB\"\n");
        assert!(e.contains("`1KB..8KB` is out of range"), "{e}");
    }
}
