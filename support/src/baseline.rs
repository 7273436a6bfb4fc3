//! The Python asyncio baseline: the mini Redis line protocol written the way the Python survey
//! writes servers (`bench/py_kv_server.py`), run as a `python3` child process.
//!
//! Part 17 and `make bench` drive it with the same load client as the Rust server (see
//! [`crate::loadgen`]), so the numbers differ only by the server.

use crate::listening::ChildServer;
use std::io;
use std::process::Command;

/// Where the Python server's source lives, found from this crate's own location so that it
/// works from a notebook, a test or a benchmark alike.
pub const PYTHON_SERVER_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/py_kv_server.py");

/// Starts the Python server with the `python3` on the `PATH`, on a free port of 127.0.0.1, and
/// waits until it listens. Killing it (on drop) is fine: it holds nothing that needs saving.
pub fn start_python_line_server() -> io::Result<ChildServer> {
    let mut command = Command::new("python3");
    command.arg(PYTHON_SERVER_SCRIPT).arg("127.0.0.1:0");
    ChildServer::start(command)
        .map_err(|error| io::Error::other(format!("the Python server did not start: {error}")))
}
