//! The `lvscf` command line: `check`, `dump`, `fmt` and `bump`. Kept in the library so tests drive it
//! with in-memory output; `main.rs` only parses argv and calls [`run`].

use std::io::{Read as _, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::span::LineIndex;
use crate::{LoadError, Loaded, Parsed, Renderer, WriteOptions, diag, writer};

/// Exit status: the file is valid (or `fmt --check` found it canonical).
pub const EXIT_OK: u8 = 0;
/// Exit status: the file is invalid, unreadable, or (`fmt --check`) not canonical.
pub const EXIT_INVALID: u8 = 1;
/// Exit status: bad command line (clap's own code for usage errors).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "lvscf",
    version,
    about = "Check, dump and format the LVS cluster configuration (lvs.cf)",
    after_help = "Exit status: 0 valid, 1 invalid or unreadable, 2 usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a configuration and print every error and warning.
    Check {
        #[command(flatten)]
        file: FileArg,
        /// Treat warnings as errors (exit 1 when there is any).
        #[arg(long)]
        strict: bool,
        /// Print no summary line on stdout when the file is valid (warnings still go to stderr).
        #[arg(short, long)]
        quiet: bool,
        /// Print the diagnostics as JSON on stdout instead of text on stderr.
        #[arg(long)]
        json: bool,
    },
    /// Print the validated configuration with every default filled in.
    Dump {
        #[command(flatten)]
        file: FileArg,
        /// Print JSON instead of lvs.cf text.
        #[arg(long)]
        json: bool,
    },
    /// Print the file in canonical form (key order, spacing), keeping its comments.
    Fmt {
        #[command(flatten)]
        file: FileArg,
        /// Print nothing; exit 1 when the file is not in canonical form.
        #[arg(long, conflicts_with = "write")]
        check: bool,
        /// Rewrite the file in place (atomically, keeping its permissions).
        #[arg(short, long)]
        write: bool,
    },
    /// Raise `serial_no` by one in place (atomically, keeping every other byte), after a
    /// change made by hand.
    Bump {
        #[command(flatten)]
        file: FileArg,
    },
}

#[derive(Debug, Args)]
pub struct FileArg {
    /// Configuration file (`-` for standard input) [default: /etc/sysconfig/ha/lvs.cf, else
    /// /etc/lvs.cf]
    #[arg(value_name = "FILE", conflicts_with = "config")]
    pub file: Option<PathBuf>,
    /// Configuration file, as the daemons' `-c`.
    #[arg(short = 'c', long = "configfile", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl FileArg {
    pub fn path(&self) -> PathBuf {
        self.file
            .clone()
            .or_else(|| self.config.clone())
            .unwrap_or_else(crate::default_path)
    }
}

/// The file to work on; `-` is standard input.
fn read(path: &Path) -> Result<Loaded, LoadError> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|source| LoadError::Stdin { source })?;
        let text = crate::text_of(bytes);
        let parsed = crate::parse(&text);
        return Ok(Loaded {
            path: PathBuf::from("<stdin>"),
            text,
            parsed,
        });
    }
    crate::load(path)
}

/// Run a parsed command line; returns the exit status.
pub fn run(cli: &Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    run_keep(cli, out, err).0
}

/// As [`run`], and hand back the loaded file, so that a process about to exit can skip
/// freeing it (hundreds of thousands of allocations for a large file).
pub fn run_keep(cli: &Cli, out: &mut dyn Write, err: &mut dyn Write) -> (u8, Option<Loaded>) {
    let (file, command) = match &cli.command {
        Command::Check { file, .. } => (file, "check"),
        Command::Dump { file, .. } => (file, "dump"),
        Command::Fmt { file, .. } => (file, "fmt"),
        Command::Bump { file } => (file, "bump"),
    };
    let path = file.path();
    if command == "bump" && path == Path::new("-") {
        let _ = writeln!(err, "lvscf: bump needs a file, not standard input");
        return (EXIT_USAGE, None);
    }
    let loaded = match read(&path) {
        Ok(l) => l,
        Err(e) => {
            if let Command::Check { json: true, .. } = cli.command {
                let doc = serde_json::json!({
                    "file": path.display().to_string(),
                    "valid": false,
                    "error": e.to_string(),
                    "diagnostics": [],
                });
                let _ = writeln!(out, "{doc:#}");
            } else {
                let _ = writeln!(err, "lvscf: {e}");
            }
            return (EXIT_INVALID, None);
        }
    };
    let shown = loaded.path.display().to_string();
    let code = match &cli.command {
        Command::Check {
            strict,
            quiet,
            json,
            ..
        } => check(&loaded, &shown, *strict, *quiet, *json, out, err),
        _ => {
            let _ = err.write_all(loaded.render().as_bytes());
            if loaded.parsed.has_errors() {
                let _ = writeln!(
                    err,
                    "lvscf: {shown}: {}; nothing to {command}",
                    diag::summary(&loaded.parsed.diagnostics)
                );
                return (EXIT_INVALID, Some(loaded));
            }
            match &cli.command {
                Command::Dump { json, .. } => dump(&loaded.parsed, *json, out, err),
                Command::Fmt { check, write, .. } => fmt(&loaded, &path, *check, *write, out, err),
                Command::Bump { .. } => bump(&loaded, &path, out, err),
                Command::Check { .. } => unreachable!(),
            }
        }
    };
    (code, Some(loaded))
}

#[derive(Serialize)]
struct JsonDiag<'a> {
    file: &'a str,
    line: Option<usize>,
    column: Option<usize>,
    severity: diag::Severity,
    category: diag::Category,
    message: &'a str,
    span: Option<crate::Span>,
    notes: Vec<JsonNote<'a>>,
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonNote<'a> {
    line: Option<usize>,
    column: Option<usize>,
    message: &'a str,
    span: Option<crate::Span>,
}

fn check(
    loaded: &Loaded,
    shown: &str,
    strict: bool,
    quiet: bool,
    json: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let p = &loaded.parsed;
    let failed = p.has_errors() || (strict && p.warnings().next().is_some());
    if json {
        let index = LineIndex::new(&loaded.text);
        let diags: Vec<JsonDiag<'_>> = p
            .diagnostics
            .iter()
            .map(|d| {
                let lc = |span: Option<crate::Span>| {
                    span.map(|s| index.line_col(&loaded.text, s.start as usize))
                };
                JsonDiag {
                    file: shown,
                    line: lc(d.span).map(|l| l.line),
                    column: lc(d.span).map(|l| l.col),
                    severity: d.severity,
                    category: d.category,
                    message: &d.message,
                    span: d.span,
                    notes: d
                        .notes
                        .iter()
                        .map(|n| JsonNote {
                            line: lc(n.span).map(|l| l.line),
                            column: lc(n.span).map(|l| l.col),
                            message: &n.message,
                            span: n.span,
                        })
                        .collect(),
                    help: d.help.as_deref(),
                }
            })
            .collect();
        let doc = serde_json::json!({ "file": shown, "valid": !failed, "diagnostics": diags });
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        );
        return if failed { EXIT_INVALID } else { EXIT_OK };
    }
    let _ = err.write_all(loaded.render().as_bytes());
    if !p.diagnostics.is_empty() {
        let _ = writeln!(err, "lvscf: {shown}: {}", diag::summary(&p.diagnostics));
    }
    if failed {
        return EXIT_INVALID;
    }
    if !quiet {
        let c = &p.model;
        let active = |b: &[crate::VirtualServer]| b.iter().filter(|v| v.active).count();
        let reals: usize = c
            .virtual_servers
            .iter()
            .filter(|v| v.active)
            .map(|v| v.servers.iter().filter(|r| r.active).count())
            .sum();
        let _ = writeln!(
            out,
            "{shown}: valid (service = {}; {} of {} virtual servers active with {} active real servers; {} of {} failover services active)",
            c.service,
            active(&c.virtual_servers),
            c.virtual_servers.len(),
            reals,
            active(&c.failover_services),
            c.failover_services.len(),
        );
    }
    EXIT_OK
}

fn dump(p: &Parsed, json: bool, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if json {
        let _ = writeln!(out, "{}", p.model.to_json());
        return EXIT_OK;
    }
    match writer::write_with(
        &p.model,
        WriteOptions {
            explicit: true,
            ..Default::default()
        },
    ) {
        Ok(text) => {
            let _ = out.write_all(text.as_bytes());
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "lvscf: {e}");
            EXIT_INVALID
        }
    }
}

fn fmt(
    loaded: &Loaded,
    path: &Path,
    check: bool,
    write: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let text = match loaded.parsed.format() {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "lvscf: {e}");
            return EXIT_INVALID;
        }
    };
    let shown = loaded.path.display();
    if check {
        if text == loaded.text {
            return EXIT_OK;
        }
        let _ = writeln!(
            err,
            "lvscf: {shown} is not in canonical form (run `lvscf fmt --write {shown}`)"
        );
        return EXIT_INVALID;
    }
    if write {
        if path == Path::new("-") {
            let _ = writeln!(err, "lvscf: --write needs a file, not standard input");
            return EXIT_USAGE;
        }
        if text == loaded.text {
            return EXIT_OK;
        }
        return match replace_file(path, &text) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                let _ = writeln!(err, "lvscf: cannot write {shown}: {e}");
                EXIT_INVALID
            }
        };
    }
    let _ = out.write_all(text.as_bytes());
    EXIT_OK
}

fn bump(loaded: &Loaded, path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let shown = loaded.path.display();
    let (text, serial) = match crate::bump::bump(&loaded.text, &loaded.parsed) {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(err, "lvscf: {shown}: {e}");
            return EXIT_INVALID;
        }
    };
    match replace_file(path, &text) {
        Ok(()) => {
            let _ = writeln!(out, "{shown}: serial_no {serial}");
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "lvscf: cannot write {shown}: {e}");
            EXIT_INVALID
        }
    }
}

/// Write `text` to a temporary file beside `path`, with `path`'s permissions and owner, then
/// rename it over `path`: readers see the old file or the new one, never half of it. A
/// symbolic link is followed, so the link stays and its target is replaced.
fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let path = std::fs::canonicalize(path)?;
    let meta = std::fs::metadata(&path)?;
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.lvscf-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        let made = f.metadata()?;
        if (made.uid(), made.gid()) != (meta.uid(), meta.gid()) {
            std::os::unix::fs::chown(&tmp, Some(meta.uid()), Some(meta.gid()))?;
        }
        std::fs::set_permissions(&tmp, meta.permissions())?;
        std::fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Render diagnostics of a text that did not come from a file (for tests and tools).
pub fn render(path: &str, text: &str, diags: &[diag::Diagnostic]) -> String {
    Renderer::new(path, text).render_all(diags)
}
