//! The keyed name hash, computed byte by byte by the XDP program while it
//! parses the question and over the whole name by the map writer.
//!
//! FNV-1a with a secret offset basis, finished by a keyed 64-bit mixer. The
//! hash only shortens the map key: a hit is always confirmed by comparing the
//! stored name, so a collision costs a miss, never a wrong answer. The key
//! keeps outsiders from choosing names that collide with hot entries.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// State before the first byte of a name.
#[inline(always)]
pub fn start(key: &[u64; 2]) -> u64 {
    FNV_OFFSET ^ key[0]
}

/// Folds in one byte of the lower-cased wire name.
#[inline(always)]
pub fn step(state: u64, byte: u8) -> u64 {
    (state ^ byte as u64).wrapping_mul(FNV_PRIME)
}

/// The final hash (MurmurHash3's fmix64 over the keyed state).
#[inline(always)]
pub fn finish(state: u64, key: &[u64; 2]) -> u64 {
    let mut h = state ^ key[1];
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hash of a whole lower-cased wire name (the map writer's side).
pub fn name(wire: &[u8], key: &[u64; 2]) -> u64 {
    let state = wire.iter().fold(start(key), |s, &b| step(s, b));
    finish(state, key)
}

/// ASCII lower-casing as DNS defines it (RFC 4343): only A-Z change.
#[inline(always)]
pub fn lower(byte: u8) -> u8 {
    if byte.is_ascii_uppercase() {
        byte | 0x20
    } else {
        byte
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_changes_the_hash() {
        let wire = b"\x07example\x03com\x00";
        assert_ne!(name(wire, &[1, 2]), name(wire, &[1, 3]));
        assert_ne!(name(wire, &[1, 2]), name(wire, &[4, 2]));
        assert_eq!(name(wire, &[1, 2]), name(wire, &[1, 2]));
    }

    #[test]
    fn only_ascii_letters_fold() {
        assert_eq!(lower(b'Q'), b'q');
        assert_eq!(lower(b'q'), b'q');
        assert_eq!(lower(b'@'), b'@');
        assert_eq!(lower(b'['), b'[');
        assert_eq!(lower(0xC4), 0xC4);
    }
}
