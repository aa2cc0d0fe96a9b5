"""What guards the web endpoints below the handlers: response headers, a cap on request bodies,
and the check that a state-changing POST comes from our own pages.

Every page the endpoints serve sits at a URL that is itself a credential (a signed link from an
email), so every response gets the same headers: nothing may cache it, frame it, load anything
into it or hand its URL to another site. :class:`Hardened` is a pure ASGI middleware, so it
answers an oversized request before a handler (or Starlette's form parser) sees it.
The handlers and the facade are :mod:`recommender.web`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The largest request body read. A browser sends a form's text percent-encoded, each byte of
# UTF-8 as three: an emoji is 12 bytes, a letter of Chinese 9. A field of 10,000 characters in
# any script (about 120 KiB) must reach the handler, which refuses it naming the field; a cap of
# 64 KiB answered such a field "Too much at once", naming none.
MAX_BODY = 256 * 1024

# Pages use one inline <style> (and style attributes in the digest view), no image, no font,
# and no script but the app's own files (the manage page's time-zone helper: never inline, so
# an injected <script> would not run); forms post back to the page itself.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    # "same-origin", not "no-referrer": both keep the URL (the credential) from every other
    # site, but under "no-referrer" a browser sends ``Origin: null`` with our own forms' POSTs
    # (Fetch standard, "append a request Origin header"), and :func:`from_elsewhere` could
    # then not tell our forms from a page that hides where it is.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
DEFAULT_PORTS = {"http": 80, "https": 443}


class Hardened:
    """ASGI middleware: :data:`HEADERS` on every response; a body over ``max_body`` refused
    (413) before the application runs: at once when its length is announced, as soon as it
    passes the cap when it is streamed."""

    def __init__(
        self, app: ASGIApp, max_body: int = MAX_BODY, too_large_page: bytes | None = None
    ) -> None:
        self.app = app
        self.max_body = max_body
        # What a refused body is answered with: an HTML page, else a line of text.
        if too_large_page is None:
            self.too_large = (b"text/plain; charset=utf-8", b"request body too large\n")
        else:
            self.too_large = (b"text/html; charset=utf-8", too_large_page)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
            await send(message)

        announced = Headers(scope=scope).get("content-length")
        if announced is not None and (not announced.isdigit() or int(announced) > self.max_body):
            await self._too_large(send_hardened, *self.too_large)
            return
        # The whole body is read here, up to the cap, before the application sees the request:
        # a body nobody parses (not a form) would otherwise be left for the server to drain,
        # however long it is, after the handler has answered and acted.
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                await self._too_large(send_hardened, *self.too_large)
                return
        replayed = False

        async def receive_buffered() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, receive_buffered, send_hardened)

    @staticmethod
    async def _too_large(send: Send, content_type: bytes, body: bytes) -> None:
        # Connection: close, so the server drops the rest of the body instead of reading it.
        headers = [
            (b"content-type", content_type),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def origin(url: str) -> str | None:
    """The origin (``scheme://host[:port]``, default port left out) of ``url``; None for
    ``null`` or anything that is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:  # a port out of range or not a number
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port and port != DEFAULT_PORTS[scheme] else "")


def from_elsewhere(headers: Mapping[str, str], own: set[str | None]) -> bool:
    """Whether a POST says it comes from a page not among the origins ``own``.

    ``Origin`` decides, or ``Referer`` when there is no ``Origin``. A request with neither
    is not refused: mail clients send RFC 8058 one-click unsubscribes without them, and the
    signed link in the URL is the credential either way; what this refuses is a browser
    carrying a link's POST from another site's page (which cannot remove the ``Origin`` a
    browser adds, only make it ``null``, and ``null`` is refused).
    """
    claimed = headers.get("origin")
    if claimed is None:
        claimed = headers.get("referer")
    if claimed is None:
        return False
    return origin(claimed) not in own - {None}
