//! One client's session: what a connection remembers between its requests (the protocol it
//! asked for, its name, an open transaction, its subscriptions) and the commands that concern
//! only that connection.
//!
//! The store's commands go to [`Db`]; `HELLO`, `CLIENT`, `SELECT`, `COMMAND`, the transaction
//! and the subscription commands are answered here, because their effect (or their answer)
//! belongs to this client alone.
//!
//! **Subscribed mode.** On RESP2, a client with subscriptions may only subscribe, unsubscribe,
//! `PING` and `QUIT`, as in Redis: its connection now carries messages, and RESP2 has no way
//! to tell a message from a reply. RESP3 has (messages are pushes), so there, as in Redis,
//! every command stays allowed.

use super::command::Command;
use super::db::Db;
use super::protocol::{encode_reply, Protocol, Reply};
use super::pubsub::{Delivery, Subscription, Subscriptions};
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
    subscriptions: Subscriptions,
}

impl Session {
    /// A new client's session, speaking `protocol` (from its first byte).
    pub fn new(protocol: Protocol) -> Session {
        Session {
            protocol,
            id: NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed),
            name: None,
            transaction: None,
            subscriptions: Subscriptions::default(),
        }
    }

    /// The protocol requests are parsed and replies encoded in, which `HELLO` can change.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Runs `command` and appends its reply, encoded for this session, to `out`. (`QUIT` is
    /// the connection's business: it closes.)
    pub fn execute(&mut self, command: Command, db: &Db, out: &mut Vec<u8>) {
        if let Some(refusal) = self.refusal_in_subscribed_mode(&command) {
            return self.encode(&refusal, out);
        }
        let ends_transaction = matches!(command, Command::Exec | Command::Discard);
        let reply = match &mut self.transaction {
            Some(transaction) => match command {
                Command::Exec => std::mem::take(transaction).exec(db),
                Command::Discard => Reply::Ok,
                // Refused, but the open transaction stays open, as in Redis.
                Command::Multi => Reply::Error("MULTI calls can not be nested".into()),
                command => transaction.queue(command),
            },
            None => match command {
                Command::Subscribe { names, patterns } => {
                    return self.subscribe(names, patterns, db, out);
                }
                Command::Unsubscribe { names, patterns } => {
                    return self.unsubscribe(names, patterns, db, out);
                }
                command => self.run(command, db),
            },
        };
        if ends_transaction {
            self.transaction = None;
        }
        self.encode(&reply, out);
    }

    /// Appends `reply`, encoded in this session's protocol, to `out`.
    pub fn encode(&self, reply: &Reply, out: &mut Vec<u8>) {
        encode_reply(self.protocol, reply, out);
    }

    /// Whether the connection has subscriptions (then it waits for messages, not only for
    /// requests).
    pub fn is_subscribed(&self) -> bool {
        self.subscriptions.count() > 0
    }

    /// The next message for this subscriber (never, without subscriptions).
    pub async fn next_delivery(&mut self) -> Delivery {
        self.subscriptions.next().await
    }

    /// Redis's refusal of `command` in subscribed mode on RESP2 (see the module docs).
    fn refusal_in_subscribed_mode(&self, command: &Command) -> Option<Reply> {
        let allowed = matches!(
            command,
            Command::Subscribe { .. }
                | Command::Unsubscribe { .. }
                | Command::Ping { .. }
                | Command::Quit
                // Redis refuses an unknown command or a wrong arity before it looks at the
                // context. (It would refuse a bad argument with the context's error; here
                // the parser has already made it an error, and that one is answered.)
                | Command::Invalid { .. }
                | Command::BadArgument { .. }
        );
        (self.protocol == Protocol::Resp && self.is_subscribed() && !allowed).then(|| {
            Reply::Error(format!(
                "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / \
                 RESET are allowed in this context",
                command.name()
            ))
        })
    }

    /// `SUBSCRIBE` / `PSUBSCRIBE`: one confirmation per name, with the new count.
    fn subscribe(&mut self, names: Vec<Vec<u8>>, patterns: bool, db: &Db, out: &mut Vec<u8>) {
        let kind = if patterns { "psubscribe" } else { "subscribe" };
        for name in names {
            let subscription = subscription(name.clone(), patterns);
            if !self.subscriptions.contains(&subscription) {
                let receiver = db.subscribe(&subscription);
                self.subscriptions.add(subscription, receiver);
            }
            self.confirm(kind, Some(name), out);
        }
    }

    /// `UNSUBSCRIBE` / `PUNSUBSCRIBE`: one confirmation per name (all of this kind when none
    /// is named), with the new count; a bare one with nothing to drop still answers once.
    fn unsubscribe(&mut self, names: Vec<Vec<u8>>, patterns: bool, db: &Db, out: &mut Vec<u8>) {
        let kind = if patterns {
            "punsubscribe"
        } else {
            "unsubscribe"
        };
        let dropped = match names.is_empty() {
            true => self.subscriptions.of_kind(patterns),
            false => names
                .into_iter()
                .map(|n| subscription(n, patterns))
                .collect(),
        };
        if dropped.is_empty() {
            return self.confirm(kind, None, out);
        }
        for subscription in dropped {
            if self.subscriptions.remove(&subscription) {
                db.forget_if_unused(&subscription);
            }
            let (Subscription::Channel(name) | Subscription::Pattern(name)) = subscription;
            self.confirm(kind, Some(name), out);
        }
    }

    /// A (un)subscription's confirmation: a push on RESP3, an array on RESP2.
    fn confirm(&self, kind: &str, name: Option<Vec<u8>>, out: &mut Vec<u8>) {
        let count = self.subscriptions.count() as i64;
        let confirmation = vec![Reply::bulk(kind), Reply::Value(name), Reply::Integer(count)];
        self.encode(&Reply::Push(confirmation), out);
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
            // On RESP2, a subscriber's PING is answered in the shape of a message.
            Command::Ping { message }
                if self.protocol == Protocol::Resp && self.is_subscribed() =>
            {
                let message = message.unwrap_or_default();
                Reply::Push(vec![Reply::bulk("pong"), Reply::bulk(message)])
            }
            Command::Multi => {
                self.transaction = Some(Transaction::default());
                Reply::Ok
            }
            Command::Exec => Reply::Error("EXEC without MULTI".into()),
            Command::Discard => Reply::Error("DISCARD without MULTI".into()),
            command => db.apply(command),
        }
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

fn subscription(name: Vec<u8>, pattern: bool) -> Subscription {
    match pattern {
        true => Subscription::Pattern(name),
        false => Subscription::Channel(name),
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
