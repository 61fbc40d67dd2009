//! Every keyword and command-line option is documented in its man page.

use testkit::bins::workspace_root as repo_root;

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

/// Every `--long` and `-x` option named in a `--help` text.
fn options(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
    {
        for word in line.split([' ', ',', '=', '<', '[']) {
            let name = word.trim_start_matches('-');
            let is_option = word.starts_with('-')
                && !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '?');
            // A wrapped description can start with a word such as "--fos)": not an option.
            if is_option && !out.contains(&word.to_string()) {
                out.push(word.to_string());
            }
        }
    }
    out
}

#[test]
fn every_nanny_option_is_in_nanny_8() {
    let man = page("nanny.8");
    let opts = options(&nanny::opts::help());
    assert!(opts.len() > 30, "{opts:?}");
    for opt in opts {
        let roff = opt.replace('-', "\\-");
        assert!(man.contains(&roff), "nanny(8) does not document {opt}");
    }
}

#[test]
fn every_lvsd_option_is_in_lvsd_8() {
    let man = page("lvsd.8");
    let opts = options(&lvsd::opts::help());
    assert!(opts.len() > 15, "{opts:?}");
    for opt in opts {
        let roff = opt.replace('-', "\\-");
        assert!(man.contains(&roff), "lvsd(8) does not document {opt}");
    }
}

#[test]
fn every_pulse_option_is_in_pulse_8() {
    let man = page("pulse.8");
    let opts = options(&pulse::opts::help());
    assert!(opts.len() > 15, "{opts:?}");
    for opt in opts {
        let roff = opt.replace('-', "\\-");
        assert!(man.contains(&roff), "pulse(8) does not document {opt}");
    }
}

#[test]
fn every_fos_option_is_in_fos_8() {
    let man = page("fos.8");
    let opts = options(&fos::opts::help());
    assert!(opts.len() > 15, "{opts:?}");
    for opt in opts {
        let roff = opt.replace('-', "\\-");
        assert!(man.contains(&roff), "fos(8) does not document {opt}");
    }
}

#[test]
fn every_piranha_passwd_option_is_in_piranha_passwd_8() {
    let man = page("piranha-passwd.8");
    let opts = options(&gui::passwd_cmd::help());
    assert!(opts.len() >= 5, "{opts:?}");
    for opt in opts {
        let roff = opt.replace('-', "\\-");
        assert!(
            man.contains(&roff),
            "piranha-passwd(8) does not document {opt}"
        );
    }
}

#[test]
fn every_piranha_gui_option_and_route_is_in_piranha_gui_8() {
    let man = page("piranha-gui.8");
    let opts = options(&gui::gui_cmd::help());
    assert!(opts.len() >= 10, "{opts:?}");
    for opt in opts {
        let roff = opt.replace('-', "\\-");
        assert!(
            man.contains(&roff),
            "piranha-gui(8) does not document {opt}"
        );
    }
    for (path, methods) in gui::server::ROUTES {
        for method in *methods {
            assert!(
                man.contains(&format!("{method} {path}")),
                "piranha-gui(8) does not document {method} {path}"
            );
        }
    }
    for (family, _, _) in gui::status::metrics::FAMILIES {
        assert!(
            man.contains(&format!(".B {family}")) || man.contains(&format!(".BR {family} {{")),
            "piranha-gui(8) does not document the metric {family}"
        );
    }
    for status in [
        "200", "303", "401", "403", "404", "405", "412", "422", "428", "429", "500",
    ] {
        assert!(
            man.contains(&format!(".B {status}")),
            "piranha-gui(8) does not list status {status}"
        );
    }
}
