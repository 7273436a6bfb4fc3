//! The mock HTTP server the HTTP parts of the survey talk to.
//!
//! `GET /count?delay=SECONDS` sleeps for `delay` seconds, increments a shared counter and
//! returns `{"count": N, "delay": SECONDS}`. Because the counter is incremented *after* the
//! sleep, the counts tell the order in which requests finished.
//!
//! A notebook starts it with [`MockServer::start`]: it binds 127.0.0.1 on a free port and
//! serves from a background thread with its own runtime, because a runtime cannot outlive an
//! evcxr cell but a thread can. `make server` runs the same router standalone on
//! [`DEFAULT_ADDR`] (see `src/bin/mock_server.rs`).

use crate::rt::{ServerThread, Workers};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where `make server` listens.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8000";

/// The longest delay a request may ask for. Anything longer is a typo, and a server thread
/// stuck for minutes would make a notebook look hung.
pub const MAX_DELAY: Duration = Duration::from_secs(10);

/// Why a `delay` parameter was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum DelayError {
    NotANumber(String),
    NotFinite,
    Negative(f64),
    TooLong(f64),
}

impl fmt::Display for DelayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DelayError::NotANumber(raw) => {
                write!(
                    f,
                    "bad delay {raw:?}: expected a number of seconds, such as 0.25"
                )
            }
            DelayError::NotFinite => write!(f, "bad delay: it must be a finite number"),
            DelayError::Negative(secs) => write!(f, "bad delay {secs}: it must not be negative"),
            DelayError::TooLong(secs) => write!(
                f,
                "bad delay {secs}: at most {} seconds is allowed",
                MAX_DELAY.as_secs()
            ),
        }
    }
}

impl std::error::Error for DelayError {}

/// Parses the `delay` query parameter: seconds as a decimal number, missing meaning 0.
pub fn parse_delay(raw: Option<&str>) -> Result<Duration, DelayError> {
    let Some(raw) = raw else {
        return Ok(Duration::ZERO);
    };
    let secs: f64 = raw
        .trim()
        .parse()
        .map_err(|_| DelayError::NotANumber(raw.to_owned()))?;
    if !secs.is_finite() {
        return Err(DelayError::NotFinite);
    }
    if secs < 0.0 {
        return Err(DelayError::Negative(secs));
    }
    if secs > MAX_DELAY.as_secs_f64() {
        return Err(DelayError::TooLong(secs));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The JSON body of a `/count` reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountReply {
    /// The counter after this request: 1 for the first request to finish, 2 for the next...
    pub count: u64,
    /// The delay the request asked for, in seconds.
    pub delay: f64,
}

#[derive(Deserialize)]
struct CountParams {
    // A string, not an f64, so that a bad value reaches `parse_delay` and gets our message
    // rather than the extractor's generic one.
    delay: Option<String>,
}

async fn count(
    State(counter): State<Arc<AtomicU64>>,
    Query(params): Query<CountParams>,
) -> Response {
    let delay = match parse_delay(params.delay.as_deref()) {
        Ok(delay) => delay,
        Err(error) => return (StatusCode::BAD_REQUEST, format!("{error}\n")).into_response(),
    };
    // No timer for a zero delay: arming one costs a trip through the timer wheel (up to a
    // millisecond's tick) for nothing. Python's `asyncio.sleep(0)` is a bare yield, too.
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let count = counter.fetch_add(1, Ordering::SeqCst) + 1;
    Json(CountReply {
        count,
        delay: delay.as_secs_f64(),
    })
    .into_response()
}

/// The server's routes, with a fresh counter starting at 0.
pub fn router() -> Router {
    Router::new()
        .route("/count", get(count))
        .with_state(Arc::new(AtomicU64::new(0)))
}

/// Serves [`router`] on `listener` until `shutdown` completes, then lets requests in flight
/// finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    axum::serve(listener, router())
        .with_graceful_shutdown(shutdown)
        .await
}

/// A mock server running on a background thread; stopped when dropped.
///
/// Keep it in a notebook variable, or start one per cell: dropping it shuts the server down
/// cleanly, and each start picks a new free port.
#[derive(Debug)]
pub struct MockServer {
    thread: ServerThread,
}

impl MockServer {
    /// Starts a server on 127.0.0.1 with a free port chosen by the OS.
    pub fn start() -> io::Result<MockServer> {
        MockServer::start_on("127.0.0.1:0")
    }

    /// Starts a server on the given address; a port already in use is an error here.
    pub fn start_on(addr: impl ToSocketAddrs) -> io::Result<MockServer> {
        // A current-thread runtime is plenty: the handlers only sleep and count.
        let thread = ServerThread::start("mock-server", addr, Workers::CurrentThread, serve)?;
        Ok(MockServer { thread })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.thread.addr()
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The URL of a `/count` request that takes `delay`.
    pub fn count_url(&self, delay: Duration) -> String {
        format!("{}/count?delay={}", self.url(), delay.as_secs_f64())
    }

    /// Stops the server, waits for requests in flight, and reports how serving ended.
    pub fn stop(self) -> io::Result<()> {
        self.thread.stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_delay_is_zero_and_decimals_are_seconds() {
        assert_eq!(parse_delay(None), Ok(Duration::ZERO));
        assert_eq!(parse_delay(Some("0.25")), Ok(Duration::from_millis(250)));
        assert_eq!(parse_delay(Some(" 2 ")), Ok(Duration::from_secs(2)));
        assert_eq!(parse_delay(Some("10")), Ok(MAX_DELAY));
    }

    #[test]
    fn bad_delays_are_refused_with_a_reason() {
        assert_eq!(
            parse_delay(Some("abc")),
            Err(DelayError::NotANumber("abc".into()))
        );
        assert_eq!(
            parse_delay(Some("")),
            Err(DelayError::NotANumber("".into()))
        );
        assert_eq!(parse_delay(Some("NaN")), Err(DelayError::NotFinite));
        assert_eq!(parse_delay(Some("inf")), Err(DelayError::NotFinite));
        assert_eq!(parse_delay(Some("-1")), Err(DelayError::Negative(-1.0)));
        assert_eq!(parse_delay(Some("10.5")), Err(DelayError::TooLong(10.5)));
        assert!(DelayError::TooLong(11.0)
            .to_string()
            .contains("at most 10 seconds"));
    }
}
