//! Every keyword and command-line option is documented in its man page.

use e2e::repo_root;

fn page(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("man").join(name)).unwrap()
}

#[test]
fn every_lvs_cf_keyword_is_in_lvs_cf_5() {
    let man = page("lvs.cf.5");
    for kw in lvscf::lower::GLOBAL_KEYWORDS
        .iter()
        .chain(lvscf::lower::VIRTUAL_KEYWORDS)
        .chain(lvscf::lower::SERVER_KEYWORDS)
    {
        // Each keyword has an entry that starts with it in bold: `.BI "kw = " type`, or
        // `.BR kw " = " a | b` for a choice.
        assert!(
            man.contains(&format!(".BI \"{kw} = \""))
                || man.contains(&format!(".B \"{kw} = "))
                || man.contains(&format!(".BR {kw} \" = \""))
                || man.contains(&format!(".BI \"{kw} = [ \"")),
            "lvs.cf(5) has no entry for `{kw}`"
        );
    }
    for sched in lvscf::Scheduler::ALL {
        assert!(
            man.contains(sched.1),
            "lvs.cf(5) does not name scheduler {}",
            sched.1
        );
    }
}

#[test]
fn every_lvscf_option_is_in_lvscf_8() {
    let man = page("lvscf.8");
    for opt in [
        "check",
        "dump",
        "fmt",
        "--strict",
        "--quiet",
        "--json",
        "--check",
        "--write",
        "--configfile",
    ] {
        let roff = opt.replace('-', "\\-");
        assert!(man.contains(&roff), "lvscf(8) does not document {opt}");
    }
}
