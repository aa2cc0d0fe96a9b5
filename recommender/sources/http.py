"""A small polite HTTP client for the sources, over httpx.

Polite means: a User-Agent naming the project and the operator's address, timeouts on every
request, at least ``min_interval`` seconds from the end of one request to the start of the next
(per client, retries included), retries with growing delays on 429, 5xx and transport errors
(a ``Retry-After`` in seconds or as an HTTP date is obeyed, up to ``max_delay``), and
conditional requests: a response that carried an ``ETag`` or ``Last-Modified`` is kept (for
``cache_size`` URLs) and asked for again with ``If-None-Match`` / ``If-Modified-Since``, so an
unchanged listing costs the server a 304. A response is read in chunks, up to
``max_bytes`` and ``attempt_seconds`` (real time) an attempt: a server that sends too much is
refused at once, one that drips its answer (its headers or its body) is timed out and retried.

When retries are exhausted, or the server refuses the request outright (4xx other than 429),
:class:`~recommender.sources.base.SourceUnavailable` is raised with a one-line message naming
the URL. The clock and sleep are injectable, so tests pin time instead of waiting.

One request at a time: a client is not meant to be shared between threads.
"""

from __future__ import annotations

import functools
import json
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import certifi
import httpcore
import httpx

from recommender import __version__
from recommender.sources.base import MalformedResponse, SourceUnavailable

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
# The most a response may bring: a day of arXiv's listing or of the Daily Papers API is a few
# megabytes; a server sending more is misconfigured or hostile, and would fill the memory.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# The longest one attempt may take, headers and body included: the read timeout is between
# two reads, so a server that sends a byte every few seconds would otherwise never time out.
ATTEMPT_SECONDS = 300.0

_T = TypeVar("_T")


@dataclass(frozen=True)
class Response:
    url: str  # the full URL asked for, query included
    status: int  # the server's status; 304 when the cached body was reused
    content: bytes
    not_modified: bool = False  # the server answered 304 and ``content`` is the cached body

    def json(self) -> Any:
        """Decode the body as JSON; raise :class:`MalformedResponse` if it is not."""
        try:
            return json.loads(self.content)
        except (ValueError, UnicodeDecodeError) as error:
            raise MalformedResponse(f"{self.url}: not JSON ({error})") from None
        except RecursionError:  # nested deeper than any listing: a hostile body
            raise MalformedResponse(
                f"{self.url}: not JSON a listing has (nested too deep)"
            ) from None


@dataclass(frozen=True)
class _Cached:
    etag: str | None
    last_modified: str | None
    content: bytes


@functools.cache
def _tls() -> ssl.SSLContext:
    # httpx's default context (certifi's roots), built once: building one per client costs
    # about 0.1 s.
    return ssl.create_default_context(cafile=certifi.where())


def user_agent(contact: str) -> str:
    """Return the User-Agent: the project, its version and the operator's address."""
    return f"recommender/{__version__} (self-hosted paper digest; mailto:{contact})"


class Pace:
    """At least ``min_interval`` seconds from the end of one request to the start of the next.

    Clients that share a pace take turns: arXiv asks for one request every 3 seconds across its
    feeds and its API, which live on two hosts. One thread at a time, like the clients.
    """

    def __init__(
        self,
        min_interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._last_done: float | None = None

    def wait_for_turn(self) -> None:
        # Measured from the end of the previous request (its response or its failure), retries
        # included: the previous request reached the server before it ended and the next one
        # reaches it after it starts, so the server never sees two closer than min_interval.
        if self._last_done is not None:
            wait = self._last_done + self.min_interval - self._clock()
            if wait > 0:
                self._sleep(wait)

    def done(self) -> None:
        self._last_done = self._clock()


class PoliteClient:
    """GET requests to one base URL, politely; see the module docstring."""

    def __init__(
        self,
        base_url: str,
        *,
        contact: str,
        timeout: float = 20.0,
        min_interval: float = 1.0,
        retries: int = 4,
        backoff: float = 2.0,
        max_delay: float = 120.0,
        cache_size: int = 64,
        max_bytes: int = MAX_RESPONSE_BYTES,
        attempt_seconds: float = ATTEMPT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.BaseTransport | None = None,
        pace: Pace | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # ``pace`` shares one rate limit between clients; otherwise the client has its own.
        self.pace = pace if pace is not None else Pace(min_interval, clock=clock, sleep=sleep)
        self.retries = retries
        self.backoff = backoff
        self.max_delay = max_delay
        self.max_bytes = max_bytes
        self.attempt_seconds = attempt_seconds
        self.requests = 0  # requests sent, retries included
        self._sleep = sleep
        self._now = now
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_size = cache_size
        # One connection at a time, as arXiv asks; a client sends one request at a time anyway.
        limits = httpx.Limits(max_connections=1)
        self._deadline = _Deadline()
        if transport is None:
            transport = httpx.HTTPTransport(verify=_tls(), limits=limits)
            # httpx takes no network backend, and the deadline must reach every read (the
            # headers are read before any byte of the body): its pool is httpcore's, which does.
            transport._pool = httpcore.ConnectionPool(
                ssl_context=_tls(), max_connections=1, network_backend=self._deadline
            )
        self._client = httpx.Client(
            timeout=timeout,
            headers={"User-Agent": user_agent(contact)},
            follow_redirects=True,
            limits=limits,
            transport=transport,
            verify=_tls(),
        )

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Response:
        """GET ``base_url + path``; retry as the module says, then raise SourceUnavailable."""
        request = self._client.build_request("GET", self.base_url + path, params=params)
        url = str(request.url)
        cached = self._cache.get(url)
        if cached is not None:
            if cached.etag:
                request.headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                request.headers["If-Modified-Since"] = cached.last_modified
        attempts = self.retries + 1
        for attempt in range(attempts):
            self._wait_for_turn()
            try:
                response, content = self._send(request, url)
            except _NOT_RETRIED as error:  # the same again would fail the same way
                self.pace.done()
                raise SourceUnavailable(f"{url}: {_describe(error)}") from None
            except (httpx.TransportError, _TooSlow) as error:
                self.pace.done()
                problem, delay = _describe(error), None
            except SourceUnavailable:
                self.pace.done()
                raise
            else:
                self.pace.done()
                if response.status_code == 304 and cached is not None:
                    self._cache.move_to_end(url)
                    return Response(url, 304, cached.content, not_modified=True)
                if response.is_success:
                    self._remember(url, response, content)
                    return Response(url, response.status_code, content)
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRIED_STATUSES:
                    raise SourceUnavailable(f"{url}: {problem}")
                delay = self._retry_after(response.headers.get("Retry-After"))
            if attempt + 1 == attempts:
                break
            self._sleep(delay if delay is not None else self._backoff(attempt))
        tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
        raise SourceUnavailable(f"{url}: {problem} after {tries}")

    def _send(self, request: httpx.Request, url: str) -> tuple[httpx.Response, bytes]:
        """Send ``request``; the response and, for a success, its body, read in chunks so that
        neither its size (``max_bytes``) nor the time it takes (``attempt_seconds``, real
        time) can run away."""
        self._deadline.start(self.attempt_seconds)
        try:
            response = self._client.send(request, stream=True)
            try:
                if not response.is_success:
                    return response, b""
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise SourceUnavailable(f"{url}: the response is over {self.max_bytes} bytes")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise SourceUnavailable(
                            f"{url}: the response is over {self.max_bytes} bytes"
                        )
                    chunks.append(chunk)
                return response, b"".join(chunks)
            finally:
                response.close()
        finally:
            self._deadline.stop()

    def _wait_for_turn(self) -> None:
        self.pace.wait_for_turn()
        self.requests += 1

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2**attempt, self.max_delay)

    def _retry_after(self, value: str | None) -> float | None:
        """Return the delay a Retry-After header asks for, capped; None if absent or unreadable."""
        if value is None:
            return None
        value = value.strip()
        # ASCII digits only: str.isdigit also takes "²" and other digits float() refuses.
        if value.isascii() and value.isdigit():
            return min(float(value), self.max_delay)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP date is always GMT
            when = when.replace(tzinfo=UTC)
        return min(max((when - self._now()).total_seconds(), 0.0), self.max_delay)

    def _remember(self, url: str, response: httpx.Response, content: bytes) -> None:
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if not etag and not last_modified:
            self._cache.pop(url, None)
            return
        self._cache[url] = _Cached(etag, last_modified, content)
        self._cache.move_to_end(url)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


# Failures another attempt would meet again: a redirect loop, a body that does not decode as its
# Content-Encoding says, a redirect to an address this client does not fetch (file://).
_NOT_RETRIED = (httpx.TooManyRedirects, httpx.DecodingError, httpx.UnsupportedProtocol)


class _TooSlow(Exception):
    """An attempt that took longer than its limit, though the server kept sending."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"took over {seconds:g} s")


class _Deadline(httpcore.NetworkBackend):
    """The network, each attempt under a deadline: a connect, read or write gets at most the
    time left (its own timeout if shorter), and one the deadline cuts raises :class:`_TooSlow`.
    Outside an attempt (a connection closed with the client) there is no deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()
        self._until: float | None = None
        self._seconds = 0.0

    def start(self, seconds: float) -> None:
        self._until, self._seconds = time.monotonic() + seconds, seconds

    def stop(self) -> None:
        self._until = None

    def within(self, timeout: float | None, operation: Callable[[float | None], _T]) -> _T:
        """Run ``operation`` with ``timeout``, or the time left if that is shorter."""
        if self._until is None:
            return operation(timeout)
        left = self._until - time.monotonic()
        if left <= 0:
            raise _TooSlow(self._seconds)
        if timeout is not None and timeout <= left:
            return operation(timeout)
        try:
            return operation(left)
        except httpcore.TimeoutException:
            raise _TooSlow(self._seconds) from None

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self.within(
            timeout,
            lambda left: self._backend.connect_tcp(host, port, left, local_address, socket_options),
        )
        return _DeadlineStream(stream, self)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self.within(
            timeout, lambda left: self._backend.connect_unix_socket(path, left, socket_options)
        )
        return _DeadlineStream(stream, self)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._deadline.within(timeout, lambda left: self._stream.read(max_bytes, left))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._deadline.within(timeout, lambda left: self._stream.write(buffer, left))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._deadline.within(
            timeout, lambda left: self._stream.start_tls(ssl_context, server_hostname, left)
        )
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def _describe(error: httpx.HTTPError | _TooSlow) -> str:
    if isinstance(error, _TooSlow):
        return str(error)
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    detail = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
