//! popt's tokenizer (`poptGetNextOpt`): options in order, short-option bundles, attached and
//! separate values, `-p`'s optional value, `--`, and popt's error texts.

use super::table::{Arg, Key, TABLE};

/// popt's tokenizer: options in order (permuting over non-option words), then the leftover
/// words.
pub(super) struct Popt<'a> {
    args: &'a [String],
    next: usize,
    /// Remaining characters of a short-option bundle (`-Ln`).
    bundle: Option<(usize, usize)>,
    pub(super) leftovers: Vec<String>,
    done: bool,
}

/// One result of `poptGetNextOpt`: the option, its value, and how it was written.
pub(super) enum Next {
    Opt(Key, Option<String>, String),
    End,
    /// popt's error: the offending option text and popt's message.
    Error(String, &'static str),
}

impl<'a> Popt<'a> {
    pub(super) fn new(args: &'a [String]) -> Self {
        Popt {
            args,
            next: 0,
            bundle: None,
            leftovers: Vec::new(),
            done: false,
        }
    }

    /// The value of an option that takes one: the rest of the bundle, or the next word.
    fn value(&mut self, arg: Arg, attached: Option<String>) -> Result<Option<String>, ()> {
        if let Some(v) = attached {
            return Ok(Some(v));
        }
        match arg {
            Arg::None => Ok(None),
            Arg::Required => match self.args.get(self.next) {
                Some(v) => {
                    self.next += 1;
                    Ok(Some(v.clone()))
                }
                None => Err(()),
            },
            // An optional value is taken only when the next word is not an option.
            Arg::Optional => match self.args.get(self.next) {
                Some(v) if !v.starts_with('-') => {
                    self.next += 1;
                    Ok(Some(v.clone()))
                }
                _ => Ok(None),
            },
        }
    }

    pub(super) fn get(&mut self) -> Next {
        // Continue a bundle of short options. popt names the whole word in its messages
        // (`-nq: unknown option`, ipvsadm's ``invalid option `-LA'``).
        if let Some((word, at)) = self.bundle {
            let w = &self.args[word];
            let c = w[at..].chars().next().expect("bundle not empty");
            let after = at + c.len_utf8();
            self.bundle = (after < w.len()).then_some((word, after));
            let Some(&(_, _, arg, key)) = TABLE.iter().find(|e| e.0 == Some(c)) else {
                return Next::Error(w.clone(), "unknown option");
            };
            // popt: `-n=...` is an unwanted argument; `-s=rr` is `-s rr`.
            if arg == Arg::None && w[after..].starts_with('=') {
                self.bundle = None;
                return Next::Error(w.clone(), "option does not take an argument");
            }
            let attached = if arg != Arg::None && after < w.len() {
                self.bundle = None;
                let v = &w[after..];
                Some(v.strip_prefix('=').unwrap_or(v).to_string())
            } else {
                None
            };
            let written = w.clone();
            return match self.value(arg, attached) {
                Ok(v) => Next::Opt(key, v, written),
                Err(()) => Next::Error(written, "missing argument"),
            };
        }
        loop {
            let Some(w) = self.args.get(self.next) else {
                return Next::End;
            };
            self.next += 1;
            if self.done || w == "-" || !w.starts_with('-') {
                self.leftovers.push(w.clone());
                continue;
            }
            if w == "--" {
                self.done = true;
                continue;
            }
            if let Some(long) = w.strip_prefix("--") {
                let (name, attached) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (long, None),
                };
                let Some(&(_, _, arg, key)) = TABLE.iter().find(|e| !e.1.is_empty() && e.1 == name)
                else {
                    return Next::Error(w.clone(), "unknown option");
                };
                if arg == Arg::None && attached.is_some() {
                    return Next::Error(w.clone(), "option does not take an argument");
                }
                return match self.value(arg, attached) {
                    Ok(v) => Next::Opt(key, v, format!("--{name}")),
                    Err(()) => Next::Error(w.clone(), "missing argument"),
                };
            }
            self.bundle = Some((self.next - 1, 1));
            return self.get();
        }
    }
}
