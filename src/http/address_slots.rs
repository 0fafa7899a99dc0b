//! Open connections per client address, so that one client cannot hold
//! every connection slot of the accept loop. Keyed like the rate limits
//! (IPv6 by its /64), counted for the life of each connection.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use super::rate_limit::rate_key;

/// The connections each address holds, under a cap.
#[derive(Clone)]
pub struct AddressSlots {
    cap: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place in the count, given back when dropped.
pub struct AddressSlot {
    key: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl AddressSlots {
    pub fn new(cap: usize) -> Self {
        Self {
            cap,
            open: Arc::default(),
        }
    }

    /// A slot for a connection from `address`, or `None` when it holds the
    /// cap already.
    pub fn take(&self, address: IpAddr) -> Option<AddressSlot> {
        let key = rate_key(address);
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let held = open.entry(key).or_insert(0);
        if *held >= self.cap {
            return None;
        }
        *held += 1;
        Some(AddressSlot {
            key,
            open: Arc::clone(&self.open),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(held) = open.get_mut(&self.key) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_at_most_the_cap_and_a_closed_connection_frees_its_slot() {
        let slots = AddressSlots::new(2);
        let crowded: IpAddr = "192.0.2.1".parse().unwrap();
        let first = slots.take(crowded).expect("first");
        let _second = slots.take(crowded).expect("second");
        assert!(slots.take(crowded).is_none());
        assert!(slots.take("192.0.2.2".parse().unwrap()).is_some());
        drop(first);
        assert!(slots.take(crowded).is_some());
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_the_cap() {
        let slots = AddressSlots::new(1);
        let _held = slots.take("2001:db8::1".parse().unwrap()).expect("first");
        assert!(slots.take("2001:db8::2".parse().unwrap()).is_none());
        assert!(slots.take("2001:db8:0:1::1".parse().unwrap()).is_some());
    }
}
