//! A load generator for the mini Redis line protocol (part 17 and `make bench`).
//!
//! Each connection is a task that sends `PUT` and `GET` requests, `pipeline` requests per
//! write, then reads their replies before writing the next batch. Every reply is checked (a `GET` must return the
//! value the `PUT` before it stored), so a server that drops or reorders replies fails the run
//! instead of looking fast. The same client drives every server being compared, so the numbers
//! differ only by the server.
//!
//! Latency is measured per batch, from the write to the last reply, and counted once per
//! request in the batch: with pipelining, a request's latency is its batch's round trip.

use std::io::{self, BufRead};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
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
    let started = Instant::now();
    let mut connections = tokio::task::JoinSet::new();
    for connection in 0..spec.connections {
        connections.spawn(drive_connection(addr, connection, spec));
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
/// The requests alternate `PUT k v` and `GET k` for a fresh key each time, and go out
/// `pipeline` at a time: with `pipeline` 1, every request waits for the previous reply.
async fn drive_connection(
    addr: SocketAddr,
    connection: usize,
    spec: LoadSpec,
) -> io::Result<Vec<Duration>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (reader, writer) = stream.into_split();
    let (mut reader, mut writer) = (BufReader::new(reader), BufWriter::new(writer));
    // A whole number of PUT + GET pairs, so that every value written is also read back.
    let requests = spec.requests_per_connection.div_ceil(2) * 2;
    let mut latencies = Vec::with_capacity(requests);
    let mut reply = String::new();
    let mut batch_start = 0;
    while batch_start < requests {
        let batch = batch_start..(batch_start + spec.pipeline).min(requests);
        let sent = Instant::now();
        for request in batch.clone() {
            writer
                .write_all(request_line(connection, request).as_bytes())
                .await?;
        }
        writer.flush().await?;
        for request in batch.clone() {
            reply.clear();
            if reader.read_line(&mut reply).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection mid-run",
                ));
            }
            let expected = expected_reply(connection, request);
            if reply.trim_end() != expected {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("expected {expected:?}, got {:?}", reply.trim_end()),
                ));
            }
        }
        latencies.extend(std::iter::repeat_n(sent.elapsed(), batch.len()));
        batch_start = batch.end;
    }
    writer.write_all(b"QUIT\n").await?;
    writer.flush().await?;
    Ok(latencies)
}

/// Request `index` of a connection: even ones store a fresh key, odd ones read it back.
fn request_line(connection: usize, index: usize) -> String {
    let key = format!("k{connection}-{}", index / 2);
    match index % 2 {
        0 => format!("PUT {key} v-{key}\n"),
        _ => format!("GET {key}\n"),
    }
}

/// The only correct reply to [`request_line`]`(connection, index)`.
fn expected_reply(connection: usize, index: usize) -> String {
    match index % 2 {
        0 => "OK".to_owned(),
        _ => format!("OK v-k{connection}-{}", index / 2),
    }
}

/// The Python asyncio version of the line protocol (`bench/py_kv_server.py`), run as a
/// `python3` subprocess on a free port of 127.0.0.1; killed when dropped.
#[derive(Debug)]
pub struct PythonLineServer {
    child: Child,
    addr: SocketAddr,
}

/// Where the Python server's source lives, found from this crate's own location so that it
/// works from a notebook, a test or a benchmark alike.
pub const PYTHON_SERVER_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/py_kv_server.py");

impl PythonLineServer {
    /// Starts the server with the `python3` on the `PATH` and waits until it listens.
    pub fn start() -> io::Result<PythonLineServer> {
        let mut child = Command::new("python3")
            .arg(Path::new(PYTHON_SERVER_SCRIPT))
            .arg("127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout was piped");
        let mut first_line = String::new();
        io::BufReader::new(stdout).read_line(&mut first_line)?;
        // The server announces "listening on HOST:PORT"; anything else means it failed.
        let addr = first_line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok());
        match addr {
            Some(addr) => Ok(PythonLineServer { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(io::Error::other(format!(
                    "the Python server did not start (it said {first_line:?})"
                )))
            }
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for PythonLineServer {
    fn drop(&mut self) {
        // Killing is fine: the server holds nothing that needs saving.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
        assert_eq!(request_line(3, 0), "PUT k3-0 v-k3-0\n");
        assert_eq!(request_line(3, 1), "GET k3-0\n");
        assert_eq!(request_line(3, 4), "PUT k3-2 v-k3-2\n");
        assert_eq!(expected_reply(3, 4), "OK");
        assert_eq!(expected_reply(3, 5), "OK v-k3-2");
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
