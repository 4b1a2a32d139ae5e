//! Direct connections and application data (MS-PPGRH §1.3.2.3, §3.1.4.9-11, §3.1.5.2.12): a
//! direct connection carries PT2PT messages only, no records, and takes no part in graph
//! maintenance; PT2PT also runs on neighbor links.

use super::conn::{Conn, LinkState, Purpose};
use super::GraphNode;
use crate::graphing::{
    DisconnectReason, GraphError, GraphEvent, Guid, PointToPoint, RefuseReason, PING_DATA_TYPE,
};
use crate::{ConnId, Endpoint, Instant, RequestId, StreamCommand};

impl GraphNode {
    /// OpenDirect (MS-PPGRH §3.1.4.9): refused for the node's own listening address; otherwise
    /// a connection whose AUTH_INFO and CONNECT ask for a direct link.
    pub(super) fn open_direct(
        &mut self,
        now: Instant,
        request: RequestId,
        to: Endpoint,
        peer_id: Option<String>,
    ) -> Result<(), GraphError> {
        if to == self.listen {
            return Err(GraphError::OwnAddress);
        }
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        let deadline = now + self.auth_timeout();
        let mut c = Conn::new(true, to, Purpose::Direct(request), deadline);
        c.direct = true;
        // Before WELCOME an initiator's `peer_id` is the destination AUTH_INFO names.
        c.peer_id = peer_id.unwrap_or_default();
        self.conns.insert(conn, c);
        self.stats.connects += 1;
        self.streams.push_back(StreamCommand::Connect { conn, to });
        Ok(())
    }

    /// SendData (MS-PPGRH §3.1.4.10): one PT2PT on a CONNECTED neighbor or direct connection.
    pub(super) fn send_data(
        &mut self,
        connection: u64,
        data_type: Guid,
        data: Vec<u8>,
    ) -> Result<(), GraphError> {
        if data_type == PING_DATA_TYPE {
            return Err(GraphError::ReservedType);
        }
        let conn = ConnId(connection);
        if self
            .conns
            .get(&conn)
            .is_none_or(|c| c.link != LinkState::Connected)
        {
            return Err(GraphError::NoSuchConnection);
        }
        self.stats.data_sent += 1;
        let msg = PointToPoint { data_type, data };
        self.send(conn, crate::graphing::Message::PointToPoint(Box::new(msg)));
        Ok(())
    }

    /// CloseDirect (MS-PPGRH §3.1.4.11): DISCONNECT (APP_DISCONNECT) and close.
    pub(super) fn close_direct(&mut self, now: Instant, connection: u64) -> Result<(), GraphError> {
        let conn = ConnId(connection);
        let ok = self
            .conns
            .get(&conn)
            .is_some_and(|c| c.direct && c.link == LinkState::Connected);
        if !ok {
            return Err(GraphError::NoSuchConnection);
        }
        self.disconnect(now, conn, DisconnectReason::AppDisconnect);
        Ok(())
    }

    /// PT2PT received (MS-PPGRH §3.1.5.2.12): the internal Ping is consumed, anything else goes
    /// to the application.
    pub(super) fn on_data(&mut self, conn: ConnId, m: PointToPoint) {
        if m.data_type == PING_DATA_TYPE {
            self.stats.pings_received += 1;
            return;
        }
        let node_id = self.conns.get(&conn).and_then(|c| c.node_id).unwrap_or(0);
        self.stats.data_received += 1;
        self.emit(GraphEvent::DataReceived {
            connection: conn.0,
            node_id,
            data_type: m.data_type,
            data: m.data,
        });
    }

    /// A direct link reached CONNECTED (WELCOME sent or received).
    pub(super) fn direct_up(&mut self, conn: ConnId) {
        let Some(c) = self.conns.get(&conn) else { return };
        let request = match c.purpose {
            Purpose::Direct(r) => Some(r),
            _ => None,
        };
        self.emit(GraphEvent::DirectConnected {
            request,
            connection: conn.0,
            node_id: c.node_id.unwrap_or(0),
            peer_id: c.peer_id.clone(),
        });
    }

    /// A direct connection ended: a CONNECTED one is reported closed; an OpenDirect that never
    /// got WELCOME fails with the REFUSE code, if one came.
    pub(super) fn direct_down(&mut self, conn: ConnId, c: &Conn, refused: Option<RefuseReason>) {
        match (c.link, c.purpose) {
            (LinkState::Connected, _) => self.emit(GraphEvent::DirectClosed { connection: conn.0 }),
            (_, Purpose::Direct(request)) => self.emit(GraphEvent::Failed {
                request,
                error: GraphError::DirectFailed(refused),
            }),
            _ => {}
        }
    }

    /// The id of the CONNECTED neighbor link to `node_id`, for SendData.
    pub fn connection_to(&self, node_id: u64) -> Option<u64> {
        self.conns
            .iter()
            .find(|(_, c)| c.link == LinkState::Connected && c.node_id == Some(node_id))
            .map(|(id, _)| id.0)
    }
}
