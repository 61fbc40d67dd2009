//! The machine-readable decision lines nanny prints on stdout for lvsd (`--report`).
//!
//! One line per decision, space-separated `key=value` words after a fixed tag:
//!
//! ```text
//! @nanny/1 op=add weight=3 state=up reason=check
//! @nanny/1 op=edit weight=6 state=up reason=ramp
//! @nanny/1 op=edit weight=0 state=down reason=check      (quiesce)
//! @nanny/1 op=delete weight=0 state=down reason=shutdown
//! @nanny/1 op=none weight=0 state=down reason=check       (first verdict, nothing to do)
//! ```
//!
//! `op` is the IPVS operation piranha's nanny would have run (`ipvsadm -a/-e/-d`), or `none`
//! for the verdict of the first check when it changes nothing (so lvsd learns that a server is
//! down from the start), `weight` the
//! weight it would have set, `state` whether the server counts as available (lvsd's sorry
//! server uses it), and `reason` one of `check`, `ramp`, `load`, `override`, `shutdown`. Readers
//! must ignore keys they do not know; the version in the tag changes only if a key changes
//! meaning. Lines without the tag are human log lines.

use std::fmt;

use crate::monitor::{Op, Reason};

/// The tag that starts every decision line.
pub const TAG: &str = "@nanny/1";

/// One decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// `None`: a verdict without an operation (`op=none`).
    pub op: Option<Op>,
    pub up: bool,
    pub reason: Reason,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, weight) = match self.op {
            Some(Op::Add(w)) => ("add", w),
            Some(Op::Edit(w)) => ("edit", w),
            Some(Op::Delete) => ("delete", 0),
            None => ("none", 0),
        };
        let state = if self.up { "up" } else { "down" };
        write!(
            f,
            "{TAG} op={op} weight={weight} state={state} reason={}",
            self.reason
        )
    }
}

/// Read a decision line; `None` for human log lines and malformed lines.
pub fn parse(line: &str) -> Option<Report> {
    let mut words = line.split_ascii_whitespace();
    if words.next()? != TAG {
        return None;
    }
    let (mut op, mut weight, mut up, mut reason) = (None, None, None, None);
    for w in words {
        let (k, v) = w.split_once('=')?;
        match k {
            "op" => op = Some(v),
            "weight" => weight = Some(v.parse::<i32>().ok()?),
            "state" => {
                up = Some(match v {
                    "up" => true,
                    "down" => false,
                    _ => return None,
                })
            }
            "reason" => {
                reason = Some(match v {
                    "check" => Reason::Check,
                    "ramp" => Reason::Ramp,
                    "load" => Reason::Load,
                    "override" => Reason::Override,
                    "shutdown" => Reason::Shutdown,
                    _ => return None,
                })
            }
            _ => {}
        }
    }
    let weight = weight?;
    let op = match op? {
        "add" => Some(Op::Add(weight)),
        "edit" => Some(Op::Edit(weight)),
        "delete" => Some(Op::Delete),
        "none" => None,
        _ => return None,
    };
    Some(Report {
        op,
        up: up?,
        reason: reason?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for r in [
            Report {
                op: Some(Op::Add(3)),
                up: true,
                reason: Reason::Check,
            },
            Report {
                op: Some(Op::Edit(0)),
                up: false,
                reason: Reason::Check,
            },
            Report {
                op: Some(Op::Delete),
                up: false,
                reason: Reason::Shutdown,
            },
            Report {
                op: Some(Op::Edit(12)),
                up: true,
                reason: Reason::Load,
            },
        ] {
            assert_eq!(parse(&r.to_string()), Some(r));
        }
        assert_eq!(
            Report {
                op: Some(Op::Add(3)),
                up: true,
                reason: Reason::Ramp
            }
            .to_string(),
            "@nanny/1 op=add weight=3 state=up reason=ramp"
        );
    }

    #[test]
    fn unknown_keys_are_ignored_and_human_lines_refused() {
        assert_eq!(
            parse("@nanny/1 op=edit weight=5 state=up reason=load future=1"),
            Some(Report {
                op: Some(Op::Edit(5)),
                up: true,
                reason: Reason::Load
            })
        );
        assert_eq!(
            parse("nanny: [ active ] making 10.0.0.2:80 available"),
            None
        );
        assert_eq!(
            parse("@nanny/2 op=add weight=1 state=up reason=check"),
            None
        );
        assert_eq!(parse("@nanny/1 op=add state=up reason=check"), None);
    }
}
