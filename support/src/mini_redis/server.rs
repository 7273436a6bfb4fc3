//! The accept loop: a task per connection, a connection limit, and graceful shutdown.

use super::connection::Connection;
use super::db::Db;
use super::expiry::purge_expired_keys;
use crate::rt::{ServerThread, Workers};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// The address `make mr-server` listens on.
pub const DEFAULT_ADDR: &str = "127.0.0.1:1337";

/// What the server allows its clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Clients served at once; more wait in the kernel's backlog until one leaves.
    pub max_connections: usize,
    /// A client that completes no request for this long is disconnected. Without it, clients
    /// that connect and then idle (or trickle a byte at a time) could keep every slot taken.
    /// `None`: never.
    pub idle_timeout: Option<Duration>,
}

impl Default for Limits {
    /// 1024 clients; five idle minutes.
    fn default() -> Limits {
        Limits {
            max_connections: 1024,
            idle_timeout: Some(Duration::from_secs(300)),
        }
    }
}

/// How long a graceful shutdown waits for connections to finish. A client that stops reading
/// its replies could otherwise hold the server up forever; after this, its task is aborted.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Counters a running server keeps, readable from any thread.
#[derive(Debug, Default)]
pub struct Stats {
    accepted: AtomicU64,
    closed: AtomicU64,
    accept_errors: AtomicU64,
}

impl Stats {
    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections open right now.
    pub fn open(&self) -> u64 {
        // `closed` first: a connection accepted and closed between the two loads then
        // counts in neither, instead of making `closed` exceed `accepted`.
        let closed = self.closed.load(Ordering::SeqCst);
        self.accepted().saturating_sub(closed)
    }

    /// Failed `accept` calls (for example when the process ran out of file descriptors).
    pub fn accept_errors(&self) -> u64 {
        self.accept_errors.load(Ordering::SeqCst)
    }
}

/// Counts a connection as closed when dropped, so a connection task that panics is counted
/// too.
struct OpenConnection(Arc<Stats>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.closed.fetch_add(1, Ordering::SeqCst);
    }
}

// ANCHOR: serve
/// Serves `db` on `listener` until `shutdown` completes, within `limits`; then finishes the
/// requests in flight and returns.
///
/// The limit is a semaphore whose permit is taken *before* `accept`: at the limit, the server
/// stops accepting and further clients wait in the kernel's backlog until someone leaves. The
/// alternative, accepting and then refusing, spends work on clients it will not serve.
pub async fn serve(
    listener: TcpListener,
    db: Db,
    limits: Limits,
    stats: Arc<Stats>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let limit = Arc::new(Semaphore::new(limits.max_connections));
    // Every connection holds a receiver; `send(true)` tells them all to finish.
    let (stop_connections, stop_requested) = watch::channel(false);
    let mut connections = JoinSet::new();
    // One task removes expired keys for the whole store, until shutdown.
    let purger = tokio::spawn(purge_expired_keys(db.clone(), stop_requested.clone()));
    tokio::pin!(shutdown);
    loop {
        let (permit, stream) = tokio::select! {
            accepted = accept_within(&limit, &listener, &stats) => accepted,
            () = &mut shutdown => break,
        };
        let open = OpenConnection(stats.clone());
        let (db, stop_requested) = (db.clone(), stop_requested.clone());
        connections.spawn(async move {
            // A connection error (a reset, say) concerns that client only.
            let connection = Connection::new(stream, limits.idle_timeout);
            let _ = connection.serve(&db, stop_requested).await;
            drop((permit, open));
        });
        // Reap finished tasks as we go, so the set does not grow with every client served.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop_connections.send(true);
    let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    });
    if finished.await.is_err() {
        // Only a client that stopped reading its replies gets here; do not wait forever.
        connections.shutdown().await;
    }
    // It saw the same signal as the connections; serving ends when it has stopped too.
    let _ = purger.await;
    Ok(())
}

/// Waits for a free connection slot, then for a client.
async fn accept_within(
    limit: &Arc<Semaphore>,
    listener: &TcpListener,
    stats: &Stats,
) -> (tokio::sync::OwnedSemaphorePermit, tokio::net::TcpStream) {
    let permit = limit
        .clone()
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                // Replies are small and the protocol is request/reply: send them at once
                // instead of letting Nagle's algorithm hold them back.
                let _ = stream.set_nodelay(true);
                stats.accepted.fetch_add(1, Ordering::SeqCst);
                return (permit, stream);
            }
            Err(_) => {
                // Usually "too many open files". Retrying at once would spin; waiting a
                // little lets other connections close. The server itself stays up.
                stats.accept_errors.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}
// ANCHOR_END: serve

/// A mini Redis running on a background thread; shut down gracefully when dropped.
#[derive(Debug)]
pub struct MiniRedis {
    thread: ServerThread,
    db: Db,
    stats: Arc<Stats>,
}

impl MiniRedis {
    /// Starts a server on 127.0.0.1 with a free port, on a two-worker runtime.
    pub fn start() -> io::Result<MiniRedis> {
        MiniRedis::start_with(Config::default())
    }

    /// Starts a server as `config` says.
    pub fn start_with(config: Config) -> io::Result<MiniRedis> {
        let (db, stats) = (Db::new(), Arc::new(Stats::default()));
        let (serving_db, serving_stats) = (db.clone(), stats.clone());
        let thread = ServerThread::start(
            "mini-redis",
            &*config.addr,
            config.workers,
            move |listener, stop| serve(listener, serving_db, config.limits, serving_stats, stop),
        )?;
        Ok(MiniRedis { thread, db, stats })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.thread.addr()
    }

    /// The store, for looking inside from the outside.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The server's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Shuts down gracefully: stops accepting, answers every request already received, and
    /// returns once every connection is closed.
    pub fn shutdown(self) -> io::Result<()> {
        self.thread.stop()
    }
}

/// How to start a [`MiniRedis`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen; `127.0.0.1:0` picks a free port.
    pub addr: String,
    /// What clients are allowed.
    pub limits: Limits,
    /// The threads of the server's runtime.
    pub workers: Workers,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: "127.0.0.1:0".into(),
            limits: Limits::default(),
            workers: Workers::Exactly(2),
        }
    }
}

impl Config {
    /// The default configuration listening on `addr`.
    pub fn on(addr: impl Into<String>) -> Config {
        Config {
            addr: addr.into(),
            ..Config::default()
        }
    }

    /// This configuration with room for `max_connections` clients at once.
    pub fn max_connections(mut self, max_connections: usize) -> Config {
        self.limits.max_connections = max_connections;
        self
    }

    /// This configuration with another idle timeout (`None`: never).
    pub fn idle_timeout(mut self, idle_timeout: Option<Duration>) -> Config {
        self.limits.idle_timeout = idle_timeout;
        self
    }
}
