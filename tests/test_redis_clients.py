"""The mini Redis under a real client: redis-py 8.1, sync (``redis.Redis``) and asyncio
(``redis.asyncio.Redis``), at its default settings, which since redis-py 8.0 means RESP3:
every connection opens with ``HELLO 3``, then ``CLIENT MAINT_NOTIFICATIONS`` and
``CLIENT SETINFO`` (redis/connection.py, ``on_connect_check_health``; it ignores an error
reply to those two).

Every test runs twice: against ``redis-server``, the reference (Debian's, when installed), and
against the ``mr-server`` binary. The expected replies are written once, from what
redis-server answers, so a test that passes on both proves the mini Redis answers as Redis does.
Tests of a feature the mini Redis has not landed yet are marked ``xfail(strict=True)`` for
mr-server only (``PENDING``): a feature that lands turns them into failures until the mark is
removed, so the list is always the truth.

Both servers start once per module on a port of their own (mr-server on port 0, found through
its ``listening on`` line; redis-server cannot take port 0, see survey/servers.py), and each
test uses keys named after itself, so tests never see each other's data. Timing: the two
deadline tests (sync and asyncio) wait 0.2 s past a 0.2 s expiry; nothing else sleeps.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pytest
import redis
import redis.asyncio

from survey import REPO
from survey.servers import running

REDIS_SERVER = "redis-server"
MR_SERVER = "mr-server"

# What the mini Redis has not landed yet (issue #12), by feature. A test names the features it
# needs with @needs(...); against mr-server it is then a strict xfail while any is pending.
FEATURES = {
    "handshake": "HELLO 3 (RESP3), CLIENT, PING, ECHO, SELECT 0, COMMAND",
    "options": "SET's EX/PX/NX/XX options",
    "expiry": "EXPIRE, PEXPIRE, TTL, PTTL, PERSIST and expiring keys",
    "multi": "MULTI/EXEC/DISCARD",
    "pubsub": "PUBLISH, (P)SUBSCRIBE, (P)UNSUBSCRIBE",
}
PENDING: set[str] = set()

# redis-server says this once it accepts connections (it logs to stdout by default).
REDIS_READY = re.compile(r".*Ready to accept connections.*")
# How long a pub/sub message, a raw socket read or a whole asyncio scenario may take: a test
# fails, it never hangs. (redis-py's own reads time out after 5 s by default.)
TIMEOUT_SECONDS = 10.0
# The deadline tests: a key set with PX this long must be gone this long after its deadline.
EXPIRY_MS = 200
MARGIN_SECONDS = 0.2
# Redis's reply to a command other than (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT or RESET
# on a RESP2 connection in subscribed mode (checked against redis-server 7.0.15).
SUBSCRIBED_MODE_ERROR = (
    "Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
    "are allowed in this context"
)


def needs(*features: str) -> Callable:
    """Marks a test as needing these mini Redis features (keys of FEATURES)."""
    unknown = set(features) - FEATURES.keys()
    assert not unknown, f"unknown features {unknown}"

    def mark(test: Callable) -> Callable:
        @functools.wraps(test)
        def run_test(*args, **kwargs):
            try:
                return test(*args, **kwargs)
            except Exception as error:
                if not EXPECTED_TO_FAIL:
                    raise
                # Expected (and reported as xfail, which shows no traceback): fail with the
                # message alone. pytest would otherwise read the source of every frame of a
                # deep redis-py and asyncio stack, a quarter of a second a test.
                pytest.fail(f"{type(error).__name__}: {error}", pytrace=False)

        run_test.needs = features
        return run_test

    return mark


# Whether the running test is a pending feature's strict xfail (set by `expectation`).
EXPECTED_TO_FAIL = False


@pytest.fixture(autouse=True)
def expectation(request: pytest.FixtureRequest) -> Iterator[None]:
    global EXPECTED_TO_FAIL
    EXPECTED_TO_FAIL = request.node.get_closest_marker("xfail") is not None
    yield
    EXPECTED_TO_FAIL = False


def mini_redis_only(test: Callable) -> Callable:
    """Marks a test of the mini Redis's own behaviour (its line protocol): mr-server only."""
    test.mini_redis_only = True
    return test


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Runs every test that takes ``server`` against both servers, and marks it xfail for
    mr-server while a feature it needs is pending."""
    if "server" not in metafunc.fixturenames:
        return
    pending = [
        FEATURES[name] for name in getattr(metafunc.function, "needs", ()) if name in PENDING
    ]
    marks = []
    if pending:
        reason = f"mini Redis: {'; '.join(pending)} pending"
        marks.append(pytest.mark.xfail(strict=True, reason=reason))
    params = [pytest.param(MR_SERVER, id=MR_SERVER, marks=marks)]
    if not getattr(metafunc.function, "mini_redis_only", False):
        params.insert(0, pytest.param(REDIS_SERVER, id=REDIS_SERVER))
    metafunc.parametrize("server", params, indirect=True, scope="module")


@dataclass(frozen=True)
class Server:
    """A running server, and clients for it at redis-py's default settings."""

    name: str
    host: str
    port: int

    def client(self, **options) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, **options)

    def async_client(self, **options) -> redis.asyncio.Redis:
        return redis.asyncio.Redis(host=self.host, port=self.port, **options)

    def socket(self) -> socket.socket:
        return socket.create_connection((self.host, self.port), timeout=TIMEOUT_SECONDS)


@pytest.fixture(scope="session")
def mr_server_binary() -> str:
    """The mr-server binary, built (debug, like `cargo test` builds it) from the working tree.

    After `cargo test` in `make check` this is a no-op of a second. The path comes from cargo's
    own report, so a CARGO_TARGET_DIR elsewhere is found too. MR_SERVER_BINARY names a binary
    to test instead (one built from another checkout, say)."""
    if os.environ.get("MR_SERVER_BINARY"):
        return os.environ["MR_SERVER_BINARY"]
    if not shutil.which("cargo"):
        pytest.skip("cargo is missing: mr-server cannot be built")
    command = ["cargo", "build", "--locked", "-p", "support", "--bin", "mr-server"]
    built = subprocess.run(
        [*command, "--message-format=json"], cwd=REPO, capture_output=True, text=True, timeout=900
    )
    if built.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{built.stderr[-3000:]}")
    for line in built.stdout.splitlines():
        message = json.loads(line)
        artifact = message.get("reason") == "compiler-artifact"
        if artifact and message.get("executable") and message["target"]["name"] == "mr-server":
            return message["executable"]
    pytest.fail(f"{' '.join(command)} reported no mr-server executable")


def free_port() -> int:
    """A port nothing on 127.0.0.1 is bound to now (for redis-server, which cannot take 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    if request.param == REDIS_SERVER:
        if not shutil.which("redis-server"):
            pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
        port = free_port()
        command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port)]
        command += ["--save", "", "--appendonly", "no"]
        with running(command, REDIS_READY, first_line=False):
            yield Server(REDIS_SERVER, "127.0.0.1", port)
    else:
        binary = request.getfixturevalue("mr_server_binary")
        with running([binary, "127.0.0.1:0"]) as ready:
            host, _, port = ready["address"].rpartition(":")
            yield Server(MR_SERVER, host, int(port))


@pytest.fixture
def key(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """Key names of this test's own: ``key("a")`` is ``"<test id>:a"``."""
    # The test id's brackets would be a character class in a PSUBSCRIBE pattern.
    prefix = request.node.name.replace("[", "(").replace("]", ")")
    return lambda name: f"{prefix}:{name}"


@pytest.fixture
def r(server: Server) -> Iterator[redis.Redis]:
    """A sync client at default settings."""
    client = server.client()
    yield client
    client.close()


def run(scenario) -> object:
    """Runs an asyncio test scenario in a fresh event loop, bounded by TIMEOUT_SECONDS."""

    async def bounded():
        return await asyncio.wait_for(scenario, TIMEOUT_SECONDS)

    return asyncio.run(bounded())


def message(pubsub: redis.client.PubSub) -> dict | None:
    return pubsub.get_message(timeout=TIMEOUT_SECONDS)


# --- connection set-up: HELLO 3, CLIENT, PING, ECHO, SELECT, COMMAND ---------------------------


def hello_reply(r: redis.Redis) -> dict:
    """What the server answered to the HELLO 3 that opened ``r``'s connection."""
    connection = r.connection_pool.get_connection()
    try:
        return connection.handshake_metadata
    finally:
        r.connection_pool.release(connection)


@needs("handshake")
def test_a_default_client_connects_with_resp3(r):
    assert r.ping() is True
    # redis-py itself refuses a server whose HELLO 3 reply does not say proto 3.
    hello = hello_reply(r)
    assert hello[b"proto"] == 3 and hello[b"server"]


@needs("handshake")
def test_ping_echo_and_select_0(r):
    assert r.ping() is True
    assert r.echo("hello") == b"hello"
    assert r.echo(b"\x00\r\nbinary") == b"\x00\r\nbinary"
    assert r.execute_command("SELECT", 0) is True


@needs("handshake")
def test_command_answers_a_list(r):
    # redis-py parses COMMAND's array into a dict by command name; the mini Redis's may be
    # minimal (redis-cli only needs an answer that is not an error).
    assert isinstance(r.command(), dict)


@needs("handshake")
def test_client_setinfo(r, server):
    version = hello_reply(r)[b"version"].decode()
    if server.name == REDIS_SERVER and tuple(map(int, version.split(".")[:2])) < (7, 2):
        # CLIENT SETINFO came with Redis 7.2; an older reference refuses it (and redis-py
        # ignores that on connect).
        with pytest.raises(redis.ResponseError, match="unknown subcommand 'SETINFO'"):
            r.client_setinfo("LIB-NAME", "survey")
    else:
        assert r.client_setinfo("LIB-NAME", "survey") is True
        assert r.client_setinfo("LIB-VER", "1.0") is True


# --- strings: SET, GET, DEL, and SET's options -------------------------------------------------


@needs("handshake")
def test_set_get_delete(r, key):
    assert r.set(key("a"), "1") is True
    assert r.set(key("b"), b"\x00\r\n binary \xff") is True
    assert r.get(key("a")) == b"1"
    assert r.get(key("b")) == b"\x00\r\n binary \xff"
    assert r.get(key("missing")) is None
    assert r.delete(key("a"), key("b"), key("missing")) == 2
    assert r.get(key("a")) is None


@needs("handshake", "options")
def test_set_nx_only_sets_a_missing_key(r, key):
    assert r.set(key("k"), "first", nx=True) is True
    assert r.set(key("k"), "second", nx=True) is None
    assert r.get(key("k")) == b"first"


@needs("handshake", "options")
def test_set_xx_only_sets_an_existing_key(r, key):
    assert r.set(key("k"), "first", xx=True) is None
    assert r.get(key("k")) is None
    r.set(key("k"), "first")
    assert r.set(key("k"), "second", xx=True) is True
    assert r.get(key("k")) == b"second"


# --- expiry: EX, PX, EXPIRE, PEXPIRE, TTL, PTTL, PERSIST ---------------------------------------


@needs("handshake", "options", "expiry")
def test_set_ex_and_px_give_a_ttl(r, key):
    assert r.set(key("ex"), "v", ex=100) is True
    assert 90 <= r.ttl(key("ex")) <= 100
    assert 90_000 <= r.pttl(key("ex")) <= 100_000
    assert r.set(key("px"), "v", px=100_000) is True
    assert 90 <= r.ttl(key("px")) <= 100
    assert r.get(key("px")) == b"v"


@needs("handshake", "expiry")
def test_expire_pexpire_persist_and_the_ttl_of_keys_without_one(r, key):
    assert r.ttl(key("missing")) == -2 and r.pttl(key("missing")) == -2
    assert r.expire(key("missing"), 100) is False
    assert r.persist(key("missing")) is False
    r.set(key("k"), "v")
    assert r.ttl(key("k")) == -1 and r.pttl(key("k")) == -1
    assert r.persist(key("k")) is False
    assert r.expire(key("k"), 100) is True
    assert 90 <= r.ttl(key("k")) <= 100
    assert r.pexpire(key("k"), 200_000) is True
    assert 190_000 <= r.pttl(key("k")) <= 200_000
    assert r.persist(key("k")) is True
    assert r.ttl(key("k")) == -1
    assert r.get(key("k")) == b"v"


@needs("handshake", "expiry")
def test_set_without_options_clears_a_ttl(r, key):
    r.set(key("k"), "v", ex=100)
    r.set(key("k"), "w")
    assert r.ttl(key("k")) == -1


@needs("handshake", "expiry")
def test_expire_with_a_time_in_the_past_deletes_the_key(r, key):
    r.set(key("k"), "v")
    assert r.expire(key("k"), -1) is True
    assert r.get(key("k")) is None and r.ttl(key("k")) == -2


@needs("handshake", "options", "expiry", "multi")
def test_a_key_set_with_px_is_gone_after_its_deadline(r, key):
    # The SET and the reads in one transaction: both servers run it at once, so the key is
    # seen alive however loaded the machine. Its deadline was set before the reply came back,
    # so waiting PX from here ends past it: load can only make the check later, never early.
    with r.pipeline() as pipe:
        pipe.set(key("short"), "v", px=EXPIRY_MS).pttl(key("short")).get(key("short"))
        pipe.set(key("long"), "v", px=60_000)
        stored, ttl, value, _ = pipe.execute()
    assert stored is True and value == b"v" and 0 < ttl <= EXPIRY_MS
    time.sleep(EXPIRY_MS / 1000 + MARGIN_SECONDS)
    assert r.get(key("short")) is None
    assert r.pttl(key("short")) == -2
    assert r.get(key("long")) == b"v"


# --- pipelines and transactions: MULTI, EXEC, DISCARD ------------------------------------------


@needs("handshake")
def test_a_pipeline_without_transaction(r, key):
    with r.pipeline(transaction=False) as pipe:
        pipe.set(key("a"), "1").get(key("a")).delete(key("a")).get(key("a"))
        assert pipe.execute() == [True, b"1", 1, None]


@needs("handshake", "multi")
def test_a_transaction_pipeline_is_multi_exec(r, key):
    # transaction=True, the default: redis-py wraps the commands in MULTI ... EXEC.
    with r.pipeline() as pipe:
        pipe.set(key("a"), "1").get(key("a")).set(key("b"), "2").delete(key("a"))
        assert pipe.execute() == [True, b"1", True, 1]
    assert r.get(key("a")) is None and r.get(key("b")) == b"2"


@needs("handshake", "multi")
def test_an_error_while_queuing_aborts_the_whole_transaction(r, key):
    with r.pipeline() as pipe:
        pipe.set(key("a"), "1").execute_command("NOSUCH", "x").set(key("b"), "2")
        # redis-py reads EXECABORT and raises the error that caused it.
        with pytest.raises(redis.ResponseError, match="unknown command 'NOSUCH'"):
            pipe.execute()
    assert r.get(key("a")) is None and r.get(key("b")) is None
    assert r.ping() is True


def raw_pipeline(r: redis.Redis, *commands: tuple) -> list:
    """Sends ``commands`` as they are in one pipeline (no MULTI of redis-py's own), and
    returns every reply as the server sent it (no response callbacks, so a queued SET reads
    b"QUEUED", not False), errors included as exception objects."""
    with redis.client.Pipeline(r.connection_pool, {}, transaction=False, shard_hint=None) as pipe:
        for command in commands:
            pipe.execute_command(*command)
        return pipe.execute(raise_on_error=False)


@needs("handshake", "multi")
def test_execabort_names_the_earlier_errors(r, key):
    replies = raw_pipeline(
        r,
        ("MULTI",),
        ("SET", key("a"), "1"),
        ("GET",),  # wrong arity: refused while queuing
        ("EXEC",),
        ("GET", key("a")),
    )
    assert replies[:2] == [b"OK", b"QUEUED"]
    assert isinstance(replies[2], redis.ResponseError)
    assert str(replies[2]) == "wrong number of arguments for 'get' command"
    assert isinstance(replies[3], redis.exceptions.ExecAbortError)
    assert str(replies[3]) == "Transaction discarded because of previous errors."
    assert replies[4] is None


@needs("handshake", "multi")
def test_exec_replies_one_result_per_queued_command(r, key):
    replies = raw_pipeline(
        r, ("MULTI",), ("SET", key("a"), "1"), ("GET", key("a")), ("DEL", key("a")), ("EXEC",)
    )
    assert replies[0] == b"OK"
    assert replies[1:4] == [b"QUEUED"] * 3
    assert replies[4] == [b"OK", b"1", 1]


@needs("handshake", "multi")
def test_discard_drops_the_queue(r, key):
    replies = raw_pipeline(r, ("MULTI",), ("SET", key("a"), "1"), ("DISCARD",), ("GET", key("a")))
    assert replies == [b"OK", b"QUEUED", b"OK", None]


@needs("handshake", "multi")
@pytest.mark.parametrize(
    ("commands", "error"),
    [
        ((("EXEC",),), "EXEC without MULTI"),
        ((("DISCARD",),), "DISCARD without MULTI"),
        ((("MULTI",), ("MULTI",)), "MULTI calls can not be nested"),
    ],
    ids=["exec", "discard", "nested-multi"],
)
def test_transaction_commands_out_of_place_are_errors(r, commands, error):
    replies = raw_pipeline(r, *commands, ("DISCARD",), ("ECHO", "still here"))
    assert isinstance(replies[len(commands) - 1], redis.ResponseError)
    assert str(replies[len(commands) - 1]) == error
    assert replies[-1] == b"still here"


@needs("handshake", "multi")
def test_nested_multi_leaves_the_transaction_open(r, key):
    # Redis refuses the inner MULTI but keeps queuing; EXEC then runs the queue.
    replies = raw_pipeline(r, ("MULTI",), ("MULTI",), ("SET", key("a"), "1"), ("EXEC",))
    assert isinstance(replies[1], redis.ResponseError)
    assert replies[2:] == [b"QUEUED", [b"OK"]]
    assert r.get(key("a")) == b"1"


@needs("handshake", "options", "multi")
def test_an_error_inside_exec_does_not_undo_the_others(r, key):
    # Argument values are checked when EXEC runs the command, not while queuing: the bad SET
    # fails inside EXEC's reply and the rest is applied (Redis has no rollback).
    replies = raw_pipeline(
        r, ("MULTI",), ("SET", key("a"), "1", "EX", "abc"), ("SET", key("b"), "2"), ("EXEC",)
    )
    assert replies[:3] == [b"OK", b"QUEUED", b"QUEUED"]
    error, stored = replies[3]
    assert isinstance(error, redis.ResponseError)
    assert str(error) == "value is not an integer or out of range"
    assert stored == b"OK"
    assert r.get(key("a")) is None and r.get(key("b")) == b"2"


# --- bad input: an error reply, and the connection stays usable --------------------------------


def assert_errors_keep_the_connection(r: redis.Redis, command: tuple, error: str) -> None:
    """``command`` fails with ``error`` (exactly Redis's message), and the same connection
    then answers an ECHO: the server did not close it. Errors are checked on the connection
    itself, because a client command would silently reconnect."""
    connection = r.connection_pool.get_connection()
    try:
        connection.send_command(*command)
        with pytest.raises(redis.ResponseError) as raised:
            connection.read_response()
        assert str(raised.value) == error
        connection.send_command("ECHO", "still here")
        assert connection.read_response() == b"still here"
    finally:
        r.connection_pool.release(connection)


def cases(*pairs: tuple[tuple, str]) -> list:
    """Bad-input cases, each named by its command as typed."""
    return [pytest.param(command, error, id=" ".join(command)) for command, error in pairs]


def wrong_arity(name: str) -> str:
    return f"wrong number of arguments for '{name}' command"


@needs("handshake")
@pytest.mark.parametrize(
    ("command", "error"),
    cases(
        (("GET",), wrong_arity("get")),
        (("SET", "k"), wrong_arity("set")),
        (("ECHO",), wrong_arity("echo")),
        (("PING", "a", "b"), wrong_arity("ping")),
        (("NOSUCH", "a", "b"), "unknown command 'NOSUCH', with args beginning with: 'a' 'b' "),
    ),
)
def test_bad_commands_are_errors(r, command, error):
    assert_errors_keep_the_connection(r, command, error)


@needs("handshake")
@pytest.mark.parametrize(
    ("command", "error"),
    cases(
        (("SET", "k", "v", "NX", "XX"), "syntax error"),
        (("SET", "k", "v", "EX", "10", "PX", "100"), "syntax error"),
        (("SET", "k", "v", "EX"), "syntax error"),
        (("SET", "k", "v", "KEEP"), "syntax error"),
    ),
)
def test_set_options_that_do_not_go_together_are_a_syntax_error(r, command, error):
    assert_errors_keep_the_connection(r, command, error)


@needs("handshake", "options", "expiry")
@pytest.mark.parametrize(
    ("command", "error"),
    cases(
        (("SET", "k", "v", "EX", "-1"), "invalid expire time in 'set' command"),
        (("SET", "k", "v", "PX", "0"), "invalid expire time in 'set' command"),
        (("SET", "k", "v", "EX", "abc"), "value is not an integer or out of range"),
        (("SET", "k", "v", "EX", "9999999999999999"), "invalid expire time in 'set' command"),
        (("EXPIRE", "k", "abc"), "value is not an integer or out of range"),
        (("EXPIRE", "k", "99999999999999999999"), "value is not an integer or out of range"),
        (("EXPIRE", "k", "9223372036854775807"), "invalid expire time in 'expire' command"),
        (("PEXPIRE", "k"), wrong_arity("pexpire")),
        (("TTL",), wrong_arity("ttl")),
        (("PTTL", "a", "b"), wrong_arity("pttl")),
        (("PERSIST",), wrong_arity("persist")),
    ),
)
def test_bad_expiry_input_is_an_error(r, command, error):
    assert_errors_keep_the_connection(r, command, error)


@needs("handshake", "pubsub")
@pytest.mark.parametrize(
    ("command", "error"),
    cases(
        (("SUBSCRIBE",), wrong_arity("subscribe")),
        (("PSUBSCRIBE",), wrong_arity("psubscribe")),
        (("PUBLISH", "channel"), wrong_arity("publish")),
    ),
)
def test_bad_pubsub_input_is_an_error(r, command, error):
    assert_errors_keep_the_connection(r, command, error)


# --- pub/sub between connections ---------------------------------------------------------------


def subscription(kind: str, name: bytes, count: int) -> dict:
    return {"type": kind, "pattern": None, "channel": name, "data": count}


@needs("handshake", "pubsub")
@pytest.mark.parametrize("protocol", [None, 2], ids=["resp3", "resp2"])
def test_publish_reaches_channel_and_pattern_subscribers(server, key, protocol):
    options = {} if protocol is None else {"protocol": protocol}
    publisher, subscriber = server.client(), server.client(**options)
    channel, other = key("news.uk").encode(), key("news.fr").encode()
    pattern = key("news.*").encode()
    pubsub = subscriber.pubsub()
    try:
        pubsub.subscribe(channel)
        assert message(pubsub) == subscription("subscribe", channel, 1)
        pubsub.psubscribe(pattern)
        assert message(pubsub) == subscription("psubscribe", pattern, 2)

        # Subscribed by name and by pattern: Redis delivers (and counts) it twice.
        assert publisher.publish(channel, "one") == 2
        assert message(pubsub) == {
            "type": "message",
            "pattern": None,
            "channel": channel,
            "data": b"one",
        }
        assert message(pubsub) == {
            "type": "pmessage",
            "pattern": pattern,
            "channel": channel,
            "data": b"one",
        }
        assert publisher.publish(other, "two") == 1
        assert message(pubsub)["data"] == b"two"
        assert publisher.publish(key("sports"), "nobody") == 0

        pubsub.unsubscribe(channel)
        assert message(pubsub) == subscription("unsubscribe", channel, 1)
        pubsub.punsubscribe()
        assert message(pubsub) == subscription("punsubscribe", pattern, 0)
        assert publisher.publish(channel, "gone") == 0
    finally:
        pubsub.close()
        publisher.close()
        subscriber.close()


@needs("handshake", "pubsub")
def test_publish_counts_every_subscriber(server, key):
    publisher = server.client()
    subscribers = [server.client() for _ in range(3)]
    pubsubs = [subscriber.pubsub() for subscriber in subscribers]
    channel = key("chat").encode()
    try:
        for pubsub in pubsubs:
            pubsub.subscribe(channel)
            assert message(pubsub)["type"] == "subscribe"
        assert publisher.publish(channel, "hello") == 3
        for pubsub in pubsubs:
            assert message(pubsub)["data"] == b"hello"
    finally:
        for client in (*pubsubs, *subscribers, publisher):
            client.close()


@needs("handshake", "pubsub")
def test_a_resp2_subscriber_may_only_run_pubsub_commands(server, key):
    # RESP2 only: on RESP3, the default, Redis lets a subscribed client run any command.
    subscriber = server.client(protocol=2)
    pubsub = subscriber.pubsub()
    channel = key("ch").encode()
    try:
        pubsub.subscribe(channel)
        assert message(pubsub)["type"] == "subscribe"
        pubsub.execute_command("GET", key("k"))
        with pytest.raises(redis.ResponseError) as raised:
            message(pubsub)
        assert str(raised.value) == SUBSCRIBED_MODE_ERROR
        # Still subscribed, and PING is allowed (RESP2 answers it as ["pong", ""]).
        pubsub.ping()
        assert message(pubsub) == {"type": "pong", "pattern": None, "channel": None, "data": b""}
        with server.client() as publisher:
            assert publisher.publish(channel, "still here") == 1
        assert message(pubsub)["data"] == b"still here"
    finally:
        pubsub.close()
        subscriber.close()


# --- the wire itself: RESP3 types, and the line protocol on the same port ----------------------


def one_reply(stream: BinaryIO) -> bytes:
    """The bytes of exactly one RESP2/RESP3 reply read from ``stream``, however it nests: a
    check never waits for bytes a server did not send, and a wrong reply shows as it was."""
    line = stream.readline()
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind in (b"$", b"=", b"!") and rest != b"-1":
        return line + stream.read(int(rest) + 2)
    if kind in (b"*", b">", b"~") and rest != b"-1":
        return line + b"".join(one_reply(stream) for _ in range(int(rest)))
    if kind == b"%":
        return line + b"".join(one_reply(stream) for _ in range(2 * int(rest)))
    return line  # one line: + - : _ , # ( and the null aggregates, or b"" at EOF


def hello_fields(reply: bytes) -> dict[bytes, bytes]:
    """HELLO's reply (a RESP3 map, or a RESP2 array of name-value pairs) as a dict from each
    field's name to its value's raw bytes."""
    stream = io.BytesIO(reply)
    header = stream.readline()
    count = int(header[1:]) * (2 if header[:1] == b"%" else 1)
    parts = [one_reply(stream) for _ in range(count)]
    names = [name.split(b"\r\n")[1] for name in parts[::2]]
    return dict(zip(names, parts[1::2], strict=True))


class Wire:
    """A raw socket speaking RESP, to check the bytes no client library shows."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.stream = sock.makefile("rb")

    def send(self, *args: str | bytes) -> None:
        frame = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode() if isinstance(arg, str) else arg
            frame.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(frame))

    def reply(self) -> bytes:
        return one_reply(self.stream)

    def close(self) -> None:
        self.stream.close()
        self.sock.close()


@pytest.fixture
def wire(server: Server) -> Iterator[Wire]:
    connection = Wire(server.socket())
    yield connection
    connection.close()


def bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


@needs("handshake")
def test_hello_switches_the_reply_types(wire, key):
    wire.send("HELLO", "3")
    reply = wire.reply()
    assert reply.startswith(b"%")  # RESP3's map
    assert hello_fields(reply)[b"proto"] == b":3\r\n"
    wire.send("GET", key("missing"))
    assert wire.reply() == b"_\r\n"  # RESP3's null
    wire.send("HELLO", "2")
    reply = wire.reply()
    assert reply.startswith(b"*")  # the same fields as a flat array
    assert hello_fields(reply)[b"proto"] == b":2\r\n"
    wire.send("GET", key("missing"))
    assert wire.reply() == b"$-1\r\n"  # RESP2's null bulk string
    wire.send("HELLO", "4")
    assert wire.reply() == b"-NOPROTO unsupported protocol version\r\n"
    wire.send("PING")
    assert wire.reply() == b"+PONG\r\n"


@needs("handshake", "pubsub")
def test_resp3_subscriptions_are_pushes_and_other_commands_still_run(wire, server, key):
    channel = key("ch").encode()
    wire.send("HELLO", "3")
    wire.reply()
    wire.send("SUBSCRIBE", channel)
    assert wire.reply() == b">3\r\n" + bulk(b"subscribe") + bulk(channel) + b":1\r\n"
    wire.send("GET", key("missing"))
    assert wire.reply() == b"_\r\n"
    with server.client() as publisher:
        assert publisher.publish(channel, "hi") == 1
    assert wire.reply() == b">3\r\n" + bulk(b"message") + bulk(channel) + bulk(b"hi")


@needs("pubsub")
def test_resp2_subscriptions_are_arrays(wire, key):
    channel = key("ch").encode()
    wire.send("SUBSCRIBE", channel)
    assert wire.reply() == b"*3\r\n" + bulk(b"subscribe") + bulk(channel) + b":1\r\n"
    wire.send("PING")
    assert wire.reply() == b"*2\r\n" + bulk(b"pong") + bulk(b"")
    wire.send("UNSUBSCRIBE")
    assert wire.reply() == b"*3\r\n" + bulk(b"unsubscribe") + bulk(channel) + b":0\r\n"
    wire.send("PING")
    assert wire.reply() == b"+PONG\r\n"


@mini_redis_only
def test_the_line_protocol_still_works_on_the_same_port(server, key):
    # A RESP client and a line-protocol client share the store. (RESP2, which needs no HELLO:
    # this test is about the line protocol, and holds whatever else has landed.)
    with server.client(protocol=2) as client:
        client.set(key("greeting"), "hello over RESP")
    with server.socket() as sock:
        sock.sendall(
            f"PUT {key('a')} a value\nGET {key('a')}\nGET {key('greeting')}\nDEL {key('a')}\n"
            f"GET {key('a')}\nFLY away\nQUIT\n".encode()
        )
        lines = sock.makefile().read().splitlines()
    assert lines[:5] == ["OK", "OK a value", "OK hello over RESP", "OK", "NONE"]
    assert lines[5].startswith("ERROR ") and len(lines) == 6


# --- redis.asyncio: the same client API on asyncio ---------------------------------------------


@needs("handshake")
def test_async_basics(server, key):
    async def scenario():
        async with server.async_client() as r:
            assert await r.ping() is True
            assert await r.echo("hello") == b"hello"
            assert await r.execute_command("SELECT", 0) is True
            assert await r.set(key("a"), "1") is True
            assert await r.get(key("a")) == b"1"
            assert await r.get(key("missing")) is None
            assert await r.delete(key("a"), key("missing")) == 1
            with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
                await r.execute_command("GET")
            assert await r.ping() is True

    run(scenario())


@needs("handshake", "options", "expiry", "multi")
def test_async_expiry(server, key):
    async def scenario():
        async with server.async_client() as r:
            assert await r.set(key("k"), "v", nx=True) is True
            assert await r.set(key("k"), "w", nx=True) is None
            assert await r.set(key("k"), "w", xx=True, ex=100) is True
            assert 90 <= await r.ttl(key("k")) <= 100
            assert await r.pexpire(key("k"), 200_000) is True
            assert 190_000 <= await r.pttl(key("k")) <= 200_000
            assert await r.persist(key("k")) is True
            assert await r.ttl(key("k")) == -1
            with pytest.raises(redis.ResponseError, match="invalid expire time in 'set'"):
                await r.set(key("k"), "v", ex=-1)
            async with r.pipeline() as pipe:  # MULTI/EXEC: seen alive however loaded
                pipe.set(key("short"), "v", px=EXPIRY_MS).get(key("short"))
                assert await pipe.execute() == [True, b"v"]
            await asyncio.sleep(EXPIRY_MS / 1000 + MARGIN_SECONDS)
            assert await r.get(key("short")) is None

    run(scenario())


@needs("handshake", "multi")
def test_async_pipelines(server, key):
    async def scenario():
        async with server.async_client() as r:
            async with r.pipeline(transaction=False) as pipe:
                pipe.set(key("a"), "1").get(key("a"))
                assert await pipe.execute() == [True, b"1"]
            async with r.pipeline() as pipe:  # transaction=True: MULTI ... EXEC
                pipe.set(key("b"), "2").get(key("b")).delete(key("a"))
                assert await pipe.execute() == [True, b"2", 1]
            async with r.pipeline() as pipe:
                pipe.set(key("c"), "3").execute_command("NOSUCH")
                with pytest.raises(redis.ResponseError, match="unknown command 'NOSUCH'"):
                    await pipe.execute()
            assert await r.get(key("c")) is None

    run(scenario())


@needs("handshake", "pubsub")
def test_async_pubsub(server, key):
    channel, pattern = key("ch.1").encode(), key("ch.*").encode()

    async def scenario():
        async with server.async_client() as publisher, server.async_client() as subscriber:
            pubsub = subscriber.pubsub()
            await pubsub.subscribe(channel)
            await pubsub.psubscribe(pattern)
            first = await pubsub.get_message(timeout=TIMEOUT_SECONDS)
            second = await pubsub.get_message(timeout=TIMEOUT_SECONDS)
            assert first == subscription("subscribe", channel, 1)
            assert second == subscription("psubscribe", pattern, 2)
            assert await publisher.publish(channel, "hi") == 2
            received = [await pubsub.get_message(timeout=TIMEOUT_SECONDS) for _ in range(2)]
            assert [(m["type"], m["data"]) for m in received] == [
                ("message", b"hi"),
                ("pmessage", b"hi"),
            ]
            await pubsub.unsubscribe()
            await pubsub.punsubscribe()
            # Once both are confirmed, nobody listens any more.
            third = await pubsub.get_message(timeout=TIMEOUT_SECONDS)
            fourth = await pubsub.get_message(timeout=TIMEOUT_SECONDS)
            assert third == subscription("unsubscribe", channel, 1)
            assert fourth == subscription("punsubscribe", pattern, 0)
            assert await publisher.publish(channel, "gone") == 0
            await pubsub.aclose()

    run(scenario())
