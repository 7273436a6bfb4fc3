//! What a request asks for: the [`Command`]s the mini Redis knows, and how the arguments of a
//! RESP request spell one.
//!
//! Like the framing in `protocol.rs`, this is a pure function (arguments in, command out), so
//! every bad-input case is a unit test without a socket. Errors use Redis's own wording
//! wherever a client could match on it: redis-py, for one, picks its exception classes by the
//! text of an error reply.
//!
//! Redis tells two kinds of bad requests apart, and so do we, because a transaction treats
//! them differently:
//!
//! * [`Command::Invalid`]: an unknown command or a wrong number of arguments. Refused at once,
//!   even inside `MULTI`, where it makes the later `EXEC` fail as a whole (`EXECABORT`).
//! * [`Command::BadArgument`]: a known command with a wrong argument (`SET k v EX abc`).
//!   Redis only notices these when it runs the command, so inside `MULTI` it is queued and
//!   its error becomes one entry of `EXEC`'s reply, while the other commands still apply.

use std::fmt;

/// A request, whichever protocol it came in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Get {
        key: Vec<u8>,
    },
    /// `SET key value [NX | XX] [EX seconds | PX milliseconds | KEEPTTL]`.
    Set {
        key: Vec<u8>,
        value: Vec<u8>,
        expiry: SetExpiry,
        condition: SetCondition,
    },
    Del {
        keys: Vec<Vec<u8>>,
    },
    Ping {
        message: Option<Vec<u8>>,
    },
    Echo {
        message: Vec<u8>,
    },
    /// `EXPIRE key seconds`, `PEXPIRE key milliseconds`: the key goes `milliseconds` from
    /// now (at once if that is not in the future). `unit` is how the client counted.
    Expire {
        key: Vec<u8>,
        milliseconds: i64,
        unit: TimeUnit,
    },
    /// `TTL key`, `PTTL key`: how long the key has left, in `unit`.
    Ttl {
        key: Vec<u8>,
        unit: TimeUnit,
    },
    /// `PERSIST key`: the key stays for good.
    Persist {
        key: Vec<u8>,
    },
    /// `CONFIG GET parameter`: redis-benchmark asks for `save` and `appendonly` before it
    /// starts, to print them. This server keeps nothing on disk, and says so.
    ConfigGet {
        parameter: Vec<u8>,
    },
    /// `HELLO [protover]`: switch the connection to RESP2 or RESP3 (`None`: keep it) and
    /// describe the server. redis-py 8 sends `HELLO 3` first on every connection. Another
    /// version is well-formed, and answered with Redis's `NOPROTO` error.
    Hello {
        version: Option<i64>,
    },
    /// `SELECT 0`: there is one database, number 0.
    Select,
    /// `CLIENT SETINFO`, `CLIENT SETNAME`: what a client says about itself. Accepted and not
    /// kept (nothing here reports it back), except the name, for `CLIENT GETNAME`.
    ClientSetName {
        name: Vec<u8>,
    },
    ClientSetInfo,
    ClientGetName,
    ClientId,
    /// `COMMAND` and `COMMAND DOCS` (`docs`): the command table, which interactive
    /// `redis-cli` asks for on start (for its hints). This server answers with an empty one.
    CommandTable {
        docs: bool,
    },
    /// `PUBLISH channel message`.
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    /// `SUBSCRIBE channel...`, or `PSUBSCRIBE pattern...` when `patterns`.
    Subscribe {
        names: Vec<Vec<u8>>,
        patterns: bool,
    },
    /// `UNSUBSCRIBE [channel...]`, or `PUNSUBSCRIBE [pattern...]` when `patterns`; none
    /// named: all of them.
    Unsubscribe {
        names: Vec<Vec<u8>>,
        patterns: bool,
    },
    /// `MULTI`, `EXEC`, `DISCARD`: a transaction (see `transaction.rs`).
    Multi,
    Exec,
    Discard,
    Quit,
    /// A request that is not a command this server knows, or has the wrong number of
    /// arguments. It gets an error reply and the connection stays usable.
    Invalid {
        reason: String,
    },
    /// A known command with an argument it cannot take (see the module docs).
    BadArgument {
        reason: String,
    },
}

/// What `SET` does to the key's time to live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SetExpiry {
    /// No option: the new value lives for good, whatever the old one had.
    #[default]
    Never,
    /// `EX` / `PX`: the key goes this many milliseconds from now (always more than 0).
    After { milliseconds: i64, unit: TimeUnit },
    /// `KEEPTTL`: the old time to live stays.
    Keep,
}

/// When `SET` sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SetCondition {
    #[default]
    Always,
    /// `NX`: only if the key is not there.
    IfAbsent,
    /// `XX`: only if the key is there.
    IfPresent,
}

/// Seconds or milliseconds: how a client counts a time to live (`EXPIRE` or `PEXPIRE`, `EX`
/// or `PX`, `TTL` or `PTTL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Milliseconds,
}

impl TimeUnit {
    /// The name of the command that sets a time to live in this unit.
    pub fn expire_command(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "expire",
            TimeUnit::Milliseconds => "pexpire",
        }
    }
}

impl Command {
    /// The command's name as Redis writes it in errors: lowercase, with a subcommand after a
    /// `|` (`client|setname`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Get { .. } => "get",
            Command::Set { .. } => "set",
            Command::Del { .. } => "del",
            Command::Ping { .. } => "ping",
            Command::Echo { .. } => "echo",
            Command::Expire { unit, .. } => unit.expire_command(),
            Command::Ttl {
                unit: TimeUnit::Seconds,
                ..
            } => "ttl",
            Command::Ttl { .. } => "pttl",
            Command::Persist { .. } => "persist",
            Command::ConfigGet { .. } => "config|get",
            Command::Hello { .. } => "hello",
            Command::Select => "select",
            Command::ClientSetName { .. } => "client|setname",
            Command::ClientSetInfo => "client|setinfo",
            Command::ClientGetName => "client|getname",
            Command::ClientId => "client|id",
            Command::CommandTable { docs: false } => "command",
            Command::CommandTable { docs: true } => "command|docs",
            Command::Publish { .. } => "publish",
            Command::Subscribe {
                patterns: false, ..
            } => "subscribe",
            Command::Subscribe { .. } => "psubscribe",
            Command::Unsubscribe {
                patterns: false, ..
            } => "unsubscribe",
            Command::Unsubscribe { .. } => "punsubscribe",
            Command::Multi => "multi",
            Command::Exec => "exec",
            Command::Discard => "discard",
            Command::Quit => "quit",
            Command::Invalid { .. } | Command::BadArgument { .. } => "invalid",
        }
    }

    /// Whether the command concerns the connection itself rather than the store: these run
    /// in the connection's session, never in [`Db::apply`](super::Db::apply).
    pub fn is_session_command(&self) -> bool {
        matches!(
            self,
            Command::Hello { .. }
                | Command::Select
                | Command::ClientSetName { .. }
                | Command::ClientSetInfo
                | Command::ClientGetName
                | Command::ClientId
                | Command::CommandTable { .. }
                | Command::Subscribe { .. }
                | Command::Unsubscribe { .. }
                | Command::Multi
                | Command::Exec
                | Command::Discard
                | Command::Quit
        )
    }

    /// `SET key value`, without options.
    pub fn set(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Command {
        Command::Set {
            key: key.into(),
            value: value.into(),
            expiry: SetExpiry::Never,
            condition: SetCondition::Always,
        }
    }
}

impl fmt::Display for Command {
    /// Redis style, with keys and values quoted: `SET "greeting" "hello"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = |bytes: &[u8]| format!("{:?}", String::from_utf8_lossy(bytes));
        match self {
            Command::Get { key } => write!(f, "GET {}", quoted(key)),
            Command::Set { key, value, .. } => {
                write!(f, "SET {} {}", quoted(key), quoted(value))
            }
            Command::Del { keys } => {
                f.write_str("DEL")?;
                keys.iter()
                    .try_for_each(|key| write!(f, " {}", quoted(key)))
            }
            Command::Ping { message: None } => f.write_str("PING"),
            Command::Ping {
                message: Some(message),
            } => write!(f, "PING {}", quoted(message)),
            Command::Echo { message } => write!(f, "ECHO {}", quoted(message)),
            Command::Expire {
                key, milliseconds, ..
            } => write!(f, "PEXPIRE {} {milliseconds}", quoted(key)),
            Command::Ttl { key, .. } => write!(f, "{} {}", self.name(), quoted(key)),
            Command::Persist { key } => write!(f, "PERSIST {}", quoted(key)),
            Command::ConfigGet { parameter } => write!(f, "CONFIG GET {}", quoted(parameter)),
            Command::Hello { version: None } => f.write_str("HELLO"),
            Command::Hello {
                version: Some(version),
            } => write!(f, "HELLO {version}"),
            Command::Select => f.write_str("SELECT 0"),
            Command::ClientSetName { name } => write!(f, "CLIENT SETNAME {}", quoted(name)),
            Command::ClientSetInfo => f.write_str("CLIENT SETINFO"),
            Command::ClientGetName => f.write_str("CLIENT GETNAME"),
            Command::ClientId => f.write_str("CLIENT ID"),
            Command::CommandTable { docs: false } => f.write_str("COMMAND"),
            Command::CommandTable { docs: true } => f.write_str("COMMAND DOCS"),
            Command::Publish { channel, message } => {
                write!(f, "PUBLISH {} {}", quoted(channel), quoted(message))
            }
            Command::Subscribe { names, .. } | Command::Unsubscribe { names, .. } => {
                f.write_str(&self.name().to_uppercase())?;
                names
                    .iter()
                    .try_for_each(|name| write!(f, " {}", quoted(name)))
            }
            Command::Multi => f.write_str("MULTI"),
            Command::Exec => f.write_str("EXEC"),
            Command::Discard => f.write_str("DISCARD"),
            Command::Quit => f.write_str("QUIT"),
            Command::Invalid { reason } | Command::BadArgument { reason } => {
                write!(f, "invalid ({reason})")
            }
        }
    }
}

/// The command a RESP request's arguments spell. Names are case-insensitive, as in Redis.
///
/// The number of arguments is checked first, for every command, so that a wrong count gets
/// Redis's `wrong number of arguments` error whatever else is wrong.
pub fn resp_command(args: &[&[u8]]) -> Command {
    // Lowercased on the stack, not with `to_ascii_lowercase` (a `Vec` per request): every
    // request has a name, and no name we know is longer than this buffer.
    let mut lowered = [0u8; 16];
    let Some(name) = lowered.get_mut(..args[0].len()) else {
        return unknown_command(args);
    };
    name.copy_from_slice(args[0]);
    name.make_ascii_lowercase();
    let name = &*name;
    let Some(arity) = arity(name) else {
        return unknown_command(args);
    };
    if !arity.allows(args.len()) {
        return wrong_arity(&String::from_utf8_lossy(name));
    }
    let owned = |arg: &[u8]| arg.to_vec();
    match name {
        b"get" => Command::Get {
            key: owned(args[1]),
        },
        b"set" => set_command(args),
        b"del" => Command::Del {
            keys: args[1..].iter().map(|key| owned(key)).collect(),
        },
        b"ping" => Command::Ping {
            message: args.get(1).map(|message| owned(message)),
        },
        b"echo" => Command::Echo {
            message: owned(args[1]),
        },
        b"expire" => expire_command(args, TimeUnit::Seconds),
        b"pexpire" => expire_command(args, TimeUnit::Milliseconds),
        b"ttl" => ttl_command(args[1], TimeUnit::Seconds),
        b"pttl" => ttl_command(args[1], TimeUnit::Milliseconds),
        b"persist" => Command::Persist {
            key: owned(args[1]),
        },
        b"quit" => Command::Quit,
        b"publish" => Command::Publish {
            channel: owned(args[1]),
            message: owned(args[2]),
        },
        b"subscribe" | b"psubscribe" => Command::Subscribe {
            names: args[1..].iter().map(|name| owned(name)).collect(),
            patterns: name.starts_with(b"p"),
        },
        b"unsubscribe" | b"punsubscribe" => Command::Unsubscribe {
            names: args[1..].iter().map(|name| owned(name)).collect(),
            patterns: name.starts_with(b"p"),
        },
        b"multi" => Command::Multi,
        b"exec" => Command::Exec,
        b"discard" => Command::Discard,
        b"config" => config_command(args),
        b"hello" => hello_command(args),
        b"select" => select_command(args[1]),
        b"client" => client_command(args),
        b"command" => command_command(args),
        _ => unreachable!("every name with an arity is matched above"),
    }
}

/// How many arguments a command takes, its name included.
#[derive(Clone, Copy)]
enum Arity {
    Exactly(usize),
    AtLeast(usize),
    Between(usize, usize),
}

impl Arity {
    fn allows(self, count: usize) -> bool {
        match self {
            Arity::Exactly(n) => count == n,
            Arity::AtLeast(n) => count >= n,
            Arity::Between(low, high) => (low..=high).contains(&count),
        }
    }
}

/// The commands this server knows, with their arity (as Redis's `COMMAND INFO` gives it).
fn arity(name: &[u8]) -> Option<Arity> {
    use Arity::{AtLeast, Between, Exactly};
    Some(match name {
        b"get" => Exactly(2),
        b"set" => AtLeast(3),
        b"del" => AtLeast(2),
        b"ping" => Between(1, 2),
        b"echo" => Exactly(2),
        b"expire" | b"pexpire" => AtLeast(3),
        b"ttl" | b"pttl" | b"persist" => Exactly(2),
        b"quit" => AtLeast(1),
        b"multi" | b"exec" | b"discard" => Exactly(1),
        b"publish" => Exactly(3),
        b"subscribe" | b"psubscribe" => AtLeast(2),
        b"unsubscribe" | b"punsubscribe" => AtLeast(1),
        b"config" => AtLeast(2),
        b"hello" => AtLeast(1),
        b"select" => Exactly(2),
        b"client" => AtLeast(2),
        b"command" => AtLeast(1),
        _ => return None,
    })
}

// ANCHOR: set_options
/// `SET key value` and its options. As in Redis, the options' combination is checked before
/// their values: `SET k v EX abc NX XX` is a syntax error, not a bad number.
fn set_command(args: &[&[u8]]) -> Command {
    let mut condition = SetCondition::Always;
    // `EX`/`PX` and their argument, or `KEEPTTL` (no argument).
    let mut expiry: Option<(&[u8], Option<&[u8]>)> = None;
    let mut options = args[3..].iter();
    while let Some(&option) = options.next() {
        let option_name = option.to_ascii_lowercase();
        match option_name.as_slice() {
            b"nx" | b"xx" if condition == SetCondition::Always => {
                condition = match option_name.as_slice() {
                    b"nx" => SetCondition::IfAbsent,
                    _ => SetCondition::IfPresent,
                };
            }
            b"keepttl" if expiry.is_none() => expiry = Some((option, None)),
            b"ex" | b"px" if expiry.is_none() => match options.next() {
                Some(&time) => expiry = Some((option, Some(time))),
                None => return syntax_error(),
            },
            _ => return syntax_error(),
        }
    }
    let expiry = match set_expiry(expiry) {
        Ok(expiry) => expiry,
        Err(error) => return error,
    };
    Command::Set {
        key: args[1].to_vec(),
        value: args[2].to_vec(),
        expiry,
        condition,
    }
}
// ANCHOR_END: set_options

/// `SET`'s expiry from its option (`EX`, `PX` with their time, or `KEEPTTL`), if any.
fn set_expiry(option: Option<(&[u8], Option<&[u8]>)>) -> Result<SetExpiry, Command> {
    let Some((option, time)) = option else {
        return Ok(SetExpiry::Never);
    };
    let Some(time) = time else {
        return Ok(SetExpiry::Keep);
    };
    let unit = match option.eq_ignore_ascii_case(b"ex") {
        true => TimeUnit::Seconds,
        false => TimeUnit::Milliseconds,
    };
    match expire_milliseconds(time, unit, "set")? {
        milliseconds if milliseconds > 0 => Ok(SetExpiry::After { milliseconds, unit }),
        _ => Err(bad_argument(invalid_expire_time("set"))),
    }
}

/// `EXPIRE key seconds` / `PEXPIRE key milliseconds`. Redis 7's `NX`, `XX`, `GT` and `LT`
/// options are not supported.
fn expire_command(args: &[&[u8]], unit: TimeUnit) -> Command {
    if let Some(option) = args.get(3) {
        return bad_argument(format!(
            "Unsupported option {}",
            String::from_utf8_lossy(option)
        ));
    }
    match expire_milliseconds(args[2], unit, unit.expire_command()) {
        Ok(milliseconds) => Command::Expire {
            key: args[1].to_vec(),
            milliseconds,
            unit,
        },
        Err(error) => error,
    }
}

/// A time to live in milliseconds, from an argument counted in `unit`. (Whether it still
/// fits once added to the clock is for [`Db`](super::Db) to check when it runs the command:
/// the parser does not read the clock.)
fn expire_milliseconds(time: &[u8], unit: TimeUnit, command: &str) -> Result<i64, Command> {
    let time = integer(time).ok_or_else(not_an_integer)?;
    let milliseconds = match unit {
        TimeUnit::Seconds => time.checked_mul(1000),
        TimeUnit::Milliseconds => Some(time),
    };
    milliseconds.ok_or_else(|| bad_argument(invalid_expire_time(command)))
}

/// Redis's error for a time to live it cannot use.
pub(crate) fn invalid_expire_time(command: &str) -> String {
    format!("invalid expire time in '{command}' command")
}

fn syntax_error() -> Command {
    bad_argument("syntax error")
}

fn ttl_command(key: &[u8], unit: TimeUnit) -> Command {
    Command::Ttl {
        key: key.to_vec(),
        unit,
    }
}

/// `CONFIG GET parameter`; the other subcommands are unknown here.
fn config_command(args: &[&[u8]]) -> Command {
    match (args[1].to_ascii_lowercase().as_slice(), args.len()) {
        (b"get", 3) => Command::ConfigGet {
            parameter: args[2].to_vec(),
        },
        (b"get", _) => wrong_arity("config|get"),
        _ => unknown_subcommand("CONFIG", args[1]),
    }
}

/// `HELLO [protover]`. Its `AUTH` and `SETNAME` options are not supported: this server has
/// no users, and a name can be set with `CLIENT SETNAME`.
fn hello_command(args: &[&[u8]]) -> Command {
    let Some(version) = args.get(1) else {
        return Command::Hello { version: None };
    };
    let Some(version) = integer(version) else {
        return bad_argument("Protocol version is not an integer or out of range");
    };
    if let Some(option) = args.get(2) {
        return bad_argument(format!(
            "Syntax error in HELLO option '{}'",
            String::from_utf8_lossy(option)
        ));
    }
    Command::Hello {
        version: Some(version),
    }
}

/// `SELECT index`: only database 0 exists.
fn select_command(index: &[u8]) -> Command {
    match integer(index) {
        Some(0) => Command::Select,
        Some(_) => bad_argument("DB index is out of range"),
        None => not_an_integer(),
    }
}

/// The `CLIENT` subcommands clients send when they connect.
fn client_command(args: &[&[u8]]) -> Command {
    let subcommand = args[1].to_ascii_lowercase();
    match (subcommand.as_slice(), args.len()) {
        (b"setname", 3) => Command::ClientSetName {
            name: args[2].to_vec(),
        },
        (b"setinfo", 4) => match args[2].to_ascii_lowercase().as_slice() {
            b"lib-name" | b"lib-ver" => Command::ClientSetInfo,
            _ => bad_argument(format!(
                "Unrecognized option '{}'",
                String::from_utf8_lossy(args[2])
            )),
        },
        (b"getname", 2) => Command::ClientGetName,
        (b"id", 2) => Command::ClientId,
        (b"setname" | b"setinfo" | b"getname" | b"id", _) => {
            wrong_arity(&format!("client|{}", String::from_utf8_lossy(&subcommand)))
        }
        _ => unknown_subcommand("CLIENT", args[1]),
    }
}

/// `COMMAND` and `COMMAND DOCS [name ...]`; its other subcommands are unknown here.
fn command_command(args: &[&[u8]]) -> Command {
    match args.get(1).map(|sub| sub.to_ascii_lowercase()).as_deref() {
        None => Command::CommandTable { docs: false },
        Some(b"docs") => Command::CommandTable { docs: true },
        Some(_) => unknown_subcommand("COMMAND", args[1]),
    }
}

/// An integer argument, as Redis reads one: a decimal `i64`, nothing else.
pub(crate) fn integer(arg: &[u8]) -> Option<i64> {
    std::str::from_utf8(arg).ok()?.parse().ok()
}

/// A well-framed request that is no command at all, or has the wrong number of arguments.
pub(crate) fn invalid(reason: impl Into<String>) -> Command {
    Command::Invalid {
        reason: reason.into(),
    }
}

fn bad_argument(reason: impl Into<String>) -> Command {
    Command::BadArgument {
        reason: reason.into(),
    }
}

fn not_an_integer() -> Command {
    bad_argument("value is not an integer or out of range")
}

fn wrong_arity(name: &str) -> Command {
    invalid(format!("wrong number of arguments for '{name}' command"))
}

fn unknown_subcommand(command: &str, subcommand: &[u8]) -> Command {
    invalid(format!(
        "unknown subcommand '{}'. Try {command} HELP.",
        shorten(&String::from_utf8_lossy(subcommand))
    ))
}

/// Redis's wording: `unknown command 'X', with args beginning with: 'a' 'b' `. Like Redis,
/// it quotes arguments only until the list passes 128 characters, so a huge request does
/// not make a huge error.
fn unknown_command(args: &[&[u8]]) -> Command {
    let mut listed = String::new();
    for arg in &args[1..] {
        let room = 128usize.saturating_sub(listed.len());
        if room == 0 {
            break;
        }
        let arg = String::from_utf8_lossy(arg);
        listed += &format!("'{}' ", truncate(&arg, room));
    }
    invalid(format!(
        "unknown command '{}', with args beginning with: {listed}",
        truncate(&String::from_utf8_lossy(args[0]), 128)
    ))
}

/// At most `limit` bytes of `text`, cut at a character boundary.
fn truncate(text: &str, limit: usize) -> &str {
    let mut end = limit.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// At most 40 characters of a client's text, for error messages.
pub(crate) fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Command {
        let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
        resp_command(&args)
    }

    fn error_of(command: Command) -> String {
        match command {
            Command::Invalid { reason } | Command::BadArgument { reason } => reason,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn commands_cover_what_redis_tools_send() {
        assert_eq!(parse(&["ping"]), Command::Ping { message: None });
        assert_eq!(
            parse(&["CONFIG", "GET", "save"]),
            Command::ConfigGet {
                parameter: b"save".to_vec()
            }
        );
        assert_eq!(
            parse(&["DEL", "a", "b"]),
            Command::Del {
                keys: vec![b"a".to_vec(), b"b".to_vec()]
            }
        );
        assert_eq!(parse(&["hello", "3"]), Command::Hello { version: Some(3) });
        assert_eq!(parse(&["HELLO"]), Command::Hello { version: None });
        assert_eq!(parse(&["SELECT", "0"]), Command::Select);
        assert_eq!(
            parse(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]),
            Command::ClientSetInfo
        );
        assert_eq!(
            parse(&["COMMAND", "DOCS"]),
            Command::CommandTable { docs: true }
        );
        assert_eq!(
            parse(&["ECHO", "hi"]),
            Command::Echo {
                message: b"hi".to_vec()
            }
        );
    }

    #[test]
    fn errors_use_redis_wording() {
        let cases = [
            (
                parse(&["NOSUCH", "a", "b"]),
                "unknown command 'NOSUCH', with args beginning with: 'a' 'b' ",
            ),
            (
                parse(&["FLUSHALL"]),
                "unknown command 'FLUSHALL', with args beginning with: ",
            ),
            (
                parse(&["GET"]),
                "wrong number of arguments for 'get' command",
            ),
            (
                parse(&["PING", "a", "b"]),
                "wrong number of arguments for 'ping' command",
            ),
            (
                parse(&["ECHO"]),
                "wrong number of arguments for 'echo' command",
            ),
            (
                parse(&["SELECT", "x"]),
                "value is not an integer or out of range",
            ),
            (parse(&["SELECT", "1"]), "DB index is out of range"),
            (
                parse(&["HELLO", "x"]),
                "Protocol version is not an integer or out of range",
            ),
            (
                parse(&["HELLO", "3", "AUTH"]),
                "Syntax error in HELLO option 'AUTH'",
            ),
            (
                parse(&["CLIENT", "MAINT_NOTIFICATIONS", "ON"]),
                "unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.",
            ),
            (
                parse(&["CLIENT"]),
                "wrong number of arguments for 'client' command",
            ),
        ];
        for (command, expected) in cases {
            assert_eq!(error_of(command), expected);
        }
    }

    #[test]
    fn unknown_command_errors_stay_short() {
        let long = "x".repeat(1000);
        let reason = error_of(parse(&[&long, &long, &long]));
        assert!(reason.len() < 400, "{} bytes", reason.len());
    }

    #[test]
    fn arity_errors_are_invalid_and_argument_errors_are_not() {
        assert!(matches!(parse(&["GET"]), Command::Invalid { .. }));
        assert!(matches!(
            parse(&["SELECT", "x"]),
            Command::BadArgument { .. }
        ));
    }
}
