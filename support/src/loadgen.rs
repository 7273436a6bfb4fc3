//! A load generator for the mini Redis line protocol (part 17 and `make bench`).
//!
//! Each connection is a task that sends batches of `PUT` and `GET` requests, `pipeline`
//! requests per write, then reads the replies. Every reply is checked (a `GET` must return the
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
    /// Requests each connection sends (rounded up to whole batches of `PUT` + `GET` pairs).
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
async fn drive_connection(
    addr: SocketAddr,
    connection: usize,
    spec: LoadSpec,
) -> io::Result<Vec<Duration>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (reader, writer) = stream.into_split();
    let (mut reader, mut writer) = (BufReader::new(reader), BufWriter::new(writer));
    // Each pair is a PUT and a GET of the same key; a batch holds `pipeline` requests.
    let pairs_per_batch = spec.pipeline.div_ceil(2);
    let batches = spec.requests_per_connection.div_ceil(pairs_per_batch * 2);
    let mut latencies = Vec::with_capacity(batches * pairs_per_batch * 2);
    let mut reply = String::new();
    for batch in 0..batches {
        let keys: Vec<String> = (0..pairs_per_batch)
            .map(|pair| format!("k{connection}-{batch}-{pair}"))
            .collect();
        let sent = Instant::now();
        for key in &keys {
            writer
                .write_all(format!("PUT {key} v-{key}\nGET {key}\n").as_bytes())
                .await?;
        }
        writer.flush().await?;
        for key in &keys {
            for expected in ["OK".to_owned(), format!("OK v-{key}")] {
                reply.clear();
                if reader.read_line(&mut reply).await? == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection mid-run",
                    ));
                }
                if reply.trim_end() != expected {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("expected {expected:?}, got {:?}", reply.trim_end()),
                    ));
                }
            }
        }
        let round_trip = sent.elapsed();
        latencies.extend(std::iter::repeat_n(round_trip, keys.len() * 2));
    }
    writer.write_all(b"QUIT\n").await?;
    writer.flush().await?;
    Ok(latencies)
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
