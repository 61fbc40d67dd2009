//! A password file as lines, for reading and for editing one user's entry while keeping the
//! rest (comments, blank lines, other users) as written.

use std::path::{Path, PathBuf};

use super::error::Error;
use super::hash::Hash;
use super::passwords::Passwords;

/// One line of a password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A blank line or a `#` comment, as written.
    Other(String),
    /// `user:hash`, possibly with more `:`-separated fields after the hash (Apache ignores
    /// them), as written.
    Entry {
        user: String,
        hash: String,
        raw: String,
    },
}

/// The lines of a password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    path: PathBuf,
    lines: Vec<Line>,
}

impl Document {
    /// An empty file at `path`.
    pub fn new(path: &Path) -> Document {
        Document {
            path: path.to_owned(),
            lines: Vec::new(),
        }
    }

    /// Split `bytes`, the contents of `path`, into lines. Each line is blank, a `#` comment or
    /// `user:hash` (leading and trailing white space and a CR before the LF are ignored, as
    /// Apache does); anything else is an error. Hashes are not checked here.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Document, Error> {
        let mut lines = Vec::new();
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        if !bytes.is_empty() {
            for (i, line) in body.split(|&b| b == b'\n').enumerate() {
                lines.push(parse_line(line, path, i + 1)?);
            }
        }
        Ok(Document {
            path: path.to_owned(),
            lines,
        })
    }

    /// The lines.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The file this came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Give `user` the hash `hash`: its first line is replaced, further lines of the same
    /// user are dropped, and a user without a line gets one at the end.
    pub fn set(&mut self, user: &str, hash: &str) {
        let new = Line::Entry {
            user: user.to_owned(),
            hash: hash.to_owned(),
            raw: format!("{user}:{hash}"),
        };
        let mut replaced = false;
        self.lines.retain_mut(|line| match line {
            Line::Entry { user: u, .. } if u == user => {
                if replaced {
                    return false;
                }
                *line = new.clone();
                replaced = true;
                true
            }
            _ => true,
        });
        if !replaced {
            self.lines.push(new);
        }
    }

    /// The file's text: every line as written (or as set), each ended by a newline.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            match line {
                Line::Other(raw) | Line::Entry { raw, .. } => out.push_str(raw),
            }
            out.push('\n');
        }
        out
    }

    /// Check every entry's hash and that no user has two lines.
    pub fn passwords(&self) -> Result<Passwords, Error> {
        let mut entries: Vec<(String, Hash, usize)> = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            let Line::Entry { user, hash, .. } = line else {
                continue;
            };
            if let Some((_, _, first)) = entries.iter().find(|(u, _, _)| u == user) {
                return Err(Error::Duplicate {
                    path: self.path.clone(),
                    line: i + 1,
                    first: *first,
                    user: user.clone(),
                });
            }
            let parsed = Hash::parse(hash).map_err(|source| Error::BadHash {
                path: self.path.clone(),
                line: i + 1,
                user: user.clone(),
                source,
            })?;
            entries.push((user.clone(), parsed, i + 1));
        }
        Ok(Passwords::new(
            entries.into_iter().map(|(u, h, _)| (u, h)).collect(),
        ))
    }
}

fn parse_line(bytes: &[u8], path: &Path, line: usize) -> Result<Line, Error> {
    let raw = std::str::from_utf8(bytes).map_err(|_| Error::NotText {
        path: path.to_owned(),
        line,
    })?;
    // A CRLF line end becomes LF when the file is written again.
    let raw = raw.strip_suffix('\r').unwrap_or(raw);
    let text = raw.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(Line::Other(raw.to_owned()));
    }
    let Some((user, rest)) = text.split_once(':') else {
        return Err(Error::Syntax {
            path: path.to_owned(),
            line,
        });
    };
    if user.is_empty() || user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::BadUser {
            path: path.to_owned(),
            line,
            user: user.to_owned(),
        });
    }
    let hash = rest.split(':').next().unwrap_or_default();
    Ok(Line::Entry {
        user: user.to_owned(),
        hash: hash.to_owned(),
        raw: raw.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const APR1: &str = "$apr1$zEkq.Iih$/IqrSVEI2ydLY2XAZ5tDU.";
    const SHA: &str = "{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=";

    fn doc(text: &str) -> Result<Document, Error> {
        Document::parse(text.as_bytes(), Path::new("/x/piranha.passwd"))
    }

    #[test]
    fn comments_blank_lines_and_entries() {
        let text = format!("# users\n\n  alice:{APR1}\r\nbob:{SHA}:extra field\n");
        let d = doc(&text).unwrap();
        assert_eq!(d.lines().len(), 4);
        assert!(
            matches!(&d.lines()[2], Line::Entry { user, hash, .. } if user == "alice" && hash == APR1)
        );
        assert!(
            matches!(&d.lines()[3], Line::Entry { user, hash, .. } if user == "bob" && hash == SHA)
        );
        let p = d.passwords().unwrap();
        assert!(p.verify("alice", b"p"));
        assert!(p.verify("bob", b"p"));
        assert!(!p.verify("bob", b"q"));
    }

    #[test]
    fn set_replaces_the_users_line_and_keeps_the_rest() {
        let text = format!(
            "# users\nalice:{APR1}\n\n# the GUI\npiranha:{SHA}\npiranha:{APR1}\nbob:{SHA}\n"
        );
        let mut d = doc(&text).unwrap();
        d.set("piranha", "NEW");
        assert_eq!(
            d.render(),
            format!("# users\nalice:{APR1}\n\n# the GUI\npiranha:NEW\nbob:{SHA}\n")
        );
        d.set("carol", "C");
        assert!(
            d.render()
                .ends_with("bob:{SHA}UWuXg/ylF+7L0dBk2i0WUxCxl1k=\ncarol:C\n")
        );
    }

    #[test]
    fn crlf_line_ends_become_lf() {
        let d = doc(&format!("# c\r\nalice:{APR1}\r\n\r\n")).unwrap();
        assert_eq!(d.render(), format!("# c\nalice:{APR1}\n\n"));
    }

    #[test]
    fn a_file_without_final_newline_gets_one() {
        let d = doc(&format!("alice:{APR1}")).unwrap();
        assert_eq!(d.render(), format!("alice:{APR1}\n"));
        assert_eq!(doc("").unwrap().render(), "");
        assert_eq!(doc("\n").unwrap().render(), "\n");
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = doc("# ok\nno colon here\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/x/piranha.passwd:2: expected `user:hash`, a `#` comment or a blank line"
        );
        let e = doc(":hash\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/x/piranha.passwd:1: bad user name"),
            "{e}"
        );
        let e = doc("a b:hash\n").unwrap_err();
        assert!(matches!(e, Error::BadUser { .. }), "{e}");
        let e = Document::parse(b"ok:x\n\xff:x\n", Path::new("f")).unwrap_err();
        assert_eq!(e.to_string(), "f:2: not UTF-8 text");
    }

    #[test]
    fn plaintext_is_refused_with_file_line_and_user() {
        let e = doc("# c\npiranha:secret\n")
            .unwrap()
            .passwords()
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("/x/piranha.passwd:2: user piranha: not a password hash"),
            "{msg}"
        );
        assert!(msg.contains("plaintext passwords are refused"), "{msg}");
    }

    #[test]
    fn duplicates_are_refused() {
        let e = doc(&format!("a:{SHA}\n\na:{APR1}\n"))
            .unwrap()
            .passwords()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "/x/piranha.passwd:3: second entry for user a (the first is on line 1)"
        );
    }
}
