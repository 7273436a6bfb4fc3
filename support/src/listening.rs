//! The readiness line: how a server program says it is ready, and how its parent waits for it.
//!
//! Every server the survey runs as a program (the mock HTTP server, the mini Redis, the Python
//! baseline in `bench/`) prints `listening on HOST:PORT` as its first line on stdout, once its
//! socket is bound. A parent that starts one on port 0 reads that line to learn the port the
//! operating system chose. The alternatives, picking a "free" port first or polling with
//! connects, race with other programs and waste time; one line of text does neither.
//! (`survey/servers.py` is the Python reader of the same line, used by `make bench`.)

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// What the first line says before the address.
pub const PREFIX: &str = "listening on ";

/// Prints the readiness line for `addr` and flushes it, so a parent reading a pipe sees it now.
pub fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "{PREFIX}{addr}")?;
    stdout.flush()
}

/// Reads the readiness line from `output` and returns the address it names.
///
/// # Errors
///
/// Fails if the output ends first (the server exited) or the line says something else.
pub fn read_announcement(output: &mut impl BufRead) -> io::Result<SocketAddr> {
    let mut line = String::new();
    output.read_line(&mut line)?;
    line.trim_end()
        .strip_prefix(PREFIX)
        .and_then(|addr| addr.parse().ok())
        .ok_or_else(|| {
            io::Error::other(match line.is_empty() {
                true => "the server exited before it listened".to_owned(),
                false => format!("expected \"{PREFIX}HOST:PORT\", got {:?}", line.trim_end()),
            })
        })
}

/// A server program running as a child process; killed when dropped.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
    addr: SocketAddr,
}

impl ChildServer {
    /// Starts `command` (which must announce itself, see [`announce`]) and waits for its
    /// readiness line. Its stderr goes where this process's goes; its later stdout is dropped.
    pub fn start(mut command: Command) -> io::Result<ChildServer> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout was piped");
        match read_announcement(&mut io::BufReader::new(stdout)) {
            Ok(addr) => Ok(ChildServer { child, addr }),
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(error)
            }
        }
    }

    /// The address the server announced.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_announcement_is_read_back_and_anything_else_is_refused() {
        let read = |text: &str| read_announcement(&mut text.as_bytes());
        let addr = read("listening on 127.0.0.1:4242\nmore\n").expect("announced");
        assert_eq!(addr, "127.0.0.1:4242".parse().expect("addr"));
        let refused = read("serving on 127.0.0.1:4242\n").expect_err("wrong words");
        assert!(refused.to_string().contains("serving on"), "{refused}");
        let exited = read("").expect_err("nothing");
        assert!(exited.to_string().contains("exited"), "{exited}");
    }
}
