//! The mini Redis of part 17: a key-value server on tokio's TCP streams.
//!
//! It speaks the Python original's line protocol (`GET key`, `PUT key value`, `DEL key`,
//! `QUIT`, case-insensitive, and `ERROR` for anything else, here with a reason after it), and
//! RESP, the protocol of `redis-cli`, `redis-benchmark` and redis-py, on the same port: RESP2,
//! and RESP3 after `HELLO 3`.
//!
//! * [`protocol`]: bytes to requests and replies to bytes, for both protocols (RESP in its
//!   versions 2 and 3).
//! * [`command`]: the commands, and how a RESP request's arguments spell one.
//! * [`db`]: the shared store, where keys may have a deadline.
//! * [`expiry`]: the purge task, which removes keys past their deadline.
//! * [`session`]: what one connection remembers between requests, and the commands that
//!   concern it alone.
//! * [`transaction`]: `MULTI` ... `EXEC`, a queue applied under one lock.
//! * [`pubsub`]: `PUBLISH` and `(P)SUBSCRIBE`, a broadcast channel per channel or pattern,
//!   and what happens to a subscriber that stops reading.
//! * [`connection`]: one client's read-apply-reply loop.
//! * [`server`]: the accept loop, the connection limit, graceful shutdown, and [`MiniRedis`],
//!   which runs it all on a background thread.
//!
//! There is one implementation. `make mr-server` runs it (`src/bin/mr_server.rs` is only
//! argument parsing), and notebook 17 shows its code with [`source`], which prints the
//! sections of these files between `// ANCHOR: name` and `// ANCHOR_END: name` markers, as
//! compiled into this crate. The notebook never keeps a copy that could drift.

pub mod command;
pub mod connection;
pub mod db;
pub mod expiry;
pub mod protocol;
pub mod pubsub;
pub mod server;
pub mod session;
pub mod transaction;

pub use command::Command;
pub use db::Db;
pub use protocol::{Protocol, Reply};
pub use server::{serve, Config, Limits, MiniRedis, Stats, DEFAULT_ADDR};

use std::fmt;

/// The source files, as compiled: what [`source`] shows is what runs.
const FILES: [(&str, &str); 9] = [
    ("protocol.rs", include_str!("protocol.rs")),
    ("command.rs", include_str!("command.rs")),
    ("session.rs", include_str!("session.rs")),
    ("transaction.rs", include_str!("transaction.rs")),
    ("pubsub.rs", include_str!("pubsub.rs")),
    ("db.rs", include_str!("db.rs")),
    ("expiry.rs", include_str!("expiry.rs")),
    ("connection.rs", include_str!("connection.rs")),
    ("server.rs", include_str!("server.rs")),
];

/// A section of the mini Redis's source. Shows itself as highlighted Rust in Jupyter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file it comes from, e.g. `src/mini_redis/db.rs`.
    pub file: String,
    /// The code between the anchor markers.
    pub code: String,
}

/// The section of the mini Redis's source marked with `anchor`.
///
/// # Panics
///
/// Panics if no file has that anchor: a notebook asking for a section that was renamed must
/// fail loudly, not show nothing.
pub fn source(anchor: &str) -> Source {
    let begin = format!("// ANCHOR: {anchor}\n");
    let end = format!("// ANCHOR_END: {anchor}\n");
    for (file, text) in FILES {
        if let Some(start) = text.find(&begin) {
            let body = &text[start + begin.len()..];
            let stop = body
                .find(&end)
                .unwrap_or_else(|| panic!("anchor {anchor:?} in {file} has no ANCHOR_END"));
            return Source {
                file: format!("support/src/mini_redis/{file}"),
                code: body[..stop].trim_end().to_owned(),
            };
        }
    }
    panic!("no source section is anchored {anchor:?}")
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "// {}", self.file)?;
        f.write_str(&self.code)
    }
}

impl Source {
    /// How evcxr shows a `Source` that ends a cell: Rust with syntax highlighting.
    pub fn evcxr_display(&self) {
        let markdown = format!("`{}`\n\n```rust\n{}\n```", self.file, self.code);
        crate::display::emit_markdown(&markdown, &self.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_anchor_is_closed_and_found() {
        for (file, text) in FILES {
            for line in text.lines() {
                if let Some(anchor) = line.strip_prefix("// ANCHOR: ") {
                    let section = source(anchor);
                    assert!(section.file.ends_with(file));
                    assert!(!section.code.is_empty(), "{anchor} is empty");
                    assert!(!section.code.contains("// ANCHOR"), "{anchor} is nested");
                }
            }
        }
        assert!(source("db").code.contains("pub struct Db"));
    }

    #[test]
    #[should_panic(expected = "no source section is anchored \"nowhere\"")]
    fn an_unknown_anchor_panics() {
        source("nowhere");
    }
}
