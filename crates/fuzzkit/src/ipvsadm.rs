//! ipvsadm-rs's command line and its `-R` input, against the in-memory table.

use ipvs::memory::MemoryTable;
use ipvsadm_rs::names;
use ipvsadm_rs::run::{Io, run};

/// Run one command line; `input` is its standard input. The output.
fn ipvsadm(args: &[String], table: &mut MemoryTable, input: &[u8]) -> (Vec<u8>, u8) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut stdin = input;
    let mut io = Io {
        out: &mut out,
        err: &mut err,
        input: &mut stdin,
        program: "ipvsadm".into(),
        conn_file: "/nonexistent/ip_vs_conn".into(),
    };
    let status = run(args, table, &mut io, false).status();
    (out, status)
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The arguments are the input's NUL-separated words (lossy UTF-8, as `main` reads them),
/// run against an empty table; `-R` reads nothing. Never a panic.
pub fn ipvsadm_args(data: &[u8]) {
    names::go_offline();
    let args: Vec<String> = data
        .split(|&b| b == 0)
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    let mut table = MemoryTable::new();
    let _ = ipvsadm(&args, &mut table, b"");
}

/// The input is `-R`'s standard input. Whatever it builds, `-S -n` saves a table that `-R`
/// restores to the same saved text (the fwmark defect of issue 20 was a break of this).
pub fn ipvsadm_restore(data: &[u8]) {
    names::go_offline();
    let mut table = MemoryTable::new();
    let _ = ipvsadm(&words(&["-R"]), &mut table, data);
    let (saved, status) = ipvsadm(&words(&["-S", "-n"]), &mut table, b"");
    assert_eq!(status, 0, "-S -n failed");
    let mut again = MemoryTable::new();
    let (_, status) = ipvsadm(&words(&["-R"]), &mut again, &saved);
    assert_eq!(
        status,
        0,
        "-R refused what -S -n saved:\n{}",
        String::from_utf8_lossy(&saved)
    );
    let (resaved, _) = ipvsadm(&words(&["-S", "-n"]), &mut again, b"");
    assert_eq!(
        String::from_utf8_lossy(&resaved),
        String::from_utf8_lossy(&saved),
        "save, restore, save differs"
    );
}
