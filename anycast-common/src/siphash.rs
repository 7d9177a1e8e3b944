//! SipHash-2-4 with a 64-bit result (Aumasson and Bernstein), the hash RFC
//! 9018 builds DNS server cookies with. Written for the XDP program as much
//! as for the daemon: the message is whole little-endian words plus a tail
//! of at most seven bytes, in straight-line code the verifier takes as it
//! is, so both sides compute the same cookie with one function.

#[inline(always)]
fn round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// Sixteen bytes as two little-endian words, the way SipHash reads its key
/// and its message.
#[inline(always)]
pub fn le_words(b: &[u8; 16]) -> [u64; 2] {
    [
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
    ]
}

/// The state after the key.
#[inline(always)]
pub fn start(key: &[u8; 16]) -> [u64; 4] {
    let [k0, k1] = le_words(key);
    [k0 ^ 0x736f_6d65_7073_6575, k1 ^ 0x646f_7261_6e64_6f6d, k0 ^ 0x6c79_6765_6e65_7261, k1 ^ 0x7465_6462_7974_6573]
}

/// Folds in eight message bytes, read as a little-endian word.
#[inline(always)]
pub fn word(v: &mut [u64; 4], m: u64) {
    v[3] ^= m;
    round(v);
    round(v);
    v[0] ^= m;
}

/// The hash of a message of `len` bytes whose last `len % 8` bytes are
/// `tail` (little-endian, the rest of the word zero).
#[inline(always)]
pub fn finish(mut v: [u64; 4], tail: u64, len: usize) -> u64 {
    word(&mut v, tail | (len as u64) << 56);
    v[2] ^= 0xff;
    round(&mut v);
    round(&mut v);
    round(&mut v);
    round(&mut v);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// The hash of a whole message (host side and tests).
pub fn hash(key: &[u8; 16], message: &[u8]) -> u64 {
    let mut v = start(key);
    let mut words = message.chunks_exact(8);
    for w in &mut words {
        word(&mut v, u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]));
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    finish(v, u64::from_le_bytes(tail), message.len())
}

#[cfg(test)]
mod tests {
    use super::hash;

    /// The reference implementation's vectors: key 00..0f, messages
    /// 00..(n-1), from the SipHash paper's test file.
    #[test]
    fn reference_vectors() {
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let message: [u8; 64] = core::array::from_fn(|i| i as u8);
        let cases: [(usize, u64); 4] = [
            (0, 0x726f_db47_dd0e_0e31),
            (1, 0x74f8_39c5_93dc_67fd),
            (8, 0x93f5_f579_9a93_2462),
            (15, 0xa129_ca61_49be_45e5),
        ];
        for (len, expected) in cases {
            assert_eq!(hash(&key, &message[..len]), expected, "message of {len} bytes");
        }
    }
}
