"""`make bench`: throughput and latency of the survey's servers, in one table.

Measured on this machine, all on 127.0.0.1:

1. The mini Redis (Rust) against the Python asyncio version of the same line protocol
   (bench/py_kv_server.py), both driven by the same Rust load client (`mr-bench`), with 1, 50
   and 200 connections, without and with pipelining.
2. The mini Redis against redis-server under `redis-benchmark -t set,get` (RESP), when
   redis-server and redis-benchmark are installed.
3. The mock HTTP server under wrk at delay 0, when wrk is installed.

It then checks the targets and exits 1 if one is missed:
- at least 10x the Python version's throughput at 50 connections (with pipelining);
- at least half of redis-server's throughput under redis-benchmark at 50 connections.

Usage: python3 bench/run.py   (after `cargo build --release`; the Makefile does both)
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RELEASE = REPO / "target" / "release"
CONNECTIONS = (1, 50, 200)
PIPELINES = (1, 16)
# Requests per run: enough for a stable number, few enough that the Python side stays quick.
TOTAL_REQUESTS = 40_000
PIPELINED_SCALE = 8
# The servers share this machine's cores with the load generators, so the mini Redis runs on
# one thread, like redis-server and the Python server: a current-thread runtime measured
# 1.0-1.1M req/s here (50 connections, pipeline 16) against 0.65-0.9M with two workers, whose
# threads compete with the load generator for the same two cores.
MR_SERVER_OPTIONS = ["--workers", "0"]
TARGET_VS_PYTHON = 10.0
TARGET_VS_REDIS = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{process.args[0]} did not listen on port {port}")


@contextlib.contextmanager
def server(command: list[str], port: int) -> Iterator[int]:
    """Runs a server process for the duration of the block; yields its port."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_listening(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def line_load(port: int, connections: int, pipeline: int) -> dict:
    # Pipelined runs go many times faster: give them more requests, so they last long enough.
    total = TOTAL_REQUESTS * (PIPELINED_SCALE if pipeline > 1 else 1)
    per_connection = max(total // connections, pipeline)
    if connections == 1 and pipeline == 1:
        per_connection = TOTAL_REQUESTS // 4  # one round trip at a time: keep it short
    output = subprocess.run(
        [str(RELEASE / "mr-bench"), f"127.0.0.1:{port}", str(connections), str(per_connection)]
        + [str(pipeline)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


def mini_redis_built() -> bool:
    """The mini Redis server (part 17) is measured only once its binary exists."""
    return (RELEASE / "mr-server").is_file()


def line_protocol_rows() -> list[dict]:
    rows = []
    rust_port, python_port = free_port(), free_port()
    rust_server = [str(RELEASE / "mr-server"), f"127.0.0.1:{rust_port}", *MR_SERVER_OPTIONS]
    python_server = [sys.executable, str(REPO / "bench" / "py_kv_server.py")]
    python_server.append(f"127.0.0.1:{python_port}")
    servers = [("Python asyncio", python_server, python_port)]
    if mini_redis_built():
        servers.insert(0, ("mini Redis (Rust)", rust_server, rust_port))
    for name, command, port in servers:
        with server(command, port):
            for connections in CONNECTIONS:
                for pipeline in PIPELINES:
                    result = line_load(port, connections, pipeline)
                    rows.append(
                        {"server": name, "protocol": "line", "client": "mr-bench", **result}
                    )
    return rows


def redis_benchmark(port: int, connections: int, pipeline: int) -> list[dict]:
    output = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set,get"]
        + ["-n", "100000", "-c", str(connections), "-P", str(pipeline), "--csv"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    rows = []
    for record in csv.DictReader(io.StringIO(output)):
        rows.append(
            {
                "test": record["test"],
                "connections": connections,
                "pipeline": pipeline,
                "throughput": float(record["rps"]),
                "p50_ms": float(record["p50_latency_ms"]),
                "p99_ms": float(record["p99_latency_ms"]),
            }
        )
    return rows


def resp_rows() -> list[dict]:
    if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
        print("redis-server or redis-benchmark missing: skipping the RESP comparison")
        print("  (install Debian's redis-server and redis-tools, or run `make bench-tools`)")
        return []
    rows = []
    rust_port, redis_port = free_port(), free_port()
    redis = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1"]
    redis += ["--save", "", "--appendonly", "no"]
    servers = [("redis-server", redis, redis_port)]
    if mini_redis_built():
        rust = [str(RELEASE / "mr-server"), f"127.0.0.1:{rust_port}", *MR_SERVER_OPTIONS]
        servers.insert(0, ("mini Redis (Rust)", rust, rust_port))
    for name, command, port in servers:
        with server(command, port):
            for connections in CONNECTIONS:
                for pipeline in PIPELINES:
                    for result in redis_benchmark(port, connections, pipeline):
                        row = {"server": name, "protocol": "RESP", "client": "redis-benchmark"}
                        rows.append({**row, **result})
    return rows


def wrk_rows() -> list[dict]:
    if not shutil.which("wrk"):
        print("wrk missing: skipping the mock HTTP server (install Debian's wrk)")
        return []
    port = free_port()
    with server([str(RELEASE / "mock-server"), f"127.0.0.1:{port}"], port):
        output = subprocess.run(
            ["wrk", "-t2", "-c50", "-d3s", "--latency", f"http://127.0.0.1:{port}/count?delay=0"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    throughput = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = parse_wrk_latency(re.search(r"50%\s+(\S+)", output).group(1))
    p99 = parse_wrk_latency(re.search(r"99%\s+(\S+)", output).group(1))
    row = {"server": "mock HTTP", "protocol": "HTTP", "client": "wrk", "connections": 50}
    return [{**row, "pipeline": 1, "throughput": throughput, "p50_ms": p50, "p99_ms": p99}]


def parse_wrk_latency(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def print_table(rows: list[dict]) -> None:
    header = f"{'server':18} {'protocol':8} {'client':15} {'test':5} {'conns':>5} {'pipe':>4}"
    print(f"\n{header} {'req/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
    for row in rows:
        print(
            f"{row['server']:18} {row['protocol']:8} {row['client']:15} {row.get('test', ''):5}"
            f" {row['connections']:5} {row['pipeline']:4} {row['throughput']:11,.0f}"
            f" {row['p50_ms']:8.2f} {row['p99_ms']:8.2f}"
        )


def throughput(rows: list[dict], server_name: str, connections: int, pipeline: int) -> float:
    matching = [
        row["throughput"]
        for row in rows
        if row["server"] == server_name
        and row["connections"] == connections
        and row["pipeline"] == pipeline
    ]
    return sum(matching) / len(matching)


def check_targets(line: list[dict], resp: list[dict]) -> list[str]:
    """The speed goals, each as a printed verdict; returns the ones missed."""
    missed = []
    if not mini_redis_built():
        print("the mini Redis server (mr-server) is not built yet: its targets are not checked")
        return missed
    for pipeline in PIPELINES:
        ratio = throughput(line, "mini Redis (Rust)", 50, pipeline) / throughput(
            line, "Python asyncio", 50, pipeline
        )
        verdict = f"line protocol, 50 conns, pipeline {pipeline}: {ratio:.1f}x Python"
        print(f"{verdict} (target {TARGET_VS_PYTHON:.0f}x with pipelining)")
        if pipeline > 1 and ratio < TARGET_VS_PYTHON:
            missed.append(verdict)
    if resp:
        for pipeline in PIPELINES:
            ratio = throughput(resp, "mini Redis (Rust)", 50, pipeline) / throughput(
                resp, "redis-server", 50, pipeline
            )
            verdict = f"redis-benchmark, 50 conns, pipeline {pipeline}: {ratio:.2f}x redis-server"
            print(f"{verdict} (target {TARGET_VS_REDIS}x)")
            if ratio < TARGET_VS_REDIS:
                missed.append(verdict)
    return missed


def main() -> int:
    line = line_protocol_rows()
    resp = resp_rows()
    http = wrk_rows()
    print_table(line + resp + http)
    print()
    missed = check_targets(line, resp)
    results = REPO / ".build" / "bench.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(line + resp + http, indent=2))
    print(f"\nraw results: {results.relative_to(REPO)}")
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
