//! nanny's escape sequences and its reply matching.

use nanny::escape::{convert, show};
use nanny::expect::{Decision, Expect};

use crate::split_nul;

/// `send`/`expect` escapes: conversion never grows the text, text without a backslash is
/// unchanged, and the log form is printable ASCII.
pub fn nanny_escape(data: &[u8]) {
    let bytes = convert(data);
    assert!(bytes.len() <= data.len());
    if !data.contains(&b'\\') {
        assert_eq!(bytes, data);
    }
    let shown = show(&bytes);
    assert!(
        shown.bytes().all(|b| (0x20..0x7f).contains(&b)),
        "{shown:?}"
    );
}

/// The expect string (escape-converted; a regex when the first byte is odd) up to the first
/// NUL, the reply after it. A plain expect string that the reply starts with always matches.
pub fn nanny_expect(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (pattern, reply) = split_nul(rest);
    let regex = flags & 1 == 1;
    let expect = Expect::new(Some(&convert(pattern)), regex);
    let _ = expect.wants_reply();
    let open = expect.decide(reply, false);
    let closed = expect.decide(reply, true);
    if !regex && !pattern.contains(&b'\\') && !pattern.is_empty() && reply.starts_with(pattern) {
        assert!(matches!(closed, Decision::Pass), "{closed:?}");
        assert!(matches!(open, Decision::Pass), "{open:?}");
    }
}
