//! The heartbeat key file: one key a line, `ID HEX` (an id from 0 to 255 and at least 32
//! bytes in hexadecimal); blank lines and lines starting with `#` are skipped. The first key
//! signs, every key verifies. The file must not be readable or writable by group or others.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::codec::Key;

/// The shortest key accepted, in bytes.
pub const MIN_KEY: usize = 32;
/// The longest key accepted, in bytes.
pub const MAX_KEY: usize = 1024;

/// Why a key file cannot be used. The messages name the file and the line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyFileError {
    #[error("heartbeat key file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(
        "heartbeat key file {path} is accessible by group or others (mode {mode:04o}); run chmod 600 {path}"
    )]
    Permissions { path: String, mode: u32 },
    #[error("heartbeat key file {path}:{line}: {reason}")]
    Line {
        path: String,
        line: usize,
        reason: String,
    },
    #[error("heartbeat key file {path} holds no key")]
    Empty { path: String },
}

/// The keys of a key file, in file order; the first signs.
#[derive(Clone)]
pub struct KeySet {
    keys: Vec<Key>,
    /// The ids and a digest of the secrets, to tell whether a reload changed them.
    fingerprint: Vec<(u8, [u8; 32])>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|k| k.id).collect();
        f.debug_struct("KeySet").field("ids", &ids).finish()
    }
}

impl PartialEq for KeySet {
    fn eq(&self, o: &KeySet) -> bool {
        self.fingerprint == o.fingerprint
    }
}
impl Eq for KeySet {}

impl KeySet {
    /// The key that signs.
    pub fn signing(&self) -> &Key {
        &self.keys[0]
    }

    /// Every key, for verifying.
    pub fn all(&self) -> &[Key] {
        &self.keys
    }

    /// The ids in file order.
    pub fn ids(&self) -> Vec<u8> {
        self.keys.iter().map(|k| k.id).collect()
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// Read the text of a key file (`path` is for the messages).
pub fn parse(text: &str, path: &str) -> Result<KeySet, KeyFileError> {
    use sha2::Digest;
    let mut keys = Vec::new();
    let mut fingerprint = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let err = |reason: String| KeyFileError::Line {
            path: path.to_owned(),
            line: i + 1,
            reason,
        };
        let mut words = l.split_whitespace();
        let (Some(id), Some(secret), None) = (words.next(), words.next(), words.next()) else {
            return Err(err("expected `ID HEX`".into()));
        };
        let id: u8 = id
            .parse()
            .map_err(|_| err(format!("key id `{id}` is not a number from 0 to 255")))?;
        if fingerprint.iter().any(|(k, _)| *k == id) {
            return Err(err(format!("key id {id} appears twice")));
        }
        let bytes = hex(secret).ok_or_else(|| err("the key is not hexadecimal".into()))?;
        if bytes.len() < MIN_KEY {
            return Err(err(format!(
                "key {id} is {} bytes; at least {MIN_KEY} are needed (e.g. openssl rand -hex 32)",
                bytes.len()
            )));
        }
        if bytes.len() > MAX_KEY {
            return Err(err(format!("key {id} is longer than {MAX_KEY} bytes")));
        }
        fingerprint.push((id, sha2::Sha256::digest(&bytes).into()));
        keys.push(Key::new(id, &bytes));
    }
    if keys.is_empty() {
        return Err(KeyFileError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(KeySet { keys, fingerprint })
}

/// Read a key file, refusing one that group or others may access.
pub fn load(path: &Path) -> Result<KeySet, KeyFileError> {
    let name = path.display().to_string();
    let unreadable = |e: std::io::Error| KeyFileError::Unreadable {
        path: name.clone(),
        reason: e.to_string(),
    };
    let md = std::fs::metadata(path).map_err(unreadable)?;
    let mode = md.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::Permissions { path: name, mode });
    }
    let text = std::fs::read_to_string(path).map_err(unreadable)?;
    parse(&text, &name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn ids_keys_and_order() {
        let t = format!("# keys\n\n2 {K1}\n 1  {}\n", K1.to_uppercase());
        let s = parse(&t, "/k").unwrap();
        assert_eq!(s.ids(), [2, 1]);
        assert_eq!(s.signing().id, 2);
        assert!(!format!("{s:?}").contains("0011"), "{s:?}");
    }

    #[test]
    fn refusals_name_the_line() {
        let e = |t: &str| parse(t, "/k").unwrap_err().to_string();
        assert_eq!(
            e("1 0011\n"),
            "heartbeat key file /k:1: key 1 is 2 bytes; at least 32 are needed (e.g. openssl rand -hex 32)"
        );
        assert_eq!(
            e(&format!("\n300 {K1}\n")),
            "heartbeat key file /k:2: key id `300` is not a number from 0 to 255"
        );
        assert_eq!(
            e(&format!("1 {K1}\n1 {K1}\n")),
            "heartbeat key file /k:2: key id 1 appears twice"
        );
        assert_eq!(
            e("1 xyz\n"),
            "heartbeat key file /k:1: the key is not hexadecimal"
        );
        assert_eq!(e("1\n"), "heartbeat key file /k:1: expected `ID HEX`");
        assert_eq!(e("# none\n"), "heartbeat key file /k holds no key");
    }

    #[test]
    fn equality_follows_the_secrets() {
        let a = parse(&format!("1 {K1}\n"), "/a").unwrap();
        let b = parse(&format!("1 {K1}\n"), "/b").unwrap();
        let c = parse(&format!("1 {}\n", K1.replace('0', "1")), "/c").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn group_or_other_access_is_refused() {
        let dir = std::env::temp_dir().join(format!("pulse-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("k");
        std::fs::write(&p, format!("1 {K1}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert_eq!(
            load(&p).unwrap_err(),
            KeyFileError::Permissions {
                path: p.display().to_string(),
                mode: 0o640
            }
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(load(&p).unwrap().ids(), [1]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
