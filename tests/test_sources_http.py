"""The polite HTTP client, against a real HTTP server on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from recommender.sources.base import MalformedResponse, SourceUnavailable
from recommender.sources.http import PoliteClient
from tests.loopback import Reply, Seen, serving

NOW = datetime(2026, 3, 21, 8, 0, tzinfo=UTC)


class FakeTime:
    """A clock that moves only when the client sleeps; the sleeps are recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(*replies: Reply):
    """A handler that answers with ``replies`` in turn, then 200 "ok" forever."""
    queue = list(replies)

    def handler(request: Seen) -> Reply:
        return queue.pop(0) if queue else Reply(200, b"ok")

    return handler


def client(url: str, fake: FakeTime, **options) -> PoliteClient:
    defaults = dict(
        contact="operator@example.org",
        min_interval=0.0,
        backoff=1.0,
        timeout=2.0,
        clock=fake.clock,
        sleep=fake.sleep,
        now=lambda: NOW,
    )
    return PoliteClient(url, **{**defaults, **options})


def test_every_request_names_the_project_and_the_operator() -> None:
    with serving(scripted()) as (url, seen), client(url, FakeTime()) as polite:
        polite.get("/x")
    agent = seen[0].headers["user-agent"]
    assert agent.startswith("recommender/")
    assert "mailto:operator@example.org" in agent


def test_a_429_waits_as_long_as_retry_after_says_then_succeeds() -> None:
    fake = FakeTime()
    with serving(scripted(Reply(429, headers={"Retry-After": "7"}))) as (url, seen):
        with client(url, fake) as polite:
            response = polite.get("/x")
    assert (response.status, response.content) == (200, b"ok")
    assert fake.sleeps == [7.0]
    assert len(seen) == 2


def test_a_retry_after_given_as_a_date_is_waited_until() -> None:
    fake = FakeTime()
    when = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    with serving(scripted(Reply(503, headers={"Retry-After": when}))) as (url, _):
        with client(url, fake) as polite:
            polite.get("/x")
    assert fake.sleeps == [30.0]


def test_a_long_retry_after_is_capped() -> None:
    fake = FakeTime()
    with serving(scripted(Reply(429, headers={"Retry-After": "86400"}))) as (url, _):
        with client(url, fake, max_delay=60.0) as polite:
            polite.get("/x")
    assert fake.sleeps == [60.0]


def test_server_errors_are_retried_with_growing_delays() -> None:
    fake = FakeTime()
    with serving(scripted(Reply(500), Reply(502), Reply(503))) as (url, seen):
        with client(url, fake, backoff=1.5) as polite:
            response = polite.get("/x")
    assert response.status == 200
    assert fake.sleeps == [1.5, 3.0, 6.0]
    assert len(seen) == 4


def test_exhausted_retries_raise_one_line_naming_the_url() -> None:
    fake = FakeTime()
    with serving(lambda request: Reply(503)) as (url, seen):
        with client(url, fake, retries=2) as polite, pytest.raises(SourceUnavailable) as raised:
            polite.get("/api/x", {"date": "2026-03-20"})
    message = str(raised.value)
    assert message == f"{url}/api/x?date=2026-03-20: HTTP 503 after 3 attempts"
    assert len(seen) == 3


def test_a_refused_request_is_not_retried() -> None:
    fake = FakeTime()
    with serving(lambda request: Reply(404)) as (url, seen):
        with client(url, fake) as polite, pytest.raises(SourceUnavailable, match="HTTP 404$"):
            polite.get("/missing")
    assert len(seen) == 1
    assert fake.sleeps == []


def test_a_server_that_never_answers_times_out_into_one_line() -> None:
    fake = FakeTime()
    with serving(lambda request: Reply(200, b"late", delay=0.3)) as (url, seen):
        with client(url, fake, timeout=0.05, retries=1) as polite:
            with pytest.raises(SourceUnavailable) as raised:
                polite.get("/slow")
    assert str(raised.value) == f"{url}/slow: timed out after 2 attempts"
    assert "\n" not in str(raised.value)
    assert len(seen) == 2


@pytest.mark.parametrize("chunk_size", [0, 256], ids=["declared", "streamed"])
def test_a_response_over_the_size_limit_is_refused_without_retrying(chunk_size: int) -> None:
    def handler(request: Seen) -> Reply:
        body = b"[" + b"0," * 600 + b"0]" if request.path == "/big" else b"[1]"
        return Reply(200, body, chunk_size=chunk_size)

    with serving(handler) as (url, seen), client(url, FakeTime(), max_bytes=1000) as polite:
        with pytest.raises(SourceUnavailable) as raised:
            polite.get("/big")
        assert polite.get("/small").json() == [1]  # the client goes on working
    assert str(raised.value) == f"{url}/big: the response is over 1000 bytes"
    assert [request.path for request in seen] == ["/big", "/small"]


def test_a_server_that_drips_its_answer_times_out_as_a_whole() -> None:
    # Each byte comes well within the read timeout; the whole answer does not.
    drip = Reply(200, b"x" * 40, chunk_size=1, chunk_delay=0.02)
    with serving(lambda request: drip) as (url, seen):
        with client(url, FakeTime(), timeout=2.0, attempt_seconds=0.2, retries=1) as polite:
            with pytest.raises(SourceUnavailable) as raised:
                polite.get("/slow")
    assert str(raised.value) == f"{url}/slow: took over 0.2 s after 2 attempts"
    assert len(seen) == 2


def test_an_unreachable_host_is_one_line() -> None:
    with serving(scripted()) as (url, _):
        pass  # the server is gone: its port now refuses connections
    with client(url, FakeTime(), retries=0) as polite, pytest.raises(SourceUnavailable) as raised:
        polite.get("/x")
    assert str(raised.value).startswith(f"{url}/x: ConnectError")
    assert str(raised.value).endswith("after 1 attempt")


def test_no_two_requests_reach_the_server_closer_than_the_interval() -> None:
    interval = 0.1
    # Real time here: the gaps are measured by the server's own clock.
    with serving(scripted(Reply(500))) as (url, seen):
        with PoliteClient(url, contact="o@example.org", min_interval=interval, backoff=0.0) as p:
            for _ in range(3):
                p.get("/x")  # the first is retried after a 500
    assert len(seen) == 4
    gaps = [later.at - earlier.at for earlier, later in zip(seen, seen[1:], strict=False)]
    assert min(gaps) >= interval


def test_an_unchanged_resource_is_asked_for_conditionally_and_reused() -> None:
    def handler(request: Seen) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304)
        return Reply(200, b"[1, 2]", {"ETag": '"v1"'})

    with serving(handler) as (url, seen), client(url, FakeTime()) as polite:
        first = polite.get("/x")
        second = polite.get("/x")
    assert not first.not_modified
    assert second.not_modified
    assert second.status == 304
    assert second.json() == [1, 2]
    assert seen[1].headers["if-none-match"] == '"v1"'


def test_last_modified_is_sent_back_as_if_modified_since() -> None:
    stamp = format_datetime(NOW - timedelta(hours=1), usegmt=True)

    def handler(request: Seen) -> Reply:
        if request.headers.get("if-modified-since") == stamp:
            return Reply(304)
        return Reply(200, b"[]", {"Last-Modified": stamp})

    with serving(handler) as (url, seen), client(url, FakeTime()) as polite:
        polite.get("/x")
        assert polite.get("/x").not_modified
    assert "if-modified-since" not in seen[0].headers


def test_the_rate_limit_waits_on_the_injected_clock() -> None:
    fake = FakeTime()
    started = time.monotonic()
    with serving(scripted()) as (url, _), client(url, fake, min_interval=3.0) as polite:
        polite.get("/a")
        polite.get("/b")
    assert fake.sleeps == [3.0]
    assert time.monotonic() - started < 1.0  # the fake clock did the waiting


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (Reply(302, headers={"Location": "/loop"}), "TooManyRedirects"),
        (Reply(200, b'[{"paper": 1}]', {"Content-Encoding": "gzip"}), "DecodingError"),
        (Reply(302, headers={"Location": "file:///etc/passwd"}), "UnsupportedProtocol"),
    ],
    ids=["redirect-loop", "not-gzip", "redirect-to-a-file"],
)
def test_a_failure_another_attempt_would_meet_again_is_one_line_and_not_retried(
    reply: Reply, problem: str
) -> None:
    fake = FakeTime()
    with serving(lambda request: reply) as (url, seen), client(url, fake) as polite:
        with pytest.raises(SourceUnavailable) as raised:
            polite.get("/x")
    assert str(raised.value).startswith(f"{url}/x: {problem}")
    assert "\n" not in str(raised.value) and fake.sleeps == []
    assert len(seen) <= 21  # httpx follows 20 redirects at most, once


def test_json_nested_deeper_than_any_listing_is_malformed_not_a_crash() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with serving(lambda request: Reply(200, deep)) as (url, _), client(url, FakeTime()) as polite:
        response = polite.get("/x")
    with pytest.raises(MalformedResponse, match="nested too deep"):
        response.json()


@pytest.mark.parametrize("value", ["²", "-5", "1e9", "soon"])
def test_a_retry_after_that_is_no_delay_falls_back_to_the_backoff(value: str) -> None:
    fake = FakeTime()
    with serving(scripted(Reply(503, headers={"Retry-After": value}))) as (url, seen):
        with client(url, fake, backoff=1.5) as polite:
            response = polite.get("/x")
    assert response.status == 200
    assert fake.sleeps == [1.5]
    assert len(seen) == 2


@contextmanager
def dripping_headers(seconds: float) -> Iterator[str]:
    """A server that answers every request with a status line, then a header line every 50 ms
    for ``seconds``, never ending the headers: each read gets bytes well within the read
    timeout. (http.server, which :func:`serving` is made of, sends the headers at once.)"""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()

    def drip(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            ends = time.monotonic() + seconds
            try:
                connection.sendall(b"HTTP/1.1 200 OK\r\n")
                while time.monotonic() < ends and not stop.is_set():
                    time.sleep(0.05)
                    connection.sendall(b"X-Wait: a\r\n")
            except OSError:  # the client gave up
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_server_that_drips_its_headers_times_out_as_a_whole() -> None:
    started = time.monotonic()
    with dripping_headers(seconds=10.0) as url:
        with client(url, FakeTime(), timeout=2.0, attempt_seconds=0.3, retries=1) as polite:
            with pytest.raises(SourceUnavailable) as raised:
                polite.get("/slow")
    assert str(raised.value) == f"{url}/slow: took over 0.3 s after 2 attempts"
    assert time.monotonic() - started < 3.0
