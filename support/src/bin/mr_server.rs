//! `mr-server`: the mini Redis of part 17, standalone (`make mr-server`).
//!
//! Usage: `mr-server [ADDR] [--max-connections N] [--idle-timeout SECONDS]
//! [--workers per-core|current-thread|N]` (ADDR defaults to 127.0.0.1:1337; idle clients are
//! dropped after 300 s, 0 means never; workers default to one per core). Its first line is
//! `listening on ADDR`. Ctrl-C shuts it down gracefully: requests it has already read are
//! answered first.
//!
//! This file only parses arguments; the server is `support::mini_redis`, the same code the
//! notebook shows and runs.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use support::mini_redis::server::{serve, Limits, Stats, DEFAULT_ADDR};
use support::mini_redis::Db;
use support::rt::{ctrl_c_stop, runtime, Workers};

struct Args {
    addr: String,
    limits: Limits,
    workers: Workers,
}

/// More connections than a tokio semaphore can count would panic, not serve.
const MAX_CONNECTIONS: usize = tokio::sync::Semaphore::MAX_PERMITS;

/// A day; longer idle timeouts are as good as none (and that is `0`).
const MAX_IDLE_SECONDS: u64 = 24 * 60 * 60;

const USAGE: &str = "usage: mr-server [ADDR] [--max-connections N] [--idle-timeout SECONDS] \
                     [--workers per-core|current-thread|N]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: DEFAULT_ADDR.into(),
        limits: Limits::default(),
        workers: Workers::PerCore,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--max-connections" => {
                let value = given.next().ok_or("--max-connections needs a number")?;
                args.limits.max_connections = match value.parse() {
                    Ok(limit) if (1..=MAX_CONNECTIONS).contains(&limit) => limit,
                    _ => {
                        return Err(format!(
                            "--max-connections must be from 1 to {MAX_CONNECTIONS}, got {value:?}"
                        ))
                    }
                };
            }
            "--idle-timeout" => {
                let value = given
                    .next()
                    .ok_or("--idle-timeout needs a number of seconds")?;
                let seconds: u64 = value
                    .parse()
                    .ok()
                    .filter(|seconds| *seconds <= MAX_IDLE_SECONDS)
                    .ok_or_else(|| {
                        format!(
                            "--idle-timeout must be whole seconds up to {MAX_IDLE_SECONDS} \
                             (0: never), got {value:?}"
                        )
                    })?;
                args.limits.idle_timeout = (seconds > 0).then(|| Duration::from_secs(seconds));
            }
            "--workers" => {
                args.workers = given.next().ok_or("--workers needs a value")?.parse()?;
            }
            "-h" | "--help" => return Err(USAGE.into()),
            addr if !addr.starts_with('-') => args.addr = addr.to_owned(),
            unknown => return Err(format!("unknown option {unknown:?}; see --help")),
        }
    }
    Ok(args)
}

async fn run(args: Args) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    let stop = ctrl_c_stop().await?;
    support::listening::announce(listener.local_addr()?)?;
    println!(
        "mini redis: line protocol and RESP, at most {} clients; Ctrl-C stops it",
        args.limits.max_connections
    );
    let stats = Arc::new(Stats::default());
    serve(listener, Db::new(), args.limits, stats.clone(), stop).await?;
    println!(
        "mini redis stopped; connections served: {}, failed accepts: {}",
        stats.accepted(),
        stats.accept_errors()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("mr-server: {message}");
            return ExitCode::from(2);
        }
    };
    let addr = args.addr.clone();
    let served = runtime(args.workers, "mr-server").and_then(|runtime| runtime.block_on(run(args)));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mr-server: cannot serve on {addr}: {error}");
            ExitCode::FAILURE
        }
    }
}
