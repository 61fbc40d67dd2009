//! The comments of a file ([`Trivia`]) and what each is attached to ([`Anchor`]): collected by
//! [`lower`](crate::lower), put back by [`writer`](crate::writer) so `lvscf fmt` keeps them.

use std::collections::HashMap;

use crate::source::BlockRef;

/// What a comment is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Anchor {
    FileStart,
    FileEnd,
    Global(&'static str),
    Block(BlockRef),
    BlockKey(BlockRef, &'static str),
    BlockEnd(BlockRef),
    Server(BlockRef, usize),
    ServerKey(BlockRef, usize, &'static str),
    ServerEnd(BlockRef, usize),
}

/// Comments of the file: whole-line comments before an item (`leading`, one entry per line,
/// `""` for a blank line between comment groups) and `# ...` after a value (`trailing`).
#[derive(Debug, Clone, Default)]
pub struct Trivia {
    pub leading: HashMap<Anchor, Vec<String>>,
    pub trailing: HashMap<Anchor, String>,
    /// Values written as a name (`port = http`): the name and the number it stood for.
    pub spelled: HashMap<Anchor, (String, u16)>,
}
