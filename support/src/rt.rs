//! Runtime bootstrap: how every notebook cell, and every server the survey runs, gets a runtime.
//!
//! Python has one event loop per thread that lives as long as you like. In evcxr each cell is
//! compiled into its own shared library with its own static copy of tokio, so a runtime built in
//! one cell is a stranger to the tokio code of the next cell ("there is no reactor running").
//! The pattern that works is therefore: every cell that needs async code builds a runtime,
//! runs one future to completion on it, and drops it before the cell ends.
//!
//! Building a runtime costs well under a millisecond, so doing it per cell is cheap. The
//! alternative, a top-level `.await` in the notebook, makes evcxr wrap every later cell in its
//! own `block_on`, after which no cell can build a runtime of its own; the survey avoids it.
//!
//! There is one choice to make about a runtime, how many threads run its tasks ([`Workers`]),
//! and one function that builds it ([`runtime`]). The `run*` helpers are thin generic shells
//! over one non-generic function: a cell that calls `run(async { … })` then compiles only its
//! own future, not tokio's runtime-building and `block_on` code, which `support` compiled once.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::str::FromStr;
use tokio::runtime::{Builder, Runtime};
use tokio::sync::oneshot;

/// How many threads a runtime runs its tasks on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workers {
    /// A multi-thread runtime with one worker per core (tokio's default, `#[tokio::main]`).
    PerCore,
    /// Every task on the thread that calls `block_on`, one at a time: Python's event loop.
    CurrentThread,
    /// A multi-thread runtime with exactly this many workers (at least one).
    Exactly(usize),
}

impl fmt::Display for Workers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workers::PerCore => f.write_str("per-core"),
            Workers::CurrentThread => f.write_str("current-thread"),
            Workers::Exactly(count) => write!(f, "{count}"),
        }
    }
}

impl FromStr for Workers {
    type Err = String;

    /// `per-core`, `current-thread`, or a number of workers from 1 up (the servers' `--workers`).
    fn from_str(text: &str) -> Result<Workers, String> {
        match text {
            "per-core" => Ok(Workers::PerCore),
            "current-thread" => Ok(Workers::CurrentThread),
            count => match count.parse() {
                Ok(count) if count >= 1 => Ok(Workers::Exactly(count)),
                _ => Err(format!(
                    "workers must be per-core, current-thread or a number from 1 up, got {text:?}"
                )),
            },
        }
    }
}

/// Builds a runtime with `workers`, every driver (timers, I/O) enabled; worker threads are
/// named `{name}-worker` so that they can be told apart in a debugger or `top -H`.
///
/// # Errors
///
/// Fails if the operating system refuses the threads or the I/O driver, and for
/// `Workers::Exactly(0)` (tokio needs at least one worker).
pub fn runtime(workers: Workers, name: &str) -> io::Result<Runtime> {
    let mut builder = match workers {
        Workers::CurrentThread => Builder::new_current_thread(),
        Workers::PerCore => Builder::new_multi_thread(),
        Workers::Exactly(0) => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a multi-thread runtime needs at least one worker",
            ))
        }
        Workers::Exactly(count) => {
            let mut builder = Builder::new_multi_thread();
            builder.worker_threads(count);
            builder
        }
    };
    builder
        .thread_name(format!("{name}-worker"))
        .enable_all()
        .build()
}

/// Runs `future` to completion on a fresh multi-thread runtime (one worker per core) and
/// returns its output, like Python's `asyncio.run(main())`.
///
/// The runtime is dropped before this returns: tasks still running are cancelled, which is
/// what `asyncio.run` does with pending tasks too.
pub fn run<F: Future>(future: F) -> F::Output {
    run_on(Workers::PerCore, future)
}

/// Runs `future` to completion on a multi-thread runtime with exactly `workers` worker threads.
///
/// # Panics
///
/// Panics if `workers` is zero (tokio refuses a runtime without workers).
pub fn run_with_workers<F: Future>(workers: usize, future: F) -> F::Output {
    run_on(Workers::Exactly(workers), future)
}

/// Runs `future` to completion on a current-thread runtime: every task runs on the calling
/// thread, one at a time, which is exactly Python's single-threaded event loop.
pub fn run_current_thread<F: Future>(future: F) -> F::Output {
    run_on(Workers::CurrentThread, future)
}

/// Runs `future` to completion on a fresh runtime with `workers`, then drops the runtime.
///
/// # Panics
///
/// Panics if the runtime cannot be built (see [`runtime`]).
pub fn run_on<F: Future>(workers: Workers, future: F) -> F::Output {
    // The generic part stays this small on purpose: it is compiled in every notebook cell.
    let mut output = None;
    block_on_boxed(workers, Box::pin(async { output = Some(future.await) }));
    output.expect("block_on returns only after the future has completed")
}

/// The non-generic core of the `run*` helpers, compiled once in this crate.
///
/// A boxed future needs neither `Send` nor `'static` here: `block_on` runs it on the calling
/// thread, and it only has to outlive this call.
fn block_on_boxed(workers: Workers, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
    runtime(workers, "run")
        .unwrap_or_else(|error| panic!("building a {workers} tokio runtime: {error}"))
        .block_on(future)
}

/// The future a server is given to know when to stop: it completes when the server is asked
/// to stop (the [`ServerThread`] is stopped or dropped, or Ctrl-C, see [`ctrl_c_stop`]).
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Starts listening for Ctrl-C and returns the stop signal that completes when it comes. The
/// server binaries call it before they announce that they listen.
///
/// tokio installs its signal handler on the first poll of `tokio::signal::ctrl_c()`, not when
/// the future is created; so the handler is installed here, at once. Polling it only when the
/// server starts waiting would leave a window, after the banner, in which Ctrl-C kills the
/// process instead of stopping it gracefully. Must be called inside a runtime.
///
/// # Errors
///
/// Fails if the handler cannot be installed.
pub async fn ctrl_c_stop() -> io::Result<StopSignal> {
    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    if let std::task::Poll::Ready(result) = futures::poll!(&mut ctrl_c) {
        // Ready at the first poll: the handler could not be installed, or Ctrl-C came already.
        result?;
        return Ok(Box::pin(std::future::ready(())));
    }
    Ok(Box::pin(async move {
        // An error this late means the handler broke: serve until killed.
        if ctrl_c.await.is_err() {
            std::future::pending::<()>().await;
        }
    }))
}

/// A server running on its own thread with its own runtime, stopped when dropped.
///
/// This is how a notebook keeps a server up while its cells come and go: a runtime cannot
/// outlive an evcxr cell, but a thread can, and the thread owns the runtime. The mock HTTP
/// server and the mini Redis both start this way. It is also a pattern for real programs: a
/// dedicated runtime thread is how synchronous code hosts async code it does not otherwise own.
#[derive(Debug)]
pub struct ServerThread {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl ServerThread {
    /// Binds `addr`, then runs `serve(listener, stop)` on a new thread named `name`, on a
    /// runtime with `workers`.
    ///
    /// The socket is bound before this returns, so clients can connect at once, and a port
    /// already in use is an error here rather than in the background.
    pub fn start<S, F>(
        name: &str,
        addr: impl ToSocketAddrs,
        workers: Workers,
        serve: S,
    ) -> io::Result<ServerThread>
    where
        S: FnOnce(tokio::net::TcpListener, StopSignal) -> F + Send + 'static,
        F: Future<Output = io::Result<()>>,
    {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = runtime(workers, name)?;
        let (stop, stop_requested) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    let stop_signal: StopSignal = Box::pin(async {
                        // An error means the ServerThread was dropped: stop as well.
                        let _ = stop_requested.await;
                    });
                    serve(listener, stop_signal).await
                })
            })?;
        Ok(ServerThread {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Asks the server to stop, waits until it has, and reports how serving ended.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            // The receiver is gone only if the server already ended; join tells why.
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| io::Error::other("the server thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Err(error) = self.stop_and_join() {
            eprintln!("server on {} ended with an error: {error}", self.addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Duration;

    #[test]
    fn run_returns_the_future_output() {
        assert_eq!(run(async { 6 * 7 }), 42);
    }

    #[test]
    fn current_thread_runs_every_task_on_the_calling_thread() {
        let caller = std::thread::current().id();
        let task_threads = run_current_thread(async {
            let handles: Vec<_> = (0..4)
                .map(|_| tokio::spawn(async { std::thread::current().id() }))
                .collect();
            let mut ids = Vec::new();
            for handle in handles {
                ids.push(handle.await.expect("task completes"));
            }
            ids
        });
        assert!(task_threads.iter().all(|id| *id == caller));
    }

    #[test]
    fn with_workers_uses_that_many_worker_threads() {
        let names = run_with_workers(3, async {
            let handles: Vec<_> = (0..64)
                .map(|_| {
                    tokio::spawn(async {
                        // Blocking on purpose: it keeps each worker busy so the
                        // scheduler has to spread the tasks over all of them.
                        std::thread::sleep(Duration::from_millis(5));
                        std::thread::current().id()
                    })
                })
                .collect();
            let mut ids = HashSet::new();
            for handle in handles {
                ids.insert(handle.await.expect("task completes"));
            }
            ids
        });
        assert!(
            names.len() > 1,
            "expected several workers, saw {}",
            names.len()
        );
        assert!(
            names.len() <= 3,
            "expected at most 3 workers, saw {}",
            names.len()
        );
    }

    #[test]
    fn server_thread_serves_until_stopped() {
        use tokio::io::AsyncWriteExt;
        let server = ServerThread::start(
            "echo-test",
            "127.0.0.1:0",
            Workers::CurrentThread,
            |listener, stop| async move {
                let (mut stream, _) = listener.accept().await?;
                stream.write_all(b"hello").await?;
                stop.await;
                Ok(())
            },
        )
        .expect("start");
        assert!(server.addr().ip().is_loopback());
        let mut client = std::net::TcpStream::connect(server.addr()).expect("connect");
        let mut greeting = [0u8; 5];
        std::io::Read::read_exact(&mut client, &mut greeting).expect("read");
        assert_eq!(&greeting, b"hello");
        server.stop().expect("the server ended cleanly");
    }

    #[test]
    fn server_thread_reports_how_serving_ended() {
        let server = ServerThread::start(
            "failing-test",
            "127.0.0.1:0",
            Workers::Exactly(1),
            |_, _| async { Err(io::Error::other("broken on purpose")) },
        )
        .expect("start");
        let error = server.stop().expect_err("the serve error is handed back");
        assert_eq!(error.to_string(), "broken on purpose");
    }

    #[test]
    fn workers_parse_from_the_command_line_words() {
        assert_eq!("per-core".parse(), Ok(Workers::PerCore));
        assert_eq!("current-thread".parse(), Ok(Workers::CurrentThread));
        assert_eq!("3".parse(), Ok(Workers::Exactly(3)));
        for bad in ["0", "-1", "many", ""] {
            assert!(bad.parse::<Workers>().is_err(), "{bad:?} was accepted");
        }
        assert!(runtime(Workers::Exactly(0), "none").is_err());
    }

    #[test]
    fn run_borrows_from_the_caller_and_returns_any_output() {
        // Neither `Send` nor `'static`: the boxed core runs the future on this thread.
        let local = std::rc::Rc::new(String::from("borrowed"));
        let length = run_current_thread(async {
            tokio::task::yield_now().await;
            local.len()
        });
        assert_eq!(length, 8);
    }

    #[test]
    fn runtime_is_gone_after_run_returns() {
        run(async {});
        assert!(tokio::runtime::Handle::try_current().is_err());
    }
}
