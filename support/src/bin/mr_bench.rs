//! `mr-bench`: drives a line-protocol server with support's load generator and prints one
//! JSON line (used by `make bench`, see bench/run.py).
//!
//! Usage: `mr-bench ADDR CONNECTIONS REQUESTS_PER_CONNECTION PIPELINE`

use serde::Serialize;
use std::process::ExitCode;
use support::loadgen::{run_line_load, LoadSpec};

/// The JSON line `make bench` reads: the run's shape and what it measured.
#[derive(Serialize)]
struct Measured {
    connections: usize,
    pipeline: usize,
    requests: usize,
    seconds: f64,
    /// Requests per second.
    throughput: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn parse_args() -> Result<(std::net::SocketAddr, LoadSpec), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, connections, requests, pipeline] = args.as_slice() else {
        return Err("usage: mr-bench ADDR CONNECTIONS REQUESTS_PER_CONNECTION PIPELINE".into());
    };
    let number = |name: &str, text: &str| {
        text.parse::<usize>()
            .map_err(|_| format!("{name} must be a whole number, got {text:?}"))
    };
    let addr = addr
        .parse()
        .map_err(|_| format!("ADDR must be HOST:PORT, got {addr:?}"))?;
    let spec = LoadSpec {
        connections: number("CONNECTIONS", connections)?,
        requests_per_connection: number("REQUESTS_PER_CONNECTION", requests)?,
        pipeline: number("PIPELINE", pipeline)?,
    };
    Ok((addr, spec))
}

fn main() -> ExitCode {
    let (addr, spec) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("mr-bench: {message}");
            return ExitCode::from(2);
        }
    };
    // One thread drives hundreds of connections easily, and every core the load generator
    // does not use is left to the server being measured (they share this machine).
    match support::rt::run_current_thread(run_line_load(addr, spec)) {
        Ok(report) => {
            let measured = Measured {
                connections: spec.connections,
                pipeline: spec.pipeline,
                requests: report.requests,
                seconds: report.elapsed.as_secs_f64(),
                throughput: report.throughput(),
                p50_ms: report.percentile(50.0).as_secs_f64() * 1e3,
                p99_ms: report.percentile(99.0).as_secs_f64() * 1e3,
            };
            println!(
                "{}",
                serde_json::to_string(&measured).expect("plain numbers serialise")
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("mr-bench: load run against {addr} failed: {error}");
            ExitCode::FAILURE
        }
    }
}
