//! What the guest printed: the console, the scenario's part of it and its exit status.

use std::collections::BTreeMap;

/// What the guest printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// The whole serial console, `\r` removed.
    pub console: String,
    /// The scenario's output (between the harness's start and end markers).
    pub script: String,
    /// The scenario's exit status.
    pub status: Option<i32>,
}

impl Output {
    /// For [`Guest::self_test`](crate::Guest::self_test): the one test run in the guest passed; otherwise panic with
    /// the scenario's output and the console.
    pub fn assert_self_test_passed(&self) {
        assert!(
            self.script.contains("test result: ok. 1 passed"),
            "the guest side failed:\n{}\n{}",
            self.script,
            self.console
        );
    }
}

impl Output {
    /// `RESULT name ok|fail` lines of the scenario.
    pub fn results(&self) -> BTreeMap<String, bool> {
        self.script
            .lines()
            .filter_map(|l| l.strip_prefix("RESULT "))
            .filter_map(|l| l.split_once(' '))
            .map(|(n, v)| (n.to_string(), v.trim() == "ok"))
            .collect()
    }

    /// The text between `==== BEGIN name ====` and `==== END name ====` lines.
    pub fn section(&self, name: &str) -> Option<String> {
        let begin = format!("==== BEGIN {name} ====\n");
        let end = format!("==== END {name} ====");
        let start = self.script.find(&begin)? + begin.len();
        let len = self.script[start..].find(&end)?;
        Some(self.script[start..start + len].to_string())
    }
}

impl Output {
    /// Split the serial console (`\r` already removed) at the harness's markers.
    pub(crate) fn from_console(console: String) -> Output {
        let start_marker = "==== VMTEST START ====\n";
        let script_start = console.find(start_marker).map(|i| i + start_marker.len());
        let (script, status) = match script_start {
            Some(s) => {
                let rest = &console[s..];
                match rest.rfind("==== VMTEST END ") {
                    Some(e) => {
                        let status = rest[e + 16..]
                            .split_whitespace()
                            .next()
                            .and_then(|n| n.parse().ok());
                        (rest[..e].to_string(), status)
                    }
                    None => (rest.to_string(), None),
                }
            }
            None => (String::new(), None),
        };
        Output {
            console,
            script,
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_and_sections_are_read_from_the_script_output() {
        let out = Output {
            console: String::new(),
            script: "RESULT a ok\nRESULT b fail\n==== BEGIN list ====\nx\ny\n==== END list ====\n"
                .into(),
            status: Some(0),
        };
        let r = out.results();
        assert_eq!(r.get("a"), Some(&true));
        assert_eq!(r.get("b"), Some(&false));
        assert_eq!(out.section("list").as_deref(), Some("x\ny\n"));
        assert_eq!(out.section("none"), None);
    }
}
