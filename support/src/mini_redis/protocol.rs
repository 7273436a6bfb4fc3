//! The mini Redis's two wire protocols: turning bytes into [`Command`]s (with `command.rs`)
//! and [`Reply`]s into bytes.
//!
//! * The **line protocol** of the Python original: one request per line (`GET key`,
//!   `PUT key value`, `DEL key`, `QUIT`; command names are case-insensitive, as there), one
//!   reply per line (`OK value`, `NONE`, `OK`, `ERROR`, which here carries a reason). Easy to
//!   type into `nc`.
//! * **RESP**, what `redis-cli`, `redis-benchmark` and redis-py speak: a request is an array
//!   of bulk strings, `*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n`. Replies are RESP2 until the
//!   client sends `HELLO 3`; RESP3 then adds a null of its own (`_`), maps (`%`) and pushes
//!   (`>`, for pub/sub messages). Requests are the same in both.
//!
//! Both share one port. A RESP request always starts with `*` and no line-protocol command
//! does, so the first byte a client sends tells which protocol it speaks (see
//! [`Protocol::detect`]).
//!
//! Parsing is a pure function of a byte slice: it either finds one complete request at the
//! front, reports that more bytes are needed, or reports a framing error. Keeping the I/O out
//! of it makes every bad-input case testable without a socket, and means a request that
//! arrives in many small reads is parsed the same as one that arrives whole.

pub use super::command::Command;
use super::command::{invalid, resp_command, shorten};
use std::fmt;

/// The longest line the line protocol accepts, newline included. A longer line gets an
/// `ERROR` and the connection is closed: we cannot tell where the next request starts.
pub const MAX_LINE: usize = 64 * 1024;

/// The largest RESP request accepted, all of its parts together.
///
/// Without a cap, a client announcing `$4000000000` would make the server wait for, and
/// buffer, 4 GB. With it, the server refuses the request as soon as the header arrives.
pub const MAX_FRAME: usize = 1024 * 1024;

/// The most arguments a RESP request may have (`DEL` takes several keys).
pub const MAX_ARGS: usize = 1024;

/// Which protocol a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// The Python original's line protocol.
    Line,
    /// RESP2: what every RESP connection speaks until it asks for more.
    Resp,
    /// RESP3, after `HELLO 3`: the same requests, replies with more types (a null of its
    /// own, maps, and pushes for pub/sub messages).
    Resp3,
}

impl Protocol {
    /// The protocol of a connection, from the first byte its client sent. A RESP client
    /// starts in RESP2; `HELLO 3` moves it to [`Protocol::Resp3`].
    pub fn detect(first_byte: u8) -> Protocol {
        if first_byte == b'*' {
            Protocol::Resp
        } else {
            Protocol::Line
        }
    }
}

/// The outcome of a command, before it is encoded for one protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Ok,
    /// A value, or `None` for "nothing there" (an absent key, a `SET NX` that did not set).
    Value(Option<Vec<u8>>),
    /// A number: keys deleted, a time to live, subscribers reached.
    Integer(i64),
    Pong(Option<Vec<u8>>),
    /// Several replies in order (`EXEC`'s results, `COMMAND`'s table).
    Array(Vec<Reply>),
    /// Name-value pairs (`HELLO`, `CONFIG GET`): a map in RESP3, a flat array in RESP2.
    Map(Vec<(Vec<u8>, Reply)>),
    /// Out-of-band data for a subscriber (a message, or a subscription's confirmation): a
    /// push in RESP3, an array in RESP2.
    Push(Vec<Reply>),
    /// `+QUEUED`: a command inside `MULTI` was queued.
    Queued,
    /// An error, `-ERR` and this message.
    Error(String),
    /// `EXEC` after a command was refused while queuing: nothing was applied.
    ExecAbort,
    /// `HELLO` with a protocol version other than 2 or 3.
    NoProto,
}

impl Reply {
    /// A value that is there (a bulk string).
    pub fn bulk(value: impl Into<Vec<u8>>) -> Reply {
        Reply::Value(Some(value.into()))
    }
}

/// A request that cannot be framed. The connection cannot go on after it, because the server
/// no longer knows where the next request starts: it sends the error and closes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError(pub String);

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FrameError {}

/// A complete request found at the front of a buffer, and how many bytes it took.
pub type Parsed = (Command, usize);

// ANCHOR: parse_request
/// Parses the request at the front of `buffer`.
///
/// `Ok(None)` means the request is not complete yet: read more bytes and call again.
pub fn parse_request(protocol: Protocol, buffer: &[u8]) -> Result<Option<Parsed>, FrameError> {
    match protocol {
        Protocol::Line => parse_line_request(buffer),
        Protocol::Resp | Protocol::Resp3 => parse_resp_request(buffer),
    }
}

fn parse_line_request(buffer: &[u8]) -> Result<Option<Parsed>, FrameError> {
    let Some(newline) = buffer.iter().position(|&byte| byte == b'\n') else {
        // No newline yet: fine, unless the line is already too long to ever be accepted.
        return match buffer.len() >= MAX_LINE {
            true => Err(FrameError(format!("line longer than {MAX_LINE} bytes"))),
            false => Ok(None),
        };
    };
    if newline >= MAX_LINE {
        return Err(FrameError(format!("line longer than {MAX_LINE} bytes")));
    }
    let line = buffer[..newline]
        .strip_suffix(b"\r")
        .unwrap_or(&buffer[..newline]);
    Ok(Some((line_command(line), newline + 1)))
}
// ANCHOR_END: parse_request

// ANCHOR: line_command
/// The command on one line of the line protocol (without its newline).
pub fn line_command(line: &[u8]) -> Command {
    let Ok(text) = std::str::from_utf8(line) else {
        return invalid("invalid UTF-8: requests are text");
    };
    // `split_once` keeps the rest of the line intact, spaces included: PUT's value needs that.
    let (name, rest) = text.split_once(' ').unwrap_or((text, ""));
    let is_one_word = !rest.is_empty() && !rest.contains(' ');
    match name.to_ascii_uppercase().as_str() {
        "GET" if is_one_word => Command::Get { key: rest.into() },
        "GET" => invalid("usage: GET key"),
        "PUT" => match rest.split_once(' ') {
            Some((key, value)) if !key.is_empty() => Command::set(key, value),
            _ => invalid("usage: PUT key value"),
        },
        "DEL" if is_one_word => Command::Del {
            keys: vec![rest.into()],
        },
        "DEL" => invalid("usage: DEL key"),
        "QUIT" if rest.is_empty() && !text.contains(' ') => Command::Quit,
        _ => invalid(format!(
            "unknown request {:?}; the commands are GET, PUT, DEL and QUIT",
            shorten(text)
        )),
    }
}
// ANCHOR_END: line_command

// ANCHOR: resp
fn parse_resp_request(buffer: &[u8]) -> Result<Option<Parsed>, FrameError> {
    let mut cursor = 0;
    let Some(count) = resp_header(buffer, &mut cursor, b'*')? else {
        return Ok(None);
    };
    if !(1..=MAX_ARGS).contains(&count) {
        return Err(FrameError(format!(
            "a request has 1 to {MAX_ARGS} arguments, not {count}"
        )));
    }
    // Not `Vec::with_capacity(count)`: capacity follows the bytes that actually arrived.
    let mut args: Vec<&[u8]> = Vec::new();
    for _ in 0..count {
        let Some(length) = resp_header(buffer, &mut cursor, b'$')? else {
            return Ok(None);
        };
        let end = cursor.saturating_add(length);
        // The declared length is checked before any of the data is awaited.
        if end.saturating_add(2) > MAX_FRAME {
            return Err(FrameError(format!(
                "requests are limited to {MAX_FRAME} bytes"
            )));
        }
        if buffer.len() < end + 2 {
            return Ok(None);
        }
        if &buffer[end..end + 2] != b"\r\n" {
            return Err(FrameError(
                "a bulk string is longer than its declared length".into(),
            ));
        }
        args.push(&buffer[cursor..end]);
        cursor = end + 2;
    }
    Ok(Some((resp_command(&args), cursor)))
}

/// How far to look for the end of a header line. A header is a type byte and at most 20
/// digits (any `usize`), so anything longer is garbage, refused before it is buffered.
const HEADER_WINDOW: usize = 24;

/// Reads a header line such as `*3\r\n` or `$5\r\n` at `cursor`, returning its number.
fn resp_header(buffer: &[u8], cursor: &mut usize, kind: u8) -> Result<Option<usize>, FrameError> {
    let rest = &buffer[*cursor..];
    let Some(&first) = rest.first() else {
        return Ok(None);
    };
    if first != kind {
        return Err(FrameError(format!(
            "expected '{}', got {:?}",
            kind as char,
            char::from(first)
        )));
    }
    let window = &rest[..rest.len().min(HEADER_WINDOW)];
    let Some(end) = window.windows(2).position(|pair| pair == b"\r\n") else {
        return match rest.len() >= HEADER_WINDOW {
            true => Err(FrameError("a header line is too long".into())),
            false => Ok(None),
        };
    };
    let number = std::str::from_utf8(&rest[1..end])
        .ok()
        .and_then(|digits| digits.parse::<usize>().ok())
        .ok_or_else(|| {
            FrameError(format!(
                "invalid length {:?}",
                String::from_utf8_lossy(&rest[1..end])
            ))
        })?;
    *cursor += end + 2;
    Ok(Some(number))
}
// ANCHOR_END: resp

// ANCHOR: encode
/// Appends `reply`, encoded for `protocol`, to `out`.
pub fn encode_reply(protocol: Protocol, reply: &Reply, out: &mut Vec<u8>) {
    match protocol {
        Protocol::Line => encode_line_reply(reply, out),
        Protocol::Resp => encode_resp_reply(reply, false, out),
        Protocol::Resp3 => encode_resp_reply(reply, true, out),
    }
}

fn encode_line_reply(reply: &Reply, out: &mut Vec<u8>) {
    match reply {
        Reply::Value(None) => out.extend_from_slice(b"NONE\n"),
        // A value stored over RESP may hold a newline, which would end the reply early and
        // desynchronise the client. It cannot be shown on this protocol, so say so.
        Reply::Value(Some(value)) if value.contains(&b'\n') => {
            out.extend_from_slice(b"ERROR the value holds a newline; read it over RESP\n")
        }
        Reply::Value(Some(value)) | Reply::Pong(Some(value)) => {
            out.extend_from_slice(b"OK ");
            out.extend_from_slice(value);
            out.push(b'\n');
        }
        Reply::Pong(None) => out.extend_from_slice(b"OK PONG\n"),
        Reply::Error(message) => {
            out.extend_from_slice(b"ERROR ");
            out.extend_from_slice(one_line(message).as_bytes());
            out.push(b'\n');
        }
        // Line requests only ever get the replies above, or a plain acknowledgement.
        _ => out.extend_from_slice(b"OK\n"),
    }
}

/// RESP2 and RESP3 differ only in the null, maps and pushes, so one encoder serves both.
fn encode_resp_reply(reply: &Reply, resp3: bool, out: &mut Vec<u8>) {
    match reply {
        Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
        Reply::Value(None) if resp3 => out.extend_from_slice(b"_\r\n"),
        Reply::Value(None) => out.extend_from_slice(b"$-1\r\n"),
        Reply::Value(Some(value)) | Reply::Pong(Some(value)) => encode_bulk(value, out),
        Reply::Integer(number) => encode_header(b':', *number, out),
        Reply::Pong(None) => out.extend_from_slice(b"+PONG\r\n"),
        Reply::Queued => out.extend_from_slice(b"+QUEUED\r\n"),
        Reply::Array(items) => encode_aggregate(b'*', items, resp3, out),
        Reply::Push(items) => encode_aggregate(if resp3 { b'>' } else { b'*' }, items, resp3, out),
        Reply::Map(pairs) => {
            let (kind, count) = if resp3 {
                (b'%', pairs.len())
            } else {
                (b'*', pairs.len() * 2)
            };
            encode_header(kind, count as i64, out);
            for (name, value) in pairs {
                encode_bulk(name, out);
                encode_resp_reply(value, resp3, out);
            }
        }
        Reply::Error(message) => {
            out.extend_from_slice(b"-ERR ");
            out.extend_from_slice(one_line(message).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Reply::ExecAbort => out
            .extend_from_slice(b"-EXECABORT Transaction discarded because of previous errors.\r\n"),
        Reply::NoProto => out.extend_from_slice(b"-NOPROTO unsupported protocol version\r\n"),
    }
}

fn encode_aggregate(kind: u8, items: &[Reply], resp3: bool, out: &mut Vec<u8>) {
    encode_header(kind, items.len() as i64, out);
    for item in items {
        encode_resp_reply(item, resp3, out);
    }
}

fn encode_bulk(value: &[u8], out: &mut Vec<u8>) {
    encode_header(b'$', value.len() as i64, out);
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}
// ANCHOR_END: encode

/// Appends a push whose items are all bulk strings (a pub/sub message), encoded for
/// `protocol`: the bytes [`encode_reply`] gives a [`Reply::Push`] of them, without building
/// that `Reply` first (a `Vec` and a copy of every item, thrown away once encoded).
pub fn encode_push(protocol: Protocol, items: &[&[u8]], out: &mut Vec<u8>) {
    let kind = if protocol == Protocol::Resp3 {
        b'>'
    } else {
        b'*'
    };
    encode_header(kind, items.len() as i64, out);
    for item in items {
        encode_bulk(item, out);
    }
}

/// Appends a header line: a type byte, a number, `\r\n` (`$5\r\n`, `*3\r\n`, `:42\r\n`).
/// (Lengths and counts fit an `i64` with room to spare: a request is at most [`MAX_FRAME`].)
///
/// Every reply has one or more, so this is the encoder's hot spot. `format!` allocated a
/// `String` per header; `write!` into the `Vec` would not, but still goes through `fmt`'s
/// machinery (a `Formatter`, padding, width), about 9% of the server's time in a profile of
/// one busy subscriber. A header's number is plain decimal, so it is written by hand.
fn encode_header(kind: u8, number: i64, out: &mut Vec<u8>) {
    out.push(kind);
    if number < 0 {
        out.push(b'-');
    }
    let (mut rest, mut digits, mut start) = (number.unsigned_abs(), [0u8; 20], 20);
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
    out.extend_from_slice(b"\r\n");
}

/// Appends the reply to a framing error: the last thing the client hears before the close.
pub fn encode_frame_error(protocol: Protocol, error: &FrameError, out: &mut Vec<u8>) {
    let message = match protocol {
        Protocol::Line => error.0.clone(),
        // Redis words its own framing errors this way; clients recognise the prefix.
        Protocol::Resp | Protocol::Resp3 => format!("Protocol error: {}", error.0),
    };
    encode_reply(protocol, &Reply::Error(message), out);
}

/// An error message must fit on one line on both protocols.
fn one_line(message: &str) -> String {
    message.replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Command {
        line_command(text.as_bytes())
    }

    fn resp(args: &[&str]) -> Vec<u8> {
        let mut frame = format!("*{}\r\n", args.len());
        for arg in args {
            frame += &format!("${}\r\n{arg}\r\n", arg.len());
        }
        frame.into_bytes()
    }

    fn encoded(protocol: Protocol, reply: Reply) -> String {
        let mut out = Vec::new();
        encode_reply(protocol, &reply, &mut out);
        String::from_utf8(out).expect("replies here are text")
    }

    #[test]
    fn header_numbers_are_decimal_with_their_sign() {
        for number in [0, 7, 10, 42, 1_000_000, -1, -2, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            encode_header(b':', number, &mut out);
            assert_eq!(out, format!(":{number}\r\n").into_bytes());
        }
    }

    #[test]
    fn a_push_of_bulks_is_encoded_as_its_reply() {
        for protocol in [Protocol::Resp, Protocol::Resp3] {
            let items: [&[u8]; 3] = [b"message", b"news", b"hi\r\nthere"];
            let mut direct = Vec::new();
            encode_push(protocol, &items, &mut direct);
            let reply = Reply::Push(items.iter().map(|item| Reply::bulk(*item)).collect());
            assert_eq!(direct, encoded(protocol, reply).into_bytes());
        }
    }

    #[test]
    fn line_commands_are_case_insensitive_and_put_keeps_spaces() {
        assert_eq!(line("get a"), Command::Get { key: b"a".to_vec() });
        assert_eq!(
            line("Put a hello  world "),
            Command::set(b"a".to_vec(), b"hello  world ".to_vec())
        );
        assert_eq!(line("PUT a "), Command::set(b"a".to_vec(), Vec::new()));
        assert_eq!(
            line("del a"),
            Command::Del {
                keys: vec![b"a".to_vec()]
            }
        );
        assert_eq!(line("quit"), Command::Quit);
    }

    #[test]
    fn malformed_lines_are_invalid_not_fatal() {
        for bad in [
            "", "GET", "GET a b", "PUT a", "PUT", "DEL", "QUIT now", "FLY away",
        ] {
            assert!(
                matches!(line(bad), Command::Invalid { .. }),
                "{bad:?} should be invalid"
            );
        }
        assert!(matches!(
            line_command(b"GET \xff\xfe"),
            Command::Invalid { reason } if reason.contains("UTF-8")
        ));
    }

    #[test]
    fn line_requests_wait_for_the_newline_and_strip_crlf() {
        assert_eq!(parse_request(Protocol::Line, b"GET a"), Ok(None));
        let (command, used) = parse_request(Protocol::Line, b"GET a\r\nGET b\n")
            .expect("framed")
            .expect("complete");
        assert_eq!((command, used), (Command::Get { key: b"a".to_vec() }, 7));
    }

    #[test]
    fn overlong_lines_are_refused_before_they_end() {
        let long = vec![b'x'; MAX_LINE];
        assert!(parse_request(Protocol::Line, &long).is_err());
        assert_eq!(
            parse_request(Protocol::Line, &long[..MAX_LINE - 1]),
            Ok(None)
        );
    }

    #[test]
    fn resp_requests_parse_from_any_prefix() {
        let frame = resp(&["SET", "key", "a value"]);
        for cut in 0..frame.len() {
            assert_eq!(
                parse_request(Protocol::Resp, &frame[..cut]),
                Ok(None),
                "cut {cut}"
            );
        }
        let (command, used) = parse_request(Protocol::Resp, &frame)
            .expect("framed")
            .expect("complete");
        assert_eq!(used, frame.len());
        assert_eq!(command, Command::set(b"key".to_vec(), b"a value".to_vec()));
    }

    #[test]
    fn resp3_requests_parse_as_resp_requests() {
        let frame = resp(&["GET", "k"]);
        assert_eq!(
            parse_request(Protocol::Resp3, &frame),
            parse_request(Protocol::Resp, &frame)
        );
    }

    #[test]
    fn lying_or_hostile_resp_headers_are_refused() {
        let refused = |bytes: &[u8]| parse_request(Protocol::Resp, bytes).is_err();
        assert!(
            refused(b"*1\r\n$3\r\nGETX\r\n"),
            "data longer than declared"
        );
        assert!(
            refused(b"*1\r\n$99999999999\r\n"),
            "bulk over the frame limit"
        );
        assert!(refused(b"*99999999\r\n"), "too many arguments");
        assert!(refused(b"*0\r\n"), "no command");
        assert!(refused(b"*1\r\n$-1\r\n"), "negative length");
        assert!(refused(b"*1\r\n:3\r\n"), "not a bulk string");
        assert!(refused(b"*x\r\n"), "not a number");
        assert!(
            refused(b"*111111111111111111111111111\r\n"),
            "endless header"
        );
        assert!(refused(&[b'*'; 64]), "endless header without CRLF");
    }

    #[test]
    fn commands_display_redis_style() {
        assert_eq!(
            line("PUT k hello world").to_string(),
            r#"SET "k" "hello world""#
        );
        assert_eq!(line("DEL k").to_string(), r#"DEL "k""#);
        assert_eq!(line("GET").to_string(), "invalid (usage: GET key)");
    }

    #[test]
    fn replies_encode_for_each_protocol() {
        use Protocol::{Line, Resp};
        assert_eq!(
            encoded(Line, Reply::Value(Some(b"v w".to_vec()))),
            "OK v w\n"
        );
        assert_eq!(encoded(Line, Reply::Value(None)), "NONE\n");
        assert_eq!(encoded(Line, Reply::Integer(0)), "OK\n");
        assert_eq!(
            encoded(Line, Reply::Error("bad\nthing".into())),
            "ERROR bad thing\n"
        );
        assert!(encoded(Line, Reply::Value(Some(b"a\nb".to_vec()))).starts_with("ERROR"));
        assert_eq!(
            encoded(Resp, Reply::Value(Some(b"v".to_vec()))),
            "$1\r\nv\r\n"
        );
        assert_eq!(encoded(Resp, Reply::Value(None)), "$-1\r\n");
        assert_eq!(encoded(Resp, Reply::Integer(2)), ":2\r\n");
        assert_eq!(encoded(Resp, Reply::Pong(None)), "+PONG\r\n");
        assert_eq!(encoded(Resp, Reply::Map(Vec::new())), "*0\r\n");
        let save = (b"save".to_vec(), Reply::bulk(""));
        assert_eq!(
            encoded(Resp, Reply::Map(vec![save])),
            "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
        );
        assert_eq!(encoded(Resp, Reply::Error("no".into())), "-ERR no\r\n");
    }

    #[test]
    fn resp3_has_its_own_null_map_and_push() {
        use Protocol::{Resp, Resp3};
        assert_eq!(encoded(Resp3, Reply::Value(None)), "_\r\n");
        let pairs = || Reply::Map(vec![(b"proto".to_vec(), Reply::Integer(3))]);
        assert_eq!(encoded(Resp3, pairs()), "%1\r\n$5\r\nproto\r\n:3\r\n");
        assert_eq!(encoded(Resp, pairs()), "*2\r\n$5\r\nproto\r\n:3\r\n");
        let message = || Reply::Push(vec![Reply::bulk("message"), Reply::bulk("ch")]);
        assert_eq!(
            encoded(Resp3, message()),
            ">2\r\n$7\r\nmessage\r\n$2\r\nch\r\n"
        );
        assert_eq!(
            encoded(Resp, message()),
            "*2\r\n$7\r\nmessage\r\n$2\r\nch\r\n"
        );
        // Nested values take the connection's types too: EXEC with a null inside.
        let results = Reply::Array(vec![Reply::Ok, Reply::Value(None)]);
        assert_eq!(encoded(Resp3, results.clone()), "*2\r\n+OK\r\n_\r\n");
        assert_eq!(encoded(Resp, results), "*2\r\n+OK\r\n$-1\r\n");
        assert_eq!(
            encoded(Resp3, Reply::ExecAbort),
            "-EXECABORT Transaction discarded because of previous errors.\r\n"
        );
    }
}
