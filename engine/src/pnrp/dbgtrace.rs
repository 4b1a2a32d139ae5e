//! TEMPORARY debugging trace (to be removed).
use super::id::PnrpId;
use crate::Endpoint;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[allow(clippy::type_complexity)]
static REG: Mutex<BTreeMap<u128, PnrpId>> = Mutex::new(BTreeMap::new());
static TR: Mutex<BTreeMap<(Endpoint, PnrpId), Vec<String>>> = Mutex::new(BTreeMap::new());

pub fn on() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var("PNRP_TRACE").is_ok())
}
pub fn registered(id: PnrpId) {
    if on() {
        REG.lock().unwrap().insert(id.hi, id);
    }
}
pub fn true_id(target: PnrpId) -> Option<PnrpId> {
    REG.lock().unwrap().get(&target.hi).copied()
}
pub fn bits(target: PnrpId, x: PnrpId) -> i64 {
    match true_id(target) {
        Some(t) => t.distance(x).bits() as i64,
        None => -1,
    }
}
pub fn log(resolver: Endpoint, target: PnrpId, s: String) {
    if on() {
        TR.lock().unwrap().entry((resolver, target)).or_default().push(s);
    }
}
pub fn take(resolver: Endpoint, target: PnrpId) -> Vec<String> {
    TR.lock().unwrap().remove(&(resolver, target)).unwrap_or_default()
}
