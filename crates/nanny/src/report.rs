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
//!
//! After every completed check nanny also prints a check line, which carries no decision
//! (no `op`, so a decision reader refuses it as it refuses any malformed line):
//!
//! ```text
//! @nanny/1 check=ok duration_us=1834
//! @nanny/1 check=failed duration_us=6000120
//! ```
//!
//! `check` is the result, `duration_us` how long the check took in microseconds (connect,
//! send and reply, or the program's run).

use std::fmt;
use std::time::Duration;

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

/// One completed check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub took: Duration,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let result = if self.ok { "ok" } else { "failed" };
        let us = u64::try_from(self.took.as_micros()).unwrap_or(u64::MAX);
        write!(f, "{TAG} check={result} duration_us={us}")
    }
}

/// Read a check line; `None` for decision lines, human lines and malformed lines.
pub fn parse_check(line: &str) -> Option<Check> {
    let mut words = line.split_ascii_whitespace();
    if words.next()? != TAG {
        return None;
    }
    let (mut ok, mut us) = (None, None);
    for w in words {
        let (k, v) = w.split_once('=')?;
        match k {
            "check" => {
                ok = Some(match v {
                    "ok" => true,
                    "failed" => false,
                    _ => return None,
                })
            }
            "duration_us" => us = Some(v.parse::<u64>().ok()?),
            _ => {}
        }
    }
    Some(Check {
        ok: ok?,
        took: Duration::from_micros(us?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_lines_round_trip_and_are_no_decisions() {
        let c = Check {
            ok: true,
            took: Duration::from_micros(1834),
        };
        assert_eq!(c.to_string(), "@nanny/1 check=ok duration_us=1834");
        assert_eq!(parse_check(&c.to_string()), Some(c));
        assert_eq!(parse(&c.to_string()), None);
        let f = Check {
            ok: false,
            took: Duration::from_secs(6),
        };
        assert_eq!(parse_check(&f.to_string()), Some(f));
        assert_eq!(
            parse_check("@nanny/1 check=ok duration_us=5 future=x"),
            Some(Check {
                ok: true,
                took: Duration::from_micros(5)
            })
        );
        for bad in [
            "@nanny/1 op=add weight=3 state=up reason=check",
            "@nanny/1 check=maybe duration_us=5",
            "@nanny/1 check=ok duration_us=-5",
            "@nanny/1 check=ok",
            "@nanny/2 check=ok duration_us=5",
            "nanny: check=ok duration_us=5",
        ] {
            assert_eq!(parse_check(bad), None, "{bad}");
        }
    }

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
