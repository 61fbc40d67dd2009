//! The fuzz targets' smoke run, on stable Rust as part of the test command: each target over
//! every input of its corpus (`fuzz/corpus/NAME/`), then over a few thousand mutations of
//! them (bit flips, byte edits, cut, duplicated and spliced ranges) drawn from a fixed seed,
//! so a failure replays. The long runs are libFuzzer's (`fuzz/README.md`); this catches a
//! reader that regressed on inputs the fuzzer already found.

use std::path::{Path, PathBuf};

/// Mutations per target.
const MUTATIONS: usize = 3_000;

fn corpus_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(name)
}

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read(f).expect("a corpus file"))
        .collect()
}

/// xorshift64*: a fixed, dependency-free sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// One to four random edits of `input`, with `other` for splicing.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    const INTERESTING: &[u8] = &[
        0, 1, 0x7f, 0x80, 0xff, b'\n', b' ', b'"', b'\\', b'{', b'}', b'=',
    ];
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(len + 1);
                v.insert(i, rng.next() as u8);
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(16)).min(len);
                v.drain(a..b);
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                let part = v[a..b].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, part);
            }
            5 if !other.is_empty() => {
                let a = rng.below(other.len());
                let b = (a + 1 + rng.below(64)).min(other.len());
                let at = rng.below(len + 1);
                v.splice(at..at, other[a..b].iter().copied());
            }
            _ => v.truncate(rng.below(len + 1)),
        }
    }
    v
}

#[test]
fn every_target_has_a_corpus_and_survives_it_and_its_mutations() {
    for &(name, body) in fuzzkit::TARGETS {
        let inputs = corpus(name);
        assert!(!inputs.is_empty(), "fuzz/corpus/{name} is empty");
        for input in &inputs {
            body(input);
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
        for n in 0..MUTATIONS {
            let a = &inputs[rng.below(inputs.len())];
            let b = &inputs[rng.below(inputs.len())];
            let input = mutate(&mut rng, a, b);
            let done = std::panic::catch_unwind(|| body(&input));
            assert!(
                done.is_ok(),
                "{name}: mutation {n} panicked; input (hex): {}",
                input.iter().map(|b| format!("{b:02x}")).collect::<String>()
            );
        }
    }
}

#[test]
fn the_mutator_changes_inputs_and_replays() {
    let mut a = Rng(7);
    let mut b = Rng(7);
    let input = b"virtual web {\n address = 10.0.0.1\n}\n";
    let x: Vec<Vec<u8>> = (0..50)
        .map(|_| mutate(&mut a, input, b"port = 80"))
        .collect();
    let y: Vec<Vec<u8>> = (0..50)
        .map(|_| mutate(&mut b, input, b"port = 80"))
        .collect();
    assert_eq!(x, y, "same seed, same mutations");
    assert!(x.iter().filter(|m| m.as_slice() != input).count() > 40);
}
