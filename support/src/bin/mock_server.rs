//! `make server`: the survey's mock HTTP server, standalone.
//!
//! Usage: `mock-server [ADDR]` (default `127.0.0.1:8000`). Try
//! `curl 'http://127.0.0.1:8000/count?delay=0.5'`. Ctrl-C stops it after requests in flight
//! have been answered.

use std::process::ExitCode;

const DEFAULT_ADDR: &str = "127.0.0.1:8000";

#[tokio::main]
async fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_ADDR.to_owned());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("mock-server: cannot listen on {addr}: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("mock server on http://{addr}: try GET /count?delay=0.5 (Ctrl-C stops it)");
    let stop_on_ctrl_c = async {
        // If the signal handler cannot be installed, run until killed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    match support::server::serve(listener, stop_on_ctrl_c).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-server: {error}");
            ExitCode::FAILURE
        }
    }
}
