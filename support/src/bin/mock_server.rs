//! `make server`: the survey's mock HTTP server, standalone.
//!
//! Usage: `mock-server [ADDR] [--workers per-core|current-thread|N]` (default ADDR
//! `127.0.0.1:8000`, one worker per core). Its first line is `listening on ADDR`. Try
//! `curl 'http://127.0.0.1:8000/count?delay=0.5'`. Ctrl-C stops it after requests in flight
//! have been answered.

use std::process::ExitCode;
use support::mock_http::{serve, DEFAULT_ADDR};
use support::rt::{ctrl_c_stop, runtime, Workers};

const USAGE: &str = "usage: mock-server [ADDR] [--workers per-core|current-thread|N]";

fn parse_args() -> Result<(String, Workers), String> {
    let (mut addr, mut workers) = (DEFAULT_ADDR.to_owned(), Workers::PerCore);
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--workers" => workers = given.next().ok_or("--workers needs a value")?.parse()?,
            "-h" | "--help" => return Err(USAGE.into()),
            other if !other.starts_with('-') => addr = other.to_owned(),
            unknown => return Err(format!("unknown option {unknown:?}; see --help")),
        }
    }
    Ok((addr, workers))
}

async fn serve_until_ctrl_c(addr: &str) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let stop = ctrl_c_stop().await?;
    support::listening::announce(listener.local_addr()?)?;
    println!("try GET /count?delay=0.5; Ctrl-C stops the server");
    serve(listener, stop).await
}

fn main() -> ExitCode {
    let (addr, workers) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("mock-server: {message}");
            return ExitCode::from(2);
        }
    };
    let served = runtime(workers, "mock-server")
        .and_then(|runtime| runtime.block_on(serve_until_ctrl_c(&addr)));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-server: cannot serve on {addr}: {error}");
            ExitCode::FAILURE
        }
    }
}
