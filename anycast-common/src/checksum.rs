//! Internet checksum arithmetic (RFC 1071) shared by the XDP program and the
//! map writer. Sums are kept as wide integers and folded once at the end.
//! A sum of bytes that starts at an odd offset equals the byte-swapped sum of
//! the same bytes at an even offset (RFC 1071 2(B)); the fast path uses that
//! to place precomputed sums at any offset.

/// Folds a wide ones-complement sum into 16 bits.
#[inline(always)]
pub fn fold(mut sum: u64) -> u16 {
    sum = (sum & 0xffff_ffff) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// Sum of 16-bit words, placed at an odd offset if `odd`.
#[inline(always)]
pub fn at_parity(folded: u16, odd: bool) -> u64 {
    if odd { folded.swap_bytes() as u64 } else { folded as u64 }
}

/// Sum of a 32-bit big-endian value written at an even offset.
#[inline(always)]
pub fn u32_words(value: u32) -> u64 {
    (value >> 16) as u64 + (value & 0xffff) as u64
}

/// Sum of `bytes` as if they started at an even offset (the map writer's
/// side; the XDP program sums packet bytes as it reads them).
pub fn bytes(bytes: &[u8]) -> u64 {
    let mut sum = 0u64;
    let mut words = bytes.chunks_exact(2);
    for w in &mut words {
        sum += u16::from_be_bytes([w[0], w[1]]) as u64;
    }
    if let [last] = words.remainder() {
        sum += (*last as u64) << 8;
    }
    sum
}

/// The first `left` bytes of a little-endian word read from memory (all
/// eight if `left` is 8 or more), the others zero: the word loops over
/// names and options use it on the last word.
#[inline(always)]
pub fn le_prefix(word: u64, left: usize) -> u64 {
    if left >= 8 { word } else { word & ((1u64 << (left * 8)) - 1) }
}

/// Sum of eight bytes read from memory as a little-endian word, as if
/// they sat at an even offset: checksum words are big-endian pairs, and
/// 32-bit halves fold like 16-bit words.
#[inline(always)]
pub fn le_word_sum(word: u64) -> u64 {
    let big_endian = word.swap_bytes();
    (big_endian >> 32) + (big_endian & 0xffff_ffff)
}

/// The sum (unfolded, for [`fold`]) of data whose sum was `stored` once
/// every one of its TTL fields (`even` of them at even offsets, `odd` at
/// odd ones) has gone down by `elapsed`, none below zero. Ones-complement
/// sums are sums modulo 65535, in which a 32-bit field's halves add up to
/// the field itself, and a field at an odd offset counts 256 times over.
#[inline(always)]
pub fn aged_sum(stored: u16, even: u64, odd: u64, elapsed: u32) -> u64 {
    let elapsed = elapsed as u64;
    let less = (even * elapsed + odd * 256 * elapsed) % 0xffff;
    stored as u64 + 0xffff - less
}

/// The value for a UDP checksum field: zero is sent as all ones (RFC 768).
#[inline(always)]
pub fn finish_udp(sum: u64) -> u16 {
    match !fold(sum) {
        0 => 0xffff,
        c => c,
    }
}

/// A checksum after one 16-bit word it covers changed from `old` to `new`
/// (RFC 1624 eqn. 3), as a UDP checksum (never zero).
#[inline(always)]
pub fn replace_word(checksum: u16, old: u16, new: u16) -> u16 {
    finish_udp(!checksum as u64 + !old as u64 + new as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacing_a_word_matches_a_full_sum() {
        let mut data = [0x45u8, 0x00, 0x01, 0x23, 0x80, 0x00, 0xbe, 0xef, 0x12];
        let before = finish_udp(bytes(&data));
        data[4] = 0x00;
        assert_eq!(replace_word(before, 0x8000, 0x0000), finish_udp(bytes(&data)));
        assert_eq!(replace_word(replace_word(before, 0x8000, 0), 0, 0x8000), before);
    }

    #[test]
    fn word_sums_equal_byte_sums() {
        let data: [u8; 21] = core::array::from_fn(|i| (i * 37 + 11) as u8);
        let mut sum = 0;
        for at in (0..data.len()).step_by(8) {
            let mut word = [0u8; 8];
            let n = (data.len() - at).min(8);
            word[..n].copy_from_slice(&data[at..at + n]);
            // Bytes past the end are garbage in the buffers the loops read.
            word[n..].fill(0xee);
            sum += le_word_sum(le_prefix(u64::from_le_bytes(word), data.len() - at));
        }
        assert_eq!(fold(sum), fold(bytes(&data)));
    }

    #[test]
    fn odd_offset_is_the_swapped_sum() {
        let data = [0x12, 0x34, 0x56, 0x78, 0x9a];
        let mut shifted = [0u8; 6];
        shifted[1..].copy_from_slice(&data);
        assert_eq!(fold(bytes(&shifted)), fold(at_parity(fold(bytes(&data)), true)));
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(fold(bytes(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0xddf2);
    }

    #[test]
    fn zero_checksum_is_sent_as_ones() {
        assert_eq!(finish_udp(0xffff), 0xffff);
        assert_eq!(finish_udp(0), 0xffff);
    }
}
