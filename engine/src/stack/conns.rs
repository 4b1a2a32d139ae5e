//! The stack's connection table: each layer numbers its own connections, the transport numbers
//! the peer's; this maps one onto the other in both directions.

use crate::ConnId;
use std::collections::BTreeMap;

/// Layer index and the layer's id for a connection.
pub(super) type LayerConn = (u8, ConnId);

/// Connections of one peer, by the transport's id and by (layer, layer's id).
#[derive(Default, Debug)]
pub(super) struct Conns {
    by_peer: BTreeMap<ConnId, LayerConn>,
    by_layer: BTreeMap<LayerConn, ConnId>,
    next: u64,
}

impl Conns {
    /// The peer-level id for a connection layer `layer` opens under its own id `conn`.
    pub(super) fn open(&mut self, layer: u8, conn: ConnId) -> ConnId {
        let peer = ConnId(self.next);
        self.next += 1;
        self.by_peer.insert(peer, (layer, conn));
        self.by_layer.insert((layer, conn), peer);
        peer
    }

    /// Records a connection the transport accepted for `layer`; the layer sees the same id,
    /// which is unique because the transport numbers accepted connections apart.
    pub(super) fn accept(&mut self, layer: u8, conn: ConnId) {
        self.by_peer.insert(conn, (layer, conn));
        self.by_layer.insert((layer, conn), conn);
    }

    /// The layer and its id for the transport's `conn`.
    pub(super) fn layer_of(&self, conn: ConnId) -> Option<LayerConn> {
        self.by_peer.get(&conn).copied()
    }

    /// The transport's id for layer `layer`'s `conn`.
    pub(super) fn peer_of(&self, layer: u8, conn: ConnId) -> Option<ConnId> {
        self.by_layer.get(&(layer, conn)).copied()
    }

    /// Forgets a connection that ended.
    pub(super) fn forget(&mut self, conn: ConnId) {
        if let Some(lc) = self.by_peer.remove(&conn) {
            self.by_layer.remove(&lc);
        }
    }

    /// Connections open now.
    pub(super) fn len(&self) -> usize {
        self.by_peer.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_layers_may_use_the_same_id_and_stay_apart() {
        let mut c = Conns::default();
        let a = c.open(0, ConnId(1));
        let b = c.open(1, ConnId(1));
        assert_ne!(a, b);
        assert_eq!(c.layer_of(a), Some((0, ConnId(1))));
        assert_eq!(c.peer_of(1, ConnId(1)), Some(b));
        c.forget(a);
        assert_eq!((c.layer_of(a), c.peer_of(0, ConnId(1)), c.len()), (None, None, 1));
    }
}
