//! A unified diff of two texts, line by line (Myers' algorithm on what is left once the common
//! head and tail are set aside), for the page that shows a change to lvs.cf before it is
//! written. Pure.

use std::fmt::Write as _;

/// Lines of context around each change.
pub const CONTEXT: usize = 3;
/// Beyond this many differing lines the middle is shown as replaced as a whole (a bound on
/// time and memory for files rewritten from end to end).
const MAX_EDITS: usize = 2000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// The lines of `t`, without their `\n` (a last line without one counts too).
fn lines(t: &str) -> Vec<&str> {
    let mut v: Vec<&str> = t.split('\n').collect();
    if v.last() == Some(&"") {
        v.pop();
    }
    v
}

/// The unified diff from `old` to `new` with `---`/`+++` headers naming `old_name` and
/// `new_name`; empty when the texts have the same lines.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    let (a, b) = (lines(old), lines(new));
    let ops = script(&a, &b);
    if ops.iter().all(|o| *o == Op::Same) {
        return String::new();
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    for h in hunks(&ops) {
        write_hunk(&mut out, &ops[h.0..h.1], &a, &b, position(&ops[..h.0]));
    }
    out
}

/// Lines of `a` and `b` before the op at the end of `done`.
fn position(done: &[Op]) -> (usize, usize) {
    done.iter().fold((0, 0), |(i, j), o| match o {
        Op::Same => (i + 1, j + 1),
        Op::Del => (i + 1, j),
        Op::Add => (i, j + 1),
    })
}

/// The ranges of ops shown: each change with [`CONTEXT`] lines around, neighbours merged.
fn hunks(ops: &[Op]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (i, o) in ops.iter().enumerate() {
        if *o == Op::Same {
            continue;
        }
        let start = i.saturating_sub(CONTEXT);
        let end = (i + 1 + CONTEXT).min(ops.len());
        match out.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => out.push((start, end)),
        }
    }
    out
}

fn write_hunk(out: &mut String, ops: &[Op], a: &[&str], b: &[&str], at: (usize, usize)) {
    let dels = ops.iter().filter(|o| **o != Op::Add).count();
    let adds = ops.iter().filter(|o| **o != Op::Del).count();
    // An empty range names the line before it.
    let first = |start: usize, n: usize| if n == 0 { start } else { start + 1 };
    let _ = writeln!(
        out,
        "@@ -{},{dels} +{},{adds} @@",
        first(at.0, dels),
        first(at.1, adds)
    );
    let (mut i, mut j) = at;
    for o in ops {
        match o {
            Op::Same => {
                let _ = writeln!(out, " {}", a[i]);
                i += 1;
                j += 1;
            }
            Op::Del => {
                let _ = writeln!(out, "-{}", a[i]);
                i += 1;
            }
            Op::Add => {
                let _ = writeln!(out, "+{}", b[j]);
                j += 1;
            }
        }
    }
}

/// The edit script from `a` to `b`.
fn script(a: &[&str], b: &[&str]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let middle = myers(ma, mb, MAX_EDITS).unwrap_or_else(|| {
        let mut v = vec![Op::Del; ma.len()];
        v.extend(std::iter::repeat_n(Op::Add, mb.len()));
        v
    });
    let mut ops = vec![Op::Same; head];
    ops.extend(middle);
    ops.extend(std::iter::repeat_n(Op::Same, tail));
    ops
}

/// Myers' shortest edit script, or `None` when it needs more than `max_d` edits.
fn myers(a: &[&str], b: &[&str], max_d: usize) -> Option<Vec<Op>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let limit = max_d.min(a.len() + b.len()) as isize;
    let off = limit + 1;
    let mut v = vec![0isize; (2 * limit + 3) as usize];
    // trace[d][k + d]: the furthest x on diagonal k after d edits.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=limit {
        let mut k = -d;
        while k <= d {
            let i = (k + off) as usize;
            let mut x = if k == -d || (k != d && v[i - 1] < v[i + 1]) {
                v[i + 1]
            } else {
                v[i - 1] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[i] = x;
            k += 2;
        }
        trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
        let end = (n - m + off) as usize;
        if (n - m).abs() <= d && v[end] >= n {
            return Some(backtrack(&trace, n, m));
        }
    }
    None
}

fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<Op> {
    let (mut x, mut y) = (n, m);
    let mut ops = Vec::new();
    for d in (1..trace.len() as isize).rev() {
        let prev = &trace[(d - 1) as usize];
        let get = |k: isize| prev[(k + d - 1) as usize];
        let k = x - y;
        let down = k == -d || (k != d && get(k - 1) < get(k + 1));
        let pk = if down { k + 1 } else { k - 1 };
        let px = get(pk);
        let py = px - pk;
        let (mx, my) = if down { (px, py + 1) } else { (px + 1, py) };
        while x > mx && y > my {
            ops.push(Op::Same);
            x -= 1;
            y -= 1;
        }
        ops.push(if down { Op::Add } else { Op::Del });
        (x, y) = (px, py);
    }
    while x > 0 && y > 0 {
        ops.push(Op::Same);
        x -= 1;
        y -= 1;
    }
    ops.reverse();
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apply a unified diff to `old` (trusting its hunks): what `patch` would do.
    fn patch(old: &str, diff: &str) -> String {
        let a = lines(old);
        let mut out: Vec<String> = Vec::new();
        let mut i = 0;
        for l in diff.lines().skip(2) {
            if let Some(h) = l.strip_prefix("@@ -") {
                let start: usize = h.split(',').next().unwrap().parse().unwrap();
                let n: usize = h.split([',', ' ']).nth(1).unwrap().parse().unwrap();
                let start = if n == 0 { start } else { start - 1 };
                while i < start {
                    out.push(a[i].to_owned());
                    i += 1;
                }
            } else if let Some(t) = l.strip_prefix('+') {
                out.push(t.to_owned());
            } else if l.starts_with('-') {
                i += 1;
            } else {
                out.push(a[i].to_owned());
                i += 1;
            }
        }
        out.extend(a[i..].iter().map(|s| s.to_string()));
        out.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn a_changed_line_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(
            unified(old, new, "old", "new"),
            "--- old\n+++ new\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
    }

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("a\nb\n", "a\nb\n", "x", "y"), "");
        assert_eq!(unified("", "", "x", "y"), "");
    }

    #[test]
    fn additions_and_deletions_at_the_ends() {
        let d = unified("", "x\ny\n", "o", "n");
        assert_eq!(d, "--- o\n+++ n\n@@ -0,0 +1,2 @@\n+x\n+y\n");
        let d = unified("x\ny\n", "", "o", "n");
        assert_eq!(d, "--- o\n+++ n\n@@ -1,2 +0,0 @@\n-x\n-y\n");
    }

    #[test]
    fn far_apart_changes_make_two_hunks() {
        let old: String = (0..40).map(|i| format!("l{i}\n")).collect();
        let new = old.replace("l1\n", "L1\n").replace("l30\n", "");
        let d = unified(&old, &new, "o", "n");
        assert_eq!(d.matches("@@ -").count(), 2, "{d}");
        assert!(d.contains("-l1\n+L1\n"), "{d}");
        assert!(d.contains("-l30\n"), "{d}");
        assert_eq!(patch(&old, &d), new);
    }

    #[test]
    fn diffs_apply_back_to_the_new_text() {
        let cases = [
            ("a\nb\nc\n", "b\nc\nd\n"),
            ("x\na\nb\nx\nc\n", "a\nx\nb\nc\nx\n"),
            (
                "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
                "1\n2\nthree\n4\n5\n6\n7\neight\n9\nten\n",
            ),
            ("a\n", "b\n"),
        ];
        for (old, new) in cases {
            let d = unified(old, new, "o", "n");
            assert_eq!(patch(old, &d), new, "{old:?} -> {new:?}:\n{d}");
        }
    }

    #[test]
    fn the_script_is_minimal_on_small_inputs() {
        let a = lines("a\nb\nc\na\nb\nb\na\n");
        let b = lines("c\nb\na\nb\na\nc\n");
        let ops = myers(&a, &b, 100).unwrap();
        // The classic example: 5 edits.
        assert_eq!(ops.iter().filter(|o| **o != Op::Same).count(), 5);
    }

    proptest::proptest! {
        /// The diff of any two texts (of few distinct lines, so they share many) applies back.
        #[test]
        fn every_diff_applies_back(
            a in proptest::collection::vec("[abc]", 0..30),
            b in proptest::collection::vec("[abc]", 0..30),
        ) {
            let old: String = a.iter().map(|l| format!("{l}\n")).collect();
            let new: String = b.iter().map(|l| format!("{l}\n")).collect();
            let d = unified(&old, &new, "o", "n");
            proptest::prop_assert_eq!(patch(&old, &d), new.clone());
            proptest::prop_assert_eq!(d.is_empty(), old == new);
        }
    }

    #[test]
    fn huge_rewrites_fall_back_to_replacing_the_middle() {
        let old: String = (0..3000).map(|i| format!("a{i}\n")).collect();
        let new: String = (0..3000).map(|i| format!("b{i}\n")).collect();
        let d = unified(&old, &new, "o", "n");
        assert_eq!(patch(&old, &d), new);
        assert_eq!(d.matches("\n-").count(), 3000);
    }
}
