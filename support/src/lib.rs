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
//! * [`rt`]: run a future to completion on a runtime owned by the call ([`run`]); one type for
//!   how many worker threads a runtime has; servers on a thread of their own.
//! * [`timeline`]: record named spans from many tasks and threads ([`timeline::Recorder`]).
//! * [`chart`]: draw a timeline as a Gantt chart, and small bar and line charts for measured
//!   comparisons, as SVG in Jupyter with a text form for terminals.
//! * [`mock_http`]: the mock HTTP server (`GET /count?delay=SECONDS`) the HTTP parts talk to.
//! * [`diagnose`]: compile a snippet with rustc and show the real diagnostic, for the lessons
//!   that are "this does not compile".
//! * [`panics`]: show a deliberate panic as a lesson instead of as a failure.
//! * [`events`]: an ordered event log for the lessons about what happens when.
//! * [`mini_redis`]: the key-value server of part 17 (line protocol and RESP on one port).
//! * [`loadgen`]: a checked load generator for the mini Redis line protocol.
//! * [`baseline`]: the Python asyncio version of the mini Redis, run as a child process.
//! * [`listening`]: the `listening on ADDR` line every server program starts with.
//! * [`lock`]: locking a mutex that a panic may have poisoned.
//! * [`environment`]: the start-here notebook's check that a machine is ready for a workshop.
//! * [`exercise`]: the checks of the "Your turn" exercises, with verdicts written for learners.

pub mod baseline;
pub mod chart;
pub mod diagnose;
mod display;
pub mod environment;
pub mod events;
pub mod exercise;
pub mod listening;
pub mod loadgen;
pub mod lock;
pub mod mini_redis;
pub mod mock_http;
pub mod panics;
pub mod probe;
pub mod python;
pub mod rt;
pub mod timeline;

// The survey's crates, re-exported so that a notebook needs only `:dep support`.
pub use async_channel;
pub use async_stream;
pub use futures;
pub use rayon;
pub use reqwest;
pub use tokio;

// The helpers notebooks name by path (`support::run`); everything else comes in the prelude.
pub use diagnose::{compile_snippet, compile_snippet_with_warnings};
pub use mock_http::MockServer;
pub use rt::run;

/// Everything a notebook cell usually needs, for `use support::prelude::*;`.
pub mod prelude {
    pub use crate::chart::{BarChart, LineChart};
    pub use crate::diagnose::{compile_snippet, compile_snippet_with_warnings};
    pub use crate::events::EventLog;
    pub use crate::exercise::{
        at_most_at_once, check, expect_eq, finished_within, happened_before, in_order,
        ran_concurrently, ran_one_after_another, Exercise, Finding, Verdict,
    };
    pub use crate::mock_http::MockServer;
    pub use crate::panics::{expect_panic, with_quiet_panics};
    pub use crate::rt::{run, run_current_thread, run_with_workers};
    pub use crate::timeline::{Recorder, Timeline};
    pub use crate::{async_channel, async_stream, futures, rayon, reqwest, tokio};
    pub use futures::{FutureExt, StreamExt};
    pub use std::time::{Duration, Instant};
}
