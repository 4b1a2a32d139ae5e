//! Every Peer Distribution constant and \[CHOICE\]/\[AMBIG\] knob, with its specification default
//! (or Windows' where the text leaves it open); a scenario's `[distribution]` table overrides any of them.

use super::content::{DataMode, InfoVersion};
use super::hash::{HashAlgo, V1Hash};
use super::pccrr::CryptoAlgo;
use crate::Duration;
use serde::{Deserialize, Serialize};

/// How a branch peer finds blocks (MS-CCRSO §5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Multicast discovery on the subnet; every client caches and serves (MS-CCRSO §5.1).
    #[default]
    Distributed,
    /// Ask the configured hosted cache and offer it new segments (MS-CCRSO §5.1, MS-PCHC §3.2).
    Hosted,
    /// No peers: origin only, local cache still used (MS-CCRSO §5.1).
    Local,
}

/// What a segment session does when the peers it found cannot supply every block it lacks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColdStart {
    /// The specification's client (default): missing blocks go to the origin at once (MS-CCRSO
    /// client download algorithm); a peer answers a probe only for segments it holds, and a
    /// BlockCount of 0 means "not available" (MS-PCCRD §2.2.2.2, §3.2.4.1). In a cold flash crowd
    /// every early client pulls its own copy over the WAN.
    #[default]
    Origin,
    /// peerlab extension, not Windows behaviour: peers fetching a segment from the origin say so in
    /// ProbeMatches (a V1 BlockCount of 0, a V2 "some, not all"), a peer that overhears another's
    /// probe adds the prober as a server, and a session that found holders or fetchers waits for
    /// them (re-listing with backoff, re-probing now and then) instead of pulling the segment
    /// itself; it falls back to the origin after `peer_wait_max` without progress (`wait.rs`).
    WaitForPeers,
}

/// Protocol constants and knobs for every distribution role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct DistConfig {
    /// Client mode (MS-CCRSO §5.1).
    pub mode: Mode,
    /// Content-information version the origin produces (MS-PCCRC §2.3, §2.4; V2 is Win8+).
    pub info_version: InfoVersion,
    /// Hash of V1 content information: `Sha256` (default, 0x800C), `Sha384` (0x800D) or `Sha512`
    /// (0x800E) (MS-PCCRC §2.3); V2 always uses truncated SHA-512 (§2.4).
    pub v1_hash: V1Hash,
    /// Real bytes or hash tokens for block payloads (\[SIM\], peerlab's model).
    pub data_mode: DataMode,
    /// Origin server passphrase, input of Ks (MS-PCCRC §2.2).
    pub passphrase: String,
    /// Block encryption algorithm (MS-PCCRR §2.2.3 \[W\]: Windows defaults to AES-128).
    pub crypto: CryptoAlgo,
    /// Origin hashing speed, which sets how long content information takes to appear (\[SIM\]).
    pub hash_rate_bytes_per_sec: u64,
    /// Hash when content is published rather than on its first request (MS-PCCRTP §3.2 \[W\]: Windows hashes on
    /// first request, so the default is false).
    pub hash_on_publish: bool,
    /// Most ProbeMatch backoff: uniform in [`backoff_min`, this] (MS-PCCRD §3.2.2: APP_MAX_DELAY 65 ms).
    pub app_max_delay: Duration,
    /// Least ProbeMatch backoff (MS-PCCRD §3.2.2: 1 ms).
    pub backoff_min: Duration,
    /// Probe request timer; never below `app_max_delay` (MS-PCCRD §3.1.2: 200–500 ms, Win7 300 ms).
    pub probe_timer: Duration,
    /// Reply-suppression threshold n (MS-PCCRD §3.2.4.1 \[W\]: 10).
    pub suppression_replies: u32,
    /// Reply-suppression answer probability as a ratio numerator/denominator (MS-PCCRD §3.2.4.1 \[W\]: 0.33).
    pub suppression_ratio: (u32, u32),
    /// Servers per segment server list (MS-CCRSO §5.1: 16, LRU).
    pub server_list_max: usize,
    /// Server lists per node (MS-CCRSO §5.1: 256, LRU).
    pub server_lists_max: usize,
    /// Lifetime of an empty server list (negative discovery) (MS-CCRSO §5.1: 15 s).
    pub negative_lifetime: Duration,
    /// Lifetime of a server entry (MS-CCRSO §5.1 \[?\]: 60 s in Windows vs 15 s in the spec body; we take
    /// Windows' 60 s).
    pub server_entry_lifetime: Duration,
    /// Discovery rate cap Fmax, probes per second (MS-CCRSO §5.1: 100).
    pub probe_rate_max: u32,
    /// Responders used per segment download, Dmax (MS-CCRSO §5.1 \[?\]: 16, the spec body's value).
    pub responders_max: usize,
    /// Segment IDs per V2 probe (MS-PCCRD §2.2.3.3: 1..255).
    pub v2_probe_batch: usize,
    /// PCCRR request timer (MS-PCCRR §3.1.2: 2 s).
    pub request_timer: Duration,
    /// Timeouts before a server is excluded from the current download (MS-CCRSO §6.5 \[W\]: 3).
    pub peer_timeouts_max: u32,
    /// Wanted-range size under which GETBLKLIST is skipped (MS-PCCRR §3.1.4.3 \[W\]: < 4 blocks, i.e. ≤ 3).
    pub simple_download_max: u32,
    /// PCCRR upload timer (MS-PCCRR §3.2.2: 15 s).
    pub upload_timer: Duration,
    /// Concurrent served requests on a peer (MS-PCCRR §3.2.1 \[W\]: 64).
    pub uploads_max: usize,
    /// Concurrent served requests on a hosted cache (MS-PCCRR §3.2.1 \[W\]: 1,024).
    pub hosted_uploads_max: usize,
    /// Upload rate used to estimate how long a served response holds its upload slot
    /// (MS-PCCRR §3.2.1 \[SIM\]: the engine gets no "sent" signal, so a slot is held for size / rate, capped
    /// at the upload timer).
    pub upload_rate_bytes_per_sec: u64,
    /// Segment download timer, re-armed on progress (MS-CCRSO §6.5 \[CHOICE\]: the API read timeout applies to
    /// each sequential read, so a segment session aborts after this long without a new block).
    pub download_timer: Duration,
    /// Behaviour when the peers found lack some blocks: the specification's by default, or the
    /// peerlab extension (see [`ColdStart`]).
    pub cold_start: ColdStart,
    /// First delay before a waiting session asks its holders again; doubles without progress up
    /// to eight times this (\[CHOICE\], `cold_start`).
    pub peer_wait_retry: Duration,
    /// Least time between two probes of one waiting session, to find new partial holders without
    /// a probe storm (MS-CCRSO §5.1 rate rules, \[CHOICE\]).
    pub peer_wait_reprobe: Duration,
    /// Give-up timeout of a waiting session: after this long (plus up to half again, drawn per
    /// session so waiters do not all give up together) without progress, the origin (MS-CCRSO §6.5
    /// \[CHOICE\]; in wait mode it replaces `download_timer`). Progress is a verified block or a
    /// peer reporting it is still fetching the segment, the latter only for the first four times
    /// this since the session started, so a peer that claims forever cannot stall a download.
    pub peer_wait_max: Duration,
    /// Segment sessions a fetch runs at once (MS-CCRSO §6.5 \[CHOICE\]: sessions for different segments run
    /// concurrently; we bound them).
    pub parallel_sessions: usize,
    /// Largest origin Range GET for missing data (MS-CCRSO §6.5 \[CHOICE\]: whole missing runs, capped).
    pub origin_range_max_bytes: u64,
    /// Origin request timer before a fetch fails (\[SIM\], peerlab's model).
    pub origin_timer: Duration,
    /// Local cache size limit (Windows' BranchCache default \[W\]: 5 % of the volume; \[SIM\] 10 GiB).
    pub cache_size_max_bytes: u64,
    /// Segment age limit (Windows' BranchCache default \[W\]: 28 days).
    pub cache_age_max: Duration,
    /// Period of the cache age sweep (\[SIM\], peerlab's model).
    pub cache_sweep_period: Duration,
    /// PCHC client request timer (MS-PCHC §3.2.2: 5 s).
    pub pchc_request_timer: Duration,
    /// Offer points per segment: offer at every 1/steps of its blocks (MS-PCHC §3.2.4 \[W\]: 20 % steps = 5).
    pub offer_steps: u32,
    /// IPv6 prefix length of the local subnet, for the XAddrs check (MS-PCCRD §3.1.4.1 \[SIM\]: 120 = an IPv4 /24
    /// in IPv4-mapped form).
    pub subnet_prefix_len: u8,
    /// Outstanding fetches per node (bounded table, \[SIM\]).
    pub fetches_max: usize,
}

impl DistConfig {
    /// The hash of the content information the origin produces (MS-PCCRC §2.3, §2.4).
    pub fn content_hash(&self) -> HashAlgo {
        match self.info_version {
            InfoVersion::V1 => self.v1_hash.algo(),
            InfoVersion::V2 => HashAlgo::Sha512Trunc,
        }
    }
}

impl Default for DistConfig {
    fn default() -> Self {
        DistConfig {
            mode: Mode::Distributed,
            info_version: InfoVersion::V1,
            v1_hash: V1Hash::Sha256,
            data_mode: DataMode::Real,
            passphrase: "peerlab-origin-secret".to_owned(),
            crypto: CryptoAlgo::Aes128,
            hash_rate_bytes_per_sec: 200_000_000,
            hash_on_publish: false,
            app_max_delay: Duration::from_millis(65),
            backoff_min: Duration::from_millis(1),
            probe_timer: Duration::from_millis(300),
            suppression_replies: 10,
            suppression_ratio: (33, 100),
            server_list_max: 16,
            server_lists_max: 256,
            negative_lifetime: Duration::from_secs(15),
            server_entry_lifetime: Duration::from_secs(60),
            probe_rate_max: 100,
            responders_max: 16,
            v2_probe_batch: 255,
            request_timer: Duration::from_secs(2),
            peer_timeouts_max: 3,
            simple_download_max: 3,
            upload_timer: Duration::from_secs(15),
            uploads_max: 64,
            hosted_uploads_max: 1_024,
            upload_rate_bytes_per_sec: 12_500_000,
            download_timer: Duration::from_secs(5),
            cold_start: ColdStart::Origin,
            peer_wait_retry: Duration::from_secs(1),
            peer_wait_reprobe: Duration::from_secs(10),
            peer_wait_max: Duration::from_secs(60),
            parallel_sessions: 4,
            origin_range_max_bytes: 4 << 20,
            origin_timer: Duration::from_secs(600),
            cache_size_max_bytes: 10 << 30,
            cache_age_max: Duration::from_secs(28 * 86_400),
            cache_sweep_period: Duration::from_secs(3_600),
            pchc_request_timer: Duration::from_secs(5),
            offer_steps: 5,
            subnet_prefix_len: 120,
            fetches_max: 64,
        }
    }
}

impl DistConfig {
    /// The effective probe timer: never below the responders' largest backoff (MS-PCCRD §3.1.2).
    pub fn probe_wait(&self) -> Duration {
        self.probe_timer.max(self.app_max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_digest_values() {
        let c = DistConfig::default();
        assert_eq!(c.app_max_delay, Duration::from_millis(65));
        // The specification's behaviour unless a scenario names the extension.
        assert_eq!(c.cold_start, ColdStart::Origin);
        assert_eq!(
            (c.server_list_max, c.server_lists_max, c.uploads_max),
            (16, 256, 64)
        );
        let mut short = c.clone();
        short.probe_timer = Duration::from_millis(10);
        assert_eq!(short.probe_wait(), Duration::from_millis(65));
    }
}
