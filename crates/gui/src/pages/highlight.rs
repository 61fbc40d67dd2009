//! lvs.cf as HTML with syntax highlighting: `span.kw` (the keyword of a statement or block),
//! `span.str` (quoted strings), `span.num` (numbers and addresses), `span.comment`,
//! `span.brace`. Everything else is escaped text. Pure, and total: any text highlights, a
//! broken file too (an unterminated quote runs to the end of its line).

use super::html::esc;

/// The HTML of `text` highlighted, line by line (each line ends with `\n`).
pub fn highlight(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.split_inclusive('\n') {
        line_html(line.strip_suffix('\n').unwrap_or(line), &mut out);
        out.push('\n');
    }
    out
}

/// As [`highlight`], each line in `span.line#L{n}` (1-based), with the class `has-error`
/// on the lines in `marked`, so diagnostics can link to their line.
pub fn highlight_lines(text: &str, marked: &[usize]) -> String {
    let mut out = String::with_capacity(text.len() * 2 + text.len() / 8);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        let class = if marked.contains(&n) {
            "line has-error"
        } else {
            "line"
        };
        out.push_str(&format!("<span class=\"{class}\" id=\"L{n}\">"));
        line_html(line.strip_suffix('\n').unwrap_or(line), &mut out);
        out.push_str("</span>\n");
    }
    out
}

fn span(out: &mut String, class: &str, s: &str) {
    out.push_str("<span class=\"");
    out.push_str(class);
    out.push_str("\">");
    out.push_str(&esc(s));
    out.push_str("</span>");
}

/// One line: tokens are blanks, quoted strings, `#` comments, braces, `=` and words.
fn line_html(line: &str, out: &mut String) {
    let mut rest = line;
    let mut first_word = true;
    while let Some(c) = rest.chars().next() {
        let len = match c {
            '#' => {
                span(out, "comment", rest);
                rest.len()
            }
            '"' | '\'' => {
                let end = rest[1..].find(c).map_or(rest.len(), |i| i + 2);
                span(out, "str", &rest[..end]);
                end
            }
            '{' | '}' => {
                span(out, "brace", &rest[..1]);
                1
            }
            c if c.is_whitespace() || c == '=' => {
                let n = rest
                    .find(|c: char| !(c.is_whitespace() || c == '='))
                    .unwrap_or(rest.len());
                out.push_str(&esc(&rest[..n]));
                n
            }
            _ => {
                let n = rest
                    .find(|c: char| c.is_whitespace() || "=#\"'{}".contains(c))
                    .unwrap_or(rest.len());
                let word = &rest[..n];
                if first_word {
                    span(out, "kw", word);
                } else if word.starts_with(|c: char| c.is_ascii_digit()) {
                    span(out, "num", word);
                } else {
                    out.push_str(&esc(word));
                }
                first_word = false;
                n
            }
        };
        rest = &rest[len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_blocks_and_comments() {
        let h = highlight("serial_no = 7 # bumped\nvirtual web {\n    send = \"GET / # x\"\n}\n");
        assert_eq!(
            h,
            "<span class=\"kw\">serial_no</span> = <span class=\"num\">7</span> \
             <span class=\"comment\"># bumped</span>\n\
             <span class=\"kw\">virtual</span> web <span class=\"brace\">{</span>\n    \
             <span class=\"kw\">send</span> = <span class=\"str\">&quot;GET / # x&quot;</span>\n\
             <span class=\"brace\">}</span>\n"
        );
    }

    proptest::proptest! {
        /// Any text highlights, and the only markup is ours.
        #[test]
        fn any_text_is_highlighted_safely(text in "\\PC{0,200}") {
            let h = highlight(&text);
            let stripped = h
                .replace("</span>", "")
                .replace("<span class=\"kw\">", "")
                .replace("<span class=\"str\">", "")
                .replace("<span class=\"num\">", "")
                .replace("<span class=\"comment\">", "")
                .replace("<span class=\"brace\">", "");
            proptest::prop_assert!(!stripped.contains('<') && !stripped.contains('>'), "{}", h);
            proptest::prop_assert_eq!(h.matches("<span").count(), h.matches("</span>").count());
        }
    }

    #[test]
    fn lines_are_numbered_and_marked() {
        let h = highlight_lines("a = 1\nb = x\n", &[2]);
        assert_eq!(
            h,
            "<span class=\"line\" id=\"L1\"><span class=\"kw\">a</span> = \
             <span class=\"num\">1</span></span>\n<span class=\"line has-error\" id=\"L2\">\
             <span class=\"kw\">b</span> = x</span>\n"
        );
    }

    #[test]
    fn addresses_are_numbers_and_devices_plain() {
        let h = highlight("address = 10.0.0.1 eth0:1");
        assert_eq!(
            h,
            "<span class=\"kw\">address</span> = <span class=\"num\">10.0.0.1</span> eth0:1\n"
        );
    }

    #[test]
    fn hostile_text_is_escaped_and_broken_text_is_total() {
        let h = highlight("<script>alert(1)</script> = \"</span><b>\n'unterminated\nx=\"&\"");
        assert!(!h.contains("<script>") && !h.contains("<b>"), "{h}");
        assert!(h.contains("&lt;script&gt;"), "{h}");
        assert!(
            h.contains("<span class=\"str\">&#39;unterminated</span>"),
            "{h}"
        );
        assert!(
            h.contains("<span class=\"str\">&quot;&amp;&quot;</span>"),
            "{h}"
        );
        // Every opened span is closed.
        assert_eq!(h.matches("<span").count(), h.matches("</span>").count());
        assert_eq!(highlight(""), "");
    }
}
