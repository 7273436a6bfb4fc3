//! The mini Redis's data: one map shared by every connection, each key with an optional
//! deadline, and the one-lock `EXEC`.
//!
//! A key past its deadline is never returned: every read checks the deadline. Removing it is
//! the purge task's job (`expiry.rs`), which sleeps until the soonest deadline; this file
//! wakes it when a command sets a sooner one.

use super::command::{invalid_expire_time, Command, SetCondition, SetExpiry, TimeUnit};
use super::protocol::Reply;
use super::pubsub::{Message, Registry, Subscription};
use crate::lock::lock;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use tokio::time::Instant;

// ANCHOR: db
/// The key-value store, shared by all connection tasks. Cloning it is cheap: every clone is
/// a handle to the same map.
///
/// Why a `std::sync::Mutex` and not `tokio::sync::Mutex`? The lock is held for a few hash
/// map operations and never across an `.await`, so no task ever waits on it for long, and a
/// blocking lock is both the faster and the simpler choice (tokio's own docs say the same).
/// tokio's mutex exists for the other case: a lock that must stay held while the task awaits
/// something, such as I/O. Holding a std guard across an `.await` would not even compile in a
/// spawned task, because the guard is not `Send`.
#[derive(Clone, Debug, Default)]
pub struct Db {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Wakes the purge task when a deadline sooner than the one it sleeps until is set.
    purge_wakeup: Notify,
}

/// What the lock protects: the map, every deadline in it (soonest first), and the pub/sub
/// channels.
#[derive(Debug, Default)]
struct State {
    entries: HashMap<Vec<u8>, Entry>,
    /// `(deadline, key)` for every key that has one: the purge task's to-do list, in order.
    deadlines: BTreeSet<(Instant, Vec<u8>)>,
    pubsub: Registry,
}

#[derive(Debug)]
struct Entry {
    value: Vec<u8>,
    expires_at: Option<Instant>,
}
// ANCHOR_END: db

impl Db {
    /// An empty store.
    pub fn new() -> Db {
        Db::default()
    }

    /// Runs one command against the store and returns its reply.
    pub fn apply(&self, command: Command) -> Reply {
        let mut state = self.state();
        let soonest_before = state.next_deadline();
        let reply = state.apply(command, Instant::now());
        self.wake_purger_if_sooner(soonest_before, state.next_deadline());
        reply
    }

    /// The value stored under `key`, unless it has expired.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let state = self.state();
        state
            .live(key, Instant::now())
            .map(|entry| entry.value.clone())
    }

    /// Removes `keys`; returns how many of them were present.
    pub fn delete(&self, keys: &[Vec<u8>]) -> usize {
        self.state().delete(keys, Instant::now())
    }

    /// How many keys the map holds, counting expired keys the purge task has not removed
    /// yet: this is what the memory holds, and how a test sees the purge task at work.
    pub fn len(&self) -> usize {
        self.state().entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every key whose deadline has passed; returns the next deadline, if any.
    pub(super) fn purge_expired(&self) -> Option<Instant> {
        let mut state = self.state();
        let now = Instant::now();
        while let Some((deadline, key)) = state.deadlines.first().cloned() {
            if deadline > now {
                return Some(deadline);
            }
            state.deadlines.remove(&(deadline, key.clone()));
            state.entries.remove(&key);
        }
        None
    }

    /// A receiver of what is published to `subscription` from now on.
    pub fn subscribe(&self, subscription: &Subscription) -> broadcast::Receiver<Arc<Message>> {
        self.state().pubsub.subscribe(subscription)
    }

    /// Forgets the broadcast channel of `subscription` if nobody receives from it any more.
    pub fn forget_if_unused(&self, subscription: &Subscription) {
        self.state().pubsub.forget_if_unused(subscription);
    }

    /// What the purge task waits on besides its deadline.
    pub(super) fn purge_wakeup(&self) -> &Notify {
        &self.shared.purge_wakeup
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every command leaves the map and the deadlines consistent before it returns (no
        // step in between can panic), so a lock poisoned by a panicking connection task is
        // still safe to use (see `crate::lock`).
        lock(&self.shared.state)
    }
}

// ANCHOR: exec_one_lock
impl Db {
    /// Runs `commands` in order as one step (`EXEC`): the lock is taken once for all of
    /// them, so no other connection's command can run in between, nor see the store with
    /// only some of them applied.
    ///
    /// The alternative, calling [`Db::apply`] per command, would take and release the lock
    /// each time: each command atomic, the transaction not.
    pub fn apply_all(&self, commands: Vec<Command>) -> Vec<Reply> {
        let mut state = self.state();
        let soonest_before = state.next_deadline();
        let replies = commands
            .into_iter()
            .map(|command| state.apply(command, Instant::now()))
            .collect();
        self.wake_purger_if_sooner(soonest_before, state.next_deadline());
        replies
    }
}
// ANCHOR_END: exec_one_lock

// ANCHOR: wake_purger
impl Db {
    /// Wakes the purge task if the soonest deadline is now earlier than it was: the task may
    /// be asleep until the old one, and would remove the new key late.
    ///
    /// `notify_one` stores a permit when the task is not waiting yet (it may be between two
    /// waits), so the wake-up is not lost: its next `notified().await` returns at once. A
    /// later deadline needs no wake-up; the task gets to it after the sooner one.
    fn wake_purger_if_sooner(&self, before: Option<Instant>, after: Option<Instant>) {
        let sooner = match (after, before) {
            (Some(after), Some(before)) => after < before,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if sooner {
            self.shared.purge_wakeup.notify_one();
        }
    }
}
// ANCHOR_END: wake_purger

impl State {
    /// One command, with the lock already held. The commands that concern one connection
    /// only (`QUIT`, `HELLO`, ...) are its session's business, and are answered with an
    /// error here.
    fn apply(&mut self, command: Command, now: Instant) -> Reply {
        match command {
            Command::Get { key } => Reply::Value(self.live(&key, now).map(|e| e.value.clone())),
            Command::Set {
                key,
                value,
                expiry,
                condition,
            } => self.set(key, value, expiry, condition, now),
            Command::Del { keys } => Reply::Integer(self.delete(&keys, now) as i64),
            Command::Expire {
                key,
                milliseconds,
                unit,
            } => self.expire(key, milliseconds, unit, now),
            Command::Ttl { key, unit } => Reply::Integer(self.ttl(&key, unit, now)),
            Command::Persist { key } => Reply::Integer(self.persist(&key, now) as i64),
            Command::Publish { channel, message } => {
                Reply::Integer(self.pubsub.publish(channel, message) as i64)
            }
            Command::Ping { message } => Reply::Pong(message),
            Command::Echo { message } => Reply::bulk(message),
            Command::ConfigGet { parameter } => Reply::Map(settings(&parameter)),
            Command::Invalid { reason } | Command::BadArgument { reason } => Reply::Error(reason),
            session_command => Reply::Error(format!(
                "{} is a connection's command",
                session_command.name()
            )),
        }
    }

    /// The entry under `key`, unless its deadline has passed.
    fn live(&self, key: &[u8], now: Instant) -> Option<&Entry> {
        let entry = self.entries.get(key)?;
        match entry.expires_at {
            Some(deadline) if deadline <= now => None,
            _ => Some(entry),
        }
    }

    fn set(
        &mut self,
        key: Vec<u8>,
        value: Vec<u8>,
        expiry: SetExpiry,
        condition: SetCondition,
        now: Instant,
    ) -> Reply {
        let old = self.live(&key, now);
        let allowed = match condition {
            SetCondition::Always => true,
            SetCondition::IfAbsent => old.is_none(),
            SetCondition::IfPresent => old.is_some(),
        };
        if !allowed {
            return Reply::Value(None);
        }
        let expires_at = match expiry {
            SetExpiry::Never => None,
            SetExpiry::Keep => old.and_then(|entry| entry.expires_at),
            SetExpiry::After { milliseconds, .. } => match deadline(milliseconds, now) {
                Some(deadline) => Some(deadline),
                None => return Reply::Error(invalid_expire_time("set")),
            },
        };
        self.insert(key, Entry { value, expires_at });
        Reply::Ok
    }

    /// `EXPIRE`: a deadline for a key that is there; a time not in the future deletes it.
    fn expire(&mut self, key: Vec<u8>, milliseconds: i64, unit: TimeUnit, now: Instant) -> Reply {
        let Some(deadline) = deadline(milliseconds.max(0), now) else {
            return Reply::Error(invalid_expire_time(unit.expire_command()));
        };
        let Some(entry) = self.remove(&key, now) else {
            return Reply::Integer(0);
        };
        if milliseconds > 0 {
            let value = entry.value;
            let expires_at = Some(deadline);
            self.insert(key, Entry { value, expires_at });
        }
        Reply::Integer(1)
    }

    /// `TTL`/`PTTL`: -2 if the key is not there, -1 if it has no deadline, or the time left
    /// (in seconds rounded to the nearest, as Redis does).
    fn ttl(&self, key: &[u8], unit: TimeUnit, now: Instant) -> i64 {
        let Some(entry) = self.live(key, now) else {
            return -2;
        };
        let Some(deadline) = entry.expires_at else {
            return -1;
        };
        let left = deadline.saturating_duration_since(now).as_millis();
        let left = i64::try_from(left).unwrap_or(i64::MAX);
        match unit {
            TimeUnit::Milliseconds => left,
            TimeUnit::Seconds => (left + 500) / 1000,
        }
    }

    /// `PERSIST`: whether the key was there with a deadline, which is now gone.
    fn persist(&mut self, key: &[u8], now: Instant) -> bool {
        match self.live(key, now).and_then(|entry| entry.expires_at) {
            Some(_) => {
                let entry = self.remove(key, now).expect("the key is there");
                let value = entry.value;
                self.insert(
                    key.to_vec(),
                    Entry {
                        value,
                        expires_at: None,
                    },
                );
                true
            }
            None => false,
        }
    }

    fn delete(&mut self, keys: &[Vec<u8>], now: Instant) -> usize {
        keys.iter()
            .filter(|key| self.remove(key, now).is_some())
            .count()
    }

    /// Stores `entry` under `key`, replacing the old entry and its deadline.
    fn insert(&mut self, key: Vec<u8>, entry: Entry) {
        if let Some(deadline) = entry.expires_at {
            self.deadlines.insert((deadline, key.clone()));
        }
        if let Some(Entry {
            expires_at: Some(old_deadline),
            ..
        }) = self.entries.insert(key.clone(), entry)
        {
            self.deadlines.remove(&(old_deadline, key));
        }
    }

    /// Removes `key` and its deadline; returns the entry if it was live.
    fn remove(&mut self, key: &[u8], now: Instant) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        if let Some(deadline) = entry.expires_at {
            self.deadlines.remove(&(deadline, key.to_vec()));
            if deadline <= now {
                return None; // it had expired: as if it were not there
            }
        }
        Some(entry)
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(deadline, _)| *deadline)
    }
}

/// `milliseconds` from `now`, if the clock can count that far, as Redis checks it: the
/// deadline in milliseconds since 1970 must fit in an `i64`.
fn deadline(milliseconds: i64, now: Instant) -> Option<Instant> {
    let since_1970 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let since_1970 = i64::try_from(since_1970.as_millis()).ok()?;
    since_1970.checked_add(milliseconds)?;
    now.checked_add(Duration::from_millis(u64::try_from(milliseconds).ok()?))
}

/// The answer to `CONFIG GET parameter`: the two persistence settings Redis tools ask about
/// (nothing is saved to disk), and no others.
fn settings(parameter: &[u8]) -> Vec<(Vec<u8>, Reply)> {
    let value: &[u8] = match parameter.to_ascii_lowercase().as_slice() {
        b"save" => b"",
        b"appendonly" => b"no",
        _ => return Vec::new(),
    };
    vec![(parameter.to_ascii_lowercase(), Reply::bulk(value))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_change_and_read_the_store() {
        let db = Db::new();
        let key = || b"k".to_vec();
        assert_eq!(db.apply(Command::Get { key: key() }), Reply::Value(None));
        assert_eq!(db.apply(Command::set(key(), "v")), Reply::Ok);
        assert_eq!(
            db.clone().get(b"k"),
            Some(b"v".to_vec()),
            "clones share the map"
        );
        let del = Command::Del {
            keys: vec![key(), b"absent".to_vec()],
        };
        assert_eq!(db.apply(del), Reply::Integer(1));
        assert!(db.is_empty());
        assert_eq!(
            db.apply(Command::Invalid {
                reason: "nope".into()
            }),
            Reply::Error("nope".into())
        );
    }
}
