//! One client's session: what a connection remembers between its requests (the protocol it
//! asked for, its name, an open transaction) and the commands that concern only that
//! connection.
//!
//! The store's commands go to [`Db`]; `HELLO`, `CLIENT`, `SELECT`, `COMMAND` and the
//! transaction commands are answered here, because their effect (or their answer) belongs to
//! this client alone.

use super::command::Command;
use super::db::Db;
use super::protocol::{encode_reply, Protocol, Reply};
use super::transaction::Transaction;
use std::sync::atomic::{AtomicI64, Ordering};

/// Client ids, as `CLIENT ID` and `HELLO` report them: unique for the process's life.
static NEXT_CLIENT_ID: AtomicI64 = AtomicI64::new(1);

/// The state of one client's connection.
#[derive(Debug)]
pub struct Session {
    protocol: Protocol,
    id: i64,
    name: Option<Vec<u8>>,
    /// The queue since `MULTI`, if a transaction is open.
    transaction: Option<Transaction>,
}

impl Session {
    /// A new client's session, speaking `protocol` (from its first byte).
    pub fn new(protocol: Protocol) -> Session {
        Session {
            protocol,
            id: NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed),
            name: None,
            transaction: None,
        }
    }

    /// The protocol requests are parsed and replies encoded in, which `HELLO` can change.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Runs `command` and appends its reply, encoded for this session, to `out`. (`QUIT` is
    /// the connection's business: it closes.)
    pub fn execute(&mut self, command: Command, db: &Db, out: &mut Vec<u8>) {
        let reply = match &mut self.transaction {
            Some(transaction) => match command {
                Command::Exec => self.take_transaction().exec(db),
                Command::Discard => {
                    self.transaction = None;
                    Reply::Ok
                }
                // Refused, but the open transaction stays open, as in Redis.
                Command::Multi => Reply::Error("MULTI calls can not be nested".into()),
                command => transaction.queue(command),
            },
            None => self.run(command, db),
        };
        encode_reply(self.protocol, &reply, out);
    }

    /// A command outside a transaction.
    fn run(&mut self, command: Command, db: &Db) -> Reply {
        match command {
            Command::Hello { version } => self.hello(version),
            Command::Select | Command::ClientSetInfo => Reply::Ok,
            Command::ClientSetName { name } => {
                self.name = Some(name);
                Reply::Ok
            }
            Command::ClientGetName => Reply::Value(self.name.clone()),
            Command::ClientId => Reply::Integer(self.id),
            // An empty table: nothing for redis-cli to hint, and no error on its start.
            Command::CommandTable { docs: true } => Reply::Map(Vec::new()),
            Command::CommandTable { docs: false } => Reply::Array(Vec::new()),
            Command::Multi => {
                self.transaction = Some(Transaction::default());
                Reply::Ok
            }
            Command::Exec => Reply::Error("EXEC without MULTI".into()),
            Command::Discard => Reply::Error("DISCARD without MULTI".into()),
            command => db.apply(command),
        }
    }

    fn take_transaction(&mut self) -> Transaction {
        self.transaction.take().unwrap_or_default()
    }

    /// `HELLO`: switch protocols if asked, then describe the server, in the new protocol.
    fn hello(&mut self, version: Option<i64>) -> Reply {
        self.protocol = match version {
            None => self.protocol,
            Some(2) => Protocol::Resp,
            Some(3) => Protocol::Resp3,
            Some(_) => return Reply::NoProto,
        };
        let proto = if self.protocol == Protocol::Resp3 {
            3
        } else {
            2
        };
        let field = |name: &str, value: Reply| (name.as_bytes().to_vec(), value);
        Reply::Map(vec![
            field("server", Reply::bulk("mini-redis")),
            field("version", Reply::bulk(env!("CARGO_PKG_VERSION"))),
            field("proto", Reply::Integer(proto)),
            field("id", Reply::Integer(self.id)),
            field("mode", Reply::bulk("standalone")),
            field("role", Reply::bulk("master")),
            field("modules", Reply::Array(Vec::new())),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(session: &mut Session, command: Command) -> String {
        let mut out = Vec::new();
        session.execute(command, &Db::new(), &mut out);
        String::from_utf8(out).expect("text")
    }

    #[test]
    fn hello_switches_the_protocol_of_the_replies_that_follow() {
        let mut session = Session::new(Protocol::Resp);
        let get = || Command::Get { key: b"k".to_vec() };
        assert_eq!(run(&mut session, get()), "$-1\r\n");
        let hello = run(&mut session, Command::Hello { version: Some(3) });
        assert!(hello.starts_with("%7\r\n"), "{hello}");
        assert!(hello.contains("$5\r\nproto\r\n:3\r\n"), "{hello}");
        assert_eq!(run(&mut session, get()), "_\r\n");
        let refused = run(&mut session, Command::Hello { version: Some(4) });
        assert_eq!(refused, "-NOPROTO unsupported protocol version\r\n");
        assert_eq!(
            session.protocol(),
            Protocol::Resp3,
            "unchanged by a refusal"
        );
        let back = run(&mut session, Command::Hello { version: Some(2) });
        assert!(back.starts_with("*14\r\n"), "{back}");
        assert_eq!(run(&mut session, get()), "$-1\r\n");
    }

    #[test]
    fn client_names_are_kept_per_session() {
        let mut session = Session::new(Protocol::Resp);
        assert_eq!(run(&mut session, Command::ClientGetName), "$-1\r\n");
        let name = Command::ClientSetName {
            name: b"worker".to_vec(),
        };
        assert_eq!(run(&mut session, name), "+OK\r\n");
        assert_eq!(
            run(&mut session, Command::ClientGetName),
            "$6\r\nworker\r\n"
        );
        let other = Session::new(Protocol::Resp);
        assert_ne!(other.id, session.id);
    }
}
