//! Runtime bootstrap: how every notebook cell runs async code.
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

use std::future::Future;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use tokio::sync::oneshot;

/// Runs `future` to completion on a fresh multi-thread runtime (one worker per core) and
/// returns its output, like Python's `asyncio.run(main())`.
///
/// The runtime is dropped before this returns: tasks still running are cancelled, which is
/// what `asyncio.run` does with pending tasks too.
pub fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("building a multi-thread tokio runtime")
        .block_on(future)
}

/// Runs `future` to completion on a multi-thread runtime with exactly `workers` worker threads.
///
/// # Panics
///
/// Panics if `workers` is zero (tokio refuses a runtime without workers).
pub fn run_with_workers<F: Future>(workers: usize, future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("building a multi-thread tokio runtime with the given worker count")
        .block_on(future)
}

/// Runs `future` to completion on a current-thread runtime: every task runs on the calling
/// thread, one at a time, which is exactly Python's single-threaded event loop.
pub fn run_current_thread<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("building a current-thread tokio runtime")
        .block_on(future)
}

/// The future a background server is given: it completes when the server is asked to stop.
pub type StopSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A server running on its own thread with its own runtime, stopped when dropped.
///
/// This is how a notebook keeps a server up while its cells come and go: a runtime cannot
/// outlive an evcxr cell, but a thread can, and the thread owns the runtime. The mock HTTP
/// server and the mini Redis both start this way.
#[derive(Debug)]
pub struct ServerThread {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl ServerThread {
    /// Binds `addr`, then runs `serve(listener, stop)` on a new thread named `name`, on a
    /// runtime with `workers` worker threads (0: a current-thread runtime).
    ///
    /// The socket is bound before this returns, so clients can connect at once, and a port
    /// already in use is an error here rather than in the background.
    pub fn start<S, F>(
        name: &str,
        addr: impl ToSocketAddrs,
        workers: usize,
        serve: S,
    ) -> io::Result<ServerThread>
    where
        S: FnOnce(tokio::net::TcpListener, StopSignal) -> F + Send + 'static,
        F: Future<Output = io::Result<()>>,
    {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = match workers {
            0 => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            workers => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name(format!("{name}-worker"))
                .enable_all()
                .build()?,
        };
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
        let server =
            ServerThread::start("echo-test", "127.0.0.1:0", 0, |listener, stop| async move {
                let (mut stream, _) = listener.accept().await?;
                stream.write_all(b"hello").await?;
                stop.await;
                Ok(())
            })
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
        let server = ServerThread::start("failing-test", "127.0.0.1:0", 1, |_, _| async {
            Err(io::Error::other("broken on purpose"))
        })
        .expect("start");
        let error = server.stop().expect_err("the serve error is handed back");
        assert_eq!(error.to_string(), "broken on purpose");
    }

    #[test]
    fn runtime_is_gone_after_run_returns() {
        run(async {});
        assert!(tokio::runtime::Handle::try_current().is_err());
    }
}
