//! Netlink attributes of IPVS messages: one value type for writing (in the exact order and
//! encoding libipvs uses) and a borrowed reader for kernel replies.
//!
//! Kernel replies carry no `NLA_F_NESTED` flag on nests (it uses `nla_nest_start_noflag`), so
//! the reader does not rely on it: a nest is read as a nest because of where it is.

use netlink_packet_core::{DecodeError, NLA_F_NESTED, Nla, NlaBuffer, NlasIterator};

/// One attribute to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub kind: u16,
    pub value: Value,
}

/// The encoding of an attribute's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    U8(u8),
    /// Host byte order.
    U16(u16),
    /// Network byte order (ports).
    Be16(u16),
    U32(u32),
    U64(u64),
    Bytes(Vec<u8>),
    /// NUL-terminated string.
    Str(String),
    Nest(Vec<Attr>),
}

impl Attr {
    pub fn new(kind: u16, value: Value) -> Attr {
        Attr { kind, value }
    }
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match &self.value {
            Value::U8(_) => 1,
            Value::U16(_) | Value::Be16(_) => 2,
            Value::U32(_) => 4,
            Value::U64(_) => 8,
            Value::Bytes(b) => b.len(),
            Value::Str(s) => s.len() + 1,
            Value::Nest(attrs) => attrs.as_slice().buffer_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self.value {
            Value::Nest(_) => self.kind | NLA_F_NESTED,
            _ => self.kind,
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match &self.value {
            Value::U8(v) => buf[0] = *v,
            Value::U16(v) => buf[..2].copy_from_slice(&v.to_ne_bytes()),
            Value::Be16(v) => buf[..2].copy_from_slice(&v.to_be_bytes()),
            Value::U32(v) => buf[..4].copy_from_slice(&v.to_ne_bytes()),
            Value::U64(v) => buf[..8].copy_from_slice(&v.to_ne_bytes()),
            Value::Bytes(b) => buf[..b.len()].copy_from_slice(b),
            Value::Str(s) => {
                buf[..s.len()].copy_from_slice(s.as_bytes());
                buf[s.len()] = 0;
            }
            Value::Nest(attrs) => attrs.as_slice().emit(buf),
        }
    }
}

use netlink_packet_core::Emitable;

/// Attributes of a received payload, by kind (the last one wins, as in the kernel's parser).
#[derive(Debug, Clone, Default)]
pub struct Attrs<'a> {
    items: Vec<(u16, &'a [u8])>,
}

fn short(kind: u16, want: usize, got: usize) -> DecodeError {
    DecodeError::from(format!(
        "attribute {kind}: expected {want} bytes, got {got}"
    ))
}

impl<'a> Attrs<'a> {
    /// Read a sequence of attributes (a message payload, or a nest's value).
    pub fn parse(buf: &'a [u8]) -> Result<Attrs<'a>, DecodeError> {
        let mut items = Vec::new();
        for nla in NlasIterator::new(buf) {
            let nla: NlaBuffer<&'a [u8]> = nla?;
            let kind = nla.kind();
            let len = nla.value_length();
            let inner: &'a [u8] = nla.into_inner();
            items.push((kind, &inner[4..4 + len]));
        }
        Ok(Attrs { items })
    }

    pub fn get(&self, kind: u16) -> Option<&'a [u8]> {
        self.items
            .iter()
            .rev()
            .find(|(k, _)| *k == kind)
            .map(|(_, v)| *v)
    }

    pub fn has(&self, kind: u16) -> bool {
        self.get(kind).is_some()
    }

    fn fixed<const N: usize>(&self, kind: u16) -> Result<Option<[u8; N]>, DecodeError> {
        match self.get(kind) {
            None => Ok(None),
            Some(v) if v.len() < N => Err(short(kind, N, v.len())),
            Some(v) => {
                let mut b = [0u8; N];
                b.copy_from_slice(&v[..N]);
                Ok(Some(b))
            }
        }
    }

    pub fn u8(&self, kind: u16) -> Result<Option<u8>, DecodeError> {
        Ok(self.fixed::<1>(kind)?.map(|b| b[0]))
    }

    pub fn u16(&self, kind: u16) -> Result<Option<u16>, DecodeError> {
        Ok(self.fixed::<2>(kind)?.map(u16::from_ne_bytes))
    }

    pub fn be16(&self, kind: u16) -> Result<Option<u16>, DecodeError> {
        Ok(self.fixed::<2>(kind)?.map(u16::from_be_bytes))
    }

    pub fn u32(&self, kind: u16) -> Result<Option<u32>, DecodeError> {
        Ok(self.fixed::<4>(kind)?.map(u32::from_ne_bytes))
    }

    /// A counter: 8 bytes in `STATS64` and for the byte counters, 4 bytes otherwise.
    pub fn counter(&self, kind: u16) -> Result<u64, DecodeError> {
        match self.get(kind) {
            None => Ok(0),
            Some(v) if v.len() >= 8 => Ok(u64::from_ne_bytes(v[..8].try_into().unwrap_or([0; 8]))),
            Some(v) if v.len() >= 4 => Ok(u64::from(u32::from_ne_bytes(
                v[..4].try_into().unwrap_or([0; 4]),
            ))),
            Some(v) => Err(short(kind, 4, v.len())),
        }
    }

    /// A NUL-terminated string (the NUL and anything after it dropped).
    pub fn string(&self, kind: u16) -> Option<String> {
        self.get(kind).map(|v| {
            let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
            String::from_utf8_lossy(&v[..end]).into_owned()
        })
    }

    /// A nest, read as attributes.
    pub fn nest(&self, kind: u16) -> Result<Option<Attrs<'a>>, DecodeError> {
        self.get(kind).map(Attrs::parse).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(attrs: &[Attr]) -> Vec<u8> {
        let mut b = vec![0u8; attrs.buffer_len()];
        attrs.emit(&mut b);
        b
    }

    #[test]
    fn encodings_and_padding() {
        let b = bytes(&[
            Attr::new(1, Value::U16(2)),
            Attr::new(4, Value::Be16(80)),
            Attr::new(6, Value::Str("wlc".into())),
        ]);
        assert_eq!(
            b,
            [
                6, 0, 1, 0, 2, 0, 0, 0, // u16 host order, padded
                6, 0, 4, 0, 0, 80, 0, 0, // port in network order
                8, 0, 6, 0, b'w', b'l', b'c', 0, // NUL-terminated
            ]
        );
    }

    #[test]
    fn nests_carry_the_nested_flag_and_read_back_without_it() {
        let b = bytes(&[Attr::new(1, Value::Nest(vec![Attr::new(5, Value::U32(7))]))]);
        assert_eq!(b, [12, 0, 1, 0x80, 8, 0, 5, 0, 7, 0, 0, 0]);
        let top = Attrs::parse(&b).unwrap();
        let nest = top.nest(1).unwrap().unwrap();
        assert_eq!(nest.u32(5).unwrap(), Some(7));
        // The same bytes without the flag, as the kernel sends them.
        let mut noflag = b.clone();
        noflag[3] = 0;
        let top = Attrs::parse(&noflag).unwrap();
        assert_eq!(top.nest(1).unwrap().unwrap().u32(5).unwrap(), Some(7));
    }

    #[test]
    fn short_values_are_errors_not_panics() {
        let b = [5, 0, 4, 0, 1, 0, 0, 0];
        let a = Attrs::parse(&b).unwrap();
        assert!(a.u16(4).is_err());
        assert!(a.counter(4).is_err());
        assert_eq!(a.string(4).as_deref(), Some("\u{1}"));
    }
}
