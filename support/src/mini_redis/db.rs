//! The mini Redis's data: one map shared by every connection.

use super::protocol::{Command, Reply};
use crate::lock::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

// ANCHOR: db
/// The key-value store, shared by all connection tasks. Cloning it is cheap: every clone is
/// a handle to the same map.
///
/// Why a `std::sync::Mutex` and not `tokio::sync::Mutex`? The lock is held for one hash map
/// operation and never across an `.await`, so no task ever waits on it for long, and a
/// blocking lock is both the faster and the simpler choice (tokio's own docs say the same).
/// tokio's mutex exists for the other case: a lock that must stay held while the task awaits
/// something, such as I/O. Holding a std guard across an `.await` would not even compile in a
/// spawned task, because the guard is not `Send`.
#[derive(Clone, Debug, Default)]
pub struct Db {
    entries: Arc<Mutex<HashMap<Vec<u8>, Vec<u8>>>>,
}

impl Db {
    /// An empty store.
    pub fn new() -> Db {
        Db::default()
    }

    /// Runs one command against the store and returns its reply. The commands that concern
    /// one connection only (`QUIT`, `HELLO`, ...) are its session's business, and are
    /// answered with an error here.
    pub fn apply(&self, command: Command) -> Reply {
        match command {
            Command::Get { key } => Reply::Value(self.get(&key)),
            Command::Set { key, value } => {
                self.set(key, value);
                Reply::Ok
            }
            Command::Del { keys } => Reply::Integer(self.delete(&keys) as i64),
            Command::Ping { message } => Reply::Pong(message),
            Command::Echo { message } => Reply::bulk(message),
            Command::ConfigGet { parameter } => Reply::Map(settings(&parameter)),
            Command::Invalid { reason } | Command::BadArgument { reason } => Reply::Error(reason),
            session_command => Reply::Error(format!("{session_command} is a connection's command")),
        }
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.entries().get(key).cloned()
    }

    /// Stores `value` under `key`, replacing any earlier value.
    pub fn set(&self, key: Vec<u8>, value: Vec<u8>) {
        self.entries().insert(key, value);
    }

    /// Removes `keys`; returns how many of them were present.
    pub fn delete(&self, keys: &[Vec<u8>]) -> usize {
        let mut entries = self.entries();
        keys.iter()
            .filter(|key| entries.remove(key.as_slice()).is_some())
            .count()
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<Vec<u8>, Vec<u8>>> {
        // Every insert and every removal leaves the map consistent, so a lock poisoned by a
        // panicking connection task is still safe to use (see `crate::lock`).
        lock(&self.entries)
    }
}
// ANCHOR_END: db

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
