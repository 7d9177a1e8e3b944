//! The keyed name hash, computed by the XDP program over the question name
//! it has copied and lower-cased, and by the map writer over the stored
//! name.
//!
//! The name is taken as little-endian 64-bit words, the last one zero
//! padded, each folded in with a multiply and shift; the state starts from
//! a secret key and is finished with the second half of the key, the length
//! and MurmurHash3's fmix64. The hash only shortens the map key: a hit is
//! always confirmed by comparing the stored name, so a collision costs a
//! miss, never a wrong answer. The key keeps outsiders from choosing names
//! that collide with hot entries.

const MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// State before the first word of a name.
#[inline(always)]
pub fn start(key: &[u64; 2]) -> u64 {
    key[0]
}

/// Folds in the next eight bytes of the lower-cased wire name, read as a
/// little-endian word (zero padded past the end of the name).
#[inline(always)]
pub fn step(state: u64, word: u64) -> u64 {
    let h = (state ^ word).wrapping_mul(MULTIPLIER);
    h ^ (h >> 32)
}

/// The final hash of a name of `len` bytes.
#[inline(always)]
pub fn finish(state: u64, len: usize, key: &[u64; 2]) -> u64 {
    let mut h = state ^ key[1] ^ len as u64;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hash of a whole lower-cased wire name (the map writer's side).
pub fn name(wire: &[u8], key: &[u64; 2]) -> u64 {
    let state = wire.chunks(8).fold(start(key), |state, chunk| {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        step(state, u64::from_le_bytes(word))
    });
    finish(state, wire.len(), key)
}

/// ASCII lower-casing of eight bytes at once, as DNS defines it (RFC 4343):
/// only A-Z change; bytes from 0x80 up are left alone.
#[inline(always)]
pub fn lower_word(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let seven_bits = word & !HIGH;
    // High bit of each byte set where the byte (below 0x80) is >= 'A', and
    // where it is > 'Z'; no byte carries into the next.
    let at_least_a = seven_bits + ONES * (0x80 - b'A' as u64);
    let above_z = seven_bits + ONES * (0x80 - b'Z' as u64 - 1);
    let upper = (at_least_a ^ above_z) & !word & HIGH;
    word | (upper >> 2)
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
    fn word_lowering_matches_ascii_lowering_for_every_byte() {
        for b in 0..=255u8 {
            let word = u64::from_le_bytes([b, b'Q', b, 0xC4, b'@', b'[', b'`', b'{']);
            let lowered = lower_word(word).to_le_bytes();
            let expected = [b, b'Q', b, 0xC4, b'@', b'[', b'`', b'{'].map(|x| x.to_ascii_lowercase());
            assert_eq!(lowered, expected, "byte {b:#04x}");
        }
    }
}
