//! One client connection: read requests, apply them, write replies, until the client leaves,
//! sends `QUIT`, breaks the framing, or the server shuts down.
//!
//! The bytes-to-commands part is the pure parser in `protocol.rs`, what a command does is the
//! business of the connection's [`Session`] and the [`Db`]; this file owns the I/O.

use super::command::Command;
use super::db::Db;
use super::protocol::{encode_frame_error, encode_reply, parse_request, Protocol, Reply};
use super::pubsub::Delivery;
use super::session::Session;
use futures::FutureExt;
use std::future::pending;
use std::io;
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;

/// Replies are written once this many bytes are waiting. Without it, a client pipelining a
/// megabyte of `GET`s for a large value would make the server build gigabytes of replies.
const WRITE_AT: usize = 64 * 1024;

/// Input buffer capacity kept between requests; more is given back once a large request
/// has been answered.
const KEEP_CAPACITY: usize = 4 * READ_CHUNK;

/// How long a closing connection keeps reading (and discarding) what the client still sends.
const LINGER: Duration = Duration::from_millis(500);

// ANCHOR: connection
/// One client's connection: its socket, the bytes it sent that are not answered yet, the
/// replies not written yet, its session (started at its first byte, which tells the
/// protocol), and its idle timer.
pub struct Connection {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
    session: Option<Session>,
    /// How long the client may go without completing a request, or stall a reply; `None`: no
    /// limit.
    idle_timeout: Option<Duration>,
    /// Fires `idle_timeout` after the last completed request. One timer for the connection's
    /// life, pushed back as requests complete: cheaper than a new timer per read.
    idle: Option<Pin<Box<Sleep>>>,
}

/// Why [`Connection::read_more`] stopped waiting.
enum Wait {
    /// More bytes arrived.
    Data,
    /// The client closed its end. A half-received request is dropped; it was never answered.
    ClientLeft,
    /// The server is shutting down, or the client was idle too long: time to close.
    Close,
    /// A message for this subscriber, or the news that it missed some.
    Delivered(Delivery),
}

impl Connection {
    /// A connection to serve, dropped after `idle_timeout` without a completed request.
    pub fn new(stream: TcpStream, idle_timeout: Option<Duration>) -> Connection {
        Connection {
            stream,
            input: Vec::with_capacity(READ_CHUNK),
            output: Vec::new(),
            session: None,
            idle_timeout,
            idle: idle_timeout.map(|timeout| Box::pin(tokio::time::sleep(timeout))),
        }
    }

    /// Serves the client until it leaves, sends `QUIT`, breaks the framing, is idle too long,
    /// falls behind on its subscriptions, or `shutdown` flips to `true`.
    ///
    /// Each round answers every complete request in the buffer, writes all those replies at
    /// once, then reads more: a client that pipelines many requests per write gets its replies
    /// in one write too. Shutdown is only noticed while waiting for the client, never between
    /// a request and its reply: every request that was read gets its reply before the
    /// connection closes, and a write acknowledged with `OK` is already in the store.
    pub async fn serve(mut self, db: &Db, mut shutdown: watch::Receiver<bool>) -> io::Result<()> {
        loop {
            let closing = self.answer_buffered(db).await?;
            self.flush().await?;
            if closing {
                return close_gracefully(self.stream).await;
            }
            match self.read_more(&mut shutdown).await? {
                Wait::Data => {}
                Wait::Delivered(delivery) => {
                    if !self.deliver(delivery) {
                        self.flush().await?;
                        return close_gracefully(self.stream).await;
                    }
                }
                Wait::ClientLeft => return Ok(()),
                Wait::Close => return close_gracefully(self.stream).await,
            }
        }
    }

    /// Answers the complete requests at the front of the input; returns whether the
    /// connection must close (`QUIT`, or a request that cannot be framed).
    async fn answer_buffered(&mut self, db: &Db) -> io::Result<bool> {
        let mut used = 0;
        let closing = loop {
            let Some(session) = &mut self.session else {
                break false; // nothing read yet
            };
            let protocol = session.protocol();
            match parse_request(protocol, &self.input[used..]) {
                Ok(None) => break false,
                Ok(Some((Command::Quit, length))) => {
                    used += length;
                    // Redis acknowledges QUIT; the line protocol just closes, as the original.
                    if protocol != Protocol::Line {
                        encode_reply(protocol, &Reply::Ok, &mut self.output);
                    }
                    break true;
                }
                Ok(Some((command, length))) => {
                    used += length;
                    session.execute(command, db, &mut self.output);
                    if self.output.len() >= WRITE_AT {
                        self.flush().await?;
                    }
                }
                Err(error) => {
                    encode_frame_error(protocol, &error, &mut self.output);
                    used = self.input.len();
                    break true;
                }
            }
        };
        self.input.drain(..used);
        if let (Some(idle), Some(timeout), true) = (&mut self.idle, self.idle_timeout, used > 0) {
            idle.as_mut().reset(Instant::now() + timeout);
        }
        Ok(closing)
    }

    /// Writes the waiting replies, if any, giving up after the idle timeout: a client that
    /// stops reading its replies must not hold its connection (and its slot) forever, which a
    /// plain `write_all` would let it.
    async fn flush(&mut self) -> io::Result<()> {
        if self.output.is_empty() {
            return Ok(());
        }
        let write = self.stream.write_all(&self.output);
        match self.idle_timeout {
            None => write.await?,
            Some(patience) => tokio::time::timeout(patience, write).await.map_err(|_| {
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading its replies",
                )
            })??,
        }
        self.output.clear();
        Ok(())
    }

    /// Waits for more bytes from the client, for a message if it is a subscriber, for
    /// shutdown, or for the idle timer (which a subscriber, who may wait for messages as long
    /// as it likes, does not have).
    async fn read_more(&mut self, shutdown: &mut watch::Receiver<bool>) -> io::Result<Wait> {
        // After a large request, give the memory back rather than keep it for the
        // connection's whole life.
        if self.input.capacity() > KEEP_CAPACITY && self.input.len() < READ_CHUNK {
            self.input.shrink_to(READ_CHUNK);
        }
        self.input.reserve(READ_CHUNK);
        let subscribed = self.session.as_ref().is_some_and(Session::is_subscribed);
        let idle = async {
            match &mut self.idle {
                Some(idle) if !subscribed => idle.as_mut().await,
                _ => pending().await,
            }
        };
        let delivery = async {
            match &mut self.session {
                Some(session) => session.next_delivery().await,
                None => pending().await,
            }
        };
        tokio::select! {
            read = self.stream.read_buf(&mut self.input) => match read? {
                0 => Ok(Wait::ClientLeft),
                _ => {
                    let first_byte = self.input[0];
                    self.session
                        .get_or_insert_with(|| Session::new(Protocol::detect(first_byte)));
                    Ok(Wait::Data)
                }
            },
            delivery = delivery => Ok(Wait::Delivered(delivery)),
            // Also fires if the server dropped the sender: stop either way.
            _ = shutdown.changed() => Ok(Wait::Close),
            () = idle => Ok(Wait::Close),
        }
    }
}
// ANCHOR_END: connection

// ANCHOR: lagged
impl Connection {
    /// Queues a subscriber's message for the client, with any others already waiting (up to
    /// a write's worth), so a busy channel costs one write per batch, not one per message.
    /// Each message's bytes were encoded once for all its subscribers; here they are copied.
    ///
    /// Returns `false` if the subscriber fell so far behind that messages it never read were
    /// overwritten (`Delivery::Lagged`): the caller then writes what is queued and closes
    /// the connection. Skipping the gap would be the other choice, but the client could not
    /// tell; a closed connection tells it that it may have missed messages (`pubsub.rs` has
    /// the whole reasoning). Redis also disconnects such a subscriber.
    fn deliver(&mut self, first: Delivery) -> bool {
        let Some(session) = &mut self.session else {
            return true;
        };
        let mut delivery = first;
        loop {
            match delivery {
                Delivery::Message(message) => {
                    let push = message.encoded(session.protocol());
                    self.output.extend_from_slice(push);
                }
                Delivery::Lagged { .. } => return false,
            }
            if self.output.len() >= WRITE_AT {
                return true;
            }
            // `now_or_never` polls once: another message if one is ready, else stop here.
            match session.next_delivery().now_or_never() {
                Some(next) => delivery = next,
                None => return true,
            }
        }
    }
}
// ANCHOR_END: lagged

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
