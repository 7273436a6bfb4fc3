//! The mock HTTP server over real sockets: what the HTTP notebooks rely on.

use std::time::Duration;
use support::mock_http::{CountReply, MockServer};

fn get(url: &str) -> (u16, String) {
    let response = reqwest::blocking::get(url).expect("the server answers");
    let status = response.status().as_u16();
    (status, response.text().expect("a text body"))
}

#[test]
fn listens_on_loopback_only() {
    let server = MockServer::start().expect("start");
    assert!(server.addr().ip().is_loopback());
    assert!(server.url().starts_with("http://127.0.0.1:"));
}

#[test]
fn counts_requests_and_echoes_the_delay() {
    let server = MockServer::start().expect("start");
    let replies: Vec<CountReply> = (0..3)
        .map(|_| {
            let (status, body) = get(&server.count_url(Duration::from_millis(10)));
            assert_eq!(status, 200);
            serde_json::from_str(&body).expect("JSON reply")
        })
        .collect();
    let counts: Vec<u64> = replies.iter().map(|r| r.count).collect();
    assert_eq!(counts, [1, 2, 3]);
    assert!(replies.iter().all(|r| (r.delay - 0.01).abs() < 1e-9));
    let (_, body) = get(&format!("{}/count", server.url()));
    assert_eq!(
        serde_json::from_str::<CountReply>(&body)
            .expect("JSON")
            .delay,
        0.0
    );
}

#[test]
fn bad_delays_get_400_with_a_reason_and_the_server_keeps_serving() {
    let server = MockServer::start().expect("start");
    for (delay, reason) in [
        ("abc", "expected a number of seconds"),
        ("-1", "must not be negative"),
        ("NaN", "finite"),
        ("inf", "finite"),
        ("11", "at most 10 seconds"),
        ("", "expected a number"),
    ] {
        let (status, body) = get(&format!("{}/count?delay={delay}", server.url()));
        assert_eq!(status, 400, "delay={delay:?}");
        assert!(body.contains(reason), "delay={delay:?}: {body}");
    }
    let (status, _) = get(&server.count_url(Duration::ZERO));
    assert_eq!(status, 200);
}

#[test]
fn requests_are_served_concurrently_and_counted_in_finishing_order() {
    // A slow request and a fast one sent at the same time: if the server handled one request
    // at a time the slow one (sent first) would finish first. No clock is read.
    let server = MockServer::start().expect("start");
    let slow_url = server.count_url(Duration::from_millis(400));
    let fast_url = server.count_url(Duration::from_millis(20));
    let slow = std::thread::spawn(move || get(&slow_url));
    std::thread::sleep(Duration::from_millis(50));
    let (_, fast_body) = get(&fast_url);
    let (_, slow_body) = slow.join().expect("slow request thread");
    let count = |body: &str| {
        serde_json::from_str::<CountReply>(body)
            .expect("JSON")
            .count
    };
    assert_eq!((count(&fast_body), count(&slow_body)), (1, 2));
}

#[test]
fn dropping_the_server_stops_it_and_a_new_one_starts_cleanly() {
    let first = MockServer::start().expect("start");
    let first_addr = first.addr();
    drop(first);
    assert!(
        std::net::TcpStream::connect(first_addr).is_err(),
        "still listening after drop"
    );
    // What re-running a notebook cell does: start again, right away.
    let second = MockServer::start().expect("restart");
    assert_eq!(get(&second.count_url(Duration::ZERO)).0, 200);
    second.stop().expect("clean stop");
}

#[test]
fn a_port_in_use_is_an_error_not_a_panic() {
    let taken = MockServer::start().expect("start");
    let error = MockServer::start_on(taken.addr()).expect_err("the port is taken");
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
}

#[test]
fn unknown_paths_are_404() {
    let server = MockServer::start().expect("start");
    assert_eq!(get(&format!("{}/nope", server.url())).0, 404);
}

#[test]
fn the_program_announces_its_port_serves_and_stops_on_ctrl_c() {
    use std::process::{Command, Stdio};
    let mut server = Command::new(env!("CARGO_BIN_EXE_mock-server"))
        .args(["127.0.0.1:0", "--workers", "current-thread"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start mock-server");
    let mut stdout = std::io::BufReader::new(server.stdout.take().expect("piped"));
    let addr = support::listening::read_announcement(&mut stdout).expect("listening on ADDR");
    let (status, body) = get(&format!("http://{addr}/count?delay=0"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"count\":1"), "{body}");
    let interrupted = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .expect("run kill");
    assert!(interrupted.success());
    assert!(server.wait().expect("exits").success());
}
