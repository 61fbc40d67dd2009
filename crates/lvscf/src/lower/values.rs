//! Values: arity (`one`, `two`, lists) and the value types of lvs.cf (integers, booleans,
//! ports or service names, hosts, addresses, netmasks, seconds, choices), each reporting its
//! own diagnostics. A reader returns `None` when the value was rejected.

use std::net::{IpAddr, Ipv4Addr};

use super::Lowerer;
use crate::diag::{Category, Diagnostic};
use crate::keywords::suggest;
use crate::model::{Host, Interface, Netmask, Seconds};
use crate::span::Span;
use crate::syntax::{Stmt, Token};
use crate::trivia::Anchor;
use crate::value::{self, MaskValue};

impl<'a> Lowerer<'a> {
    pub(super) fn text(&self, t: Token) -> &'a str {
        t.text(self.src)
    }

    /// Exactly one value.
    pub(super) fn one(&mut self, st: &Stmt, key: &str) -> Option<Token> {
        match &st.values[..] {
            [] => {
                self.diags.push(Diagnostic::error(
                    Category::MissingArgs,
                    st.values_span(),
                    format!("`{key}` needs a value"),
                ));
                None
            }
            [v] => Some(*v),
            [_, extra @ ..] => {
                self.extra(extra, key, "one value");
                None
            }
        }
    }

    /// Exactly two values (`IP DEVICE`).
    pub(super) fn two(&mut self, st: &Stmt, key: &str, what: &str) -> Option<(Token, Token)> {
        match &st.values[..] {
            [a, b] => Some((*a, *b)),
            [_, _, extra @ ..] => {
                self.extra(extra, key, what);
                None
            }
            short => {
                let at = short
                    .first()
                    .map_or(st.values_span(), |t| Span::at(t.end as usize));
                self.diags.push(
                    Diagnostic::error(Category::MissingArgs, at, format!("`{key}` takes {what}"))
                        .with_help(format!("for example `{key} = 192.168.1.10 eth0:1`")),
                );
                None
            }
        }
    }

    pub(super) fn extra(&mut self, extra: &[Token], key: &str, what: &str) {
        let span = extra[0].span().to(extra[extra.len() - 1].span());
        let mut d = Diagnostic::error(Category::ExtraArgs, span, format!("`{key}` takes {what}"));
        d = d.with_help(
            "quote a value that contains blanks: `send = \"GET / HTTP/1.0\\r\\n\\r\\n\"`",
        );
        self.diags.push(d);
    }

    pub(super) fn int(&mut self, t: Token, key: &str, min: i64, max: i64) -> Option<i64> {
        let s = self.text(t);
        let Some(v) = value::parse_int(s) else {
            let mut d = Diagnostic::error(
                Category::IntExpected,
                t.span(),
                format!("`{key}` takes an integer, not `{s}`"),
            );
            if s.starts_with('0') && s.chars().all(|c| c.is_ascii_digit()) {
                d = d.with_help(
                    "a leading 0 makes the number octal (as in C); write it without the 0",
                );
            } else if value::parse_seconds(s).is_some() {
                d = d.with_help("only whole numbers are accepted here");
            }
            self.diags.push(d);
            return None;
        };
        if v < min || v > max {
            self.diags.push(Diagnostic::error(
                Category::BadArgument,
                t.span(),
                format!("`{key}` must be between {min} and {max}, not {v}"),
            ));
            return None;
        }
        Some(v)
    }

    pub(super) fn boolean(&mut self, t: Token, key: &str) -> Option<bool> {
        let s = self.text(t);
        match value::parse_int(s) {
            Some(0) => Some(false),
            Some(1) => Some(true),
            Some(v) => {
                self.diags.push(Diagnostic::error(
                    Category::BoolExpected,
                    t.span(),
                    format!("`{key}` is 0 or 1, not {v}"),
                ));
                None
            }
            None => {
                self.diags.push(
                    Diagnostic::error(
                        Category::IntExpected,
                        t.span(),
                        format!("`{key}` is 0 or 1, not `{s}`"),
                    )
                    .with_help("booleans are written 0 (off) or 1 (on)"),
                );
                None
            }
        }
    }

    pub(super) fn port(&mut self, t: Token, key: &str) -> Option<u16> {
        let s = self.text(t);
        if let Some(v) = value::parse_int(s) {
            return match u16::try_from(v) {
                Ok(p) => Some(p),
                Err(_) => {
                    self.diags.push(Diagnostic::error(
                        Category::BadArgument,
                        t.span(),
                        format!("`{key}` must be a port between 0 and 65535, not {v}"),
                    ));
                    None
                }
            };
        }
        match self.services.lookup(s) {
            Some(p) => Some(p),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        Category::BadArgument,
                        t.span(),
                        format!("`{s}` is neither a port number nor a TCP service name"),
                    )
                    .with_help("service names come from /etc/services (`http`, `ftp`, ...)"),
                );
                None
            }
        }
    }

    /// A port; a service name is remembered so that `fmt` writes it back as the admin did.
    pub(super) fn port_at(&mut self, t: Token, key: &str, anchor: Anchor) -> Option<u16> {
        let p = self.port(t, key)?;
        let s = self.text(t);
        if value::parse_int(s).is_none() {
            self.trivia.spelled.insert(anchor, (s.to_string(), p));
        }
        Some(p)
    }

    pub(super) fn host(&mut self, t: Token, key: &str, allow_unspecified: bool) -> Option<Host> {
        let s = self.text(t);
        match value::parse_host(s) {
            Some(h) if !allow_unspecified && h.is_unspecified() => {
                self.diags.push(Diagnostic::error(
                    Category::BadHostname,
                    t.span(),
                    format!("`{key}` cannot be {s}"),
                ));
                None
            }
            Some(h) => Some(h),
            None => {
                self.diags.push(Diagnostic::error(
                    Category::BadHostname,
                    t.span(),
                    format!("`{s}` is not an IP address or a host name"),
                ));
                None
            }
        }
    }

    pub(super) fn ip(&mut self, t: Token, key: &str) -> Option<IpAddr> {
        let s = self.text(t);
        let ip = value::parse_ip(s);
        if ip.is_none() {
            self.diags.push(Diagnostic::error(
                Category::BadHostname,
                t.span(),
                format!("`{key}` takes an IP address, not `{s}`"),
            ));
        }
        ip
    }

    pub(super) fn mask(&mut self, t: Token, key: &str) -> Option<Option<Netmask>> {
        let s = self.text(t);
        match value::parse_netmask(s) {
            Some(MaskValue::None) => Some(None),
            Some(MaskValue::Mask(m)) => Some(Some(m)),
            Some(MaskValue::NonContiguous(_)) => {
                self.diags.push(Diagnostic::error(
                    Category::BadNetmask,
                    t.span(),
                    format!("`{s}` is not a netmask: its one bits are not contiguous"),
                ));
                None
            }
            None => {
                self.diags.push(
                    Diagnostic::error(Category::BadNetmask, t.span(), format!("`{key}` = `{s}`"))
                        .with_help(
                            "write a dotted mask (`255.255.255.0`) or a prefix length (`24`)",
                        ),
                );
                None
            }
        }
    }

    /// `pmask`: 255.255.255.255 means no mask; a mask whose bits are not contiguous was
    /// ignored by lvsd, so it is a warning here, not an error.
    pub(super) fn pmask(&mut self, t: Token) -> Option<Option<Netmask>> {
        let s = self.text(t);
        match value::parse_netmask(s) {
            Some(MaskValue::NonContiguous(_)) => {
                self.diags.push(Diagnostic::warning(
                    Some(t.span()),
                    format!("`pmask` = `{s}` is ignored: its one bits are not contiguous"),
                ));
                Some(None)
            }
            _ => self
                .mask(t, "pmask")
                .map(|m| m.filter(|m| *m != Netmask::V4(Ipv4Addr::BROADCAST))),
        }
    }

    pub(super) fn seconds(&mut self, t: Token, key: &str) -> Option<Seconds> {
        let s = self.text(t);
        let v = value::parse_seconds(s);
        if v.is_none() {
            self.diags.push(
                Diagnostic::error(
                    Category::IntExpected,
                    t.span(),
                    format!("`{key}` takes seconds, not `{s}`"),
                )
                .with_help(
                    "write whole seconds (`2`) or a decimal with up to three places (`0.5`)",
                ),
            );
        }
        v
    }

    pub(super) fn choice<T: Copy>(
        &mut self,
        t: Token,
        key: &str,
        all: &[(T, &'static str)],
    ) -> Option<T> {
        let s = self.text(t);
        if let Some((v, _)) = all.iter().find(|(_, n)| *n == s) {
            return Some(*v);
        }
        let names: Vec<&str> = all.iter().map(|(_, n)| *n).collect();
        let mut d = Diagnostic::error(
            Category::BadArgument,
            t.span(),
            format!("`{key}` is one of {}, not `{s}`", names.join(", ")),
        );
        if let Some(sug) = suggest(s, &names) {
            d = d.with_help(format!("did you mean `{sug}`?"));
        }
        self.diags.push(d);
        None
    }

    pub(super) fn string(&self, t: Token) -> String {
        self.text(t).to_string()
    }

    pub(super) fn u32(&mut self, t: Token, key: &str) -> Option<u32> {
        self.int(t, key, 0, u32::MAX.into()).map(|v| v as u32)
    }

    /// `dirs = [ a b ... ]`, brackets as separate tokens.
    pub(super) fn list(&mut self, st: &Stmt, key: &str) -> Option<Vec<String>> {
        let vals = &st.values;
        let open = vals.first().is_some_and(|t| t.is_bare(self.src, "["));
        let close = vals.len() >= 2 && vals[vals.len() - 1].is_bare(self.src, "]");
        if !open || !close {
            self.diags.push(
                Diagnostic::error(
                    Category::ListExpected,
                    st.values_span(),
                    format!("`{key}` takes a list: `{key} = [ a b ]`"),
                )
                .with_help("the brackets are separate words"),
            );
            return None;
        }
        Some(
            vals[1..vals.len() - 1]
                .iter()
                .map(|t| self.string(*t))
                .collect(),
        )
    }

    /// The single value of `st`, read by `read`.
    pub(super) fn read<T>(
        &mut self,
        st: &Stmt,
        key: &str,
        read: impl FnOnce(&mut Self, Token, &str) -> Option<T>,
    ) -> Option<T> {
        let t = self.one(st, key)?;
        read(self, t, key)
    }

    /// The single value of `st` as it is written.
    pub(super) fn read_string(&mut self, st: &Stmt, key: &str) -> Option<String> {
        self.read(st, key, |l, t, _| Some(l.string(t)))
    }

    /// `IP DEVICE` (a virtual address or `nat_router`).
    pub(super) fn interface(
        &mut self,
        st: &Stmt,
        key: &str,
        allow_unspecified: bool,
    ) -> Option<Interface> {
        let (a, d) = self.two(st, key, "an address and a device")?;
        let address = self.host(a, key, allow_unspecified)?;
        Some(Interface {
            address,
            device: self.string(d),
        })
    }
}
