//! The mini Redis's data: one map shared by every connection, and the one-lock `EXEC`.

use super::command::Command;
use super::protocol::Reply;
use crate::lock::lock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

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
    state: Arc<Mutex<State>>,
}

/// What the lock protects.
#[derive(Debug, Default)]
struct State {
    entries: HashMap<Vec<u8>, Vec<u8>>,
}

impl Db {
    /// An empty store.
    pub fn new() -> Db {
        Db::default()
    }

    /// Runs one command against the store and returns its reply.
    pub fn apply(&self, command: Command) -> Reply {
        self.state().apply(command)
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.state().entries.get(key).cloned()
    }

    /// Removes `keys`; returns how many of them were present.
    pub fn delete(&self, keys: &[Vec<u8>]) -> usize {
        self.state().delete(keys)
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.state().entries.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Every insert and every removal leaves the map consistent, so a lock poisoned by a
        // panicking connection task is still safe to use (see `crate::lock`).
        lock(&self.state)
    }
}
// ANCHOR_END: db

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
        commands
            .into_iter()
            .map(|command| state.apply(command))
            .collect()
    }
}
// ANCHOR_END: exec_one_lock

impl State {
    /// One command, with the lock already held. The commands that concern one connection
    /// only (`QUIT`, `HELLO`, ...) are its session's business, and are answered with an
    /// error here.
    fn apply(&mut self, command: Command) -> Reply {
        match command {
            Command::Get { key } => Reply::Value(self.entries.get(&key).cloned()),
            Command::Set { key, value } => {
                self.entries.insert(key, value);
                Reply::Ok
            }
            Command::Del { keys } => Reply::Integer(self.delete(&keys) as i64),
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

    fn delete(&mut self, keys: &[Vec<u8>]) -> usize {
        keys.iter()
            .filter(|key| self.entries.remove(key.as_slice()).is_some())
            .count()
    }
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
