//! nanny's command line: piranha 0.8.6's option table (spec §4.1) and start-up rules (§4.2).

use std::ffi::OsString;
use std::net::IpAddr;
use std::time::Duration;

use clap::{Arg, ArgAction, Command};
use ipvs::Forward;

use crate::escape;
use crate::monitor::Kind;

/// Piranha's HTTP default (bz495005): used when the virtual port is 80 and nothing is set.
pub const HTTP_SEND: &[u8] = b"GET / HTTP/1.0\r\n\r\n";
pub const HTTP_EXPECT: &[u8] = b"HTTP";

/// Everything nanny needs to run, after defaults and start-up rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub kind: Kind,
    /// `-h`: the real server (LVS) or VIP (FOS) that is checked.
    pub server: IpAddr,
    /// `-V`: the virtual address (LVS) or partner address (FOS, logs only), as given.
    pub vip: Option<String>,
    pub port: u16,
    pub rport: u16,
    pub fwmark: u32,
    pub udp: bool,
    pub send: Option<Vec<u8>>,
    pub expect: Option<Vec<u8>>,
    pub program: Option<String>,
    pub regex: bool,
    pub interval: Duration,
    pub reentry: Duration,
    pub weight: i32,
    pub scale: i32,
    pub quiesce: bool,
    /// `-U`, `None` for `none`.
    pub load_cmd: Option<String>,
    pub method: Forward,
    pub ipvsadm: String,
    pub nodaemon: bool,
    pub nofork: bool,
    pub verbose: bool,
    pub norun: bool,
    /// Report decisions to lvsd on stdout instead of changing IPVS.
    pub report: bool,
    /// `--assume-up W`: the destination is already in the table, at weight `W`.
    pub assume_up: Option<i32>,
    /// Lines to log once logging is up (start-up rules that piranha logs).
    pub startup_notes: Vec<String>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Config>),
    /// `--help`, `--usage`, `--version`: print this and exit 0.
    Print(String),
}

/// A command-line error: print `nanny: <msg>` on stderr and exit 1, as piranha.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// An option without a value.
fn flag(id: &'static str, short: Option<char>, long: &'static str, help: &'static str) -> Arg {
    let a = Arg::new(id)
        .long(long)
        .action(ArgAction::SetTrue)
        .help(help);
    match short {
        Some(c) => a.short(c),
        None => a,
    }
}

/// An option with one value (which may start with `-`, as popt allows).
fn value(id: &'static str, short: Option<char>, long: &'static str, help: &'static str) -> Arg {
    let a = Arg::new(id)
        .long(long)
        .action(ArgAction::Set)
        .num_args(1)
        .allow_hyphen_values(true)
        .help(help);
    match short {
        Some(c) => a.short(c),
        None => a,
    }
}

// Long: one declarative table of nanny's options, in piranha's order (the order of `--help`).
fn command() -> Command {
    Command::new("nanny")
        .disable_help_flag(true)
        .disable_version_flag(true)
        // popt lets a repeated option's last value win.
        .args_override_self(true)
        .override_usage("nanny [OPTION...]")
        .arg(value(
            "interval",
            Some('t'),
            "interval",
            "seconds between checks, also the timeout of each step [10]",
        ))
        .arg(value(
            "ipvsadm",
            Some('I'),
            "ipvsadm",
            "accepted for compatibility; IPVS is changed through netlink",
        ))
        .arg(value(
            "loadcmd",
            Some('U'),
            "loadcmd",
            "load command: rup, ruptime, rsh, ssh, none, or a program [none]",
        ))
        .arg(value(
            "method",
            Some('M'),
            "method",
            "forwarding method: m (NAT), g (direct routing), i (tunnel) [m]",
        ))
        .arg(flag(
            "nodaemon",
            Some('n'),
            "nodaemon",
            "stay in the foreground and log to stdout too",
        ))
        .arg(flag(
            "nofork",
            Some('c'),
            "nofork",
            "do not fork, but leave the terminal",
        ))
        .arg(value(
            "port",
            Some('p'),
            "port",
            "virtual service port [80]",
        ))
        .arg(value(
            "rport",
            Some('r'),
            "rport",
            "real server port to check [= port]",
        ))
        .arg(value(
            "reentry",
            Some('a'),
            "reentrytime",
            "seconds of successes before a failed server is re-added [180]",
        ))
        .arg(value(
            "scale",
            Some('S'),
            "scale",
            "cap of the load-based weight, in multiples of the weight [10]",
        ))
        .arg(value(
            "server",
            Some('h'),
            "server",
            "address to check (real server, or VIP with --fos)",
        ))
        .arg(value(
            "program",
            Some('e'),
            "send_program",
            "external check program (%h host, %p port)",
        ))
        .arg(value("send", Some('s'), "send_string", "string to send"))
        .arg(value(
            "expect",
            Some('x'),
            "expect_string",
            "expected reply (prefix; * for any)",
        ))
        .arg(flag(
            "regex",
            None,
            "regex",
            "the expect string is a POSIX extended regular expression",
        ))
        .arg(flag(
            "suppress",
            Some('T'),
            "suppress",
            "do not translate backslash escapes",
        ))
        .arg(flag(
            "quiesce",
            Some('q'),
            "quiesce_server",
            "set weight 0 on failure instead of removing",
        ))
        .arg(flag("udp", Some('u'), "udp", "check over UDP"))
        .arg(flag("verbose", Some('v'), "verbose", "verbose logging"))
        .arg(value(
            "vip",
            Some('V'),
            "virtaddress",
            "virtual address (LVS) or partner address (FOS)",
        ))
        .arg(value(
            "fwmark",
            Some('f'),
            "fwmark",
            "firewall-mark service",
        ))
        .arg(value(
            "weight",
            Some('w'),
            "weight",
            "configured weight [1]",
        ))
        .arg(flag("norun", None, "test-start", "do not change IPVS").alias("norun"))
        .arg(flag("version", None, "version", "print the version"))
        .arg(flag("fos", None, "fos", "failover-service monitor"))
        .arg(flag("lvs", None, "lvs", "LVS real-server monitor"))
        .arg(flag(
            "report",
            None,
            "report",
            "report decisions on stdout for lvsd; do not change IPVS",
        ))
        .arg(value(
            "assume_up",
            None,
            "assume-up",
            "the server is already in the table at this weight (lvsd restarting a monitor)",
        ))
        .arg(flag("help", Some('?'), "help", "show this help").alias("usage"))
}

/// Usage text for `--help`.
pub fn help() -> String {
    command().render_help().to_string()
}

fn int<T: TryFrom<i64>>(
    m: &clap::ArgMatches,
    id: &str,
    what: &str,
) -> Result<Option<T>, UsageError> {
    let Some(s) = m.get_one::<String>(id) else {
        return Ok(None);
    };
    lvscf::value::parse_int(s.trim())
        .and_then(|v| T::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| UsageError(format!("bad {what} -- {s}")))
}

fn seconds(m: &clap::ArgMatches, id: &str, what: &str) -> Result<Option<Duration>, UsageError> {
    let Some(s) = m.get_one::<String>(id) else {
        return Ok(None);
    };
    lvscf::value::parse_seconds(s.trim())
        .map(|v| Some(v.as_duration()))
        .ok_or_else(|| UsageError(format!("bad {what} -- {s}")))
}

/// Parse the argument vector (program name first).
pub fn parse<I, T>(args: I) -> Result<Parsed, UsageError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let m = command()
        .try_get_matches_from(args)
        .map_err(|e| UsageError(clap_message(&e)))?;
    if m.get_flag("help") {
        return Ok(Parsed::Print(help()));
    }
    if m.get_flag("version") {
        return Ok(Parsed::Print(format!(
            "nanny version {} (Piranha in Rust)\n",
            env!("CARGO_PKG_VERSION")
        )));
    }
    run_config(&m).map(|c| Parsed::Run(Box::new(c)))
}

/// The configuration of a run from its matches; errors come in the order piranha checked.
fn run_config(m: &clap::ArgMatches) -> Result<Config, UsageError> {
    let server = server(m)?;
    let kind = kind(m)?;
    let interval = seconds(m, "interval", "interval")?.unwrap_or(Duration::from_secs(10));
    if interval.is_zero() {
        return Err(UsageError(
            "the interval (-t) must be greater than 0".into(),
        ));
    }
    let port: u16 = int(m, "port", "port")?.unwrap_or(80);
    let rport: u16 = int(m, "rport", "port")?.unwrap_or(port);
    let reentry = match seconds(m, "reentry", "reentry time")? {
        Some(d) if !d.is_zero() => d,
        // 0 (or unset) means the default: 180 s for LVS, one interval for FOS.
        _ => match kind {
            Kind::Lvs => Duration::from_secs(180),
            Kind::Fos => interval,
        },
    };
    let (weight, scale) = weights(m)?;
    let fwmark: u32 = int(m, "fwmark", "firewall mark")?.unwrap_or(0);
    let load_cmd = m
        .get_one::<String>("loadcmd")
        .filter(|s| s.trim() != "none" && !s.trim().is_empty())
        .cloned();
    let probe = probe(m, port);
    Ok(Config {
        kind,
        server,
        vip: m.get_one::<String>("vip").cloned(),
        port,
        rport,
        fwmark,
        udp: m.get_flag("udp"),
        send: probe.send,
        expect: probe.expect,
        program: probe.program,
        regex: m.get_flag("regex"),
        interval,
        reentry,
        weight,
        scale,
        quiesce: m.get_flag("quiesce"),
        load_cmd,
        method: method(m),
        ipvsadm: m
            .get_one::<String>("ipvsadm")
            .cloned()
            .unwrap_or_else(|| "/sbin/ipvsadm".into()),
        nodaemon: m.get_flag("nodaemon"),
        nofork: m.get_flag("nofork"),
        verbose: m.get_flag("verbose"),
        norun: m.get_flag("norun"),
        report: m.get_flag("report"),
        assume_up: int(m, "assume_up", "weight")?,
        startup_notes: probe.notes,
    })
}

/// `-h`: required, an IP address.
fn server(m: &clap::ArgMatches) -> Result<IpAddr, UsageError> {
    let Some(server) = m.get_one::<String>("server") else {
        return Err(UsageError(
            "No address supplied. Use '--help' for help.".into(),
        ));
    };
    lvscf::value::parse_ip(server.trim())
        .ok_or_else(|| UsageError(format!("bad IP address -- {server}")))
}

/// `--lvs` or `--fos`: exactly one.
fn kind(m: &clap::ArgMatches) -> Result<Kind, UsageError> {
    match (m.get_flag("lvs"), m.get_flag("fos")) {
        (true, false) => Ok(Kind::Lvs),
        (false, true) => Ok(Kind::Fos),
        (true, true) => Err(UsageError("--lvs and --fos are exclusive".into())),
        (false, false) => Err(UsageError("unknown service type".into())),
    }
}

/// `-w` and `-S`.
fn weights(m: &clap::ArgMatches) -> Result<(i32, i32), UsageError> {
    let weight: i32 = int(m, "weight", "weight")?.unwrap_or(1);
    if weight < 0 {
        return Err(UsageError(format!("bad weight -- {weight}")));
    }
    let scale: i32 = int(m, "scale", "scale")?.unwrap_or(10);
    if scale < 1 {
        return Err(UsageError(format!("bad scale -- {scale}")));
    }
    Ok((weight, scale))
}

/// `-M`: only its first letter counts, and anything unknown is NAT.
fn method(m: &clap::ArgMatches) -> Forward {
    match m
        .get_one::<String>("method")
        .map(|s| s.trim_start_matches('-'))
    {
        Some(s) if s.starts_with('g') => Forward::Route,
        Some(s) if s.starts_with('i') => Forward::Tunnel,
        _ => Forward::Masq,
    }
}

/// What a check sends and expects, or the program it runs, after piranha's start-up rules.
struct Probe {
    send: Option<Vec<u8>>,
    expect: Option<Vec<u8>>,
    program: Option<String>,
    /// The start-up rules that applied, to log.
    notes: Vec<String>,
}

fn probe(m: &clap::ArgMatches, port: u16) -> Probe {
    let suppress = m.get_flag("suppress");
    let conv = |id: &str| {
        m.get_one::<String>(id).map(|s| {
            if suppress {
                s.as_bytes().to_vec()
            } else {
                escape::convert(s.as_bytes())
            }
        })
    };
    let mut send = conv("send");
    let mut expect = conv("expect");
    let program = m.get_one::<String>("program").cloned();
    let mut notes = Vec::new();
    if let (Some(p), Some(s)) = (&program, m.get_one::<String>("send")) {
        notes.push(format!(
            "External program use requested: ({p}), IGNORING send string option ({s})"
        ));
        send = None;
    }
    if port == 80 && send.is_none() && expect.is_none() && program.is_none() {
        notes.push("nanny: no monitor configured, assuming web service on port 80".into());
        send = Some(HTTP_SEND.to_vec());
        expect = Some(HTTP_EXPECT.to_vec());
    }
    Probe {
        send,
        expect,
        program,
        notes,
    }
}

/// clap's error without its "error: " prefix and usage tail, so it reads like popt's.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_owned()
}

/// The configuration of a run from nanny's arguments, without the program name (for programs
/// that build nanny command lines); `--help` and `--version` are errors here.
pub fn config(args: &[&str]) -> Result<Config, UsageError> {
    match parse(std::iter::once("nanny").chain(args.iter().copied()))? {
        Parsed::Run(c) => Ok(*c),
        Parsed::Print(_) => Err(UsageError("not a run: --help or --version".into())),
    }
}

/// `ADDR:PORT` for log lines; IPv6 in brackets.
pub fn host_port(addr: &str, port: u16) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(args: &[&str]) -> Config {
        config(args).unwrap()
    }

    fn err(args: &[&str]) -> String {
        let mut v = vec!["nanny"];
        v.extend_from_slice(args);
        parse(v).unwrap_err().0
    }

    #[test]
    fn lvsd_argv_shape() {
        let c = cfg(&[
            "-c",
            "-h",
            "192.168.60.132",
            "-p",
            "80",
            "-r",
            "8080",
            "-s",
            r"GET / HTTP/1.0\r\n\r\n",
            "-x",
            "HTTP",
            "-q",
            "-a",
            "15",
            "-I",
            "/sbin/ipvsadm",
            "-t",
            "6",
            "-w",
            "100",
            "-V",
            "10.0.0.1",
            "-M",
            "g",
            "-U",
            "ssh",
            "--lvs",
        ]);
        assert_eq!(c.kind, Kind::Lvs);
        assert_eq!(c.server.to_string(), "192.168.60.132");
        assert_eq!((c.port, c.rport), (80, 8080));
        assert_eq!(c.send.as_deref(), Some(&b"GET / HTTP/1.0\r\n\r\n"[..]));
        assert_eq!(c.expect.as_deref(), Some(&b"HTTP"[..]));
        assert!(c.quiesce && c.nofork && !c.nodaemon);
        assert_eq!(c.reentry, Duration::from_secs(15));
        assert_eq!(c.interval, Duration::from_secs(6));
        assert_eq!(c.weight, 100);
        assert_eq!(c.method, Forward::Route);
        assert_eq!(c.load_cmd.as_deref(), Some("ssh"));
        assert!(c.startup_notes.is_empty());
    }

    #[test]
    fn defaults() {
        let c = cfg(&["-h", "10.0.0.2", "--lvs", "-p", "443"]);
        assert_eq!(c.interval, Duration::from_secs(10));
        assert_eq!(c.reentry, Duration::from_secs(180));
        assert_eq!((c.port, c.rport), (443, 443));
        assert_eq!((c.weight, c.scale, c.fwmark), (1, 10, 0));
        assert_eq!(c.method, Forward::Masq);
        assert_eq!(c.load_cmd, None);
        assert_eq!((c.send.clone(), c.expect.clone()), (None, None));
        // FOS: reentry defaults to the interval.
        let c = cfg(&["-h", "10.0.0.2", "--fos", "-t", "3"]);
        assert_eq!(c.reentry, Duration::from_secs(3));
    }

    #[test]
    fn http_default_on_virtual_port_80() {
        let c = cfg(&["-h", "10.0.0.2", "--lvs", "-r", "8080"]);
        assert_eq!(c.send.as_deref(), Some(HTTP_SEND));
        assert_eq!(c.expect.as_deref(), Some(HTTP_EXPECT));
        assert_eq!(
            c.startup_notes,
            ["nanny: no monitor configured, assuming web service on port 80"]
        );
        // Any of -s, -x, -e turns the default off.
        let c = cfg(&["-h", "10.0.0.2", "--lvs", "-x", "*"]);
        assert_eq!(c.send, None);
    }

    #[test]
    fn program_overrides_send() {
        let c = cfg(&[
            "-h",
            "10.0.0.2",
            "--lvs",
            "-e",
            "/bin/check %h",
            "-s",
            "PING",
        ]);
        assert_eq!(c.send, None);
        assert_eq!(
            c.startup_notes,
            ["External program use requested: (/bin/check %h), IGNORING send string option (PING)"]
        );
    }

    #[test]
    fn escapes_unless_suppressed() {
        let c = cfg(&["-h", "10.0.0.2", "--lvs", "-s", r"\x00\x01", "-x", r"a\tb"]);
        assert_eq!(c.send.as_deref(), Some(&[0u8, 1][..]));
        assert_eq!(c.expect.as_deref(), Some(&b"a\tb"[..]));
        let c = cfg(&["-h", "10.0.0.2", "--lvs", "-T", "-s", r"\r\n"]);
        assert_eq!(c.send.as_deref(), Some(&br"\r\n"[..]));
    }

    #[test]
    fn method_letters() {
        let m = |s: &str| cfg(&["-h", "10.0.0.2", "--lvs", "-M", s]).method;
        assert_eq!(m("g"), Forward::Route);
        assert_eq!(m("-g"), Forward::Route);
        assert_eq!(m("i"), Forward::Tunnel);
        assert_eq!(m("-m"), Forward::Masq);
        // piranha's man page says t for tunnelling; the code treats it as NAT.
        assert_eq!(m("t"), Forward::Masq);
    }

    #[test]
    fn long_names_and_attached_values() {
        let c = cfg(&[
            "--server=10.0.0.2",
            "--lvs",
            "--interval=0.5",
            "--reentrytime",
            "2",
            "--udp",
            "--send_string",
            "x",
            "--expect_string=y",
            "--quiesce_server",
            "--weight=7",
            "-p53",
            "--test-start",
        ]);
        assert_eq!(c.interval, Duration::from_millis(500));
        assert_eq!(c.reentry, Duration::from_secs(2));
        assert!(c.udp && c.quiesce && c.norun);
        assert_eq!((c.weight, c.port), (7, 53));
        assert!(cfg(&["-h", "10.0.0.2", "--lvs", "--norun"]).norun);
    }

    #[test]
    fn repeated_options_last_wins() {
        let c = cfg(&[
            "-h", "10.0.0.9", "-h", "10.0.0.2", "--lvs", "-v", "-v", "-x", "a", "-x", "b",
        ]);
        assert_eq!(c.server.to_string(), "10.0.0.2");
        assert_eq!(c.expect.as_deref(), Some(&b"b"[..]));
        assert!(c.verbose);
    }

    #[test]
    fn assume_up_takes_the_current_weight() {
        assert_eq!(
            cfg(&["-h", "10.0.0.2", "--lvs", "--assume-up", "3"]).assume_up,
            Some(3)
        );
        assert_eq!(cfg(&["-h", "10.0.0.2", "--lvs"]).assume_up, None);
        assert_eq!(
            err(&["-h", "10.0.0.2", "--lvs", "--assume-up", "x"]),
            "bad weight -- x"
        );
    }

    #[test]
    fn ipv6_servers() {
        let c = cfg(&["-h", "2001:db8::2", "--lvs", "-V", "2001:db8::1"]);
        assert_eq!(c.server.to_string(), "2001:db8::2");
        assert_eq!(host_port("2001:db8::2", 80), "[2001:db8::2]:80");
    }

    #[test]
    fn errors_word_as_piranha() {
        assert_eq!(
            err(&["--lvs"]),
            "No address supplied. Use '--help' for help."
        );
        assert_eq!(
            err(&["-h", "10.0.0.300", "--lvs"]),
            "bad IP address -- 10.0.0.300"
        );
        assert_eq!(err(&["-h", "10.0.0.2"]), "unknown service type");
        assert_eq!(
            err(&["-h", "10.0.0.2", "--lvs", "-t", "0"]),
            "the interval (-t) must be greater than 0"
        );
        assert_eq!(
            err(&["-h", "10.0.0.2", "--lvs", "-p", "http"]),
            "bad port -- http"
        );
        assert!(err(&["-h", "10.0.0.2", "--lvs", "--bogus"]).contains("--bogus"));
        assert_eq!(
            err(&["-h", "10.0.0.2", "--lvs", "-S", "0"]),
            "bad scale -- 0"
        );
    }

    #[test]
    fn help_and_version() {
        assert!(
            matches!(parse(["nanny", "-?"]).unwrap(), Parsed::Print(h) if h.contains("--send_program"))
        );
        assert!(matches!(
            parse(["nanny", "--usage"]).unwrap(),
            Parsed::Print(_)
        ));
        assert!(
            matches!(parse(["nanny", "--version"]).unwrap(), Parsed::Print(v) if v.starts_with("nanny version"))
        );
    }
}
