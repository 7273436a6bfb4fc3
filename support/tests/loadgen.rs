//! The load generator against real servers: it must count correct replies only.

use std::time::Duration;
use support::baseline::start_python_line_server;
use support::loadgen::{run_line_load, LoadSpec};
use support::MockServer;

#[test]
fn drives_the_python_server_with_and_without_pipelining() {
    let server = start_python_line_server().expect("python3 runs the baseline server");
    for pipeline in [1, 8] {
        let spec = LoadSpec {
            connections: 4,
            requests_per_connection: 64,
            pipeline,
        };
        let report = support::run(run_line_load(server.addr(), spec)).expect("a clean run");
        assert_eq!(report.requests, 4 * 64, "pipeline {pipeline}");
        assert!(report.percentile(99.0) >= report.percentile(50.0));
        assert!(report.throughput() > 0.0);
    }
}

#[test]
fn a_server_that_answers_wrongly_fails_the_run() {
    // An HTTP server does not speak the line protocol: its reply is not "OK".
    let http = MockServer::start().expect("mock server");
    let spec = LoadSpec {
        connections: 1,
        requests_per_connection: 2,
        pipeline: 1,
    };
    let outcome = support::run(async {
        tokio::time::timeout(Duration::from_secs(10), run_line_load(http.addr(), spec)).await
    });
    let error = outcome
        .expect("fails fast, no hang")
        .expect_err("wrong replies");
    assert!(
        matches!(
            error.kind(),
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
        ),
        "{error}"
    );
}
