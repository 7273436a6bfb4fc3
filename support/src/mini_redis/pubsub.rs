//! Publish/subscribe: `PUBLISH` to a channel reaches every client subscribed to it, and every
//! client subscribed to a glob pattern that matches it (`PSUBSCRIBE news.*`).
//!
//! Each channel and each pattern with subscribers has one tokio `broadcast` channel: `PUBLISH`
//! sends a message into it once, without waiting, and every subscriber's connection task
//! receives its own copy of the handle (the message itself is shared, in an `Arc`). A
//! connection subscribed to several channels waits on all of them at once with
//! [`Subscriptions::next`], a small fan-in over one stream per subscription.
//!
//! **Encoded once.** The bytes a subscriber's client receives for a message (the push) are
//! the same for every subscriber of the channel that speaks the same protocol, so the
//! [`Message`] keeps them: the first subscriber to need them encodes them, the others copy
//! them. Encoding per subscriber built the same bytes a hundred times for a hundred
//! subscribers; in a profile of the server delivering to 100 subscribers, formatting and
//! allocating those copies took more than a third of its time.
//!
//! **A subscriber that stops reading.** The alternative to a bounded buffer is a publisher
//! that waits for its slowest subscriber, or memory that grows without end. A `broadcast`
//! channel holds the last [`CHANNEL_CAPACITY`] messages; sending never waits, and when a
//! receiver falls further behind, its oldest messages are overwritten and its next `recv`
//! says how many it missed (`RecvError::Lagged`). What then? The server could skip the missed
//! messages and go on, but the client would never know that it has a gap. So the mini Redis
//! **disconnects** it, as Redis disconnects a subscriber over its output buffer limit. Two
//! differences: Redis counts that limit in bytes (`client-output-buffer-limit pubsub`, 32 MB
//! by default) and drops the client at once with its unsent output, while the mini Redis
//! counts messages and first writes what it still holds. The client sees the connection
//! close, knows it may have missed messages, and can resubscribe. Publishers are never slowed down, and the
//! memory a slow subscriber can pin is bounded: the channel's buffer, the connection's
//! pending replies, and the socket's buffers.

use super::protocol::{encode_push, Protocol};
use futures::stream::{self, BoxStream, StreamExt};
use std::collections::HashMap;
use std::fmt;
use std::future::poll_fn;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use tokio::sync::broadcast::{self, error::RecvError};

/// The messages a channel (or pattern) keeps for subscribers that have not read them yet.
/// (`broadcast::channel` rounds its capacity up to a power of two; this one already is.)
pub const CHANNEL_CAPACITY: usize = 1024;

/// A published message, shared by every subscriber that receives it.
#[derive(Debug)]
pub struct Message {
    pub channel: Vec<u8>,
    pub payload: Vec<u8>,
    /// The pattern the channel matched, for a pattern's subscribers: their push is a
    /// `pmessage`, which names it. `None` for the channel's own subscribers (`message`).
    pub pattern: Option<Vec<u8>>,
    /// The push, in RESP2 (`[0]`) and RESP3 (`[1]`), each encoded when a subscriber first
    /// needs it. Encoding both in `publish` would be the simpler code, but would pay for a
    /// protocol that maybe no subscriber speaks; a `OnceLock` costs one atomic load per
    /// delivery once it is set.
    encoded: [OnceLock<Vec<u8>>; 2],
}

impl Message {
    fn new(pattern: Option<Vec<u8>>, channel: Vec<u8>, payload: Vec<u8>) -> Message {
        Message {
            channel,
            payload,
            pattern,
            encoded: Default::default(),
        }
    }

    /// The same message, for the subscribers of `pattern`, which it matched.
    fn for_pattern(&self, pattern: &[u8]) -> Message {
        let (channel, payload) = (self.channel.clone(), self.payload.clone());
        Message::new(Some(pattern.to_vec()), channel, payload)
    }

    /// The bytes of this message's push for a subscriber speaking `protocol`.
    pub fn encoded(&self, protocol: Protocol) -> &[u8] {
        let slot = &self.encoded[usize::from(protocol == Protocol::Resp3)];
        slot.get_or_init(|| {
            // `message`, or `pmessage` (with the pattern) for a pattern's subscribers.
            let (channel, payload) = (&self.channel[..], &self.payload[..]);
            let mut out = Vec::with_capacity(channel.len() + payload.len() + 64);
            match &self.pattern {
                None => encode_push(protocol, &[b"message", channel, payload], &mut out),
                Some(pattern) => {
                    let items = [b"pmessage", &pattern[..], channel, payload];
                    encode_push(protocol, &items, &mut out);
                }
            }
            out
        })
    }
}

/// The sending side of a channel's (or pattern's) broadcast channel.
type Sender = broadcast::Sender<Arc<Message>>;

/// What one subscription yields: a message, or how many it missed.
type Messages = BoxStream<'static, Result<Arc<Message>, RecvError>>;

/// A channel name or a glob pattern a client subscribed to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subscription {
    Channel(Vec<u8>),
    Pattern(Vec<u8>),
}

/// The channels and patterns that have subscribers, each with its broadcast sender. It lives
/// in the store's state, under its lock, so `PUBLISH` also works inside `MULTI`.
#[derive(Debug, Default)]
pub struct Registry {
    channels: HashMap<Vec<u8>, Sender>,
    patterns: HashMap<Vec<u8>, Sender>,
}

impl Registry {
    /// A receiver of what is published to `subscription` from now on.
    pub fn subscribe(&mut self, subscription: &Subscription) -> broadcast::Receiver<Arc<Message>> {
        let (senders, name) = self.senders(subscription);
        senders
            .entry(name.to_vec())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe()
    }

    /// Forgets `subscription`'s sender once nobody receives from it, so the map does not keep
    /// every name ever subscribed to.
    pub fn forget_if_unused(&mut self, subscription: &Subscription) {
        let (senders, name) = self.senders(subscription);
        if senders
            .get(name)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            senders.remove(name);
        }
    }

    // ANCHOR: publish
    /// Sends `payload` to everyone subscribed to `channel`, directly or through a pattern;
    /// returns how many subscriptions received it (Redis's reply to `PUBLISH`).
    ///
    /// `send` on a `broadcast::Sender` never waits: it puts the message in the channel's
    /// ring buffer and wakes the receivers, and it returns how many receivers there are. A
    /// subscriber that does not keep up loses its oldest messages instead (see the module
    /// docs): publishers are never held up by the slowest reader.
    pub fn publish(&mut self, channel: Vec<u8>, payload: Vec<u8>) -> usize {
        let message = Arc::new(Message::new(None, channel, payload));
        let mut reached = 0;
        if let Some(sender) = self.channels.get(&message.channel) {
            // An error means the last subscriber left: then the sender can go.
            match sender.send(message.clone()) {
                Ok(receivers) => reached += receivers,
                Err(_) => drop(self.channels.remove(&message.channel)),
            }
        }
        self.patterns.retain(|pattern, sender| {
            if !glob_match(pattern, &message.channel) {
                return true;
            }
            // A `pmessage` names its pattern: each matching pattern sends a message of its own.
            let sent = sender.send(Arc::new(message.for_pattern(pattern)));
            reached += sent.as_ref().map_or(0, |receivers| *receivers);
            sent.is_ok() // no receiver left: forget the pattern
        });
        reached
    }
    // ANCHOR_END: publish

    fn senders<'a>(
        &mut self,
        subscription: &'a Subscription,
    ) -> (&mut HashMap<Vec<u8>, Sender>, &'a [u8]) {
        match subscription {
            Subscription::Channel(name) => (&mut self.channels, name),
            Subscription::Pattern(pattern) => (&mut self.patterns, pattern),
        }
    }
}

/// What a subscriber's fan-in yields: a message to push to the client, or the news that the
/// client fell too far behind on one of its subscriptions.
#[derive(Debug)]
pub enum Delivery {
    /// The message to push to the client (`message` or `pmessage`, see [`Message::encoded`]).
    Message(Arc<Message>),
    /// Messages were overwritten before this connection read them.
    Lagged { missed: u64 },
}

/// One connection's subscriptions, in the order they were made, each with the stream of its
/// messages.
#[derive(Default)]
pub struct Subscriptions {
    streams: Vec<(Subscription, Messages)>,
    /// Where the next poll starts: after the subscription that delivered last, so a busy
    /// channel cannot starve the others.
    next_first: usize,
}

impl fmt::Debug for Subscriptions {
    /// The subscriptions; their streams have nothing to show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let held = self.streams.iter().map(|(held, _)| held);
        f.debug_list().entries(held).finish()
    }
}

impl Subscriptions {
    /// How many channels and patterns the connection is subscribed to.
    pub fn count(&self) -> usize {
        self.streams.len()
    }

    /// Whether the connection is subscribed to `subscription`.
    pub fn contains(&self, subscription: &Subscription) -> bool {
        self.streams.iter().any(|(held, _)| held == subscription)
    }

    /// The subscriptions of one kind (channels or patterns), in subscription order.
    pub fn of_kind(&self, patterns: bool) -> Vec<Subscription> {
        let is_pattern = |held: &Subscription| matches!(held, Subscription::Pattern(_));
        let held = self.streams.iter().map(|(held, _)| held);
        held.filter(|held| is_pattern(held) == patterns)
            .cloned()
            .collect()
    }

    /// Adds `subscription`, receiving from `receiver`.
    pub fn add(&mut self, subscription: Subscription, receiver: broadcast::Receiver<Arc<Message>>) {
        let messages = stream::unfold(receiver, |mut receiver| async move {
            match receiver.recv().await {
                Err(RecvError::Closed) => None,
                received => Some((received, receiver)),
            }
        });
        self.streams.push((subscription, messages.boxed()));
    }

    /// Removes `subscription`; dropping its stream drops its receiver at once, so the next
    /// `PUBLISH` no longer counts it. Returns whether it was there.
    pub fn remove(&mut self, subscription: &Subscription) -> bool {
        let before = self.streams.len();
        self.streams.retain(|(held, _)| held != subscription);
        self.next_first = 0;
        self.streams.len() < before
    }

    // ANCHOR: fan_in
    /// The next message from any subscription: a future that completes when one of the
    /// streams has an item. With no subscriptions, it never completes (the connection's
    /// `select!` then waits on its other branches only).
    ///
    /// `tokio_stream::StreamMap` offers this (keyed streams, merged), but tokio-stream is
    /// not in the survey's dependency set; with `futures`' `StreamExt` it is a short loop:
    /// poll the streams in turn, starting after the last one that delivered, and return the
    /// first ready item. When it returns `Pending`, every stream has been polled and has
    /// kept the task's waker, so whichever channel gets a message first wakes the task.
    pub async fn next(&mut self) -> Delivery {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Delivery> {
        let count = self.streams.len();
        for offset in 0..count {
            let index = (self.next_first + offset) % count;
            let (_, messages) = &mut self.streams[index];
            if let Poll::Ready(Some(received)) = messages.poll_next_unpin(cx) {
                self.next_first = (index + 1) % count;
                return Poll::Ready(match received {
                    Ok(message) => Delivery::Message(message),
                    Err(RecvError::Lagged(missed)) => Delivery::Lagged { missed },
                    Err(RecvError::Closed) => unreachable!("a closed channel ends its stream"),
                });
            }
        }
        Poll::Pending
    }
    // ANCHOR_END: fan_in
}

/// Whether `text` matches the glob `pattern`, as Redis matches channel patterns: `*` any
/// run of bytes, `?` one byte, `[abc]`, `[^abc]`, `[a-z]` one byte of a set, `\x` the byte
/// `x` itself.
///
/// One pass with backtracking to the last `*` only, so a pattern with many stars cannot make
/// it take exponential time.
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // After a `*`: where the pattern resumes, and the text position it last tried.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if pattern.get(p) == Some(&b'*') {
            star = Some((p + 1, t));
            p += 1;
        } else if let Some(next) = match_one(pattern, p, text[t]) {
            p = next;
            t += 1;
        } else if let Some((resume, tried)) = star {
            // Let the star swallow one more byte and try again from there.
            star = Some((resume, tried + 1));
            (p, t) = (resume, tried + 1);
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&byte| byte == b'*')
}

/// If the one-byte element of `pattern` at `p` matches `byte`: the index after it.
fn match_one(pattern: &[u8], p: usize, byte: u8) -> Option<usize> {
    match *pattern.get(p)? {
        b'?' => Some(p + 1),
        b'\\' if p + 1 < pattern.len() => (pattern[p + 1] == byte).then_some(p + 2),
        b'[' => match_class(pattern, p + 1, byte),
        literal => (literal == byte).then_some(p + 1),
    }
}

/// A `[...]` set starting after its `[` at `p`. An unclosed set runs to the pattern's end, as
/// in Redis.
fn match_class(pattern: &[u8], mut p: usize, byte: u8) -> Option<usize> {
    let negated = pattern.get(p) == Some(&b'^');
    if negated {
        p += 1;
    }
    let mut matched = false;
    while p < pattern.len() && pattern[p] != b']' {
        if pattern[p] == b'\\' && p + 1 < pattern.len() {
            matched |= pattern[p + 1] == byte;
            p += 2;
        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' && pattern[p + 2] != b']' {
            let (low, high) = (
                pattern[p].min(pattern[p + 2]),
                pattern[p].max(pattern[p + 2]),
            );
            matched |= (low..=high).contains(&byte);
            p += 3;
        } else {
            matched |= pattern[p] == byte;
            p += 1;
        }
    }
    (matched != negated).then_some((p + 1).min(pattern.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_in_redis() {
        let cases: [(&str, &str, bool); 14] = [
            ("news.*", "news.sport", true),
            ("news.*", "news.", true),
            ("news.*", "weather", false),
            ("h?llo", "hello", true),
            ("h?llo", "hllo", false),
            ("h[ae]llo", "hallo", true),
            ("h[ae]llo", "hillo", false),
            ("h[^e]llo", "hallo", true),
            ("h[^e]llo", "hello", false),
            ("h[a-c]llo", "hbllo", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("*a*b*c*", "xaxbxcx", true),
            ("*", "", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                glob_match(pattern.as_bytes(), text.as_bytes()),
                expected,
                "{pattern} ~ {text}"
            );
        }
        // Many stars against a text that almost matches: linear, not exponential.
        let stars = "*a".repeat(30) + "b";
        assert!(!glob_match(stars.as_bytes(), "a".repeat(5000).as_bytes()));
    }

    #[tokio::test]
    async fn publish_counts_channel_and_pattern_subscribers_and_fans_in() {
        let mut registry = Registry::default();
        let mut subscriptions = Subscriptions::default();
        for subscription in [
            Subscription::Channel(b"news".to_vec()),
            Subscription::Pattern(b"n*".to_vec()),
        ] {
            let receiver = registry.subscribe(&subscription);
            subscriptions.add(subscription, receiver);
        }
        assert_eq!(registry.publish(b"news".to_vec(), b"hi".to_vec()), 2);
        assert_eq!(registry.publish(b"other".to_vec(), b"no".to_vec()), 0);
        let mut pushes = Vec::new();
        for _ in 0..2 {
            match subscriptions.next().await {
                Delivery::Message(message) => pushes.push(message),
                other => panic!("expected a message, got {other:?}"),
            }
        }
        pushes.sort_by_key(|message| message.pattern.is_some());
        let encoded = |message: &Message, protocol| {
            String::from_utf8(message.encoded(protocol).to_vec()).expect("text")
        };
        let message = "$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n";
        assert_eq!(
            encoded(&pushes[0], Protocol::Resp),
            format!("*3\r\n{message}")
        );
        assert_eq!(
            encoded(&pushes[0], Protocol::Resp3),
            format!(">3\r\n{message}")
        );
        let pmessage = "$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n";
        assert_eq!(
            encoded(&pushes[1], Protocol::Resp),
            format!("*4\r\n{pmessage}")
        );
        // Encoded once: a second subscriber gets the very same bytes, not a copy made anew.
        let first = pushes[0].encoded(Protocol::Resp).as_ptr();
        assert_eq!(pushes[0].encoded(Protocol::Resp).as_ptr(), first);
        // Unsubscribing drops the receiver at once: the next PUBLISH no longer counts it.
        assert!(subscriptions.remove(&Subscription::Channel(b"news".to_vec())));
        assert_eq!(registry.publish(b"news".to_vec(), b"again".to_vec()), 1);
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_learns_how_much_it_missed() {
        let mut registry = Registry::default();
        let mut subscriptions = Subscriptions::default();
        let channel = Subscription::Channel(b"fast".to_vec());
        subscriptions.add(channel.clone(), registry.subscribe(&channel));
        let sent = CHANNEL_CAPACITY + 10;
        for i in 0..sent {
            // Never waits, however far behind the subscriber is.
            assert_eq!(registry.publish(b"fast".to_vec(), i.to_string().into()), 1);
        }
        assert!(matches!(
            subscriptions.next().await,
            Delivery::Lagged { missed: 10 }
        ));
    }
}
