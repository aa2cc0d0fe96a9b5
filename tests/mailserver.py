"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for the tests.

It can be told to refuse the next messages with a given reply (``451`` transient, ``550``
permanent), to refuse a recipient, and to require a login. :func:`misbehaving_smtp` is a
raw one that takes a message whole and never answers, or never finishes its greeting.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOGIN = ("digest-bot", "correct horse battery staple")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: tuple[str, int] | None = None  # the client's end of the connection it came over

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Inbox:
    """The aiosmtpd handler: collects messages, refuses on request."""

    received: list[Received] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    refused_recipients: dict[str, str] = field(default_factory=dict)

    def refuse_next(self, *replies: str) -> None:
        self.refusals.extend(replies)

    def refuse_recipient(self, address: str, reply: str) -> None:
        """Answer ``RCPT TO`` for ``address`` with ``reply``, every time."""
        self.refused_recipients[address] = reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:  # type: ignore[no-untyped-def]
        if address in self.refused_recipients:
            return self.refused_recipients[address]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        if self.refusals:
            return self.refusals.pop(0)
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                bytes(envelope.content),
                tuple(session.peer) if session.peer else None,
            )
        )
        return "250 Message accepted for delivery"


def _authenticate(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = (
        isinstance(auth_data, LoginPassword)
        and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        == LOGIN
    )
    # handled=False: aiosmtpd answers a refusal itself (535); True would leave the client waiting
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MailServer:
    host: str
    port: int
    inbox: Inbox

    @property
    def received(self) -> list[Received]:
        return self.inbox.received


def _serve(require_login: bool) -> Iterator[MailServer]:
    inbox = Inbox()
    port = free_port()
    kwargs = {"authenticator": _authenticate, "auth_required": True} if require_login else {}
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        enable_SMTPUTF8=True,
        **kwargs,
    )
    controller.start()
    try:
        yield MailServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """An SMTP server on 127.0.0.1 that accepts everything (unless told to refuse)."""
    yield from _serve(require_login=False)


@pytest.fixture
def login_mail_server() -> Iterator[MailServer]:
    """An SMTP server that wants the login :data:`LOGIN` before it takes mail."""
    yield from _serve(require_login=True)


@contextlib.contextmanager
def misbehaving_smtp(after_data: str) -> Iterator[tuple[int, list[bytes]]]:
    """An SMTP server on loopback that takes a message in full, then (``after_data``) drops
    the connection unanswered (``drop``) or answers only after 5 s (``slow``); or that never
    finishes its greeting, a line every 50 ms (``trickle``). Yields its port and the
    messages it took whole."""
    listener = socket.create_server(("127.0.0.1", 0))
    taken: list[bytes] = []
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            if after_data == "trickle":
                while not stop.is_set():
                    conn.sendall(b"220-still here\r\n")
                    time.sleep(0.05)
                return
            conn.sendall(b"220 bad.example ESMTP\r\n")
            for line in lines:
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 bad.example\r\n")
                elif verb in (b"MAIL", b"RCPT"):
                    conn.sendall(b"250 OK\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    body = b"".join(iter(lines.readline, b".\r\n"))
                    taken.append(body)
                    if after_data == "drop":
                        return
                    stop.wait(5)
                    conn.sendall(b"250 OK, queued\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return

    def accept() -> None:
        with contextlib.suppress(OSError):
            while not stop.is_set():
                conn, _ = listener.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1], taken
    finally:
        stop.set()
        listener.close()
