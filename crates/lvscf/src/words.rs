//! How lvs.cf command values (`send_program`, `start_cmd`, `stop_cmd`, `active_cmd`, ...)
//! become an argument vector: there is no shell.
//!
//! Piranha split these strings on single spaces. Here runs of blanks separate words, and
//! `'…'` and `"…"` group words (the quotes are removed the same way for both; there is no
//! escape character).

/// Split a command string into words.
pub fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c == ' ' || c == '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_quotes() {
        assert_eq!(
            split_words("  /bin/check  %h   %p "),
            ["/bin/check", "%h", "%p"]
        );
        assert_eq!(
            split_words(r#"sh -c 'echo "a b"' "x y"''"#),
            ["sh", "-c", r#"echo "a b""#, "x y"]
        );
        assert_eq!(split_words("a ''"), ["a", ""]);
        assert!(split_words("   ").is_empty());
    }
}
