//! The cookie secrets in the fast path's maps: two slots and the number of
//! the one in use, so a rotation writes the other slot whole and then
//! switches, and the program never hashes with a secret half written.

use anycast_common::{cookie::CookieSecrets, map_names};
use aya::maps::{Array, Map, MapError};

use super::{FastPath, FastPathError, error::map_err, own_handle};

/// Handles of their own on the two maps, for the task that rotates the
/// secrets (the fast path's lock stays with the answers).
pub struct CookieMap {
    secrets: Map,
    slot: Map,
}

impl FastPath {
    pub fn cookie_map(&self) -> Result<CookieMap, FastPathError> {
        let handle = |name: &'static str| {
            let Some(Map::Array(map)) = self.ebpf.map(name) else { return Err(FastPathError::MissingMap(name)) };
            Ok(Map::Array(own_handle(map, name)?))
        };
        Ok(CookieMap { secrets: handle(map_names::COOKIE_SECRETS)?, slot: handle(map_names::COOKIE_SLOT)? })
    }
}

impl CookieMap {
    /// The secrets the program makes cookies with, if any were written (by
    /// this daemon or, with pinned maps, by a previous one).
    pub fn get(&self) -> Result<Option<CookieSecrets>, FastPathError> {
        let slots: Array<_, CookieSecrets> =
            Array::try_from(&self.secrets).map_err(map_err(map_names::COOKIE_SECRETS))?;
        let current = slots.get(&self.slot()?, 0).map_err(map_err(map_names::COOKIE_SECRETS))?;
        Ok((current.current != [0; 16]).then_some(current))
    }

    /// Makes `secrets` the ones the program uses.
    pub fn set(&mut self, secrets: &CookieSecrets) -> Result<(), FastPathError> {
        let next = 1 - self.slot()?;
        let mut slots: Array<_, CookieSecrets> =
            Array::try_from(&mut self.secrets).map_err(map_err(map_names::COOKIE_SECRETS))?;
        slots.set(next, *secrets, 0).map_err(map_err(map_names::COOKIE_SECRETS))?;
        let mut slot: Array<_, u32> = Array::try_from(&mut self.slot).map_err(map_err(map_names::COOKIE_SLOT))?;
        slot.set(0, next, 0).map_err(map_err(map_names::COOKIE_SLOT))
    }

    fn slot(&self) -> Result<u32, FastPathError> {
        let slot: Array<_, u32> = Array::try_from(&self.slot).map_err(map_err(map_names::COOKIE_SLOT))?;
        match slot.get(&0, 0) {
            Ok(slot) => Ok(slot & 1),
            Err(MapError::KeyNotFound) => Ok(0),
            Err(e) => Err(map_err(map_names::COOKIE_SLOT)(e)),
        }
    }
}
