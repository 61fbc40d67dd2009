//! Fuzz the lvs.cf reader: any bytes must parse without panicking, the syntax tree must give
//! the text back, rendering diagnostics must not panic, and a valid file must survive
//! `fmt` (format, parse again: same model, same text).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = lvscf::text_of(data.to_vec());
    let parsed = lvscf::parse(&text);
    assert_eq!(parsed.tree.reconstruct(&text), text);
    let _ = lvscf::cli::render("fuzz.cf", &text, &parsed.diagnostics);
    if parsed.has_errors() {
        return;
    }
    // Everything the parser accepts can be written back.
    let formatted = parsed.format().expect("a valid file can be formatted");
    let again = lvscf::parse(&formatted);
    assert!(!again.has_errors(), "fmt output has errors:\n{formatted}");
    assert_eq!(again.model, parsed.model, "fmt changed the model:\n{formatted}");
    assert_eq!(again.format().unwrap(), formatted, "fmt is not idempotent");
});
