//! Frame Streams (the fstrm protocol dnstap travels in): data frames are a
//! 32-bit big-endian length and the payload; control frames start with a
//! zero length (the escape), then their own length, their type and their
//! fields (only CONTENT_TYPE here). Over a socket the writer sends READY,
//! the reader answers ACCEPT, the writer sends START, the data, STOP, and
//! the reader answers FINISH; a file holds START, the data and STOP.

/// The content type of dnstap data frames.
pub const CONTENT_TYPE: &[u8] = b"protobuf:dnstap.Dnstap";
/// Longest control frame a reader may send that is read (fstrm's limit).
pub const MAX_CONTROL_LEN: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Control {
    Accept = 1,
    Start = 2,
    Stop = 3,
    Ready = 4,
    Finish = 5,
}

const FIELD_CONTENT_TYPE: u32 = 1;

/// A control frame of `kind`, with the dnstap content type unless it is
/// STOP or FINISH (which carry none).
pub fn control(kind: Control) -> Vec<u8> {
    let mut body = (kind as u32).to_be_bytes().to_vec();
    if !matches!(kind, Control::Stop | Control::Finish) {
        body.extend_from_slice(&FIELD_CONTENT_TYPE.to_be_bytes());
        body.extend_from_slice(&(CONTENT_TYPE.len() as u32).to_be_bytes());
        body.extend_from_slice(CONTENT_TYPE);
    }
    let mut frame = 0u32.to_be_bytes().to_vec();
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

/// Appends the data frame of `payload` to `out`.
pub fn data(payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    #[error("a control frame of {0} bytes (at most {MAX_CONTROL_LEN} are read)")]
    TooLong(usize),
    #[error("malformed control frame")]
    Malformed,
    #[error("control frame type {0} where {1:?} was expected")]
    Unexpected(u32, Control),
    #[error("the reader does not accept the content type {}", String::from_utf8_lossy(CONTENT_TYPE))]
    ContentType,
}

/// Checks the body of a control frame (after the escape and the length)
/// the reader sent: of type `expected`, and for ACCEPT listing the dnstap
/// content type (a reader that lists none accepts any).
pub fn check_reply(body: &[u8], expected: Control) -> Result<(), ControlError> {
    let (kind, mut fields) = body.split_first_chunk::<4>().ok_or(ControlError::Malformed)?;
    let kind = u32::from_be_bytes(*kind);
    if kind != expected as u32 {
        return Err(ControlError::Unexpected(kind, expected));
    }
    let mut types = Vec::new();
    while !fields.is_empty() {
        let (field, rest) = fields.split_first_chunk::<4>().ok_or(ControlError::Malformed)?;
        let (len, rest) = rest.split_first_chunk::<4>().ok_or(ControlError::Malformed)?;
        let len = u32::from_be_bytes(*len) as usize;
        let value = rest.get(..len).ok_or(ControlError::Malformed)?;
        if u32::from_be_bytes(*field) == FIELD_CONTENT_TYPE {
            types.push(value);
        }
        fields = &rest[len..];
    }
    if expected == Control::Accept && !types.is_empty() && !types.contains(&CONTENT_TYPE) {
        return Err(ControlError::ContentType);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_frames_as_fstrm_writes_them() {
        let ready = control(Control::Ready);
        assert_eq!(ready[..4], [0, 0, 0, 0], "the escape");
        assert_eq!(u32::from_be_bytes(ready[4..8].try_into().unwrap()) as usize, ready.len() - 8);
        assert_eq!(ready[8..12], [0, 0, 0, 4]);
        assert_eq!(&ready[20..], CONTENT_TYPE);
        assert_eq!(control(Control::Stop), [0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 3]);
        let mut out = Vec::new();
        data(b"abc", &mut out);
        assert_eq!(out, [0, 0, 0, 3, b'a', b'b', b'c']);
    }

    #[test]
    fn replies_are_checked() {
        let accept = control(Control::Accept);
        assert_eq!(check_reply(&accept[8..], Control::Accept), Ok(()));
        assert_eq!(check_reply(&[0, 0, 0, 1], Control::Accept), Ok(()), "no content type: any");
        assert_eq!(check_reply(&[0, 0, 0, 5], Control::Finish), Ok(()));
        assert_eq!(check_reply(&accept[8..], Control::Finish), Err(ControlError::Unexpected(1, Control::Finish)));
        let other = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, b'x', b'y', b'z'];
        assert_eq!(check_reply(&other, Control::Accept), Err(ControlError::ContentType));
        assert_eq!(check_reply(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9], Control::Accept), Err(ControlError::Malformed));
        assert_eq!(check_reply(&[0, 0], Control::Accept), Err(ControlError::Malformed));
    }
}
