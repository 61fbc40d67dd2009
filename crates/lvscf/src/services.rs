//! Service names for ports (`port = http`), as piranha's `getservbyname(name, "tcp")`.
//!
//! The names come from /etc/services; when that file is missing (minimal containers), a
//! built-in table of common names is used so a config does not change meaning between
//! machines for the names admins actually write.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A name → TCP port table.
#[derive(Debug, Clone)]
pub struct Services {
    tcp: HashMap<String, u16>,
}

/// Used when /etc/services cannot be read (IANA assignments).
const BUILTIN: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("gopher", 70),
    ("finger", 79),
    ("http", 80),
    ("www", 80),
    ("kerberos", 88),
    ("pop3", 110),
    ("sunrpc", 111),
    ("nntp", 119),
    ("ntp", 123),
    ("netbios-ssn", 139),
    ("imap", 143),
    ("imap2", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("microsoft-ds", 445),
    ("submission", 587),
    ("ldaps", 636),
    ("rsync", 873),
    ("imaps", 993),
    ("pop3s", 995),
    ("ms-sql-s", 1433),
    ("nfs", 2049),
    ("mysql", 3306),
    ("postgresql", 5432),
    ("http-alt", 8080),
    ("webcache", 8080),
];

impl Services {
    /// Parse text in /etc/services format: `name port/proto [aliases...] [# comment]`.
    pub fn from_text(text: &str) -> Services {
        let mut tcp = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut fields = line.split_whitespace();
            let (Some(name), Some(pp)) = (fields.next(), fields.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            let (Ok(port), "tcp") = (port.parse::<u16>(), proto) else {
                continue;
            };
            for n in std::iter::once(name).chain(fields) {
                // The first entry wins, as with getservbyname.
                tcp.entry(n.to_string()).or_insert(port);
            }
        }
        Services { tcp }
    }

    /// The built-in table alone.
    pub fn builtin() -> Services {
        Services {
            tcp: BUILTIN.iter().map(|&(n, p)| (n.to_string(), p)).collect(),
        }
    }

    /// /etc/services, read once per process; the built-in table if it cannot be read.
    pub fn system() -> &'static Services {
        static SYSTEM: OnceLock<Services> = OnceLock::new();
        SYSTEM.get_or_init(|| match std::fs::read_to_string("/etc/services") {
            Ok(text) => Services::from_text(&text),
            Err(_) => Services::builtin(),
        })
    }

    /// The TCP port of a service name.
    pub fn lookup(&self, name: &str) -> Option<u16> {
        self.tcp.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_services_format_with_aliases_and_comments() {
        let s = Services::from_text(
            "# comment\nhttp\t\t80/tcp\t\twww\t# WorldWideWeb HTTP\nhttp 80/udp\n\
             domain\t53/udp\ndomain\t53/tcp\nbad line\nx 99999/tcp\n",
        );
        assert_eq!(s.lookup("http"), Some(80));
        assert_eq!(s.lookup("www"), Some(80));
        assert_eq!(s.lookup("domain"), Some(53));
        assert_eq!(s.lookup("x"), None);
        assert_eq!(s.lookup("nope"), None);
    }

    #[test]
    fn builtin_knows_the_common_names() {
        let s = Services::builtin();
        assert_eq!(s.lookup("http"), Some(80));
        assert_eq!(s.lookup("https"), Some(443));
        assert_eq!(s.lookup("ftp"), Some(21));
    }
}
