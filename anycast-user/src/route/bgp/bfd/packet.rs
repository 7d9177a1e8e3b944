//! The BFD Control packet (RFC 5880 section 4.1), without authentication,
//! and the reception checks of section 6.8.6 that the packet alone
//! decides.

use super::state::BfdState;

/// The mandatory section's length: all this speaker sends or accepts.
pub const LENGTH: usize = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Control {
    pub diagnostic: u8,
    pub state: BfdState,
    pub poll: bool,
    pub final_: bool,
    pub detect_mult: u8,
    pub my_discriminator: u32,
    pub your_discriminator: u32,
    /// Microseconds.
    pub desired_min_tx: u32,
    pub required_min_rx: u32,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("{0} bytes, shorter than a BFD Control packet")]
    Short(usize),
    #[error("version {0}, not 1")]
    Version(u8),
    #[error("length field {length} against {received} bytes received")]
    Length { length: usize, received: usize },
    #[error("authenticated (not configured here)")]
    Authenticated,
    #[error("detect multiplier 0")]
    ZeroMultiplier,
    #[error("multipoint bit set")]
    Multipoint,
    #[error("my discriminator 0")]
    ZeroDiscriminator,
    #[error("your discriminator 0 in state {0:?}")]
    Unaddressed(BfdState),
}

const POLL: u8 = 0x20;
const FINAL: u8 = 0x10;
const AUTHENTICATED: u8 = 0x04;
const MULTIPOINT: u8 = 0x01;

impl Control {
    pub fn encode(&self) -> [u8; LENGTH] {
        let mut out = [0u8; LENGTH];
        out[0] = (1 << 5) | (self.diagnostic & 0x1f);
        out[1] = (self.state as u8) << 6 | if self.poll { POLL } else { 0 } | if self.final_ { FINAL } else { 0 };
        out[2] = self.detect_mult;
        out[3] = LENGTH as u8;
        out[4..8].copy_from_slice(&self.my_discriminator.to_be_bytes());
        out[8..12].copy_from_slice(&self.your_discriminator.to_be_bytes());
        out[12..16].copy_from_slice(&self.desired_min_tx.to_be_bytes());
        out[16..20].copy_from_slice(&self.required_min_rx.to_be_bytes());
        // Required Min Echo RX Interval 0: no echo function.
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Control, PacketError> {
        if bytes.len() < LENGTH {
            return Err(PacketError::Short(bytes.len()));
        }
        let version = bytes[0] >> 5;
        if version != 1 {
            return Err(PacketError::Version(version));
        }
        let length = usize::from(bytes[3]);
        if length < LENGTH || length > bytes.len() {
            return Err(PacketError::Length { length, received: bytes.len() });
        }
        let flags = bytes[1];
        if flags & AUTHENTICATED != 0 {
            return Err(PacketError::Authenticated);
        }
        if flags & MULTIPOINT != 0 {
            return Err(PacketError::Multipoint);
        }
        let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
        let control = Control {
            diagnostic: bytes[0] & 0x1f,
            state: BfdState::ALL[usize::from(flags >> 6)],
            poll: flags & POLL != 0,
            final_: flags & FINAL != 0,
            detect_mult: bytes[2],
            my_discriminator: word(4),
            your_discriminator: word(8),
            desired_min_tx: word(12),
            required_min_rx: word(16),
        };
        if control.detect_mult == 0 {
            return Err(PacketError::ZeroMultiplier);
        }
        if control.my_discriminator == 0 {
            return Err(PacketError::ZeroDiscriminator);
        }
        if control.your_discriminator == 0 && !matches!(control.state, BfdState::Down | BfdState::AdminDown) {
            return Err(PacketError::Unaddressed(control.state));
        }
        Ok(control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Control {
        Control {
            diagnostic: 3,
            state: BfdState::Up,
            poll: true,
            final_: false,
            detect_mult: 3,
            my_discriminator: 0x0102_0304,
            your_discriminator: 7,
            desired_min_tx: 100_000,
            required_min_rx: 300_000,
        }
    }

    #[test]
    fn a_packet_round_trips_with_the_fields_where_the_rfc_puts_them() {
        let bytes = sample().encode();
        assert_eq!(&bytes[..4], &[0x23, 0xe0, 3, 24], "version 1, diag 3; Up, P; mult; length");
        assert_eq!(&bytes[4..8], &[1, 2, 3, 4]);
        assert_eq!(&bytes[12..16], &100_000u32.to_be_bytes());
        assert_eq!(Control::decode(&bytes), Ok(sample()));
    }

    #[test]
    fn packets_the_rfc_says_to_discard_are_refused() {
        let with = |change: &dyn Fn(&mut [u8; LENGTH])| {
            let mut bytes = sample().encode();
            change(&mut bytes);
            Control::decode(&bytes)
        };
        let cases: &[(&str, Result<Control, PacketError>)] = &[
            ("short", Control::decode(&sample().encode()[..20])),
            ("version 2", with(&|b| b[0] = 0x43)),
            ("length 30", with(&|b| b[3] = 30)),
            ("length 20", with(&|b| b[3] = 20)),
            ("auth", with(&|b| b[1] |= AUTHENTICATED)),
            ("multipoint", with(&|b| b[1] |= MULTIPOINT)),
            ("mult 0", with(&|b| b[2] = 0)),
            ("my disc 0", with(&|b| b[4..8].fill(0))),
            ("your disc 0 while Up", with(&|b| b[8..12].fill(0))),
        ];
        let want = [
            PacketError::Short(20),
            PacketError::Version(2),
            PacketError::Length { length: 30, received: 24 },
            PacketError::Length { length: 20, received: 24 },
            PacketError::Authenticated,
            PacketError::Multipoint,
            PacketError::ZeroMultiplier,
            PacketError::ZeroDiscriminator,
            PacketError::Unaddressed(BfdState::Up),
        ];
        for ((case, got), want) in cases.iter().zip(want) {
            assert_eq!(got, &Err(want), "{case}");
        }
        let down = with(&|b| {
            b[1] = (BfdState::Down as u8) << 6;
            b[8..12].fill(0);
        });
        assert!(down.is_ok(), "your discriminator 0 is how a Down session starts: {down:?}");
    }
}
