//! Wire nodes and views to the C structs of `saClm.h`.

use ais_ipc::clm::{Node, View};

use crate::abi::sa_ais::{SA_MAX_NAME_LENGTH, SaBoolT, SaNameT, enums as ais_enums};
use crate::abi::sa_clm::{SA_CLM_MAX_ADDRESS_LENGTH, SaClmClusterNodeT, SaClmClusterNotificationT, SaClmNodeAddressT};

/// A node as C sees it. Over-long fields (the decoder already bounds them)
/// are clipped rather than trusted.
pub fn node(n: &Node) -> SaClmClusterNodeT {
    let mut value = [0u8; SA_CLM_MAX_ADDRESS_LENGTH];
    let address_len = n.address.len().min(SA_CLM_MAX_ADDRESS_LENGTH);
    value[..address_len].copy_from_slice(&n.address[..address_len]);
    let mut name = SaNameT { length: 0, value: [0; SA_MAX_NAME_LENGTH] };
    let name_len = n.name.len().min(SA_MAX_NAME_LENGTH);
    name.value[..name_len].copy_from_slice(&n.name[..name_len]);
    name.length = name_len as u16;
    let member = if n.member { ais_enums::SaBoolT::SA_TRUE } else { ais_enums::SaBoolT::SA_FALSE };
    SaClmClusterNodeT {
        nodeId: n.node_id,
        nodeAddress: SaClmNodeAddressT { family: n.family, length: address_len as u16, value },
        nodeName: name,
        member: member as SaBoolT,
        bootTimestamp: n.boot_timestamp,
        initialViewNumber: n.initial_view,
    }
}

/// The entries of a view (the decoder checked each change value).
pub fn notifications(view: &View) -> Vec<SaClmClusterNotificationT> {
    view.items
        .iter()
        .map(|(n, change)| SaClmClusterNotificationT { clusterNode: node(n), clusterChange: *change })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ais_ipc::clm::{AF_INET6, NODE_LEFT};

    #[test]
    fn fields_land_where_c_reads_them() {
        let n = Node {
            node_id: 7,
            family: AF_INET6,
            address: b"fe80::7".to_vec(),
            name: b"seven".to_vec(),
            member: false,
            boot_timestamp: 99,
            initial_view: 4,
        };
        let c = node(&n);
        assert_eq!((c.nodeId, c.nodeAddress.family, c.nodeAddress.length), (7, 2, 7));
        assert_eq!(&c.nodeAddress.value[..8], b"fe80::7\0");
        assert_eq!((c.nodeName.length, &c.nodeName.value[..5]), (5, &b"seven"[..]));
        assert_eq!((c.member, c.bootTimestamp, c.initialViewNumber), (0, 99, 4));
        let v = View { view_number: 3, items: vec![(n, NODE_LEFT)] };
        let list = notifications(&v);
        assert_eq!((list.len(), list[0].clusterChange, list[0].clusterNode.nodeId), (1, 3, 7));
    }
}
