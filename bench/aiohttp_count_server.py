"""The survey's mock HTTP server written with aiohttp: the Python reference `make bench`
measures the Rust one (support/src/mock_http.rs, `make server`) against.

It does exactly the Rust server's job: ``GET /count?delay=SECONDS`` sleeps ``delay`` seconds,
then increments a counter and returns ``{"count": N, "delay": SECONDS}``. ``delay`` is parsed
the way the Rust server parses it: missing means 0; not a number, not finite, negative or
over 10 seconds is a 400 with a message saying why.

It is written the way a Python developer would write it, because that is what the Rust
server is compared with: one ``async def`` handler, ``await asyncio.sleep(delay)`` even when
the delay is 0 (which only yields to the event loop once), aiohttp's own ``json_response``,
the default event loop. Making it faster (skipping the sleep at 0, uvloop, hand-built
responses) would measure something nobody writes.

Usage: python bench/aiohttp_count_server.py [HOST:PORT]    (default 127.0.0.1:0, a free port)
Its first line on stdout is "listening on HOST:PORT", once it accepts connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import sys
from dataclasses import dataclass

from aiohttp import web

# The longest delay a request may ask for, as in the Rust server (MAX_DELAY): anything
# longer is a typo, and a request stuck for minutes would look like a hang.
MAX_DELAY_SECONDS = 10.0
# The Rust server's query extractor refuses a repeated field with this message.
DUPLICATE_DELAY = "Failed to deserialize query string: duplicate field `delay`"


@dataclass
class Counter:
    """Requests finished so far. A plain int in the app would do, but aiohttp freezes the
    app's mapping once it runs, so the handler mutates this object instead."""

    value: int = 0


COUNTER = web.AppKey("counter", Counter)


class DelayError(ValueError):
    """A ``delay`` the server refuses; the message is the 400 reply's body."""


def parse_delay(raw: str | None) -> float:
    """Seconds from the ``delay`` parameter, with the Rust server's rules and messages.

    Python's ``float`` and Rust's ``f64`` parser (after the Rust server's ``trim``) agree on
    what a number is, with one exception: ``float`` also takes digits grouped with
    underscores ("1_0"), so those are refused first. Both take "inf" and "nan", which are
    then refused as not finite."""
    if raw is None:
        return 0.0
    try:
        if "_" in raw:
            raise ValueError(raw)
        seconds = float(raw)
    except ValueError:
        message = f"bad delay {json.dumps(raw)}: expected a number of seconds, such as 0.25"
        raise DelayError(message) from None
    if not math.isfinite(seconds):
        raise DelayError("bad delay: it must be a finite number")
    if seconds < 0:
        raise DelayError(f"bad delay {rust_number(seconds)}: it must not be negative")
    if seconds > MAX_DELAY_SECONDS:
        raise DelayError(
            f"bad delay {rust_number(seconds)}: at most {MAX_DELAY_SECONDS:.0f} seconds is allowed"
        )
    return seconds


def rust_number(value: float) -> str:
    """``value`` as Rust's ``{}`` prints an f64 in these messages: "-1", not "-1.0"."""
    text = repr(value)
    return text.removesuffix(".0")


async def count(request: web.Request) -> web.Response:
    delays = request.query.getall("delay", [])
    if len(delays) > 1:
        return web.Response(status=400, text=f"{DUPLICATE_DELAY}\n")
    try:
        delay = parse_delay(delays[0] if delays else None)
    except DelayError as error:
        return web.Response(status=400, text=f"{error}\n")
    await asyncio.sleep(delay)
    # Incremented after the sleep, so the counts tell the order in which requests finished.
    counter = request.app[COUNTER]
    counter.value += 1
    return web.json_response({"count": counter.value, "delay": delay})


def make_app() -> web.Application:
    app = web.Application()
    app[COUNTER] = Counter()
    app.router.add_get("/count", count)
    return app


async def serve(host: str, port: int) -> None:
    """Serve until cancelled, after printing the address the socket is bound to (port 0
    means the operating system chose it)."""
    runner = web.AppRunner(make_app())
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        if ":" in bound_host:  # IPv6, written as Rust writes a SocketAddr
            bound_host = f"[{bound_host}]"
        print(f"listening on {bound_host}:{bound_port}", flush=True)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:0").rpartition(":")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(host.strip("[]"), int(port)))


if __name__ == "__main__":
    main()
