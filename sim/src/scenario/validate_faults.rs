//! Validation of `[[fault]]` and `[[attackers]]`: times inside the run and in order, `count` or
//! `fraction`, partition sides that exist and add up.

use super::error::Issue;
use super::printable::excerpt;
use super::schema::{Attackers, Fault, PartitionGroups};
use super::spans::KeyPath;
use super::units::Ratio;
use super::validate::{root, Validator};
use super::value::Value;
use std::collections::BTreeSet;

impl Validator<'_> {
    /// `count` xor `fraction`, each non-zero, and `group` (if any) existing.
    fn how_many(
        &mut self,
        key: &KeyPath,
        count: &Option<Value<u64>>,
        fraction: &Option<Value<Ratio>>,
        group: Option<&str>,
    ) {
        match (count, fraction) {
            (Some(_), Some(_)) => self.push(
                key.key("fraction"),
                "both `count` and `fraction` are given",
                "one of them",
            ),
            (None, None) => {
                let i = Issue::new(
                    key.key("count"),
                    "neither `count` nor `fraction` is given",
                    "count = 20, or fraction = \"10%\"",
                );
                self.issues.push(i.at(key.clone()));
            }
            (Some(c), None) => self.positive_count(key.key("count"), c),
            (None, Some(f)) if f.lo() == Ratio::ZERO => self.push(
                key.key("fraction"),
                format!("`{f}` is zero"),
                "a fraction above 0%",
            ),
            (None, Some(_)) => {}
        }
        if let Some(g) = group {
            self.group_exists(key.key("group"), g, false);
        }
    }

    pub(super) fn faults(&mut self) {
        for (i, f) in self.s.fault.iter().enumerate() {
            let key = root().key("fault").index(i);
            match f {
                Fault::Partition { at, heal, groups, .. } => {
                    self.within_run(key.key("at"), at);
                    if let Some(heal) = heal {
                        self.ordered(key.key("heal"), heal, at, "at");
                    }
                    self.sides(key.key("groups"), groups);
                }
                Fault::Crash {
                    at,
                    count,
                    fraction,
                    group,
                    ..
                }
                | Fault::AddressChange {
                    at,
                    count,
                    fraction,
                    group,
                } => {
                    self.within_run(key.key("at"), at);
                    self.how_many(&key, count, fraction, group.as_deref());
                }
                Fault::Loss { at, until, .. } => {
                    self.within_run(key.key("at"), at);
                    self.ordered(key.key("until"), until, at, "at");
                }
                Fault::Latency { at, until, add } => {
                    self.within_run(key.key("at"), at);
                    self.ordered(key.key("until"), until, at, "at");
                    self.positive_duration(key.key("add"), add);
                }
            }
        }
    }

    fn sides(&mut self, key: KeyPath, groups: &PartitionGroups) {
        let n = match groups {
            PartitionGroups::Fractions(f) => f.len(),
            PartitionGroups::Named(n) => n.len(),
        };
        if n < 2 {
            self.push(
                key.clone(),
                format!("{n} side(s) cannot make a partition"),
                "two or more sides",
            );
        }
        match groups {
            PartitionGroups::Fractions(fracs) => {
                let sum: u64 = fracs.iter().map(|f| f.ppm() as u64).sum();
                if sum != Ratio::PPM as u64 || fracs.contains(&Ratio::ZERO) {
                    let list: Vec<String> = fracs.iter().map(|f| f.to_string()).collect();
                    let what = format!(
                        "the sides [{}] sum to {}",
                        list.join(", "),
                        Ratio::from_ppm(sum.min(u32::MAX as u64) as u32)
                    );
                    self.push(
                        key,
                        what,
                        "non-zero fractions summing to exactly 100%, such as [\"40%\", \"60%\"]",
                    );
                }
            }
            PartitionGroups::Named(sides) => {
                let mut seen: BTreeSet<&str> = BTreeSet::new();
                for (i, side) in sides.iter().enumerate() {
                    for (j, name) in side.iter().enumerate() {
                        self.group_exists(key.index(i).index(j), name, false);
                        if !seen.insert(name.as_str()) {
                            self.push(
                                key.index(i).index(j),
                                format!("\"{}\" is on two sides", excerpt(name)),
                                "each group on one side at most",
                            );
                        }
                    }
                }
            }
        }
    }

    pub(super) fn attackers(&mut self) {
        for (i, a) in self.s.attackers.iter().enumerate() {
            let key = root().key("attackers").index(i);
            let Attackers {
                count,
                fraction,
                start,
                join,
                ..
            } = a;
            self.how_many(&key, count, fraction, None);
            self.within_run(key.key("start"), start);
            self.join(key.key("join"), join);
        }
    }
}
