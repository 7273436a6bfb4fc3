"""Server programs are found through the `listening on HOST:PORT` line they print first
(survey/servers.py), and the Python servers of bench/ print it.

Quick: no kernel, no Rust build. The aiohttp server's tests run only where aiohttp is
installed (`make bench` installs it; `make check` does not need it).
"""

import json
import socket
import sys
import urllib.error
import urllib.request

import pytest

from survey import REPO
from survey.servers import ServerError, running

BENCH = REPO / "bench"


def python(code):
    return [sys.executable, "-c", code]


def test_the_announced_address_is_where_the_server_listens():
    with running([sys.executable, str(BENCH / "py_kv_server.py"), "127.0.0.1:0"]) as ready:
        host, _, port = ready["address"].rpartition(":")
        assert host == "127.0.0.1" and int(port) > 0
        with socket.create_connection((host, int(port)), timeout=5) as client:
            client.sendall(b"PUT greeting hello\nGET greeting\nQUIT\n")
            assert client.makefile().read() == "OK\nOK hello\n"


def test_a_server_that_exits_first_is_an_error_naming_it_and_its_exit_code():
    with (
        pytest.raises(ServerError, match=r"exited with code 3 before it was ready") as error,
        running(python("import sys; sys.exit(3)")),
    ):
        pass
    assert sys.executable in str(error.value)


def test_stderr_of_a_failed_start_is_quoted():
    code = "import sys; print('cannot bind: address in use', file=sys.stderr); sys.exit(1)"
    with pytest.raises(ServerError, match="cannot bind: address in use"), running(python(code)):
        pass


def test_a_first_line_that_is_not_the_announcement_is_an_error():
    code = "print('starting up', flush=True); import time; time.sleep(30)"
    with pytest.raises(ServerError, match="first line was 'starting up'"), running(python(code)):
        pass


def test_a_server_that_says_nothing_times_out():
    code = "import time; time.sleep(30)"
    with (
        pytest.raises(ServerError, match=r"no line matching .* within 0.5 s"),
        running(python(code), timeout=0.5),
    ):
        pass


def get(url):
    """Status and body of a GET, errors included."""
    try:
        with urllib.request.urlopen(url, timeout=15) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture
def aiohttp_server():
    pytest.importorskip("aiohttp")
    with running([sys.executable, str(BENCH / "aiohttp_count_server.py")]) as ready:
        yield f"http://{ready['address']}"


def test_the_aiohttp_server_counts_like_the_mock_server(aiohttp_server):
    assert get(f"{aiohttp_server}/count") == (200, '{"count": 1, "delay": 0.0}')
    status, body = get(f"{aiohttp_server}/count?delay=0.05")
    assert status == 200 and json.loads(body) == {"count": 2, "delay": 0.05}


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("abc", 'bad delay "abc": expected a number of seconds'),
        ("", 'bad delay "": expected a number of seconds'),
        ("1_0", 'bad delay "1_0": expected a number of seconds'),
        ("nan", "it must be a finite number"),
        ("-1", "bad delay -1: it must not be negative"),
        ("10.5", "bad delay 10.5: at most 10 seconds is allowed"),
    ],
)
def test_the_aiohttp_server_refuses_bad_delays_like_the_mock_server(aiohttp_server, query, reason):
    status, body = get(f"{aiohttp_server}/count?delay={query}")
    assert status == 400 and reason in body
