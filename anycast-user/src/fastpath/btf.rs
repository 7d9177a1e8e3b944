//! Where a field lies in a kernel struct, from the kernel's BTF
//! (/sys/kernel/btf/vmlinux, readable by anyone): the delivery programs
//! read `net_device.ifindex` through the device pointer their raw
//! tracepoints get, at an offset that differs between kernel builds.
//! Only what that lookup needs is read: the type records' sizes (to walk
//! them), structs' and unions' members, and the string section.

use std::path::Path;

/// The kernel's own BTF.
pub const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

const MAGIC: u16 = 0xeb9f;
/// Kinds (linux/btf.h) whose records carry more than the common 12 bytes.
const KIND_INT: u32 = 1;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_ENUM64: u32 = 19;

#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("not BTF, or not this machine's byte order")]
    NotBtf,
    #[error("BTF cut short at byte {0}")]
    Truncated(usize),
    #[error("BTF type kind {0} is unknown to anycastd")]
    UnknownKind(u32),
    #[error("no struct {0} in the kernel's BTF")]
    NoStruct(String),
    #[error("struct {strukt} has no field {field}")]
    NoField { strukt: String, field: String },
}

/// The byte offset of `field` in `struct strukt` of the BTF in `path`.
pub fn field_offset_in(path: &Path, strukt: &str, field: &str) -> Result<u32, BtfError> {
    let data = std::fs::read(path).map_err(|source| BtfError::Read { path: path.display().to_string(), source })?;
    field_offset(&data, strukt, field)
}

/// One type record: its kind, name and where its members are (for a
/// struct or union).
struct Record {
    kind: u32,
    name: u32,
    vlen: usize,
    members: usize,
}

/// A BTF blob, its type records found.
struct Types<'a> {
    data: &'a [u8],
    strings: usize,
    /// Type IDs start at 1: `records[id - 1]`.
    records: Vec<Record>,
}

impl<'a> Types<'a> {
    fn parse(data: &'a [u8]) -> Result<Types<'a>, BtfError> {
        if data.get(..2).map(|m| u16::from_ne_bytes([m[0], m[1]])) != Some(MAGIC) {
            return Err(BtfError::NotBtf);
        }
        let mut types = Types { data, strings: 0, records: Vec::new() };
        let header = types.word(4)? as usize;
        let (start, len) = (header + types.word(8)? as usize, types.word(12)? as usize);
        types.strings = header + types.word(16)? as usize;
        let mut at = start;
        while at < start + len {
            let info = types.word(at + 4)?;
            let (kind, vlen) = (info >> 24 & 0x1f, (info & 0xffff) as usize);
            types.records.push(Record { kind, name: types.word(at)?, vlen, members: at + 12 });
            at += 12 + extra_len(kind, vlen)?;
        }
        Ok(types)
    }

    fn word(&self, at: usize) -> Result<u32, BtfError> {
        let bytes = self.data.get(at..at + 4).ok_or(BtfError::Truncated(at))?;
        Ok(u32::from_ne_bytes(bytes.try_into().expect("four bytes")))
    }

    fn name(&self, offset: u32) -> &'a [u8] {
        let rest = self.data.get(self.strings + offset as usize..).unwrap_or_default();
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    }

    /// `field`'s byte offset in `record`, descending into anonymous
    /// members; `base` is where `record` starts, in bits. Bounded by the
    /// BTF's nesting (a struct cannot contain itself).
    fn find_member(&self, record: &Record, field: &[u8], base: u32) -> Result<Option<u32>, BtfError> {
        for i in 0..record.vlen {
            let at = record.members + 12 * i;
            let (name, member_type, offset) = (self.word(at)?, self.word(at + 4)?, self.word(at + 8)?);
            let bits = base + (offset & 0x00ff_ffff);
            if self.name(name) == field {
                return Ok(Some(bits / 8));
            }
            let inner = self.records.get((member_type as usize).wrapping_sub(1));
            if let Some(inner) = inner.filter(|r| name == 0 && matches!(r.kind, KIND_STRUCT | KIND_UNION))
                && let Some(found) = self.find_member(inner, field, bits)?
            {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

/// The byte offset of `field` in `struct strukt` of `data` (BTF). A field
/// of an anonymous struct or union member counts as the struct's own.
pub fn field_offset(data: &[u8], strukt: &str, field: &str) -> Result<u32, BtfError> {
    let types = Types::parse(data)?;
    let found = types.records.iter().find(|r| r.kind == KIND_STRUCT && types.name(r.name) == strukt.as_bytes());
    let record = found.ok_or_else(|| BtfError::NoStruct(strukt.into()))?;
    types
        .find_member(record, field.as_bytes(), 0)?
        .ok_or_else(|| BtfError::NoField { strukt: strukt.into(), field: field.into() })
}

/// The bytes a record of `kind` carries past the common 12.
fn extra_len(kind: u32, vlen: usize) -> Result<usize, BtfError> {
    Ok(match kind {
        KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
        KIND_ARRAY => 12,
        KIND_STRUCT | KIND_UNION | KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
        KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
        2 | 7..=12 | 16 | 18 => 0,
        other => return Err(BtfError::UnknownKind(other)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER_LEN: usize = 24;

    /// A BTF blob of `types` (records as words) and `strings`.
    fn blob(types: &[u32], strings: &[u8]) -> Vec<u8> {
        let types: Vec<u8> = types.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let mut data = Vec::new();
        data.extend_from_slice(&MAGIC.to_ne_bytes());
        data.extend_from_slice(&[1, 0]);
        for w in [HEADER_LEN as u32, 0, types.len() as u32, types.len() as u32, strings.len() as u32] {
            data.extend_from_slice(&w.to_ne_bytes());
        }
        data.extend_from_slice(&types);
        data.extend_from_slice(strings);
        data
    }

    const fn info(kind: u32, vlen: u32) -> u32 {
        kind << 24 | vlen
    }

    #[test]
    fn fields_direct_and_in_anonymous_members() {
        // Strings: 1 "int", 5 "dev", 9 "name", 14 "ifindex", 22 "mtu".
        let strings = b"\0int\0dev\0name\0ifindex\0mtu\0";
        #[rustfmt::skip]
        let types = [
            // 1: int (4 bytes)
            1, info(KIND_INT, 0), 4, 32,
            // 2: an anonymous union { int mtu at 0 }
            0, info(KIND_UNION, 1), 4, 22, 1, 0,
            // 3: struct dev { int name at 0; union (anonymous) at 64 bits; int ifindex at 96 bits }
            5, info(KIND_STRUCT, 3), 16, 9, 1, 0, 0, 2, 64, 14, 1, 96,
        ];
        let data = blob(&types, strings);
        // (field, offset)
        let cases = [("name", 0), ("ifindex", 12), ("mtu", 8)];
        for (field, offset) in cases {
            assert_eq!(field_offset(&data, "dev", field).unwrap(), offset, "{field}");
        }
        assert!(matches!(field_offset(&data, "dev", "flags"), Err(BtfError::NoField { .. })));
        assert!(matches!(field_offset(&data, "net_device", "ifindex"), Err(BtfError::NoStruct(_))));
        assert!(matches!(field_offset(&data[..40], "dev", "ifindex"), Err(BtfError::Truncated(_))));
        assert!(matches!(field_offset(b"not btf at all", "dev", "ifindex"), Err(BtfError::NotBtf)));
    }

    #[test]
    fn this_kernel_has_net_device_ifindex() {
        let offset = field_offset_in(Path::new(VMLINUX), "net_device", "ifindex").expect("the kernel's BTF");
        // After the name (16 bytes) at least, and inside the struct's first
        // kilobytes in every kernel.
        assert!((16..4096).contains(&offset), "net_device.ifindex at {offset}");
    }
}
