//! The start-here notebook's environment check: is this machine ready for the workshop?
//!
//! It looks at what goes wrong in a room: a Rust too old for the survey, an evcxr other than
//! the one the survey is tested with, a single core (part 15's parallel work then shows no
//! speed-up), a mock HTTP server that cannot start, and the mini Redis's port taken by a server
//! left running. Each finding comes with what to do about it, and the whole check ends in one
//! verdict line.

use crate::mock_http::MockServer;
use std::fmt;
use std::process::Command;

/// The evcxr_jupyter version the survey is tested with. The Makefile reads it from here
/// (`make setup` installs exactly this version).
pub const EVCXR_VERSION: &str = "0.22.0";

/// The oldest Rust the survey's crate builds with (`rust-version` in Cargo.toml).
pub const MINIMUM_RUST: &str = env!("CARGO_PKG_RUST_VERSION");

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// As it should be.
    Ok,
    /// The survey runs, but a lesson will look different from the committed outputs.
    Warning,
    /// Something a lesson needs is missing: fix it before the workshop.
    Problem,
}

/// One thing checked: what was found, and what to do when it is not fine.
#[derive(Clone, Debug)]
pub struct Finding {
    pub level: Level,
    pub what: String,
    pub fix: Option<String>,
}

/// Everything the check found.
#[derive(Clone, Debug)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether nothing is a [`Level::Problem`].
    pub fn is_ready(&self) -> bool {
        self.findings.iter().all(|f| f.level != Level::Problem)
    }

    /// The one-line verdict.
    pub fn verdict(&self) -> String {
        let count = |level| self.findings.iter().filter(|f| f.level == level).count();
        match (count(Level::Problem), count(Level::Warning)) {
            (0, 0) => "✅ Ready: every part of the survey will run as committed.".to_owned(),
            (0, warnings) => format!("✅ Ready, with {warnings} warning(s) above."),
            (problems, _) => format!("❌ Not ready: fix the {problems} problem(s) above."),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            let mark = match finding.level {
                Level::Ok => "ok     ",
                Level::Warning => "warning",
                Level::Problem => "PROBLEM",
            };
            writeln!(f, "{mark}  {}", finding.what)?;
            if let Some(fix) = &finding.fix {
                writeln!(f, "         fix: {fix}")?;
            }
        }
        f.write_str(&self.verdict())
    }
}

/// Checks this machine; see the module docs for what.
pub fn check() -> Report {
    let findings = vec![
        rust_version(),
        evcxr_version(),
        cores(),
        mock_server(),
        mini_redis_port(),
    ];
    Report { findings }
}

fn ok(what: String) -> Finding {
    Finding {
        level: Level::Ok,
        what,
        fix: None,
    }
}

fn not_ok(level: Level, what: String, fix: &str) -> Finding {
    Finding {
        level,
        what,
        fix: Some(fix.to_owned()),
    }
}

/// The `x.y.z` in a tool's `--version` line, as numbers.
fn version_of(line: &str) -> Option<Vec<u64>> {
    let word = line
        .split_whitespace()
        .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))?;
    word.split(['.', '-'])
        .take(3)
        .map(|part| part.parse().ok())
        .collect()
}

fn tool_version(program: &str) -> Option<String> {
    let output = Command::new(program).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    output.status.success().then_some(text)
}

fn rust_version() -> Finding {
    let fix = "rustup update stable (the kernel compiles every cell with this rustc)";
    let Some(line) = tool_version("rustc") else {
        return not_ok(Level::Problem, "rustc not found on PATH".into(), fix);
    };
    match (version_of(&line), version_of(MINIMUM_RUST)) {
        (Some(found), Some(minimum)) if found >= minimum => ok(line),
        _ => not_ok(
            Level::Problem,
            format!("{line}: the survey needs {MINIMUM_RUST} or newer"),
            fix,
        ),
    }
}

/// The evcxr_jupyter that `cargo install` put on this machine, as `cargo install --list` names
/// it ("evcxr_jupyter v0.22.0"); evcxr_jupyter itself has no `--version`.
fn installed_evcxr() -> Option<String> {
    let output = Command::new("cargo")
        .args(["install", "--list"])
        .output()
        .ok()?;
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    let line = listing
        .lines()
        .find(|line| line.starts_with("evcxr_jupyter v"))?;
    Some(line.trim_end_matches(':').replacen(" v", " ", 1))
}

fn evcxr_version() -> Finding {
    let fix = "make setup (installs evcxr_jupyter at the version the survey is tested with)";
    match installed_evcxr() {
        None => not_ok(
            Level::Warning,
            "no evcxr_jupyter installed by cargo install".into(),
            fix,
        ),
        Some(line) if version_of(&line) == version_of(EVCXR_VERSION) => ok(line),
        Some(line) => not_ok(
            Level::Warning,
            format!("{line}: the survey is tested with {EVCXR_VERSION}"),
            fix,
        ),
    }
}

fn cores() -> Finding {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    match cores {
        1 => not_ok(
            Level::Warning,
            "1 core: part 15's parallel work will show no speed-up".into(),
            "give the machine (or the VM, or the container) at least 2 cores",
        ),
        cores => ok(format!("{cores} cores")),
    }
}

fn mock_server() -> Finding {
    let fix =
        "parts 12 to 14 need it: check that 127.0.0.1 (loopback) works and restart the kernel";
    let answered = MockServer::start().and_then(|server| {
        let url = server.count_url(std::time::Duration::ZERO);
        crate::rt::run_current_thread(async move {
            let reply = reqwest::get(&url).await.map_err(std::io::Error::other)?;
            Ok::<_, std::io::Error>(reply.status().is_success())
        })
    });
    match answered {
        Ok(true) => ok("the mock HTTP server starts and answers on 127.0.0.1".into()),
        Ok(false) => not_ok(
            Level::Problem,
            "the mock HTTP server answered with an error".into(),
            fix,
        ),
        Err(error) => not_ok(
            Level::Problem,
            format!("the mock HTTP server did not start: {error}"),
            fix,
        ),
    }
}

fn mini_redis_port() -> Finding {
    let addr = crate::mini_redis::DEFAULT_ADDR;
    match std::net::TcpListener::bind(addr) {
        Ok(_) => ok(format!("{addr} is free for part 17's mini Redis")),
        Err(_) => not_ok(
            Level::Warning,
            format!("{addr} is taken (a mini Redis still running?): part 17 will use a free port"),
            "stop `make mr-server`, or restart the kernel of an open part 17",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_version_lines() {
        assert_eq!(
            version_of("rustc 1.95.0 (59807616e 2026-04-14)"),
            Some(vec![1, 95, 0])
        );
        assert_eq!(version_of("evcxr_jupyter 0.22.0"), Some(vec![0, 22, 0]));
        assert_eq!(version_of("1.85"), Some(vec![1, 85]));
        assert!(version_of("rustc 1.95.0") > version_of("1.85"));
        assert_eq!(version_of("no digits here"), None);
    }

    #[test]
    fn the_verdict_counts_problems_and_warnings() {
        let report = |levels: &[Level]| Report {
            findings: levels
                .iter()
                .map(|&level| Finding {
                    level,
                    what: "x".into(),
                    fix: None,
                })
                .collect(),
        };
        assert!(report(&[Level::Ok])
            .verdict()
            .starts_with("✅ Ready: every part"));
        assert!(report(&[Level::Ok, Level::Warning])
            .verdict()
            .contains("1 warning"));
        let broken = report(&[Level::Warning, Level::Problem]);
        assert!(!broken.is_ready());
        assert!(broken.verdict().starts_with("❌ Not ready"));
    }

    #[test]
    fn this_machine_can_run_the_mock_server_and_has_a_recent_rust() {
        assert_eq!(mock_server().level, Level::Ok);
        assert_eq!(rust_version().level, Level::Ok);
        assert_eq!(
            version_of("evcxr_jupyter 0.22.0"),
            version_of(EVCXR_VERSION)
        );
    }
}
