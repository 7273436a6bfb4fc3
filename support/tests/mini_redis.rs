//! The mini Redis over real sockets: both protocols, bad input, the connection limit and
//! graceful shutdown.
//!
//! The clients here are plain blocking `std::net` sockets with read timeouts, so a server
//! that hangs fails a test instead of hanging it.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};
use support::mini_redis::{Config, MiniRedis};

/// Long enough for any reply on a busy CI machine, short enough to fail fast.
const PATIENCE: Duration = Duration::from_secs(5);

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(server: &MiniRedis) -> Client {
        let stream = TcpStream::connect(server.addr()).expect("connect to the mini redis");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("set a read timeout");
        let writer = stream.try_clone().expect("clone the socket");
        Client {
            reader: BufReader::new(stream),
            writer,
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send a request");
    }

    /// One reply line, without its line ending; `None` at the end of the stream.
    fn line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line).expect("a reply in time") {
            0 => None,
            _ => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }

    fn ask(&mut self, request: &str) -> String {
        self.send(request.as_bytes());
        self.line().expect("a reply, not the end of the stream")
    }

    /// Exactly one RESP2 or RESP3 reply, however it nests, as the bytes that were sent.
    fn reply(&mut self) -> String {
        let header = self.line().expect("a reply, not the end of the stream");
        let (kind, rest) = header.split_at(1);
        let count: i64 = rest.parse().unwrap_or(-1);
        let parts = match kind {
            "$" if count >= 0 => 1,
            "*" | ">" if count >= 0 => count,
            "%" => 2 * count,
            _ => 0,
        };
        let mut reply = format!("{header}\r\n");
        for _ in 0..parts {
            reply += &match kind {
                "$" => format!("{}\r\n", self.line().expect("bulk data")),
                _ => self.reply(),
            };
        }
        reply
    }

    /// Sends a RESP request and reads its one reply.
    fn call(&mut self, args: &[&str]) -> String {
        self.send(resp(args).as_bytes());
        self.reply()
    }

    /// Whether the server closed the connection (after any replies still unread).
    fn closed_by_server(&mut self) -> bool {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => true,
            Err(error) => panic!("expected a clean close, got {error} after {rest:?}"),
        }
    }
}

fn resp(args: &[&str]) -> String {
    let mut frame = format!("*{}\r\n", args.len());
    for arg in args {
        frame += &format!("${}\r\n{arg}\r\n", arg.len());
    }
    frame
}

#[test]
fn line_protocol_answers_every_request_kind() {
    let server = MiniRedis::start().expect("start");
    assert!(server.addr().ip().is_loopback());
    let mut client = Client::connect(&server);
    assert_eq!(client.ask("GET greeting\n"), "NONE");
    assert_eq!(client.ask("PUT greeting hello,  async world\n"), "OK");
    assert_eq!(client.ask("get greeting\n"), "OK hello,  async world");
    assert_eq!(client.ask("Del greeting\r\n"), "OK");
    assert_eq!(client.ask("GET greeting\n"), "NONE");
    assert!(client.ask("FROB x\n").starts_with("ERROR unknown request"));
    assert_eq!(client.ask("PUT\n"), "ERROR usage: PUT key value");
    assert_eq!(
        client.ask("PUT still usable\n"),
        "OK",
        "errors keep the connection"
    );
    client.send(b"QUIT\n");
    assert!(client.closed_by_server());
}

#[test]
fn resp_serves_what_redis_clients_send() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    assert_eq!(client.ask(&resp(&["PING"])), "+PONG");
    assert_eq!(client.ask(&resp(&["CONFIG", "GET", "appendonly"])), "*2");
    let setting: Vec<String> = (0..4).filter_map(|_| client.line()).collect();
    assert_eq!(setting, ["$10", "appendonly", "$2", "no"]);
    assert_eq!(client.ask(&resp(&["CONFIG", "GET", "maxmemory"])), "*0");
    assert_eq!(client.ask(&resp(&["set", "k", "v w"])), "+OK");
    assert_eq!(client.ask(&resp(&["GET", "k"])), "$3");
    assert_eq!(client.line().as_deref(), Some("v w"));
    assert_eq!(client.ask(&resp(&["DEL", "k", "absent"])), ":1");
    assert_eq!(client.ask(&resp(&["GET", "k"])), "$-1");
    assert_eq!(
        client.ask(&resp(&["FLUSHALL"])),
        "-ERR unknown command 'FLUSHALL', with args beginning with: "
    );
    // Both protocols share one store.
    let mut line_client = Client::connect(&server);
    assert_eq!(line_client.ask("PUT shared yes\n"), "OK");
    assert_eq!(client.ask(&resp(&["GET", "shared"])), "$3");
    client.send(resp(&["QUIT"]).as_bytes());
    assert_eq!(client.line().as_deref(), Some("yes"));
    assert_eq!(
        client.line().as_deref(),
        Some("+OK"),
        "QUIT is acknowledged, as in Redis"
    );
    assert!(client.closed_by_server());
}

#[test]
fn a_redis_py_handshake_is_answered_and_hello_switches_the_reply_types() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    // What redis-py 8.1 sends on connect, in order (its `on_connect_check_health`).
    let hello = client.call(&["HELLO", "3"]);
    assert!(hello.starts_with("%7\r\n$6\r\nserver\r\n"), "{hello}");
    assert!(hello.contains("$5\r\nproto\r\n:3\r\n"), "{hello}");
    let maintenance = [
        "CLIENT",
        "MAINT_NOTIFICATIONS",
        "ON",
        "moving-endpoint-type",
        "x",
    ];
    assert_eq!(
        client.call(&maintenance),
        "-ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.\r\n"
    );
    let lib_name = ["CLIENT", "SETINFO", "LIB-NAME", "redis-py"];
    assert_eq!(client.call(&lib_name), "+OK\r\n");
    let lib_ver = ["CLIENT", "SETINFO", "LIB-VER", "8.1.0"];
    assert_eq!(client.call(&lib_ver), "+OK\r\n");
    assert_eq!(client.call(&["PING"]), "+PONG\r\n");
    // RESP3 from here on: its own null, maps, and the rest as in RESP2.
    assert_eq!(client.call(&["GET", "missing"]), "_\r\n");
    assert_eq!(
        client.call(&["CONFIG", "GET", "save"]),
        "%1\r\n$4\r\nsave\r\n$0\r\n\r\n"
    );
    assert_eq!(client.call(&["ECHO", "hi there"]), "$8\r\nhi there\r\n");
    assert_eq!(client.call(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(
        client.call(&["SELECT", "1"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(client.call(&["COMMAND", "DOCS"]), "%0\r\n");
    assert_eq!(client.call(&["COMMAND"]), "*0\r\n");
    assert_eq!(
        client.call(&["NOSUCH", "a", "b"]),
        "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(
        client.call(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    // Back to RESP2: the same fields as a flat array, and the old null.
    let hello = client.call(&["HELLO", "2"]);
    assert!(hello.starts_with("*14\r\n"), "{hello}");
    assert!(hello.contains("$5\r\nproto\r\n:2\r\n"), "{hello}");
    assert_eq!(client.call(&["GET", "missing"]), "$-1\r\n");
    assert_eq!(
        client.call(&["CONFIG", "GET", "save"]),
        "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    let batch: String = (0..1000)
        .map(|i| format!("PUT k{i} v{i}\nGET k{i}\n"))
        .collect();
    client.send(batch.as_bytes());
    for i in 0..1000 {
        assert_eq!(client.line().as_deref(), Some("OK"));
        assert_eq!(client.line(), Some(format!("OK v{i}")));
    }
    assert_eq!(server.db().len(), 1000);
}

#[test]
fn an_overlong_line_gets_an_error_then_a_close() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    // No newline at all: the server must not wait for one forever, nor buffer it all.
    client.send(&vec![b'x'; 100 * 1024]);
    assert_eq!(
        client.line().as_deref(),
        Some("ERROR line longer than 65536 bytes")
    );
    assert!(client.closed_by_server());
    assert_eq!(
        Client::connect(&server).ask("GET a\n"),
        "NONE",
        "others are served"
    );
}

#[test]
fn invalid_utf8_is_an_error_and_the_connection_stays_usable() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    client.send(b"PUT k \xff\xfe\n");
    assert_eq!(
        client.line().as_deref(),
        Some("ERROR invalid UTF-8: requests are text")
    );
    assert_eq!(client.ask("PUT k fine\n"), "OK");
}

#[test]
fn lying_bulk_lengths_get_a_protocol_error_then_a_close() {
    let server = MiniRedis::start().expect("start");
    let mut longer = Client::connect(&server);
    longer.send(b"*2\r\n$3\r\nGET\r\n$1\r\nkey\r\n");
    assert_eq!(
        longer.line().as_deref(),
        Some("-ERR Protocol error: a bulk string is longer than its declared length")
    );
    assert!(longer.closed_by_server());
    // A huge declared length is refused from the header alone, before any data is sent.
    let mut huge = Client::connect(&server);
    huge.send(b"*2\r\n$3\r\nSET\r\n$9999999999\r\n");
    assert_eq!(
        huge.line().as_deref(),
        Some("-ERR Protocol error: requests are limited to 1048576 bytes")
    );
    assert!(huge.closed_by_server());
}

#[test]
fn half_frames_and_connection_churn_leave_the_server_healthy() {
    let server = MiniRedis::start().expect("start");
    for _ in 0..50 {
        let mut client = Client::connect(&server);
        client.send(b"*2\r\n$3\r\nGET\r\n$5\r\nab");
        client.writer.shutdown(Shutdown::Both).expect("disconnect");
    }
    let cycles = 2000;
    for _ in 0..cycles {
        drop(TcpStream::connect(server.addr()).expect("connect"));
    }
    // Some connections may still wait in the backlog: wait until all were accepted and ended.
    let settled = || server.stats().accepted() == 50 + cycles && server.stats().open() == 0;
    let deadline = Instant::now() + PATIENCE;
    while !settled() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        server.stats().accepted(),
        50 + cycles,
        "every connection was accepted"
    );
    assert_eq!(server.stats().open(), 0, "every connection task ended");
    assert_eq!(Client::connect(&server).ask(&resp(&["PING"])), "+PONG");
}

#[test]
fn the_connection_limit_holds_further_clients_back() {
    let server = MiniRedis::start_with(Config::default().max_connections(1)).expect("start");
    let mut first = Client::connect(&server);
    assert_eq!(first.ask("PUT a 1\n"), "OK");
    // The second client connects (the kernel's backlog accepts it) but is not served...
    let mut second = Client::connect(&server);
    second
        .reader
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("shorter timeout");
    second.send(b"GET a\n");
    let mut byte = [0u8; 1];
    let waited = second.reader.get_mut().read(&mut byte);
    assert!(
        matches!(&waited, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "the second client was served while the first held the only slot: {waited:?}"
    );
    // ...until the first one leaves.
    first.send(b"QUIT\n");
    assert!(first.closed_by_server());
    second
        .reader
        .get_ref()
        .set_read_timeout(Some(PATIENCE))
        .expect("timeout");
    assert_eq!(second.line().as_deref(), Some("OK 1"));
}

#[test]
fn graceful_shutdown_answers_every_request_it_read() {
    let server = MiniRedis::start().expect("start");
    let db = server.db().clone();
    let mut idle = Client::connect(&server);
    assert_eq!(idle.ask("GET x\n"), "NONE");
    let mut busy = Client::connect(&server);
    let batch: String = (0..200_000).map(|i| format!("PUT k{i} {i}\n")).collect();
    let mut stream = busy.writer.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        // The server may stop reading mid-batch: what it read, it must answer.
        let _ = stream.write_all(batch.as_bytes());
        let _ = stream.shutdown(Shutdown::Write);
    });
    // Shut down while the batch is still arriving, and read the replies meanwhile.
    let shutdown = std::thread::spawn(move || {
        while server.db().len() < 1000 {
            std::thread::sleep(Duration::from_millis(1));
        }
        let started = Instant::now();
        server.shutdown().expect("a clean shutdown");
        started.elapsed()
    });
    let mut acknowledged = 0;
    while let Some(reply) = busy.line() {
        assert_eq!(reply, "OK");
        acknowledged += 1;
    }
    writer.join().expect("writer thread");
    let stopped_in = shutdown.join().expect("shutdown thread");
    assert!(
        idle.closed_by_server(),
        "idle clients are closed, not left hanging"
    );
    // Every OK the client received is a write the store holds, and nothing the store holds
    // went unacknowledged.
    assert_eq!(
        acknowledged,
        db.len(),
        "acknowledged writes == stored writes"
    );
    for i in (0..acknowledged).step_by(997) {
        let value = db.get(format!("k{i}").as_bytes());
        assert_eq!(value, Some(i.to_string().into_bytes()));
    }
    assert!(stopped_in < PATIENCE, "shutdown took {stopped_in:?}");
    println!("shutdown after {acknowledged} of 200000 writes, in {stopped_in:?}");
}

#[test]
fn fifty_connections_with_and_without_pipelining_get_correct_replies() {
    use support::loadgen::{run_line_load, LoadSpec};
    let server = MiniRedis::start().expect("start");
    for pipeline in [1, 16] {
        let spec = LoadSpec {
            connections: 50,
            requests_per_connection: 100,
            pipeline,
        };
        // The load generator checks every reply, so a lost or reordered one fails here.
        let report = support::run(run_line_load(server.addr(), spec)).expect("a clean run");
        assert_eq!(report.requests, 50 * 100, "pipeline {pipeline}");
    }
    assert_eq!(
        server.db().len(),
        50 * 50,
        "one key per PUT + GET pair (under 1000 per connection)"
    );
}

#[test]
fn idle_clients_are_disconnected_and_busy_ones_are_not() {
    let idle_timeout = Duration::from_millis(300);
    let config = Config::default().idle_timeout(Some(idle_timeout));
    let server = MiniRedis::start_with(config).expect("start");
    // Before connecting: the server's timer starts when it accepts.
    let connected = Instant::now();
    let mut idle = Client::connect(&server);
    // Half a request is not progress: a client trickling bytes is idle too.
    idle.send(b"GET ");
    let idle_watch = std::thread::spawn(move || {
        assert!(idle.closed_by_server(), "the idle client was disconnected");
        connected.elapsed()
    });
    let mut busy = Client::connect(&server);
    for i in 0..8 {
        assert_eq!(
            busy.ask(&format!("PUT k{i} {i}\n")),
            "OK",
            "busy clients stay"
        );
        std::thread::sleep(idle_timeout / 3);
    }
    let idle_for = idle_watch.join().expect("idle client thread");
    assert!(
        idle_for >= idle_timeout,
        "disconnected early, after {idle_for:?}"
    );
    assert!(
        idle_for < idle_timeout * 3,
        "disconnected late, after {idle_for:?}"
    );
    assert_eq!(
        busy.ask("GET k7\n"),
        "OK 7",
        "after 8 x 100 ms, the busy client is still served"
    );
}

#[test]
fn a_client_that_stops_reading_loses_its_slot_after_the_idle_timeout() {
    let config = Config::default()
        .max_connections(1)
        .idle_timeout(Some(Duration::from_millis(300)));
    let server = MiniRedis::start_with(config).expect("start");
    let mut stuck = Client::connect(&server);
    let big_value = "x".repeat(60_000);
    assert_eq!(stuck.ask(&format!("PUT big {big_value}\n")), "OK");
    // Megabytes of replies that this client never reads: the server's writes block.
    let gets = "GET big\n".repeat(100);
    let mut writer = stuck.writer.try_clone().expect("clone");
    std::thread::spawn(move || {
        for _ in 0..100 {
            if writer.write_all(gets.as_bytes()).is_err() {
                break; // the server gave up on this client
            }
        }
    });
    // The only slot is taken; the next client is served once the stuck one is dropped.
    let started = Instant::now();
    let mut next = Client::connect(&server);
    assert_eq!(next.ask(&resp(&["PING"])), "+PONG");
    let waited = started.elapsed();
    assert!(waited < PATIENCE, "the slot came free after {waited:?}");
    drop(stuck);
}

#[test]
fn multi_exec_queues_then_applies_and_refusals_abort_the_transaction() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    assert_eq!(client.call(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(client.call(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(client.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(
        client.call(&["MULTI"]),
        "-ERR MULTI calls can not be nested\r\n"
    );
    assert_eq!(client.call(&["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(client.call(&["GET", "a"]), "+QUEUED\r\n");
    assert_eq!(client.call(&["DEL", "a", "b"]), "+QUEUED\r\n");
    assert!(server.db().is_empty(), "nothing applies before EXEC");
    assert_eq!(
        client.call(&["EXEC"]),
        "*3\r\n+OK\r\n$1\r\n1\r\n:1\r\n",
        "the nested MULTI did not end the transaction"
    );
    // A command refused while queuing dooms the transaction.
    assert_eq!(client.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(client.call(&["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(
        client.call(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        client.call(&["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert!(
        server.db().is_empty(),
        "an aborted transaction applies nothing"
    );
    // DISCARD drops the queue, and the connection is back to normal.
    assert_eq!(client.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(client.call(&["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(client.call(&["DISCARD"]), "+OK\r\n");
    assert_eq!(client.call(&["GET", "a"]), "$-1\r\n");
}

#[test]
fn exec_is_atomic_other_clients_never_see_half_a_transaction() {
    let server = MiniRedis::start().expect("start");
    let rounds = 300;
    // The writer moves two keys together, always to equal values, in transactions.
    let mut writer = Client::connect(&server);
    let start = resp(&["SET", "left", "start"]) + &resp(&["SET", "right", "start"]);
    writer.send(start.as_bytes());
    assert_eq!(
        (writer.reply(), writer.reply()),
        ("+OK\r\n".into(), "+OK\r\n".into())
    );
    let writes = std::thread::spawn(move || {
        for i in 0..rounds {
            let value = i.to_string();
            let batch = resp(&["MULTI"])
                + &resp(&["SET", "left", &value])
                + &resp(&["SET", "right", &value])
                + &resp(&["EXEC"]);
            writer.send(batch.as_bytes());
            for _ in 0..3 {
                writer.reply();
            }
            assert_eq!(writer.reply(), "*2\r\n+OK\r\n+OK\r\n");
        }
    });
    // The reader reads both keys in one transaction too: if EXEC let other commands run
    // between its commands, some read would see the keys from two different rounds.
    let mut reader = Client::connect(&server);
    let mut mismatches = 0;
    let mut reads = 0;
    while !writes.is_finished() {
        let batch = resp(&["MULTI"])
            + &resp(&["GET", "left"])
            + &resp(&["GET", "right"])
            + &resp(&["EXEC"]);
        reader.send(batch.as_bytes());
        for _ in 0..3 {
            reader.reply();
        }
        let both = reader.reply();
        let values: Vec<&str> = both.lines().skip(1).collect();
        mismatches += usize::from(values[..2] != values[2..]);
        reads += 1;
    }
    writes.join().expect("the writer finished");
    assert_eq!(
        mismatches, 0,
        "{mismatches} of {reads} reads saw half a transaction"
    );
    assert!(reads > 0);
}

#[test]
fn a_client_that_disconnects_before_exec_leaves_nothing_applied() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    assert_eq!(client.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(client.call(&["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(client.call(&["DEL", "b"]), "+QUEUED\r\n");
    drop(client);
    // Wait until the server has seen the close, then look.
    let deadline = Instant::now() + PATIENCE;
    while server.stats().open() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.stats().open(), 0, "the connection ended");
    assert!(server.db().is_empty(), "the queued SET was not applied");
    assert_eq!(Client::connect(&server).call(&["GET", "a"]), "$-1\r\n");
}

#[test]
fn set_options_and_expiry_commands_answer_as_redis_does() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    assert_eq!(
        client.call(&["SET", "k", "1", "XX"]),
        "$-1\r\n",
        "XX: not there"
    );
    assert_eq!(client.call(&["SET", "k", "1", "NX"]), "+OK\r\n");
    assert_eq!(
        client.call(&["SET", "k", "2", "NX"]),
        "$-1\r\n",
        "NX: there"
    );
    assert_eq!(
        client.call(&["SET", "k", "3", "XX", "EX", "100"]),
        "+OK\r\n"
    );
    assert_eq!(client.call(&["TTL", "k"]), ":100\r\n");
    let pttl = client.call(&["PTTL", "k"]);
    let left: i64 = pttl[1..pttl.len() - 2].parse().expect("a number");
    assert!((90_000..=100_000).contains(&left), "{pttl}");
    assert_eq!(client.call(&["SET", "k", "4", "KEEPTTL"]), "+OK\r\n");
    assert_eq!(client.call(&["TTL", "k"]), ":100\r\n", "KEEPTTL kept it");
    assert_eq!(client.call(&["PERSIST", "k"]), ":1\r\n");
    assert_eq!(
        client.call(&["PERSIST", "k"]),
        ":0\r\n",
        "nothing left to remove"
    );
    assert_eq!(client.call(&["TTL", "k"]), ":-1\r\n");
    assert_eq!(client.call(&["PEXPIRE", "k", "100000"]), ":1\r\n");
    assert_eq!(client.call(&["SET", "k", "5"]), "+OK\r\n");
    assert_eq!(
        client.call(&["TTL", "k"]),
        ":-1\r\n",
        "a plain SET clears it"
    );
    assert_eq!(client.call(&["EXPIRE", "absent", "10"]), ":0\r\n");
    assert_eq!(client.call(&["TTL", "absent"]), ":-2\r\n");
    assert_eq!(
        client.call(&["EXPIRE", "k", "-5"]),
        ":1\r\n",
        "a past time deletes"
    );
    assert_eq!(client.call(&["GET", "k"]), "$-1\r\n");
}

#[test]
fn bad_expiry_input_gets_redis_errors_and_the_connection_stays_usable() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    let not_an_integer = "-ERR value is not an integer or out of range\r\n";
    let invalid_set = "-ERR invalid expire time in 'set' command\r\n";
    let cases: [(&[&str], &str); 12] = [
        (&["SET", "k", "v", "EX", "-1"], invalid_set),
        (&["SET", "k", "v", "PX", "0"], invalid_set),
        (&["SET", "k", "v", "EX", "abc"], not_an_integer),
        (&["SET", "k", "v", "EX", "9999999999999999"], invalid_set),
        (&["SET", "k", "v", "NX", "XX"], "-ERR syntax error\r\n"),
        (
            &["SET", "k", "v", "EX", "10", "PX", "100"],
            "-ERR syntax error\r\n",
        ),
        (&["SET", "k", "v", "EX"], "-ERR syntax error\r\n"),
        (&["EXPIRE", "k", "99999999999999999999"], not_an_integer),
        (
            &["EXPIRE", "k", "9223372036854775807"],
            "-ERR invalid expire time in 'expire' command\r\n",
        ),
        (
            &["PEXPIRE", "k", "9223372036854775807"],
            "-ERR invalid expire time in 'pexpire' command\r\n",
        ),
        (
            &["TTL"],
            "-ERR wrong number of arguments for 'ttl' command\r\n",
        ),
        (
            &["PERSIST", "a", "b"],
            "-ERR wrong number of arguments for 'persist' command\r\n",
        ),
    ];
    for (request, error) in cases {
        assert_eq!(client.call(request), error, "{request:?}");
    }
    assert_eq!(client.call(&["PING"]), "+PONG\r\n", "still usable");
    assert!(server.db().is_empty(), "no bad SET stored anything");
}

/// Polls `done` every 10 ms until it holds or [`PATIENCE`] has passed.
fn eventually(done: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + PATIENCE;
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    done()
}

#[test]
fn a_key_set_with_px_50_is_gone_after_it_and_the_purge_task_removed_it() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    assert_eq!(client.call(&["SET", "long", "v", "EX", "100"]), "+OK\r\n");
    let set_at = Instant::now();
    assert_eq!(client.call(&["SET", "brief", "v", "PX", "50"]), "+OK\r\n");
    // Nobody reads `brief`: only the purge task can take it out of the map.
    assert!(
        eventually(|| server.db().len() == 1),
        "the purge task removed the expired key"
    );
    assert!(
        set_at.elapsed() >= Duration::from_millis(50),
        "not before its deadline"
    );
    assert_eq!(client.call(&["GET", "brief"]), "$-1\r\n");
    assert_eq!(
        client.call(&["GET", "long"]),
        "$1\r\nv\r\n",
        "a long TTL stays"
    );
}

#[test]
fn an_expired_key_is_never_read_even_before_it_is_purged() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    // A deadline in the past is the same as one that just passed: the read must not see it,
    // whether the purge task got there or not. PEXPIRE 1 then a read 100 ms later...
    assert_eq!(client.call(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(client.call(&["PEXPIRE", "k", "1"]), ":1\r\n");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(client.call(&["GET", "k"]), "$-1\r\n");
    assert_eq!(client.call(&["TTL", "k"]), ":-2\r\n");
    assert_eq!(client.call(&["SET", "k", "w", "XX"]), "$-1\r\n", "XX: gone");
}

#[test]
fn the_purge_task_stops_with_the_server() {
    use support::mini_redis::command::{Command, SetCondition, SetExpiry, TimeUnit};
    let server = MiniRedis::start().expect("start");
    let db = server.db().clone();
    server.shutdown().expect("a clean shutdown");
    // `shutdown` returned, so `serve` has awaited the purge task: nothing removes this key.
    db.apply(Command::Set {
        key: b"k".to_vec(),
        value: b"v".to_vec(),
        expiry: SetExpiry::After {
            milliseconds: 20,
            unit: TimeUnit::Milliseconds,
        },
        condition: SetCondition::Always,
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(db.len(), 1, "no purge task is left running");
    assert_eq!(db.get(b"k"), None, "though reads never see the key");
}

/// RESP's bulk string for `data`.
fn bulk(data: &str) -> String {
    format!("${}\r\n{data}\r\n", data.len())
}

#[test]
fn publish_reaches_channel_and_pattern_subscribers_on_resp2_and_resp3() {
    let server = MiniRedis::start().expect("start");
    let mut resp2 = Client::connect(&server);
    let subscribed = format!("*3\r\n{}{}:1\r\n", bulk("subscribe"), bulk("news"));
    assert_eq!(resp2.call(&["SUBSCRIBE", "news"]), subscribed);
    let psubscribed = format!("*3\r\n{}{}:2\r\n", bulk("psubscribe"), bulk("n*"));
    assert_eq!(resp2.call(&["PSUBSCRIBE", "n*"]), psubscribed);
    let mut resp3 = Client::connect(&server);
    resp3.call(&["HELLO", "3"]);
    let pushed = format!(">3\r\n{}{}:1\r\n", bulk("subscribe"), bulk("news"));
    assert_eq!(resp3.call(&["SUBSCRIBE", "news"]), pushed);

    let mut publisher = Client::connect(&server);
    assert_eq!(
        publisher.call(&["PUBLISH", "news", "hi"]),
        ":3\r\n",
        "2 + 1"
    );
    assert_eq!(publisher.call(&["PUBLISH", "weather", "hi"]), ":0\r\n");
    let message = format!("{}{}{}", bulk("message"), bulk("news"), bulk("hi"));
    let pmessage = format!(
        "{}{}{}{}",
        bulk("pmessage"),
        bulk("n*"),
        bulk("news"),
        bulk("hi")
    );
    let mut received = [resp2.reply(), resp2.reply()];
    received.sort();
    assert_eq!(
        received,
        [format!("*3\r\n{message}"), format!("*4\r\n{pmessage}")]
    );
    assert_eq!(resp3.reply(), format!(">3\r\n{message}"), "a RESP3 push");
    // On RESP3 a subscriber may still run any command.
    assert_eq!(resp3.call(&["GET", "k"]), "_\r\n");
    // Unsubscribing: one confirmation per name, then nobody counts it any more.
    let unsubscribed = format!(">3\r\n{}{}:0\r\n", bulk("unsubscribe"), bulk("news"));
    assert_eq!(resp3.call(&["UNSUBSCRIBE"]), unsubscribed);
    assert_eq!(publisher.call(&["PUBLISH", "news", "again"]), ":2\r\n");
}

#[test]
fn a_resp2_subscriber_may_only_subscribe_unsubscribe_ping_and_quit() {
    let server = MiniRedis::start().expect("start");
    let mut client = Client::connect(&server);
    let none_left = format!("*3\r\n{}$-1\r\n:0\r\n", bulk("unsubscribe"));
    assert_eq!(client.call(&["UNSUBSCRIBE"]), none_left, "nothing to drop");
    client.call(&["SUBSCRIBE", "a", "b"]);
    client.reply(); // one confirmation per channel
    assert_eq!(
        client.call(&["GET", "k"]),
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
         RESET are allowed in this context\r\n"
    );
    assert!(client
        .call(&["MULTI"])
        .starts_with("-ERR Can't execute 'multi'"));
    assert_eq!(
        client.call(&["PING"]),
        format!("*2\r\n{}{}", bulk("pong"), bulk(""))
    );
    let first = format!("*3\r\n{}{}:1\r\n", bulk("unsubscribe"), bulk("a"));
    assert_eq!(client.call(&["UNSUBSCRIBE"]), first);
    let second = format!("*3\r\n{}{}:0\r\n", bulk("unsubscribe"), bulk("b"));
    assert_eq!(client.reply(), second);
    assert_eq!(
        client.call(&["PING"]),
        "+PONG\r\n",
        "out of subscribed mode"
    );
    assert_eq!(client.call(&["GET", "k"]), "$-1\r\n");
    assert_eq!(
        client.call(&["SUBSCRIBE"]),
        "-ERR wrong number of arguments for 'subscribe' command\r\n"
    );
    assert_eq!(
        client.call(&["PUBLISH", "a"]),
        "-ERR wrong number of arguments for 'publish' command\r\n"
    );
}

#[test]
fn a_subscriber_that_stops_reading_is_disconnected_and_never_slows_publishers() {
    use support::mini_redis::pubsub::CHANNEL_CAPACITY;
    let server = MiniRedis::start().expect("start");
    let mut stalled = Client::connect(&server);
    stalled.call(&["SUBSCRIBE", "firehose"]);
    // Far more than the channel's buffer and the sockets' buffers hold: the subscriber, which
    // reads nothing meanwhile, must fall behind.
    let payload = "x".repeat(2048);
    let published = 20 * CHANNEL_CAPACITY;
    let mut publisher = Client::connect(&server);
    let batch = resp(&["PUBLISH", "firehose", &payload]).repeat(100);
    for _ in 0..published / 100 {
        publisher.send(batch.as_bytes());
        for _ in 0..100 {
            // If publishing waited for the subscriber, this read would time out.
            assert_eq!(publisher.reply(), ":1\r\n");
        }
    }
    // The subscriber now reads: some messages, then the end of the stream.
    let mut messages = 0;
    loop {
        let mut header = String::new();
        match stalled.reader.read_line(&mut header) {
            Ok(0) => break,
            Ok(_) if header == "*3\r\n" => messages += 1,
            Ok(_) => {}
            Err(error) => panic!("expected the server to close, got {error}"),
        }
    }
    println!("the stalled subscriber got {messages} of {published} messages, then a close");
    assert!(
        messages < published,
        "it fell behind, and was not sent everything"
    );
    assert!(
        messages >= 1,
        "what was written before the lag still arrived"
    );
    assert_eq!(Client::connect(&server).call(&["PING"]), "+PONG\r\n");
}

#[test]
fn subscribers_have_no_idle_timeout_and_are_closed_by_a_graceful_shutdown() {
    let idle_timeout = Duration::from_millis(200);
    let config = Config::default().idle_timeout(Some(idle_timeout));
    let server = MiniRedis::start_with(config).expect("start");
    let mut subscriber = Client::connect(&server);
    subscriber.call(&["SUBSCRIBE", "quiet"]);
    // Far past the idle timeout: a subscriber waits for messages, and that is not idling.
    std::thread::sleep(idle_timeout * 4);
    let mut publisher = Client::connect(&server);
    assert_eq!(
        publisher.call(&["PUBLISH", "quiet", "still there?"]),
        ":1\r\n"
    );
    let message = format!(
        "*3\r\n{}{}{}",
        bulk("message"),
        bulk("quiet"),
        bulk("still there?")
    );
    assert_eq!(subscriber.reply(), message);
    // PUBLISH is a store command: it can be part of a transaction.
    let batch = resp(&["MULTI"]) + &resp(&["PUBLISH", "quiet", "in exec"]) + &resp(&["EXEC"]);
    publisher.send(batch.as_bytes());
    let replies: Vec<String> = (0..3).map(|_| publisher.reply()).collect();
    assert_eq!(replies, ["+OK\r\n", "+QUEUED\r\n", "*1\r\n:1\r\n"]);
    assert!(subscriber.reply().ends_with(&bulk("in exec")));
    drop(publisher);
    server.shutdown().expect("a clean shutdown");
    assert!(
        subscriber.closed_by_server(),
        "the subscriber was told, not left hanging"
    );
}
