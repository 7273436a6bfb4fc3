//! The purge task: removes keys whose deadline has passed, so that an expired key does not
//! hold memory until someone happens to read it.
//!
//! Reads never return an expired key (`Db` checks the deadline on every read), so the task
//! is about memory, not correctness. It sleeps until the soonest deadline, not on a fixed
//! tick: no wake-ups while nothing is due, and no key left over for a whole tick. The cost is
//! that a command setting a *sooner* deadline must wake it, which `Db` does through a tokio
//! `Notify`. One task serves the whole store; it stops with the server's graceful shutdown.

use super::db::Db;
use std::future::pending;
use tokio::sync::watch;

// ANCHOR: purge_task
/// Removes expired keys from `db` until `shutdown` changes (or its sender is dropped).
///
/// Each round purges what is due, then waits for the first of three things: the next
/// deadline, a wake-up from a command that set a sooner one, or shutdown. After a wake-up it
/// simply goes round again: purging is cheap when nothing is due, and it recomputes the
/// deadline to sleep until.
pub async fn purge_expired_keys(db: Db, mut shutdown: watch::Receiver<bool>) {
    loop {
        let next_deadline = db.purge_expired();
        let deadline_passed = async {
            match next_deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => pending().await, // no deadlines: only a wake-up can bring work
            }
        };
        tokio::select! {
            () = deadline_passed => {}
            () = db.purge_wakeup().notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}
// ANCHOR_END: purge_task

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mini_redis::command::{Command, SetCondition, SetExpiry, TimeUnit};
    use std::time::Duration;

    fn set_px(key: &str, milliseconds: i64) -> Command {
        Command::Set {
            key: key.into(),
            value: b"v".to_vec(),
            expiry: SetExpiry::After {
                milliseconds,
                unit: TimeUnit::Milliseconds,
            },
            condition: SetCondition::Always,
        }
    }

    /// Polls `done` every 10 ms for up to five seconds.
    async fn eventually(done: impl Fn() -> bool) -> bool {
        for _ in 0..500 {
            if done() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        done()
    }

    #[tokio::test]
    async fn a_sooner_deadline_wakes_the_task_and_shutdown_stops_it() {
        let db = Db::new();
        // The task first sleeps until an hour from now...
        db.apply(set_px("late", 3_600_000));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(purge_expired_keys(db.clone(), stopped));
        tokio::time::sleep(Duration::from_millis(50)).await;
        // ...so only the wake-up can make it remove this key in time.
        db.apply(set_px("soon", 50));
        assert!(
            eventually(|| db.len() == 1).await,
            "the sooner key was purged"
        );
        assert!(db.get(b"late").is_some(), "the later key stays");
        stop.send(true).expect("the task listens");
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the task stopped on shutdown")
            .expect("no panic");
    }
}
