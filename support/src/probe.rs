//! A latency probe: how promptly a small task gets to run while other work shares its
//! runtime (part 15).
//!
//! A task runs only when an async worker polls it, and a worker is free to poll only between
//! the `.await`s of the task it is running. Work that keeps every worker busy without
//! reaching an `.await` (a long computation inside an async task, say) delays every other
//! task. The probe makes that visible: it asks to sleep for a fixed period, over and over, and
//! notes how late each wake-up comes. [`probe_while`] runs some work next to it and reports
//! both, and [`Probed`] turns the wake-ups into numbers that can be compared between runs of
//! different lengths: wake-ups per second, and the longest silence as a fraction of the run.

use crate::rt::run_with_workers;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// One wake-up of the probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wakeup {
    /// When it woke, counted from the start of the work.
    pub at: Duration,
    /// How much later than it asked.
    pub late: Duration,
}

/// What [`probe_while`] measured: the work's output and duration, and every wake-up.
#[derive(Clone, Debug)]
pub struct Probed<T> {
    /// What the work returned.
    pub output: T,
    /// How long the work took.
    pub elapsed: Duration,
    /// How long the probe asked to sleep each time.
    pub period: Duration,
    /// The wake-ups, in order. The last one may come shortly after the work ended: the probe
    /// stops at its first wake-up after that.
    pub wakeups: Vec<Wakeup>,
}

/// Runs `work` to completion on a fresh multi-thread runtime with `workers` async workers,
/// next to a probe task on the same runtime that asks to wake up every `period`.
///
/// The probe is running before the work starts. The work itself is polled by the thread that
/// calls this (as with [`run`](crate::run)), so whatever it spawns lands on the same workers
/// as the probe. The work is created before the runtime exists, so it must not touch the
/// runtime until it is polled: an `async` block or an `async fn` call is fine,
/// `tokio::time::sleep(...)` itself is not (it needs a runtime when it is created).
///
/// # Panics
///
/// Panics if `workers` is zero, or if `period` is zero (a probe that never sleeps would keep
/// a worker busy itself).
pub fn probe_while<F: Future>(workers: usize, period: Duration, work: F) -> Probed<F::Output> {
    assert!(!period.is_zero(), "the probe needs a period to sleep");
    run_with_workers(workers, async move {
        let started = Instant::now();
        let done = Arc::new(AtomicBool::new(false));
        let (ready, probe_ready) = oneshot::channel();
        let probe = tokio::spawn(probe(period, started, done.clone(), ready));
        let _ = probe_ready.await;
        let output = work.await;
        let elapsed = started.elapsed();
        done.store(true, Ordering::SeqCst);
        let wakeups = probe.await.expect("the probe does not panic");
        Probed {
            output,
            elapsed,
            period,
            wakeups,
        }
    })
}

/// The probe task: sleep for `period`, note the wake-up, again, until `done`.
async fn probe(
    period: Duration,
    started: Instant,
    done: Arc<AtomicBool>,
    ready: oneshot::Sender<()>,
) -> Vec<Wakeup> {
    let _ = ready.send(());
    let mut wakeups = Vec::new();
    while !done.load(Ordering::SeqCst) {
        let asked = Instant::now();
        tokio::time::sleep(period).await;
        wakeups.push(Wakeup {
            at: started.elapsed(),
            late: asked.elapsed().saturating_sub(period),
        });
    }
    wakeups
}

impl<T> Probed<T> {
    /// The wake-ups that came while the work ran.
    fn during_work(&self) -> impl Iterator<Item = &Wakeup> {
        self.wakeups
            .iter()
            .filter(move |wakeup| wakeup.at <= self.elapsed)
    }

    /// Wake-ups per second while the work ran. A probe that is never held up comes close to
    /// `1 / (period + about 1 ms)`: tokio's timers have millisecond resolution.
    pub fn wakeups_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        match seconds > 0.0 {
            true => self.during_work().count() as f64 / seconds,
            false => 0.0,
        }
    }

    /// The longest stretch of the work during which the probe did not wake up at all,
    /// counting from the start of the work and up to its end.
    pub fn longest_silence(&self) -> Duration {
        let mut previous = Duration::ZERO;
        let mut longest = Duration::ZERO;
        for wakeup in self.during_work() {
            longest = longest.max(wakeup.at - previous);
            previous = wakeup.at;
        }
        longest.max(self.elapsed.saturating_sub(previous))
    }

    /// [`longest_silence`](Probed::longest_silence) as a fraction of the work's duration,
    /// from 0 (never silent) to 1 (silent the whole time): comparable between runs of
    /// different lengths.
    pub fn silent_fraction(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        match seconds > 0.0 {
            true => self.longest_silence().as_secs_f64() / seconds,
            false => 0.0,
        }
    }

    /// How late the latest-coming wake-up was.
    pub fn worst_lateness(&self) -> Duration {
        self.wakeups
            .iter()
            .map(|wakeup| wakeup.late)
            .max()
            .unwrap_or_default()
    }

    /// The wake-ups as `(when, how late)` points in milliseconds, for a line chart.
    pub fn points_ms(&self) -> Vec<(f64, f64)> {
        let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
        self.wakeups
            .iter()
            .map(|wakeup| (ms(wakeup.at), ms(wakeup.late)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn probed(elapsed: u64, wakeups_at: &[u64]) -> Probed<()> {
        Probed {
            output: (),
            elapsed: ms(elapsed),
            period: ms(5),
            wakeups: wakeups_at
                .iter()
                .map(|&at| Wakeup {
                    at: ms(at),
                    late: ms(1),
                })
                .collect(),
        }
    }

    #[test]
    fn silence_counts_from_the_start_and_to_the_end_of_the_work() {
        assert_eq!(probed(100, &[6, 12, 18]).longest_silence(), ms(82));
        assert_eq!(
            probed(100, &[60, 66, 72, 78, 84, 90, 96]).longest_silence(),
            ms(60)
        );
        assert_eq!(probed(100, &[]).longest_silence(), ms(100));
        // A wake-up after the work ended does not stretch the silence past the end.
        assert_eq!(probed(50, &[52]).longest_silence(), ms(50));
        assert!((probed(50, &[52]).silent_fraction() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn rates_count_only_the_wake_ups_during_the_work() {
        let run = probed(100, &[10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
        assert!((run.wakeups_per_second() - 100.0).abs() < 1e-6);
        assert!((run.silent_fraction() - 0.1).abs() < 1e-9);
        assert_eq!(probed(0, &[]).wakeups_per_second(), 0.0);
    }

    #[test]
    fn an_idle_runtime_keeps_the_probe_on_time() {
        let run = probe_while(1, ms(5), async { tokio::time::sleep(ms(150)).await });
        // Ideally about 160 per second; generous for a busy test machine.
        assert!(
            run.wakeups_per_second() > 40.0,
            "{}",
            run.wakeups_per_second()
        );
        assert!(run.silent_fraction() < 0.5, "{:?}", run.longest_silence());
        assert_eq!(run.points_ms().len(), run.wakeups.len());
    }

    #[test]
    fn blocking_the_only_worker_silences_the_probe() {
        let run = probe_while(1, ms(5), async {
            tokio::spawn(async { std::thread::sleep(ms(150)) })
                .await
                .expect("the blocking task ran");
        });
        // The worker the probe needs is blocked for 150 ms from the start.
        assert!(run.longest_silence() >= ms(120), "{:?}", run.wakeups);
        assert!(run.silent_fraction() > 0.7);
        assert!(run.worst_lateness() >= ms(100));
    }
}
