//! Shared code for the Rust async survey notebooks.
//!
//! Every notebook starts with the same setup cell:
//!
//! ```text
//! :dep support = { path = "../support" }
//! use support::prelude::*;
//! ```
//!
//! That one line brings in the whole dependency set of the survey (tokio, futures, reqwest,
//! plotters, rayon, ...) at the versions pinned in `support/Cargo.toml`, so evcxr compiles it
//! once and every notebook hits the same build cache.
//!
//! The modules:
//!
//! * [`rt`]: run a future to completion on a runtime owned by the call. Each evcxr cell is its
//!   own shared library with its own copy of tokio, so a runtime cannot outlive a cell.
//! * [`timeline`]: record named spans from many tasks and threads, then show them as a Gantt
//!   chart (in Jupyter) or a text timeline (in a terminal).
//! * [`chart`]: small bar and line charts for measured comparisons.
//! * [`server`]: the mock HTTP server (`GET /count?delay=SECONDS`) the HTTP parts talk to.
//! * [`diagnose`]: compile a snippet with rustc and show the real diagnostic, for the lessons
//!   that are "this does not compile".
//! * [`panics`]: show a deliberate panic as a lesson instead of as a failure.
//! * [`events`]: an ordered event log for the lessons about what happens when.
//! * [`mini_redis`]: the key-value server of part 17 (line protocol and RESP on one port).
//! * [`loadgen`]: a checked load generator for the mini Redis line protocol, and the Python
//!   asyncio baseline server it is compared with.

pub mod chart;
pub mod diagnose;
mod display;
pub mod events;
pub mod loadgen;
pub mod mini_redis;
pub mod panics;
pub mod rt;
pub mod server;
pub mod timeline;

// The survey's crates, re-exported so that a notebook needs only `:dep support`.
pub use async_channel;
pub use async_stream;
pub use futures;
pub use plotters;
pub use rayon;
pub use reqwest;
pub use serde_json;
pub use tokio;

pub use chart::{BarChart, LineChart};
pub use diagnose::{compile_snippet, compile_snippet_with_warnings, Compiled};
pub use events::EventLog;
pub use mini_redis::MiniRedis;
pub use panics::{expect_panic, with_quiet_panics};
pub use rt::{run, run_current_thread, run_with_workers};
pub use server::MockServer;
pub use timeline::{Recorder, Timeline};

/// Everything a notebook cell usually needs, for `use support::prelude::*;`.
pub mod prelude {
    pub use crate::{
        async_channel, async_stream, compile_snippet, compile_snippet_with_warnings, expect_panic,
        futures, rayon, reqwest, run, run_current_thread, run_with_workers, serde_json, tokio,
        with_quiet_panics, BarChart, EventLog, LineChart, MiniRedis, MockServer, Recorder,
        Timeline,
    };
    pub use futures::{FutureExt, StreamExt};
    pub use std::time::{Duration, Instant};
}
