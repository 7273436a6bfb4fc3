//! `MULTI` ... `EXEC`: a client's queue of commands, applied all at once.
//!
//! Between `MULTI` and `EXEC` a client's commands are not run but queued, each answered with
//! `+QUEUED`. `EXEC` then applies the whole queue while holding the store's lock once (see
//! [`Db::apply_all`]), so no other client's command lands in between, and no other client
//! sees half of the transaction. A client that disconnects before `EXEC` leaves nothing
//! applied: the queue only ever lived in its connection's session, which is dropped with it.
//!
//! As in Redis, a command refused while queuing (unknown, or with the wrong number of
//! arguments) dooms the transaction: `EXEC` then answers `EXECABORT` and applies nothing. A
//! command whose arguments are only found wrong when it runs (`SET k v EX abc`) fails alone,
//! inside `EXEC`'s reply, and the others apply: Redis has no rollback, and neither do we.

use super::command::Command;
use super::db::Db;
use super::protocol::Reply;

/// A transaction being queued, from `MULTI` to `EXEC` or `DISCARD`.
#[derive(Debug, Default)]
pub struct Transaction {
    queued: Vec<Command>,
    /// Whether a command was refused while queuing; `EXEC` then applies nothing.
    doomed: bool,
}

impl Transaction {
    /// Queues `command`, or refuses it; returns the reply for the client.
    pub fn queue(&mut self, command: Command) -> Reply {
        match command {
            Command::Invalid { reason } => {
                self.doomed = true;
                Reply::Error(reason)
            }
            // The commands that change the connection itself run at once in Redis, or are
            // queued and change it during EXEC. Neither is worth it here: they are refused,
            // and the transaction with them, so that nothing half-happens.
            command if command.is_session_command() => {
                self.doomed = true;
                Reply::Error(format!(
                    "{} inside MULTI is not allowed",
                    command.name().to_uppercase()
                ))
            }
            command => {
                self.queued.push(command);
                Reply::Queued
            }
        }
    }

    /// `EXEC`: applies the queue as one step, or nothing if a command was refused.
    pub fn exec(self, db: &Db) -> Reply {
        match self.doomed {
            true => Reply::ExecAbort,
            false => Reply::Array(db.apply_all(self.queued)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_applies_the_queue_and_replies_once_per_command() {
        let db = Db::new();
        let mut transaction = Transaction::default();
        assert_eq!(transaction.queue(Command::set("k", "v")), Reply::Queued);
        let get = Command::Get { key: b"k".to_vec() };
        assert_eq!(transaction.queue(get), Reply::Queued);
        assert!(db.is_empty(), "nothing applies before EXEC");
        assert_eq!(
            transaction.exec(&db),
            Reply::Array(vec![Reply::Ok, Reply::bulk("v")])
        );
    }

    #[test]
    fn a_refused_command_aborts_the_whole_transaction() {
        let db = Db::new();
        let mut transaction = Transaction::default();
        transaction.queue(Command::set("k", "v"));
        let refused = transaction.queue(Command::Invalid {
            reason: "nope".into(),
        });
        assert_eq!(refused, Reply::Error("nope".into()));
        assert_eq!(transaction.exec(&db), Reply::ExecAbort);
        assert!(db.is_empty(), "nothing was applied");
    }
}
