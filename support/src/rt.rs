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
    fn runtime_is_gone_after_run_returns() {
        run(async {});
        assert!(tokio::runtime::Handle::try_current().is_err());
    }
}
