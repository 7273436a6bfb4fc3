//! One client connection: read requests, apply them, write replies, until the client leaves,
//! sends `QUIT`, breaks the framing, or the server shuts down.

use super::db::Db;
use super::protocol::{encode_frame_error, encode_reply, parse_request, Command, Protocol, Reply};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;

/// Replies are written once this many bytes are waiting. Without it, a client pipelining a
/// megabyte of `GET`s for a large value would make the server build gigabytes of replies.
const WRITE_AT: usize = 64 * 1024;

/// Stands for "no idle timeout": far enough away never to come (tokio timers reach about two
/// years ahead).
const NEVER: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Input buffer capacity kept between requests; more is given back once a large request
/// has been answered.
const KEEP_CAPACITY: usize = 4 * READ_CHUNK;

/// How long a closing connection keeps reading (and discarding) what the client still sends.
const LINGER: Duration = Duration::from_millis(500);

// ANCHOR: connection
/// Serves one client until it leaves, sends `QUIT`, breaks the framing, completes no
/// request for `idle_timeout`, or `shutdown` flips to `true`.
///
/// The loop answers every complete request in the buffer, writes all those replies at once,
/// then reads more. A client that pipelines many requests per write therefore gets its
/// replies in one write too.
///
/// Shutdown is only noticed while waiting for the client, never between a request and its
/// reply: every request that was read gets its reply before the connection closes, and a
/// write that was acknowledged with `OK` has already been applied to the store.
pub async fn serve_connection(
    mut stream: TcpStream,
    db: Db,
    idle_timeout: Option<Duration>,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut input: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut output: Vec<u8> = Vec::new();
    let mut protocol = None;
    // One timer for the connection's life, pushed back whenever a request completes.
    let idle_for = idle_timeout.unwrap_or(NEVER);
    let idle = tokio::time::sleep(idle_for);
    tokio::pin!(idle);
    loop {
        if let Some(protocol) = protocol {
            let (used, done) =
                answer_buffered(protocol, &input, &db, &mut stream, &mut output, idle_for).await?;
            if used > 0 {
                idle.as_mut().reset(tokio::time::Instant::now() + idle_for);
            }
            input.drain(..used);
            if !output.is_empty() {
                write_within(&mut stream, &output, idle_for).await?;
                output.clear();
            }
            if done {
                return close_gracefully(stream).await;
            }
        }
        // After a large request, give the memory back rather than keep it for the
        // connection's whole life.
        if input.capacity() > KEEP_CAPACITY && input.len() < READ_CHUNK {
            input.shrink_to(READ_CHUNK);
        }
        input.reserve(READ_CHUNK);
        let read = tokio::select! {
            read = stream.read_buf(&mut input) => read?,
            // Also fires if the server dropped the sender: stop either way.
            _ = shutdown.changed() => return close_gracefully(stream).await,
            () = &mut idle => return close_gracefully(stream).await,
        };
        if read == 0 {
            // The client left. A half-received request is dropped; it was never answered.
            return Ok(());
        }
        protocol = protocol.or(Some(Protocol::detect(input[0])));
    }
}

/// Answers the complete requests at the front of `input`; returns the bytes they took and
/// whether the connection must close (`QUIT`, or a request that cannot be framed).
async fn answer_buffered(
    protocol: Protocol,
    input: &[u8],
    db: &Db,
    stream: &mut TcpStream,
    output: &mut Vec<u8>,
    patience: Duration,
) -> io::Result<(usize, bool)> {
    let mut used = 0;
    loop {
        match parse_request(protocol, &input[used..]) {
            Ok(None) => return Ok((used, false)),
            Ok(Some((Command::Quit, length))) => {
                // Redis acknowledges QUIT; the line protocol just closes, as the original did.
                if protocol == Protocol::Resp {
                    encode_reply(protocol, &Reply::Ok, output);
                }
                return Ok((used + length, true));
            }
            Ok(Some((command, length))) => {
                used += length;
                encode_reply(protocol, &db.apply(command), output);
                if output.len() >= WRITE_AT {
                    write_within(stream, output, patience).await?;
                    output.clear();
                }
            }
            Err(error) => {
                encode_frame_error(protocol, &error, output);
                return Ok((input.len(), true));
            }
        }
    }
}

/// Writes `bytes`, giving up after `patience`: a client that stops reading its replies must
/// not hold its connection (and its slot) forever, which a plain `write_all` would let it.
async fn write_within(stream: &mut TcpStream, bytes: &[u8], patience: Duration) -> io::Result<()> {
    match tokio::time::timeout(patience, stream.write_all(bytes)).await {
        Ok(written) => written,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client stopped reading its replies",
        )),
    }
}
// ANCHOR_END: connection

/// Closes the connection so that the client reads every reply before it sees the end.
///
/// Simply dropping a socket whose client has sent bytes we did not read makes the kernel
/// send a reset, and a reset can destroy replies still on their way: the client would see
/// "connection reset" instead of our last `ERROR` line. So: send our end-of-stream, then read
/// and discard what the client still sends until it closes too, for at most [`LINGER`].
async fn close_gracefully(mut stream: TcpStream) -> io::Result<()> {
    stream.shutdown().await?;
    let mut discard = [0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        while matches!(stream.read(&mut discard).await, Ok(read) if read > 0) {}
    })
    .await;
    Ok(())
}
