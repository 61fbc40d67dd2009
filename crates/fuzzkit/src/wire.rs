//! lvs.cf and the heartbeat datagram.

use pulse::wire::{Mode, decode};

/// The lvs.cf reader: any bytes parse without panicking, the syntax tree gives the text back,
/// diagnostics render, and a valid file survives `fmt` (same model, idempotent text).
pub fn lvscf(data: &[u8]) {
    let text = lvscf::text_of(data.to_vec());
    let parsed = lvscf::parse(&text);
    assert_eq!(parsed.tree.reconstruct(&text), text);
    let _ = lvscf::cli::render("fuzz.cf", &text, &parsed.diagnostics);
    if parsed.has_errors() {
        return;
    }
    let formatted = parsed.format().expect("a valid file can be formatted");
    let again = lvscf::parse(&formatted);
    assert!(!again.has_errors(), "fmt output has errors:\n{formatted}");
    assert_eq!(
        again.model, parsed.model,
        "fmt changed the model:\n{formatted}"
    );
    assert_eq!(
        again.format().expect("formats again"),
        formatted,
        "fmt is not idempotent"
    );
}

/// A heartbeat datagram as pulse and fos receive it: what is accepted is exactly the magic
/// its first four bytes spell.
pub fn heartbeat(data: &[u8]) {
    for mode in [Mode::Lvs, Mode::Fos] {
        if let Ok(m) = decode(data, mode) {
            assert_eq!(&m.encode()[..], &data[..4]);
        }
    }
}
