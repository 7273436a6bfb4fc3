//! An event log for the lessons that are about *order*: "the body starts only at the
//! `.await`", "enter, body, exit". Each notebook used to grow its own `Vec` behind a mutex and a
//! little `say` function; this is that, once.
//!
//! Clones share one log, so a clone can go into a task, a thread or a `Drop` impl.

use crate::lock::lock;
use std::sync::{Arc, Mutex};

/// A shared, ordered list of events.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    events: Arc<Mutex<Vec<String>>>,
}

impl EventLog {
    /// An empty log.
    pub fn new() -> EventLog {
        EventLog::default()
    }

    /// Prints `event` and records it: the reader sees the order, the assertion checks it.
    pub fn say(&self, event: impl Into<String>) {
        let event = event.into();
        println!("{event}");
        self.record(event);
    }

    /// Records `event` without printing it.
    pub fn record(&self, event: impl Into<String>) {
        lock(&self.events).push(event.into());
    }

    /// The events so far, oldest first.
    pub fn events(&self) -> Vec<String> {
        lock(&self.events).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_ordered_log() {
        let log = EventLog::new();
        let clone = log.clone();
        log.record("first");
        std::thread::spawn(move || clone.say("second"))
            .join()
            .expect("thread");
        log.record(String::from("third"));
        assert_eq!(log.events(), ["first", "second", "third"]);
    }
}
