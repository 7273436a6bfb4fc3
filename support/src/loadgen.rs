//! A load generator for the mini Redis line protocol (part 17 and `make bench`).
//!
//! Each connection is a task that sends `PUT` and `GET` requests, `pipeline` requests per
//! write, then reads their replies before writing the next batch. Every reply is checked (a
//! `GET` must return the value the `PUT` before it stored), so a server that drops or
//! reorders replies fails the run instead of looking fast. The same client drives every
//! server being compared, so the numbers differ only by the server.
//!
//! Latency is measured per batch, from the write to the last reply, and counted once per
//! request in the batch: with pipelining, a request's latency is its batch's round trip.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The shape of a load run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSpec {
    /// Connections open at the same time, each driven by its own task.
    pub connections: usize,
    /// Requests each connection sends (rounded up to an even number: `PUT` + `GET` pairs).
    pub requests_per_connection: usize,
    /// Requests written before waiting for replies; 1 means no pipelining.
    pub pipeline: usize,
}

/// What a load run measured.
#[derive(Clone, Debug)]
pub struct LoadReport {
    pub spec: LoadSpec,
    /// Requests answered correctly.
    pub requests: usize,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// One latency per request, sorted ascending.
    pub latencies: Vec<Duration>,
}

impl LoadReport {
    /// Requests per second.
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// The latency below which `percent` of requests completed, e.g. `percentile(99.0)`.
    pub fn percentile(&self, percent: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = (percent / 100.0 * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    /// One line: throughput and latency percentiles.
    pub fn summary(&self) -> String {
        format!(
            "{} conns, pipeline {}: {} requests in {:.2} s = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
            self.spec.connections,
            self.spec.pipeline,
            self.requests,
            self.elapsed.as_secs_f64(),
            self.throughput(),
            self.percentile(50.0).as_secs_f64() * 1e3,
            self.percentile(99.0).as_secs_f64() * 1e3,
        )
    }
}

/// Runs `spec` against the line-protocol server at `addr`. Needs a tokio runtime.
///
/// Fails on the first connection error or wrong reply.
pub async fn run_line_load(addr: SocketAddr, spec: LoadSpec) -> io::Result<LoadReport> {
    if spec.connections == 0 || spec.pipeline == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "connections and pipeline must be at least 1",
        ));
    }
    // Connect everyone first, and only then start the clock: a burst of connects can meet
    // a full SYN queue and a 1 s retransmission, which says nothing about serving requests.
    let streams =
        futures::future::try_join_all((0..spec.connections).map(|_| TcpStream::connect(addr)))
            .await?;
    let started = Instant::now();
    let mut connections = tokio::task::JoinSet::new();
    for (connection, stream) in streams.into_iter().enumerate() {
        connections.spawn(drive_connection(stream, connection, spec));
    }
    let mut latencies = Vec::new();
    while let Some(finished) = connections.join_next().await {
        latencies.extend(finished.map_err(io::Error::other)??);
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ok(LoadReport {
        spec,
        requests: latencies.len(),
        elapsed,
        latencies,
    })
}

/// One connection's share of the load; returns one latency per request.
///
/// The requests alternate `PUT k v` and `GET k`, cycling through the connection's
/// [`KEYS_PER_CONNECTION`] keys with a new value each time, and go out
/// `pipeline` at a time: with `pipeline` 1, every request waits for the previous reply.
///
/// The client must cost far less than the servers it measures, or it would measure itself.
/// So each batch is rendered into one reused buffer and sent with one write, and since the
/// correct replies are known in advance, they are rendered too and the bytes that come back
/// are compared with them: no per-reply parsing or allocation.
async fn drive_connection(
    mut stream: TcpStream,
    connection: usize,
    spec: LoadSpec,
) -> io::Result<Vec<Duration>> {
    stream.set_nodelay(true)?;
    // A whole number of PUT + GET pairs, so that every value written is also read back.
    let requests = spec.requests_per_connection.div_ceil(2) * 2;
    let mut latencies = Vec::with_capacity(requests);
    let (mut outgoing, mut expected, mut incoming) = (Vec::new(), Vec::new(), Vec::new());
    let mut batch_start = 0;
    while batch_start < requests {
        let batch = batch_start..(batch_start + spec.pipeline).min(requests);
        outgoing.clear();
        expected.clear();
        for request in batch.clone() {
            write_request(&mut outgoing, connection, request);
            write_expected_reply(&mut expected, connection, request);
        }
        let sent = Instant::now();
        stream.write_all(&outgoing).await?;
        read_expected(&mut stream, &expected, &mut incoming).await?;
        latencies.extend(std::iter::repeat_n(sent.elapsed(), batch.len()));
        batch_start = batch.end;
    }
    stream.write_all(b"QUIT\n").await?;
    Ok(latencies)
}

/// How long one batch's replies may take before the run fails instead of hanging (a server
/// that sends a short wrong reply and keeps the connection open would otherwise stall it).
const BATCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads exactly `expected.len()` bytes and fails as soon as one differs from `expected`.
async fn read_expected(
    stream: &mut TcpStream,
    expected: &[u8],
    incoming: &mut Vec<u8>,
) -> io::Result<()> {
    incoming.resize(expected.len(), 0);
    let mut filled = 0;
    while filled < expected.len() {
        let read = tokio::time::timeout(BATCH_TIMEOUT, stream.read(&mut incoming[filled..]))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no reply within 10 s"))??;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection mid-run",
            ));
        }
        let new = filled..filled + read;
        if incoming[new.clone()] != expected[new.clone()] {
            return Err(wrong_reply(expected, &incoming[..new.end]));
        }
        filled = new.end;
    }
    Ok(())
}

/// An error naming the first reply line that differs from the expected one.
fn wrong_reply(expected: &[u8], received: &[u8]) -> io::Error {
    let differs_at = expected
        .iter()
        .zip(received)
        .position(|(want, got)| want != got)
        .unwrap_or(received.len());
    let line_start = |text: &[u8]| {
        text[..differs_at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1)
    };
    let line = |text: &[u8]| {
        let start = line_start(text);
        let end = text[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |at| start + at);
        String::from_utf8_lossy(&text[start..end]).into_owned()
    };
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("expected {:?}, got {:?}", line(expected), line(received)),
    )
}

/// Keys each connection cycles through. A bounded keyspace (like redis-benchmark's `-r`)
/// measures serving requests rather than growing a hash map without end. Values carry the
/// request number, so a stale value from an earlier round still fails the check.
pub const KEYS_PER_CONNECTION: usize = 1000;

/// Appends request `index` of a connection: even ones store a value, odd ones read it back.
fn write_request(out: &mut Vec<u8>, connection: usize, index: usize) {
    let (pair, key) = (index / 2, index / 2 % KEYS_PER_CONNECTION);
    // Writing into a Vec cannot fail.
    let _ = match index % 2 {
        0 => writeln!(out, "PUT k{connection}-{key} v-{connection}-{pair}"),
        _ => writeln!(out, "GET k{connection}-{key}"),
    };
}

/// Appends the only correct reply to request `index` of a connection.
fn write_expected_reply(out: &mut Vec<u8>, connection: usize, index: usize) {
    let _ = match index % 2 {
        0 => writeln!(out, "OK"),
        _ => writeln!(out, "OK v-{connection}-{}", index / 2),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(latencies_ms: &[u64]) -> LoadReport {
        LoadReport {
            spec: LoadSpec {
                connections: 1,
                requests_per_connection: latencies_ms.len(),
                pipeline: 1,
            },
            requests: latencies_ms.len(),
            elapsed: Duration::from_secs(2),
            latencies: latencies_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
        }
    }

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let latencies: Vec<u64> = (1..=100).collect();
        let report = report(&latencies);
        assert_eq!(report.percentile(50.0), Duration::from_millis(50));
        assert_eq!(report.percentile(99.0), Duration::from_millis(99));
        assert_eq!(report.percentile(100.0), Duration::from_millis(100));
        assert_eq!(report.percentile(0.0), Duration::from_millis(1));
        assert_eq!(report.throughput(), 50.0);
    }

    #[test]
    fn every_value_written_is_read_back_in_order() {
        let (mut requests, mut replies) = (Vec::new(), Vec::new());
        for index in 4..6 {
            write_request(&mut requests, 3, index);
            write_expected_reply(&mut replies, 3, index);
        }
        assert_eq!(requests, b"PUT k3-2 v-3-2\nGET k3-2\n");
        assert_eq!(replies, b"OK\nOK v-3-2\n");
        // A later round reuses the key with a new value: an old value would not pass.
        let (mut requests, mut replies) = (Vec::new(), Vec::new());
        let index = 2 * (KEYS_PER_CONNECTION + 2) + 1;
        write_request(&mut requests, 3, index);
        write_expected_reply(&mut replies, 3, index);
        assert_eq!(requests, b"GET k3-2\n");
        assert_eq!(
            replies,
            format!("OK v-3-{}\n", KEYS_PER_CONNECTION + 2).as_bytes()
        );
    }

    #[test]
    fn a_wrong_reply_is_named_by_its_line() {
        let error = wrong_reply(b"OK\nOK v-1-0\n", b"OK\nNONE\n");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert_eq!(error.to_string(), r#"expected "OK v-1-0", got "NONE""#);
    }

    #[test]
    fn empty_runs_and_bad_specs_are_handled() {
        assert_eq!(report(&[]).percentile(99.0), Duration::ZERO);
        let spec = LoadSpec {
            connections: 0,
            requests_per_connection: 1,
            pipeline: 1,
        };
        let addr: SocketAddr = "127.0.0.1:9".parse().expect("address");
        let error = crate::run(run_line_load(addr, spec)).expect_err("zero connections");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    }
}
