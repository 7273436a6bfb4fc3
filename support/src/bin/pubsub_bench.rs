//! `pubsub-bench`: how many pub/sub messages a second a Redis server delivers to its
//! subscribers (used by `make bench`, see bench/run.py). It prints one JSON line.
//!
//! Usage: `pubsub-bench ADDR SUBSCRIBERS MESSAGES BATCH`
//!
//! SUBSCRIBERS connections `SUBSCRIBE` to one channel; one more connection `PUBLISH`es
//! MESSAGES messages to it (rounded up to whole batches), BATCH to a write. The run ends when
//! every subscriber has received every message, and its throughput is the deliveries
//! (SUBSCRIBERS × MESSAGES) per second of that run. It speaks RESP2, which both the mini Redis
//! and redis-server speak without a `HELLO`.
//!
//! It is built to measure the server, not itself: the same client drives every server, and it
//! must cost far less than they do. redis-py would not: it parses every message in Python and
//! builds a dict for it (`PubSub.handle_message`). Measured once on the 2-core machine the
//! survey is developed on, a redis-py subscriber (sync, `get_message`) read about 16,000
//! messages a second from redis-server, which delivered over 400,000 a second to one
//! subscriber of this tool. So:
//!
//! * it runs on one thread (a current-thread runtime), leaving the machine's other core to
//!   the server, whose own share is what we compare;
//! * every message is the same frame, so the bytes each subscriber must receive are known in
//!   advance: a read is compared with them and counted, with no parsing and no allocation;
//! * publishes go BATCH to a write, rendered once;
//! * the publisher runs at most [`WINDOW`] messages ahead of the slowest subscriber (and of
//!   its own replies). Without that bound a fast publisher measures how much a server buffers
//!   for a slow reader, and pushes it into its policy for slow subscribers (redis-server
//!   disconnects one whose output buffer passes 32 MB, `client-output-buffer-limit pubsub`);
//!   with it, what is measured is the rate a server sustains with every subscriber keeping
//!   up. Every message is accounted for: a dropped or altered one fails the run.
//!
//! It reports no latency: with the publisher kept a window ahead, a message waits behind the
//! window's worth of messages before it, so its latency would be the window divided by the
//! throughput (Little's law), a number this tool chose rather than one the server earned.

use serde::Serialize;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// The channel every subscriber listens on.
const CHANNEL: &[u8] = b"bench";
/// Every message's payload: 16 bytes, a small event.
const PAYLOAD: &[u8] = b"0123456789abcdef";
/// How many messages the publisher may be ahead of the slowest reader (besides the batch it
/// is writing). Well under the mini Redis's per-channel buffer (1024 messages,
/// `mini_redis::pubsub::CHANNEL_CAPACITY`), past which it disconnects a subscriber: a
/// subscriber this tool keeps up with is never one the server gives up on.
const WINDOW: usize = 512;
/// How long a reader may wait for its next bytes before the run fails instead of hanging.
const STALL: Duration = Duration::from_secs(10);
/// The size of each read.
const READ_BUFFER: usize = 64 * 1024;

/// The JSON line `make bench` reads.
#[derive(Serialize)]
struct Measured {
    subscribers: usize,
    /// Messages published.
    messages: usize,
    /// Messages received, over all subscribers.
    delivered: usize,
    seconds: f64,
    /// Deliveries per second.
    throughput: f64,
}

/// A RESP2 request: an array of bulk strings.
fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// How far each reader has got, shared by the readers and the publisher (which waits on it).
struct Progress {
    /// Frames received: index 0 is the publisher's own replies, then one per subscriber.
    counts: Vec<AtomicUsize>,
    /// Notified when a count moves; the publisher waits on it when it is a window ahead.
    moved: Notify,
}

impl Progress {
    fn slowest(&self) -> usize {
        let counts = self
            .counts
            .iter()
            .map(|count| count.load(Ordering::Acquire));
        counts.min().unwrap_or(0)
    }
}

/// Reads `total` copies of `frame` from `reader`, comparing every byte, and records its count
/// in `progress.counts[index]` after each read.
async fn read_frames(
    mut reader: impl AsyncRead + Unpin,
    frame: Vec<u8>,
    total: usize,
    progress: Arc<Progress>,
    index: usize,
) -> io::Result<Instant> {
    let mut buffer = vec![0; READ_BUFFER];
    let (mut count, mut offset) = (0, 0);
    while count < total {
        let read = tokio::time::timeout(STALL, reader.read(&mut buffer))
            .await
            .map_err(|_| stalled(index, count, total))??;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "reader {index}: the server closed the connection after {count} of {total}"
                ),
            ));
        }
        let mut chunk = &buffer[..read];
        while !chunk.is_empty() {
            if count == total {
                return Err(wrong_bytes(index, "more than was published", chunk));
            }
            let take = (frame.len() - offset).min(chunk.len());
            if chunk[..take] != frame[offset..offset + take] {
                return Err(wrong_bytes(index, "a frame that differs", chunk));
            }
            (offset, chunk) = (offset + take, &chunk[take..]);
            if offset == frame.len() {
                (offset, count) = (0, count + 1);
            }
        }
        progress.counts[index].store(count, Ordering::Release);
        progress.moved.notify_one();
    }
    Ok(Instant::now())
}

fn stalled(index: usize, count: usize, total: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("reader {index}: nothing for {STALL:?} after {count} of {total} frames"),
    )
}

fn wrong_bytes(index: usize, what: &str, bytes: &[u8]) -> io::Error {
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).into_owned();
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("reader {index} received {what}: {shown:?}"),
    )
}

/// A connection subscribed to [`CHANNEL`], once the server has confirmed it.
async fn subscriber(addr: SocketAddr) -> io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    stream.write_all(&request(&[b"SUBSCRIBE", CHANNEL])).await?;
    let confirmation = [
        &b"*3\r\n$9\r\nsubscribe\r\n"[..],
        format!("${}\r\n", CHANNEL.len()).as_bytes(),
        CHANNEL,
        b"\r\n:1\r\n",
    ]
    .concat();
    let mut received = vec![0; confirmation.len()];
    tokio::time::timeout(STALL, stream.read_exact(&mut received))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "SUBSCRIBE got no reply"))??;
    if received != confirmation {
        return Err(wrong_bytes(0, "an unexpected SUBSCRIBE reply", &received));
    }
    Ok(stream)
}

/// The shape of a run.
#[derive(Clone, Copy)]
struct Spec {
    subscribers: usize,
    messages: usize,
    batch: usize,
}

/// The whole run: subscribe, publish, wait for every delivery.
async fn run(addr: SocketAddr, spec: Spec) -> io::Result<Measured> {
    let Spec {
        subscribers, batch, ..
    } = spec;
    let messages = spec.messages.div_ceil(batch) * batch;
    let mut streams = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        streams.push(subscriber(addr).await?);
    }
    let publisher = TcpStream::connect(addr).await?;
    publisher.set_nodelay(true)?;
    let (replies, mut writer) = publisher.into_split();

    let progress = Arc::new(Progress {
        counts: (0..=subscribers).map(|_| AtomicUsize::new(0)).collect(),
        moved: Notify::new(),
    });
    let publish = request(&[b"PUBLISH", CHANNEL, PAYLOAD]).repeat(batch);
    // Every PUBLISH is answered with the number of subscribers that received it.
    let reply = format!(":{subscribers}\r\n").into_bytes();
    let message = request(&[b"message", CHANNEL, PAYLOAD]);

    let mut readers = tokio::task::JoinSet::new();
    readers.spawn(read_frames(replies, reply, messages, progress.clone(), 0));
    for (index, stream) in streams.into_iter().enumerate() {
        let frame = message.clone();
        readers.spawn(read_frames(
            stream,
            frame,
            messages,
            progress.clone(),
            index + 1,
        ));
    }

    let started = Instant::now();
    let mut published = 0;
    while published < messages {
        while published > progress.slowest() + WINDOW {
            tokio::time::timeout(STALL, progress.moved.notified())
                .await
                .map_err(|_| stalled(0, progress.slowest(), messages))?;
        }
        writer.write_all(&publish).await?;
        published += batch;
    }
    let mut finished = started;
    while let Some(reader) = readers.join_next().await {
        finished = finished.max(reader.map_err(io::Error::other)??);
    }
    let seconds = (finished - started).as_secs_f64();
    let delivered = messages * subscribers;
    Ok(Measured {
        subscribers,
        messages,
        delivered,
        seconds,
        throughput: delivered as f64 / seconds.max(f64::EPSILON),
    })
}

fn parse_args() -> Result<(SocketAddr, Spec), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, subscribers, messages, batch] = args.as_slice() else {
        return Err("usage: pubsub-bench ADDR SUBSCRIBERS MESSAGES BATCH".into());
    };
    let positive = |name: &str, text: &str| match text.parse::<usize>() {
        Ok(number) if number > 0 => Ok(number),
        _ => Err(format!(
            "{name} must be a positive whole number, got {text:?}"
        )),
    };
    let addr = addr
        .parse()
        .map_err(|_| format!("ADDR must be HOST:PORT, got {addr:?}"))?;
    let spec = Spec {
        subscribers: positive("SUBSCRIBERS", subscribers)?,
        messages: positive("MESSAGES", messages)?,
        batch: positive("BATCH", batch)?,
    };
    Ok((addr, spec))
}

fn main() -> ExitCode {
    let (addr, spec) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("pubsub-bench: {message}");
            return ExitCode::from(2);
        }
    };
    match support::rt::run_current_thread(run(addr, spec)) {
        Ok(measured) => {
            println!(
                "{}",
                serde_json::to_string(&measured).expect("plain numbers serialise")
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("pubsub-bench: run against {addr} failed: {error}");
            ExitCode::FAILURE
        }
    }
}
