//! Errors: one test per category (message, line, column), every error of a file in one run,
//! and snapshots of the rendered text.

use lvscf::{Category, Diagnostic, Severity};

/// A small valid prelude so a test's own line is the only problem (its lines are counted).
const PRELUDE: &str = "service = lvs\nprimary = 10.0.0.1\n";
const GOOD_VS: &str = "virtual ok {\n active = 1\n address = 10.0.0.50 eth0:1\n server r {\n address = 10.0.1.1\n active = 1\n }\n}\n";

struct Found {
    line: usize,
    col: usize,
    d: Diagnostic,
}

fn diags(src: &str) -> Vec<Found> {
    let p = lvscf::parse(src);
    let idx = lvscf::span::LineIndex::new(src);
    p.diagnostics
        .into_iter()
        .map(|d| {
            let lc = d
                .span
                .map(|s| idx.line_col(src, s.start as usize))
                .unwrap_or(lvscf::span::LineCol { line: 0, col: 0 });
            Found {
                line: lc.line,
                col: lc.col,
                d,
            }
        })
        .collect()
}

/// The only error of `body` (placed after the prelude and a valid virtual server).
fn only_error(body: &str) -> Found {
    let src = format!("{PRELUDE}{GOOD_VS}{body}");
    let mut errs: Vec<Found> = diags(&src).into_iter().filter(|f| f.d.is_error()).collect();
    assert_eq!(
        errs.len(),
        1,
        "{}",
        lvscf::cli::render(
            "t",
            &src,
            &errs.iter().map(|f| f.d.clone()).collect::<Vec<_>>()
        )
    );
    errs.remove(0)
}

/// Line numbers in `only_error` bodies start after the prelude and the good virtual server.
const BASE: usize = 10;

fn assert_err(f: &Found, cat: Category, line: usize, col: usize, msg: &str) {
    assert_eq!(f.d.category, cat, "{}", f.d.message);
    assert_eq!((f.line, f.col), (BASE + line, col), "{}", f.d.message);
    assert_eq!(f.d.message, msg);
    assert_eq!(f.d.severity, Severity::Error);
}

#[test]
fn empty_configuration() {
    let f = &diags("")[0];
    assert_eq!(f.d.category, Category::Empty);
    assert_eq!(f.d.message, "Empty configuration: the file is empty");
    assert_eq!((f.line, f.col), (1, 1));
}

#[test]
fn quotation_mismatch() {
    let f = only_error("virtual w {\n send = \"GET /\n}\n");
    assert_err(
        &f,
        Category::BadQuoting,
        2,
        9,
        "quotation mismatch: no closing \" on this line",
    );
    let f = only_error("virtual w {\n expect = \"HTTP\"x\n}\n");
    assert_err(
        &f,
        Category::BadQuoting,
        2,
        11,
        "quotation mismatch: text follows the closing quote",
    );
}

#[test]
fn unexpected_end_of_file_points_at_the_open_block() {
    let src = format!("{PRELUDE}virtual web {{\n active = 0\n");
    let f = diags(&src).into_iter().find(|f| f.d.is_error()).unwrap();
    assert_eq!(f.d.category, Category::UnexpectedEof);
    assert_eq!(
        f.d.message,
        "unexpected end of file: block `virtual web` is not closed"
    );
    assert_eq!(f.line, 4);
    assert_eq!(f.d.notes[0].message, "`virtual web` opened here");
}

#[test]
fn unexpected_arguments() {
    let f = only_error("heartbeat_port = 539 540\n");
    assert_err(
        &f,
        Category::ExtraArgs,
        1,
        22,
        "unexpected arguments: `heartbeat_port` takes one value",
    );
    let f = only_error("virtual w {\n address = 10.0.0.9 eth0:1 eth1\n}\n");
    assert_err(
        &f,
        Category::ExtraArgs,
        2,
        28,
        "unexpected arguments: `address` takes an address and a device",
    );
}

#[test]
fn equal_expected() {
    let f = only_error("keepalive 6\n");
    assert_err(
        &f,
        Category::EqualExpected,
        1,
        11,
        "equal (=) expected after command: write `keepalive = 6`",
    );
}

#[test]
fn missing_arguments() {
    let f = only_error("virtual w {\n address = 10.0.0.9\n}\n");
    assert_err(
        &f,
        Category::MissingArgs,
        2,
        20,
        "missing arguments: `address` takes an address and a device",
    );
    assert!(f.d.help.as_deref().unwrap().contains("eth0:1"));
    let f = only_error("deadtime =\n");
    assert_err(
        &f,
        Category::MissingArgs,
        1,
        11,
        "missing arguments: `deadtime` needs a value",
    );
}

#[test]
fn invalid_host_name() {
    let f = only_error("backup = 10.0.0.300\n");
    assert_err(
        &f,
        Category::BadHostname,
        1,
        10,
        "invalid host name or ip address: `10.0.0.300` is not an IP address or a host name",
    );
    let src = "primary = 0.0.0.0\n";
    let f = diags(src).into_iter().find(|f| f.d.is_error()).unwrap();
    assert_eq!(
        f.d.message,
        "invalid host name or ip address: `primary` cannot be 0.0.0.0"
    );
}

#[test]
fn invalid_argument() {
    let f = only_error("virtual w {\n scheduler = fifo\n}\n");
    assert_err(
        &f,
        Category::BadArgument,
        2,
        14,
        "invalid argument: `scheduler` is one of lc, rr, wlc, wrr, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, not `fifo`",
    );
    let f = only_error("virtual w {\n protocol = TCP\n}\n");
    assert_eq!(f.d.help.as_deref(), Some("did you mean `tcp`?"));
    let f = only_error("virtual w {\n port = 70000\n}\n");
    assert_err(
        &f,
        Category::BadArgument,
        2,
        9,
        "invalid argument: `port` must be a port between 0 and 65535, not 70000",
    );
    let f = only_error("virtual w {\n port = htp\n}\n");
    assert_err(
        &f,
        Category::BadArgument,
        2,
        9,
        "invalid argument: `htp` is neither a port number nor a TCP service name",
    );
}

#[test]
fn integer_expected() {
    let f = only_error("virtual w {\n timeout = ten\n}\n");
    assert_err(
        &f,
        Category::IntExpected,
        2,
        12,
        "integer expected: `timeout` takes an integer, not `ten`",
    );
    let f = only_error("virtual w {\n timeout = 08\n}\n");
    assert!(f.d.help.as_deref().unwrap().contains("octal"));
    let f = only_error("backup_active = yes\n");
    assert_err(
        &f,
        Category::IntExpected,
        1,
        17,
        "integer expected: `backup_active` is 0 or 1, not `yes`",
    );
}

#[test]
fn boolean_expected() {
    let f = only_error("virtual w {\n active = 2\n}\n");
    assert_err(
        &f,
        Category::BoolExpected,
        2,
        11,
        "boolean expected: `active` is 0 or 1, not 2",
    );
}

#[test]
fn unknown_command() {
    let f = only_error("virtual w {\n protocl = tcp\n}\n");
    assert_err(
        &f,
        Category::BadCommand,
        2,
        2,
        "unknown command: `protocl` is not a `virtual`/`failover` block keyword",
    );
    assert_eq!(f.d.help.as_deref(), Some("did you mean `protocol`?"));
    let f = only_error("virtual w {\n weight = 3\n}\n");
    assert_eq!(
        f.d.help.as_deref(),
        Some("`weight` belongs in a `server` block")
    );
    let f = only_error("debug = NONE\n");
    assert_err(
        &f,
        Category::BadCommand,
        1,
        1,
        "unknown command: `debug` is not a global setting",
    );
    assert!(f.d.help.as_deref().unwrap().contains("debug_level"));
    let f = only_error("virtaul w {\n port = 80\n}\n");
    assert_err(
        &f,
        Category::BadCommand,
        1,
        1,
        "unknown command: `virtaul` is not a block keyword here; expected `virtual` or `failover`",
    );
    assert_eq!(f.d.help.as_deref(), Some("did you mean `virtual`?"));
    let f = only_error("}\n");
    assert_err(
        &f,
        Category::BadCommand,
        1,
        1,
        "unknown command: `}` without an open block",
    );
}

#[test]
fn list_expected() {
    let f = only_error("virtual w {\n dirs = /etc /var\n}\n");
    assert_err(
        &f,
        Category::ListExpected,
        2,
        9,
        "list expected: `dirs` takes a list: `dirs = [ a b ]`",
    );
}

#[test]
fn bad_subnet_mask() {
    let f = only_error("virtual w {\n vip_nmask = 255.0.255.0\n}\n");
    assert_err(
        &f,
        Category::BadNetmask,
        2,
        14,
        "Bad subnet mask specified: `255.0.255.0` is not a netmask: its one bits are not contiguous",
    );
    let f = only_error("nat_nmask = wide\n");
    assert_err(
        &f,
        Category::BadNetmask,
        1,
        13,
        "Bad subnet mask specified: `nat_nmask` = `wide`",
    );
}

fn semantic(src: &str) -> Vec<Found> {
    diags(src)
        .into_iter()
        .filter(|f| f.d.category == Category::Semantic)
        .collect()
}

#[test]
fn duplicate_active_virtual_services() {
    let src = format!(
        "{PRELUDE}{GOOD_VS}virtual dup {{\n active = 1\n address = 10.0.0.50 eth0:1\n port = 80\n server r {{\n address = 10.0.1.2\n active = 1\n }}\n}}\n"
    );
    let f = &semantic(&src)[0];
    assert!(f.d.is_error());
    assert_eq!(
        f.d.message,
        "`ok` and `dup` are both active for tcp 10.0.0.50:80"
    );
    assert_eq!((f.line, f.col), (13, 12));
    assert_eq!(f.d.notes[0].message, "the first one is here");
    // Same fwmark.
    let src = format!(
        "{PRELUDE}virtual a {{\n active = 1\n address = 10.0.0.50 eth0:1\n fwmark = 7\n server r {{\n address = 10.0.1.1\n active = 1\n }}\n}}\n\
         virtual b {{\n active = 1\n address = 10.0.0.51 eth0:2\n fwmark = 7\n server r {{\n address = 10.0.1.1\n active = 1\n }}\n}}\n"
    );
    assert_eq!(
        semantic(&src)[0].d.message,
        "`a` and `b` are both active for firewall mark 7"
    );
    // Different protocol or an inactive twin is fine.
    let src = format!(
        "{PRELUDE}{GOOD_VS}virtual udp {{\n active = 1\n protocol = udp\n address = 10.0.0.50 eth0:1\n server r {{\n address = 10.0.1.2\n active = 1\n }}\n}}\nvirtual off {{\n address = 10.0.0.50 eth0:1\n}}\n"
    );
    assert!(semantic(&src).is_empty());
}

#[test]
fn service_without_active_blocks() {
    let src = "service = fos\nprimary = 10.0.0.1\nvirtual v {\n active = 1\n address = 10.0.0.2 eth0:1\n server r {\n address = 10.0.1.1\n active = 1\n }\n}\n";
    let f = &semantic(src)[0];
    assert_eq!(
        f.d.message,
        "`service = fos` but no `failover` block is active: pulse would refuse to start"
    );
    assert_eq!(
        f.d.help.as_deref(),
        Some("this file has active `virtual` blocks: did you mean `service = lvs`?")
    );
    assert_eq!((f.line, f.col), (1, 1));
    let src = "primary = 10.0.0.1\nfailover f {\n active = 1\n address = 10.0.0.2 eth0:1\n}\n";
    assert_eq!(
        semantic(src)[0].d.message,
        "`service = lvs` but no `virtual` block is active: pulse would refuse to start"
    );
}

#[test]
fn backup_active_without_backup() {
    let f = &semantic(&format!("{PRELUDE}{GOOD_VS}backup_active = 1\n"))[0];
    assert!(
        f.d.message
            .starts_with("`backup_active = 1` but no `backup` address is set")
    );
    assert_eq!(f.line, 11);
}

#[test]
fn timeout_zero_and_short_reentry() {
    let active = "virtual w {\n active = 1\n address = 10.0.0.3 eth0:3\n timeout = 0\n server r {\n address = 10.0.1.1\n active = 1\n }\n}\n";
    let src = format!("{PRELUDE}{GOOD_VS}{active}");
    let f = &semantic(&src)[0];
    assert!(f.d.is_error());
    assert_eq!(f.d.message, "`timeout` must be at least 1 second");
    assert_eq!((f.line, f.col), (14, 12));
    // In a block pulse does not run, the same problem is only a warning.
    let src = format!("{PRELUDE}{GOOD_VS}virtual w {{\n timeout = 0\n}}\n");
    let f = &semantic(&src)[0];
    assert!(!f.d.is_error());
    assert_eq!(
        f.d.message,
        "`timeout` must be at least 1 second (the block is not active)"
    );
    let src = format!("{PRELUDE}{GOOD_VS}virtual w {{\n timeout = 10\n reentry = 5\n}}\n");
    let w: Vec<_> = diags(&src)
        .into_iter()
        .filter(|f| f.d.severity == Severity::Warning)
        .collect();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].d
            .message
            .starts_with("`reentry` (5) is shorter than `timeout` (10)")
    );
    assert_eq!(w[0].line, 13);
}

#[test]
fn active_virtual_server_without_active_real_servers_warns() {
    let src = format!(
        "{PRELUDE}virtual lonely {{\n active = 1\n address = 10.0.0.9 eth0:1\n server r {{\n address = 10.0.1.1\n }}\n}}\n"
    );
    let all = diags(&src);
    assert!(all.iter().all(|f| !f.d.is_error()));
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0].d.message,
        "active virtual server `lonely` has no active real server: it will take no traffic"
    );
    assert_eq!((all[0].line, all[0].col), (3, 1));
}

#[test]
fn persistence_inconsistencies() {
    let src = format!("{PRELUDE}{GOOD_VS}virtual w {{\n pmask = 255.255.255.0\n}}\n");
    let w = diags(&src);
    assert_eq!(w[0].d.message, "`pmask` has no effect without `persistent`");
    assert_eq!(w[0].d.severity, Severity::Warning);
    let src = format!(
        "{PRELUDE}{GOOD_VS}virtual w {{\n active = 1\n address = 10.0.0.3 eth0:3\n persistent = 60\n pmask = 33\n server r {{\n address = 10.0.1.1\n active = 1\n }}\n}}\n"
    );
    let f = &semantic(&src)[0];
    assert!(f.d.is_error());
    assert_eq!(
        f.d.message,
        "`pmask` = 33: an IPv4 prefix length is at most 32"
    );
    // lvsd ignored a mask with holes: a warning, and no mask.
    let src = format!(
        "{PRELUDE}virtual w {{\n active = 1\n address = 10.0.0.3 eth0:3\n persistent = 60\n pmask = 255.0.255.0\n server r {{\n address = 10.0.1.1\n active = 1\n }}\n}}\n"
    );
    let p = lvscf::parse(&src);
    assert!(!p.has_errors());
    assert_eq!(p.model.virtual_servers[0].pmask, None);
    assert_eq!(
        p.diagnostics[0].message,
        "`pmask` = `255.0.255.0` is ignored: its one bits are not contiguous"
    );
}

#[test]
fn deadtime_must_exceed_keepalive() {
    let src = format!("{PRELUDE}{GOOD_VS}keepalive = 6\ndeadtime = 6\n");
    let f = &semantic(&src)[0];
    assert!(
        f.d.message
            .starts_with("`deadtime` (6) must be longer than `keepalive` (6)")
    );
    assert_eq!((f.line, f.col), (12, 12));
}

#[test]
fn every_error_of_a_file_is_reported_in_one_run() {
    let src = "service = lvs\nprimary = 10.0.0.1\nkeepalive = two\nvirtual web {\n active = 2\n address = 10.0.0.9\n prot = tcp\n server a {\n weight = -1\n }\n}\nheartbeat_port = 1 2\n";
    let errs: Vec<(usize, Category)> = diags(src)
        .into_iter()
        .filter(|f| f.d.is_error())
        .map(|f| (f.line, f.d.category))
        .collect();
    assert_eq!(
        errs,
        [
            (3, Category::IntExpected),
            (5, Category::BoolExpected),
            (6, Category::MissingArgs),
            (7, Category::BadCommand),
            (9, Category::BadArgument),
            (12, Category::ExtraArgs),
        ]
    );
}

#[test]
fn rendered_diagnostics_snapshot() {
    let src = "service = lvs\nprimary = 10.0.0.1\nbackup = 10.0.0.2\nbackup_active = 1\nkeepalive = 2\ndeadtime = 2\n\nvirtual web {\n\tactive = 1\n\taddress = 10.0.0.100 eth0:1\n\tprotocl = tcp\n\tsend = \"GET / HTTP/1.0\\r\\n\n\tscheduler = fifo\n\tserver web1 {\n\t\taddress = 10.0.1.1\n\t\tactive = 1\n\t\tweight = 1 # strong\n\t}\n}\n\nvirtual web2 {\n\tactive = 1\n\taddress = 10.0.0.100 eth0:1\n\ttimeout = 0\n\tserver a {\n\t\taddress = 10.0.1.2\n\t\tactive = yes\n\t}\n";
    let p = lvscf::parse(src);
    let mut text = lvscf::cli::render("etc/broken.cf", src, &p.diagnostics);
    text.push_str(&format!(
        "lvscf: etc/broken.cf: {}\n",
        lvscf::diag::summary(&p.diagnostics)
    ));
    insta::assert_snapshot!("broken_file", text);
}

#[test]
fn rendered_warning_snapshot() {
    let src = "primary = 10.0.0.1\nvirtual v {\r\n  active = 1\r\n  address = 10.0.0.9 eth0:1\r\n  server a {\r\n    address = 10.0.1.1\r\n    active = 1\r\n  }\r\n  port = 443\r\n  timeout = 10\r\n  reentry = 3\r\n}\r\n";
    let p = lvscf::parse(src);
    insta::assert_snapshot!(
        "warnings_dos_file",
        lvscf::cli::render("lvs.cf", src, &p.diagnostics)
    );
}

#[test]
fn shared_scsi_without_conflict_action_warns() {
    let src = "service = fos\nprimary = 10.0.0.1\nbackup = 10.0.0.2\nbackup_active = 1\nprimary_shared = /dev/sdb\n\
               failover f {\n active = 1\n address = 10.0.0.3 eth0:1\n start_cmd = \"/bin/true\"\n stop_cmd = \"/bin/true\"\n}\n";
    let all = diags(src);
    assert_eq!(all.len(), 1);
    assert!(
        all[0]
            .d
            .message
            .starts_with("a shared SCSI disk is set but `reservation_conflict_action` is not")
    );
    assert_eq!(all[0].line, 5);
    let fixed = src.replace(
        "primary_shared = /dev/sdb\n",
        "primary_shared = /dev/sdb\nreservation_conflict_action = nothing\n",
    );
    assert!(diags(&fixed).is_empty());
}

/// Errors of `src` as (line, category), in order.
fn errors(src: &str) -> Vec<(usize, Category)> {
    diags(src)
        .into_iter()
        .filter(|f| f.d.is_error())
        .map(|f| (f.line, f.d.category))
        .collect()
}

#[test]
fn text_after_a_closing_brace_does_not_swallow_the_rest_of_the_file() {
    let src = format!(
        "{PRELUDE}virtual a {{\n active = 1\n address = 10.0.0.3 eth0:1\n server r {{\n address = 10.0.1.1\n active = 1\n }} x\n}}\nkeepalive = 3\nvirtual b {{\n active = 7\n}}\n"
    );
    assert_eq!(
        errors(&src),
        [(9, Category::ExtraArgs), (13, Category::BoolExpected)]
    );
    let src = format!(
        "{PRELUDE}virtual a {{\n active = 1\n address = 10.0.0.3 eth0:1\n server r {{\n address = 10.0.1.1\n active = 1\n }}}}\nkeepalive = 3\n"
    );
    assert_eq!(errors(&src), [(9, Category::ExtraArgs)]);
    // A comment after `}}` is a comment, as after `}`.
    let src = src.replace("}}\n", "}} # end\n");
    assert_eq!(errors(&src), [(9, Category::ExtraArgs)]);
}

#[test]
fn a_quoting_error_is_reported_once_and_keeps_the_structure() {
    // The header still opens its block, so its `}` is not a stray brace.
    let src = format!("{PRELUDE}virtual \"web {{\n active = 0\n}}\nkeepalive = 3\n");
    assert_eq!(errors(&src), [(3, Category::BadQuoting)]);
    // A damaged value neither reports twice nor lets a check assume the default.
    let src = format!(
        "{PRELUDE}virtual w {{\n active = 1\n address = \"10.0.0.3 eth0:1\n server r {{\n address = 10.0.1.1\n active = \"1\n }}\n}}\n"
    );
    let all = diags(&src);
    assert_eq!(
        all.len(),
        2,
        "{:?}",
        all.iter().map(|f| &f.d.message).collect::<Vec<_>>()
    );
    assert!(all.iter().all(|f| f.d.category == Category::BadQuoting));
}

#[test]
fn errors_inside_misplaced_or_misspelt_blocks_are_reported() {
    let src = format!("{PRELUDE}virtaul web {{\n port = htp\n active = 7\n}}\n");
    assert_eq!(
        errors(&src),
        [
            (3, Category::BadCommand),
            (4, Category::BadArgument),
            (5, Category::BoolExpected)
        ]
    );
    let src = format!(
        "{PRELUDE}{GOOD_VS}server stray {{\n weight = x\n}}\nvirtual outer {{\n virtual inner {{\n timeout = y\n }}\n}}\n"
    );
    assert_eq!(
        errors(&src),
        [
            (11, Category::BadCommand),
            (12, Category::IntExpected),
            (15, Category::BadCommand),
            (16, Category::IntExpected)
        ]
    );
}

#[test]
fn a_misspelt_key_does_not_trigger_checks_about_the_key_it_meant() {
    let src = format!(
        "{PRELUDE}virtual w {{\n active = 1\n address = 10.0.0.3 eth0:1\n server r {{\n address = 10.0.1.1\n actve = 1\n }}\n}}\n"
    );
    let all = diags(&src);
    assert_eq!(
        all.len(),
        1,
        "{:?}",
        all.iter().map(|f| &f.d.message).collect::<Vec<_>>()
    );
    assert_eq!(all[0].d.help.as_deref(), Some("did you mean `active`?"));
}

#[test]
fn blocks_that_service_does_not_select_only_warn() {
    let src = format!(
        "{PRELUDE}{GOOD_VS}failover f {{\n active = 1\n address = 10.0.0.7 eth0:2\n timeout = 0\n}}\n\
         failover g {{\n active = 1\n address = 10.0.0.7 eth0:2\n}}\n"
    );
    let all = diags(&src);
    assert!(
        all.iter().all(|f| !f.d.is_error()),
        "{:?}",
        all.iter().map(|f| &f.d.message).collect::<Vec<_>>()
    );
    assert!(all.iter().any(|f| f.d.message
        == "`timeout` must be at least 1 second (`service = lvs` does not run this block)"));
    assert!(all.iter().any(|f| {
        f.d.message
            .starts_with("`f` and `g` are both active for tcp 10.0.0.7:80")
    }));
}

#[test]
fn private_heartbeat_without_the_backup_end_warns() {
    let src = format!(
        "{PRELUDE}primary_private = 192.168.0.1\nbackup = 10.0.0.2\nbackup_active = 1\n{GOOD_VS}"
    );
    let all = diags(&src);
    assert_eq!(all.len(), 1);
    assert!(!all[0].d.is_error());
    assert!(
        all[0]
            .d
            .message
            .starts_with("`primary_private` is set but `backup_private` is not")
    );
}

#[test]
fn a_hash_in_a_block_name_is_a_name_as_in_piranha() {
    let src = format!(
        "{PRELUDE}virtual w {{\n active = 1\n address = 10.0.0.3 eth0:1\n server #1 {{ # first\n address = 10.0.1.1\n active = 1\n }} # end\n}}\n"
    );
    let p = lvscf::parse(&src);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(p.model.virtual_servers[0].servers[0].name, "#1");
}

#[test]
fn authenticated_heartbeat_and_sync_settings() {
    let f = only_error("heartbeat_key_file = keys\n");
    assert_err(
        &f,
        Category::Semantic,
        1,
        22,
        "`heartbeat_key_file` must be an absolute path, not `keys`",
    );
    let f = only_error("heartbeat_auth = permissive\n");
    assert!(
        f.d.message
            .starts_with("`heartbeat_auth` is set but `heartbeat_key_file` is not")
    );
    let f = only_error("heartbeat_auth = lax\n");
    assert!(f.d.message.contains("lax"), "{}", f.d.message);
    let f = only_error("config_sync = 1\n");
    assert!(
        f.d.message
            .starts_with("`config_sync = 1` needs `heartbeat_key_file`")
    );
    let f = only_error("heartbeat_key_file = /k\nsync_port = 0\n");
    assert_eq!(f.d.message, "`sync_port` cannot be 0");
    let ok = format!(
        "{PRELUDE}{GOOD_VS}heartbeat_key_file = /etc/keys\nheartbeat_auth = permissive\nconfig_sync = 1\nsync_port = 1540\n"
    );
    let p = lvscf::parse(&ok);
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    let m = &p.model;
    assert_eq!(m.heartbeat_key_file.as_deref(), Some("/etc/keys"));
    assert_eq!(m.heartbeat_auth, Some(lvscf::HeartbeatAuth::Permissive));
    assert_eq!((m.config_sync, m.sync_port), (true, Some(1540)));
    // Written back and read again: the same model.
    let text = lvscf::writer::write(m).unwrap();
    assert_eq!(&lvscf::parse(&text).model, m, "{text}");
}

#[test]
fn connect_timeout_and_retries() {
    let src = format!(
        "{PRELUDE}virtual w {{\n active = 1\n address = 10.0.0.50 eth0:1\n connect_timeout = 0.25\n retries = 5\n}}\n"
    );
    let p = lvscf::parse(&src);
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    let vs = &p.model.virtual_servers[0];
    assert_eq!(
        (vs.connect_timeout, vs.retries),
        (Some(lvscf::Seconds::from_millis(250)), Some(5))
    );
    let unset = &lvscf::parse(&format!("{PRELUDE}{GOOD_VS}"))
        .model
        .virtual_servers[0];
    assert_eq!((unset.connect_timeout, unset.retries), (None, None));
    let f = only_error(
        "virtual w {\n active = 1\n address = 10.0.0.51 eth0:2\n connect_timeout = 0\n}\n",
    );
    assert_eq!(f.d.category, Category::Semantic);
    assert_eq!(f.d.message, "`connect_timeout` must be greater than 0");
    assert_eq!(f.line, BASE + 4);
    let f = only_error("virtual w {\n retries = -1\n}\n");
    assert_eq!(f.line, BASE + 2, "{}", f.d.message);
}

#[test]
fn sched_flags() {
    let src = format!(
        "{PRELUDE}virtual w {{\n active = 1\n address = 10.0.0.50 eth0:1\n scheduler = mh\n sched_flags = mh-port,mh-fallback,mh-port\n}}\n"
    );
    let p = lvscf::parse(&src);
    assert!(!p.has_errors(), "{:?}", p.diagnostics);
    let vs = &p.model.virtual_servers[0];
    assert_eq!(
        vs.sched_flags,
        [lvscf::SchedFlag::MhPort, lvscf::SchedFlag::MhFallback]
    );
    // Written back as one comma list.
    let text = lvscf::writer::write(&p.model).unwrap();
    assert!(
        text.contains("sched_flags = mh-port,mh-fallback\n"),
        "{text}"
    );
    assert_eq!(lvscf::parse(&text).model, p.model);
    // A flag of another scheduler is an error on the flags' line.
    let f = only_error(
        "virtual w {\n active = 1\n address = 10.0.0.51 eth0:2\n scheduler = sh\n sched_flags = mh-port\n}\n",
    );
    assert_eq!(f.d.category, Category::Semantic);
    assert_eq!(
        f.d.message,
        "`sched_flags`: `mh-port` is a flag of scheduler `mh`, not `sh`"
    );
    assert_eq!(f.line, BASE + 5);
    // An unknown flag, with a suggestion.
    let f = only_error("virtual w {\n scheduler = mh\n sched_flags = mh-prot\n}\n");
    assert_eq!(f.d.category, Category::BadArgument);
    assert!(f.d.message.contains("not `mh-prot`"), "{}", f.d.message);
    assert_eq!(f.line, BASE + 3);
}

#[test]
fn announce_through_bird_settings() {
    let f = only_error("announce = bird\nbird_socket = bird.ctl\n");
    assert_err(
        &f,
        Category::Semantic,
        2,
        15,
        "`bird_socket` must be an absolute path, not `bird.ctl`",
    );
    let f = only_error("announce = bird\nannounce_file = x.conf\n");
    assert_eq!(
        f.d.message,
        "`announce_file` must be an absolute path, not `x.conf`"
    );
    let f = only_error("announce = bgp\n");
    assert!(f.d.message.contains("bgp"), "{}", f.d.message);
    assert_eq!((f.line, f.col), (BASE + 1, 12));
    let f = only_error("announce = bird\nannounce_drain = 61\n");
    assert_err(
        &f,
        Category::Semantic,
        2,
        18,
        "`announce_drain` is at most 60 seconds, not 61",
    );
    // Warnings: BIRD settings without `announce = bird`; an announcing backup.
    let src = format!("{PRELUDE}{GOOD_VS}announce_drain = 1\n");
    let w: Vec<Found> = diags(&src);
    assert_eq!(
        w.len(),
        1,
        "{:?}",
        w.iter().map(|f| &f.d.message).collect::<Vec<_>>()
    );
    assert_eq!(w[0].d.severity, Severity::Warning);
    assert_eq!(
        w[0].d.message,
        "`announce_drain` is only used with `announce = bird`"
    );
    assert_eq!((w[0].line, w[0].col), (BASE + 1, 1));
    let src = format!("{PRELUDE}backup = 10.0.0.2\nbackup_active = 1\n{GOOD_VS}announce = bird\n");
    let w: Vec<Found> = diags(&src);
    assert!(
        w.iter().any(|f| f.d.severity == Severity::Warning
            && f.d
                .message
                .starts_with("`announce = bird` with `backup_active = 1`")),
        "{:?}",
        w.iter().map(|f| &f.d.message).collect::<Vec<_>>()
    );
    // Defaults, and values read, written back and read again.
    let p = lvscf::parse(&format!("{PRELUDE}{GOOD_VS}"));
    let m = &p.model;
    assert_eq!(m.announce, lvscf::Announce::None);
    assert_eq!(m.bird_socket(), "/run/bird/bird.ctl");
    assert_eq!(m.announce_file(), "/run/piranha/announce.conf");
    assert_eq!(m.announce_drain(), lvscf::Seconds::from_secs(2));
    let ok = format!(
        "{PRELUDE}{GOOD_VS}announce = bird\nbird_socket = /run/b.ctl\nannounce_file = /run/a.conf\nannounce_drain = 0.5\n"
    );
    let p = lvscf::parse(&ok);
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    let m = &p.model;
    assert_eq!(m.announce, lvscf::Announce::Bird);
    assert_eq!(
        (m.bird_socket(), m.announce_file()),
        ("/run/b.ctl", "/run/a.conf")
    );
    assert_eq!(m.announce_drain(), lvscf::Seconds::from_millis(500));
    let text = lvscf::writer::write(m).unwrap();
    assert!(text.contains("announce = bird\n"), "{text}");
    assert_eq!(&lvscf::parse(&text).model, m, "{text}");
}
