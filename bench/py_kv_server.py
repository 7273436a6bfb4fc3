"""The line protocol of part 17's mini Redis, written with Python asyncio streams.

It is the baseline the Rust server is measured against (notebook 17 and `make bench`), so it
is written the way the Python survey writes servers: one coroutine per connection, a dict for
the data, `readline` and `write` on the streams.

Usage: python3 bench/py_kv_server.py [HOST:PORT]      (default 127.0.0.1:0, a free port)
It prints "listening on HOST:PORT" once it accepts connections.
"""

import asyncio
import contextlib
import sys

MAX_LINE = 64 * 1024
store: dict[str, str] = {}


def execute(line: bytes) -> bytes | None:
    """The reply to one request line, or None for QUIT."""
    try:
        text = line.decode().rstrip("\r\n")
    except UnicodeDecodeError:
        return b"ERROR invalid UTF-8\n"
    command, _, rest = text.partition(" ")
    command = command.upper()
    if command == "GET" and rest and " " not in rest:
        return f"OK {store[rest]}\n".encode() if rest in store else b"NONE\n"
    if command == "PUT":
        key, space, value = rest.partition(" ")
        if key and space:
            store[key] = value
            return b"OK\n"
    if command == "DEL" and rest and " " not in rest:
        store.pop(rest, None)
        return b"OK\n"
    if command == "QUIT" and not rest:
        return None
    return f"ERROR bad request {text[:40]!r}\n".encode()


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                line = await reader.readline()
            except (asyncio.LimitOverrunError, ValueError):
                writer.write(b"ERROR line too long\n")
                break
            if not line.endswith(b"\n"):
                break  # end of stream, possibly after half a line
            reply = execute(line)
            if reply is None:
                break
            writer.write(reply)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main() -> None:
    host, _, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:0").rpartition(":")
    server = await asyncio.start_server(handle, host, int(port), limit=MAX_LINE)
    bound = server.sockets[0].getsockname()
    print(f"listening on {bound[0]}:{bound[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
