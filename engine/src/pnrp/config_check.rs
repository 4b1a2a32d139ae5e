//! Which `PnrpConfig` values are possible: every broken constraint as a [`ConfigIssue`] naming
//! the field and what it allows, so that a scenario can point at the offending key.

use super::config::{PnrpConfig, INJECTABLE_BUGS};
use crate::Duration;

/// One impossible value of a `PnrpConfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigIssue {
    /// The field (`maintenance_period`), as written in a scenario's `[pnrp]` table.
    pub key: &'static str,
    /// What is wrong.
    pub what: String,
    /// What the field allows.
    pub allowed: String,
}

/// Periods that must be longer than zero.
const POSITIVE_DURATIONS: [&str; 10] = [
    "maintenance_period",
    "maintenance_period_small_cache",
    "retransmit_interval",
    "balancing_interval",
    "leaf_set_liveness_interval",
    "conversation_timeout",
    "cpa_lifetime",
    "internal_resolve_timeout",
    "reannounce_period",
    "cache_max_age",
];

/// Counts that must be at least 1, with their largest value (the field type's, or a protocol
/// maximum: MS-PNRP §2.2.2.4/§2.2.2.8 the wire arrays hold at most 22 endpoints; 77 levels cover 2^256).
const NONZERO_COUNTS: [(&str, u64); 17] = [
    ("retry_count", u8::MAX as u64),
    ("leaf_set_side", u32::MAX as u64),
    ("cache_level_capacity", u32::MAX as u64),
    ("cache_levels_max", 77),
    ("hop_use_count_max", u8::MAX as u64),
    ("flagged_path_max", 22),
    ("advertise_ids", u32::MAX as u64),
    ("request_ids_max", u32::MAX as u64),
    ("conversation_table_max", u32::MAX as u64),
    ("pending_adds_max", u32::MAX as u64),
    ("ort_max", u32::MAX as u64),
    ("reassembly_contexts_max", u32::MAX as u64),
    ("pending_max", u32::MAX as u64),
    ("balancing_gap_factor", u32::MAX as u64),
    ("registration_stop_after_leaf_answers", u32::MAX as u64),
    ("already_flooded_max", 22),
    ("inquire_answers_per_source", u32::MAX as u64),
];

impl PnrpConfig {
    /// What field `key` allows, when it has a bound beyond its type (`None` for other fields).
    pub fn allowed_for(key: &str) -> Option<String> {
        if POSITIVE_DURATIONS.contains(&key) {
            return Some("a duration above zero such as \"15s\"".into());
        }
        if let Some((_, max)) = NONZERO_COUNTS.iter().find(|(k, _)| *k == key) {
            // already_flooded_max may be 0 (flood to nobody already known); the others not.
            let min = u64::from(key != "already_flooded_max");
            return Some(if *max == u32::MAX as u64 {
                format!("a whole number of {min} or more")
            } else {
                format!("a whole number from {min} to {max}")
            });
        }
        Some(match key {
            "reassembly_bytes_max" => format!(
                "a whole number of at least {} (one largest AUTHORITY_BUFFER)",
                super::message::AUTHORITY_BUFFER_MAX
            ),
            "lookup_answer_weights" => "three whole numbers, not all zero, such as [1, 1, 1]".into(),
            "full_level_admission" => "a number from 0 to 1".into(),
            "split_k" => "a number of 0 or more".into(),
            "split_estimate_max" => "a number above 1".into(),
            "inject_bug" => format!("one of: {}", INJECTABLE_BUGS.join(", ")),
            _ => return None,
        })
    }

    /// Every impossible value (zero periods, empty limits, protocol maxima exceeded), in field
    /// order; empty when the configuration is usable.
    pub fn issues(&self) -> Vec<ConfigIssue> {
        let mut out = Vec::new();
        let mut push = |key: &'static str, what: String| {
            let allowed = PnrpConfig::allowed_for(key).unwrap_or_default();
            out.push(ConfigIssue { key, what, allowed });
        };
        for key in POSITIVE_DURATIONS {
            if self.duration_of(key) == Some(Duration::ZERO) {
                push(key, "zero is not a period".into());
            }
        }
        for (key, max) in NONZERO_COUNTS {
            let Some(v) = self.count_of(key) else { continue };
            if v == 0 && key != "already_flooded_max" {
                push(key, "zero is too small".into());
            } else if v > max {
                push(key, format!("{v} is too large"));
            }
        }
        let (capacity, side) = (self.cache_level_capacity, self.leaf_set_side);
        if capacity < 2 * side && capacity > 0 && side > 0 {
            // Blame the field that left its default: that is the one the scenario wrote.
            out.push(if capacity == PnrpConfig::default().cache_level_capacity {
                ConfigIssue {
                    key: "leaf_set_side",
                    what: format!(
                        "{side} needs cache levels of {} entries, but cache_level_capacity is {capacity}",
                        2 * side
                    ),
                    allowed: format!(
                        "at most cache_level_capacity / 2 ({}), or raise cache_level_capacity",
                        capacity / 2
                    ),
                }
            } else {
                ConfigIssue {
                    key: "cache_level_capacity",
                    what: format!(
                        "{capacity} cannot hold a whole leaf set (2 × leaf_set_side = {})",
                        2 * side
                    ),
                    allowed: format!("a whole number of at least 2 × leaf_set_side ({})", 2 * side),
                }
            });
        }
        let mut push = |key: &'static str, what: String| {
            let allowed = PnrpConfig::allowed_for(key).unwrap_or_default();
            out.push(ConfigIssue { key, what, allowed });
        };
        if self.reassembly_bytes_max < super::message::AUTHORITY_BUFFER_MAX {
            push(
                "reassembly_bytes_max",
                format!("{} is too small", self.reassembly_bytes_max),
            );
        }
        if self.lookup_answer_weights.iter().all(|w| *w == 0) {
            push("lookup_answer_weights", "all three are zero".into());
        }
        if !(0.0..=1.0).contains(&self.full_level_admission) {
            push(
                "full_level_admission",
                format!("{} is not a fraction", self.full_level_admission),
            );
        }
        if !(self.split_k.is_finite() && self.split_k >= 0.0) {
            push("split_k", format!("{} is out of range", self.split_k));
        }
        if !(self.split_estimate_max.is_finite() && self.split_estimate_max > 1.0) {
            push(
                "split_estimate_max",
                format!("{} is out of range", self.split_estimate_max),
            );
        }
        if let Some(bug) = &self.inject_bug {
            if !INJECTABLE_BUGS.contains(&bug.as_str()) {
                push("inject_bug", format!("`{bug}` is unknown"));
            }
        }
        out
    }

    /// Rejects impossible values: the first of [`PnrpConfig::issues`], as one line.
    pub fn validate(&self) -> Result<(), String> {
        match self.issues().into_iter().next() {
            None => Ok(()),
            Some(i) => Err(format!("pnrp.{}: {}; allowed: {}", i.key, i.what, i.allowed)),
        }
    }

    fn duration_of(&self, key: &str) -> Option<Duration> {
        Some(match key {
            "maintenance_period" => self.maintenance_period,
            "maintenance_period_small_cache" => self.maintenance_period_small_cache,
            "retransmit_interval" => self.retransmit_interval,
            "balancing_interval" => self.balancing_interval,
            "leaf_set_liveness_interval" => self.leaf_set_liveness_interval,
            "conversation_timeout" => self.conversation_timeout,
            "cpa_lifetime" => self.cpa_lifetime,
            "internal_resolve_timeout" => self.internal_resolve_timeout,
            "reannounce_period" => self.reannounce_period?,
            "cache_max_age" => self.cache_max_age?,
            _ => return None,
        })
    }

    fn count_of(&self, key: &str) -> Option<u64> {
        Some(match key {
            "retry_count" => self.retry_count.into(),
            "leaf_set_side" => self.leaf_set_side as u64,
            "cache_level_capacity" => self.cache_level_capacity as u64,
            "cache_levels_max" => self.cache_levels_max as u64,
            "hop_use_count_max" => self.hop_use_count_max.into(),
            "flagged_path_max" => self.flagged_path_max as u64,
            "advertise_ids" => self.advertise_ids as u64,
            "request_ids_max" => self.request_ids_max as u64,
            "conversation_table_max" => self.conversation_table_max as u64,
            "pending_adds_max" => self.pending_adds_max as u64,
            "ort_max" => self.ort_max as u64,
            "reassembly_contexts_max" => self.reassembly_contexts_max as u64,
            "pending_max" => self.pending_max as u64,
            "balancing_gap_factor" => self.balancing_gap_factor.into(),
            "registration_stop_after_leaf_answers" => self.registration_stop_after_leaf_answers?.into(),
            "already_flooded_max" => self.already_flooded_max as u64,
            "inquire_answers_per_source" => self.inquire_answers_per_source?.into(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_issue_is_listed_with_its_key_and_what_is_allowed() {
        let c = PnrpConfig {
            maintenance_period: Duration::ZERO,
            retry_count: 0,
            flagged_path_max: 23,
            split_k: f64::NAN,
            ..PnrpConfig::default()
        };
        let issues = c.issues();
        let keys: Vec<&str> = issues.iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            ["maintenance_period", "retry_count", "flagged_path_max", "split_k"]
        );
        assert_eq!(issues[1].allowed, "a whole number from 1 to 255");
        assert_eq!(issues[2].allowed, "a whole number from 1 to 22");
        assert!(issues[0].allowed.contains("above zero"));
        assert_eq!(PnrpConfig::default().issues(), []);
        assert!(c.validate().unwrap_err().starts_with("pnrp.maintenance_period: "));
    }

    #[test]
    fn a_leaf_set_too_big_for_the_cache_blames_the_field_that_changed() {
        let side = PnrpConfig {
            leaf_set_side: 1000,
            ..PnrpConfig::default()
        };
        assert_eq!(side.issues()[0].key, "leaf_set_side");
        let capacity = PnrpConfig {
            cache_level_capacity: 4,
            ..PnrpConfig::default()
        };
        assert_eq!(capacity.issues()[0].key, "cache_level_capacity");
        assert!(capacity.issues()[0].allowed.contains("(10)"));
    }

    #[test]
    fn every_bounded_field_is_a_real_field() {
        let c = PnrpConfig::default();
        for key in POSITIVE_DURATIONS {
            // The two optional ones are off by default.
            assert!(c.duration_of(key).is_some() || ["reannounce_period", "cache_max_age"].contains(&key));
        }
        for (key, _) in NONZERO_COUNTS {
            assert!(
                c.count_of(key).is_some() || key == "inquire_answers_per_source",
                "{key}"
            );
        }
    }
}
