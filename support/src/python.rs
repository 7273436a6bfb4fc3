//! Python from a notebook: find the interpreter that has a given package, and run a short
//! script with it as a child process.
//!
//! Part 18 lets Python's own Redis client, redis-py's `redis.asyncio`, talk to the Rust mini
//! Redis. The notebook kernel knows nothing of Python environments, so [`Python::with_redis`]
//! looks where the survey installs redis-py and says which interpreter it took:
//!
//! 1. the repository's `.venv/bin/python`, which `make setup` creates with the pinned
//!    `requirements.txt` (found from this crate's own location, so it works from any
//!    directory);
//! 2. the active virtual or conda environment (`$VIRTUAL_ENV`, `$CONDA_PREFIX`), for
//!    `make lab VENV=$CONDA_PREFIX` and prebuilt images;
//! 3. `python3`, then `python`, on the `PATH`.
//!
//! The first that can `import redis` wins. Checking the import, rather than taking the first
//! interpreter that exists, matters: the system `python3` is usually there and usually lacks
//! redis-py.
//!
//! [`Python::run`] runs a script given as text (`python -c`), with a time limit, and returns
//! its standard output; a script that fails or hangs is an error that carries its standard
//! error, so a notebook cell can show why.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The interpreter of the repository's virtual environment (`make setup` creates it), found
/// from this crate's directory (`support/`, beside `.venv/`).
pub fn venv_python() -> PathBuf {
    let support = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = support.parent().unwrap_or(support);
    repo.join(".venv").join("bin").join("python")
}

/// How long finding an interpreter may take per candidate (starting Python, one import).
const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// A Python interpreter known to have a package, with that package's version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Python {
    program: PathBuf,
    package: String,
    version: String,
}

impl Python {
    /// The first interpreter (see the module docs for the order) that can import redis-py.
    ///
    /// # Errors
    ///
    /// `NotFound`, listing every interpreter tried, when none can.
    pub fn with_redis() -> io::Result<Python> {
        Python::with_package("redis")
    }

    /// The first interpreter, in the same order, that can import `package`.
    ///
    /// # Errors
    ///
    /// `NotFound`, listing every interpreter tried, when none can.
    pub fn with_package(package: &str) -> io::Result<Python> {
        let probe = "import importlib, sys\n\
                     module = importlib.import_module(sys.argv[1])\n\
                     print(getattr(module, '__version__', ''))";
        let mut tried = Vec::new();
        for program in candidates() {
            let python = Python {
                program: program.clone(),
                package: package.to_owned(),
                version: String::new(),
            };
            match python.run(probe, &[package], PROBE_TIMEOUT) {
                Ok(version) => {
                    let version = version.trim().to_owned();
                    return Ok(Python { version, ..python });
                }
                Err(error) => tried.push(format!("{}: {}", program.display(), last_line(&error))),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no Python interpreter can import {package} (run `make setup`); tried {}",
                tried.join("; ")
            ),
        ))
    }

    /// The interpreter's path (or its name, when found on the `PATH`).
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The version of the package it was chosen for (empty if the package has none).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Runs `script` (as `python -c script args...`) and returns what it printed.
    ///
    /// Its standard input is empty. If it has not finished after `timeout` it is killed.
    ///
    /// # Errors
    ///
    /// The interpreter could not start; the script exited with a failure (the error carries
    /// its standard error); or it ran out of time (`TimedOut`).
    pub fn run(&self, script: &str, args: &[&str], timeout: Duration) -> io::Result<String> {
        let mut child = Command::new(&self.program)
            .arg("-c")
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // Both pipes are drained on threads of their own: a child blocked writing a full pipe
        // would otherwise never exit, and the wait below would only end at the timeout.
        let stdout = drain(child.stdout.take().expect("stdout was piped"));
        let stderr = drain(child.stderr.take().expect("stderr was piped"));
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                // Killing an exited child is harmless; its pipes then close and the
                // draining threads end.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            thread::sleep(Duration::from_millis(5));
        };
        let stdout = stdout.join().expect("the stdout reader does not panic");
        let stderr = stderr.join().expect("the stderr reader does not panic");
        match status {
            None => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the script ran for more than {timeout:?}: {}",
                    stderr.trim()
                ),
            )),
            Some(status) if status.success() => Ok(stdout),
            Some(status) => Err(io::Error::other(format!(
                "the script failed ({status}): {}",
                stderr.trim()
            ))),
        }
    }
}

/// Where to look for an interpreter, in order (see the module docs).
pub fn candidates() -> Vec<PathBuf> {
    let mut candidates = vec![venv_python()];
    for variable in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(prefix) = std::env::var_os(variable) {
            candidates.push(Path::new(&prefix).join("bin").join("python"));
        }
    }
    candidates.extend(["python3", "python"].map(PathBuf::from));
    candidates
}

/// Reads `pipe` to its end on a thread of its own.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error (the child was killed mid-write) keeps what arrived before it.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The last line of an error's message, where Python puts the exception.
fn last_line(error: &io::Error) -> String {
    let message = error.to_string();
    let line = message.lines().last().unwrap_or_default();
    line.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python_with(package: &str) -> Python {
        Python::with_package(package).expect("python3 is installed where the tests run")
    }

    #[test]
    fn the_venv_comes_first() {
        assert_eq!(candidates()[0], venv_python());
        assert!(venv_python().ends_with(".venv/bin/python"));
        assert!(candidates().ends_with(&["python3".into(), "python".into()]));
    }

    #[test]
    fn an_interpreter_with_a_standard_module_is_found_with_its_version() {
        let python = python_with("json");
        assert!(!python.version().is_empty(), "json has a __version__");
        let printed = python
            .run(
                "import sys; print(sys.argv[1:])",
                &["a", "b c"],
                PROBE_TIMEOUT,
            )
            .expect("runs");
        assert_eq!(printed, "['a', 'b c']\n");
    }

    #[test]
    fn redis_py_is_found_in_the_venv_when_there_is_one() {
        if !venv_python().exists() {
            return; // no `make setup` here: the other candidates are tested above
        }
        let python = Python::with_redis().expect("make setup installs redis-py");
        assert_eq!(python.program(), venv_python());
        assert!(python.version().starts_with("8."), "{}", python.version());
    }

    #[test]
    fn a_missing_package_is_not_found_and_says_what_was_tried() {
        let error = Python::with_package("no_such_package_in_any_python").expect_err("absent");
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().contains("python3"), "{error}");
    }

    #[test]
    fn a_failing_script_is_an_error_with_its_stderr() {
        let python = python_with("json");
        let error = python
            .run("raise SystemExit('no luck')", &[], PROBE_TIMEOUT)
            .expect_err("fails");
        assert!(error.to_string().contains("no luck"), "{error}");
    }

    #[test]
    fn a_script_that_hangs_is_killed_at_the_timeout() {
        let python = python_with("json");
        let started = Instant::now();
        let error = python
            .run(
                "import time; time.sleep(30)",
                &[],
                Duration::from_millis(300),
            )
            .expect_err("times out");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "killed, not waited for"
        );
    }
}
