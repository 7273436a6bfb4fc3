//! `mr-server`, the program `make mr-server` runs: it serves, refuses bad arguments with a
//! message, and stops gracefully on Ctrl-C (SIGINT).
//!
//! (The commands themselves are tested in `mini_redis.rs`, on the same code in-process.)

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const MR_SERVER: &str = env!("CARGO_BIN_EXE_mr-server");

#[test]
fn serves_until_ctrl_c_then_stops_cleanly() {
    let mut server = Command::new(MR_SERVER)
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start mr-server");
    let mut stdout = BufReader::new(server.stdout.take().expect("piped"));
    // The first line is the readiness line every server program of the survey prints.
    let addr = support::listening::read_announcement(&mut stdout).expect("listening on ADDR");
    assert!(addr.ip().is_loopback(), "{addr}");

    let mut client = TcpStream::connect(addr).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    client.write_all(b"PUT k v\nGET k\n").expect("send");
    let mut replies = [0u8; 8];
    client.read_exact(&mut replies).expect("two replies");
    assert_eq!(&replies, b"OK\nOK v\n");
    // A RESP3 client on the same port, as redis-py connects: HELLO 3, then RESP3 replies.
    let mut resp3 = TcpStream::connect(addr).expect("connect");
    resp3
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    resp3
        .write_all(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*2\r\n$3\r\nGET\r\n$1\r\nx\r\n")
        .expect("send");
    let mut hello = vec![0u8; 3];
    resp3.read_exact(&mut hello).expect("a reply");
    assert_eq!(hello, b"%7\r", "a RESP3 map");
    drop(resp3);

    let interrupted = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .expect("run kill");
    assert!(interrupted.success());
    // The open client is told the server is leaving (end of stream), not left hanging.
    let mut rest = Vec::new();
    client
        .read_to_end(&mut rest)
        .expect("a clean end of stream");
    assert!(rest.is_empty());
    let status = server.wait().expect("mr-server exits");
    assert!(status.success(), "{status}");
    let mut farewell = String::new();
    stdout
        .read_to_string(&mut farewell)
        .expect("the last words");
    assert!(farewell.contains("connections served: 2,"), "{farewell:?}");
}

#[test]
fn bad_arguments_get_a_message_and_exit_code_2() {
    for args in [
        &["--max-connections", "0"][..],
        &["--idle-timeout", "-1"],
        &["--workers", "x"],
        &["--workers", "0"],
        &["--bogus"],
    ] {
        let output = Command::new(MR_SERVER).args(args).output().expect("run");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.starts_with("mr-server: "), "{args:?}: {message}");
    }
}
