"""Deliver a message: over SMTP, or as files (an ``.eml`` and an ``.html`` preview).

Transports say how a delivery failed: :class:`TransientDeliveryError` (try again later: a 4xx
reply, a refused or dropped connection), :class:`PermanentDeliveryError` (a 5xx reply: the
server will not take it) or :class:`UnconfirmedDeliveryError` (the server took the whole
message and its answer was lost: it may have arrived, so it is not tried again by itself).
An SMTP conversation has a timeout for each answer and a deadline for the whole message. They
never put the password in an error or a log line. Choosing content and recording outcomes are
the caller's business.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from recommender import text_files
from recommender.errors import RecommenderError
from recommender.message import POLICY, html_part

if TYPE_CHECKING:
    from recommender.config import Settings

# Waits between attempts of a digest that failed transiently; after the last, it is given up.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=8),
)
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


class DeliveryError(RecommenderError):
    """A message was not delivered."""


class TransientDeliveryError(DeliveryError):
    """Not delivered now; worth trying again later."""


class PermanentDeliveryError(DeliveryError):
    """Not delivered, and trying again will not help."""


class UnconfirmedDeliveryError(DeliveryError):
    """The whole message reached the mail server, but its answer never came back: it may have
    been delivered. Not tried again by itself (that could send it twice): ``unconfirmed``,
    as a digest whose sender died mid-delivery is, for a person to resend."""


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; ``None`` once it is time to stop."""
    if attempts > len(RETRY_DELAYS):
        return None
    return now + RETRY_DELAYS[attempts - 1]


def after_attempt(
    attempts: int, now: datetime, error: DeliveryError | None
) -> tuple[str, datetime | None]:
    """A digest's state after its ``attempts``-th attempt, which ended at ``now`` with
    ``error`` (``None``: handed over), and when to try again: ``sent``; ``failed``, to be
    retried (a transient error, while :func:`retry_at` allows); else ``undeliverable``."""
    if error is None:
        return "sent", None
    if isinstance(error, TransientDeliveryError):
        retry = retry_at(attempts, now)
        return ("failed" if retry is not None else "undeliverable"), retry
    if isinstance(error, UnconfirmedDeliveryError):
        return "unconfirmed", None
    return "undeliverable", None


@dataclass(frozen=True)
class Outgoing:
    """A message as it is handed over: its exact bytes and its envelope.

    Digests are recorded as bytes; sending them as they are (not parsed and flattened again)
    keeps the bytes the mail server gets identical to the recorded ones, and costs nothing.
    """

    raw: bytes
    sender: str
    recipients: tuple[str, ...]
    message_id: str

    @classmethod
    def from_bytes(cls, raw: bytes) -> Outgoing:
        """The envelope read from the message's own headers (only they are parsed, and
        encoded words in them decoded: a non-ASCII address is the address, not its encoding)."""
        section = _header_section(raw)
        plain = BytesHeaderParser(policy=email.policy.compat32).parsebytes(section)
        found = {name: plain.get_all(name, []) for name in ("From", "To")}
        if all(v.isascii() and "=?" not in v for values in found.values() for v in values):
            # plain ASCII addresses (what digests have): read without the header registry,
            # which takes most of a millisecond a message
            senders = [a for _, a in email.utils.getaddresses(found["From"]) if a]
            to = tuple(a for _, a in email.utils.getaddresses(found["To"]) if a)
            message_id = " ".join(str(plain["Message-ID"] or "").split())
            return cls(raw, senders[0] if senders else "", to, message_id)
        headers = BytesHeaderParser(policy=_HEADERS_ALONE).parsebytes(section)
        senders = [a.addr_spec for a in getattr(headers["From"], "addresses", ())]
        to = tuple(a.addr_spec for h in headers.get_all("To", []) for a in h.addresses)
        return cls(raw, senders[0] if senders else "", to, str(headers["Message-ID"] or ""))

    @classmethod
    def from_message(cls, message: EmailMessage) -> Outgoing:
        return cls.from_bytes(message.as_bytes(policy=POLICY))

    def message(self) -> EmailMessage:
        """The whole message, parsed."""
        return email.message_from_bytes(self.raw, _class=EmailMessage, policy=POLICY)


# The header section alone of a multipart message has no parts: some Pythons (3.11.2, Debian's)
# call that a defect, and POLICY raises on defects; the headers read are what they are.
_HEADERS_ALONE = POLICY.clone(raise_on_defect=False)


def _header_section(raw: bytes) -> bytes:
    """The header lines of a message, up to the blank line that ends them.

    The header parser would otherwise read the whole body line by line only to skip it (about
    a fifth of a millisecond for a digest of 400 lines).
    """
    ends = [at + len(blank) for blank in (b"\r\n\r\n", b"\n\n") if (at := raw.find(blank)) >= 0]
    return raw[: min(ends)] if ends else raw


class Transport(Protocol):
    def send(self, outgoing: Outgoing) -> str:
        """Deliver ``outgoing``; return where it went, for people to read."""
        ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 0
    security: str = "starttls"  # none, starttls or tls
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0  # for each answer awaited
    # for one message's whole conversation (connecting included): a server that keeps sending
    # a little never trips ``timeout``; well inside the outbox's lease of a claimed digest
    deadline: float = 120.0

    def __post_init__(self) -> None:
        if self.security not in DEFAULT_PORTS:
            raise ValueError(f"SMTP security {self.security!r}: use none, starttls or tls")

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]


class SmtpTransport:
    """Delivers over SMTP, one connection per message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._open: smtplib.SMTP | None = None
        self._batching = False
        self._conversation: _Conversation | None = None  # the current message's

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Send the messages of a batch over one connection (opened on first use)."""
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
            if self._open is not None:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    self._open.quit()
                self._open = None

    def __repr__(self) -> str:
        s = self.settings
        return f"SmtpTransport({s.host}:{s.effective_port}, {s.security}, user={s.username!r})"

    def send(self, outgoing: Outgoing) -> str:
        s = self.settings
        where = f"{s.host}:{s.effective_port}"
        try:
            refused = self._send(outgoing)
        except smtplib.SMTPRecipientsRefused as exc:
            raise self._classify(where, exc.recipients) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentDeliveryError(
                f"{where}: login as {s.username!r} refused ({exc.smtp_code})"
            ) from None
        except smtplib.SMTPResponseException as exc:
            error = _reply(where, exc.smtp_code, exc.smtp_error)
            kind = TransientDeliveryError if 400 <= exc.smtp_code < 500 else PermanentDeliveryError
            raise kind(error) from None
        except (smtplib.SMTPException, OSError) as exc:
            what = f"{type(exc).__name__}: {exc}"
            conversation = self._conversation
            if conversation is not None and conversation.expired:
                what = f"no answer within {s.deadline:g} s in all"
            if conversation is not None and conversation.message_sent:
                raise UnconfirmedDeliveryError(
                    f"{where}: the whole message was sent, then {what}: it may have arrived"
                ) from None
            # refused or dropped connections, timeouts, TLS failures: try again later
            raise TransientDeliveryError(f"{where}: {what}") from None
        if refused:
            raise self._classify(where, refused)
        return f"smtp://{where}"

    def _send(self, outgoing: Outgoing) -> dict[str, tuple[int, bytes]]:
        conversation = self._conversation = _Conversation(self.settings.deadline)
        try:
            if self._open is None and self._batching:
                self._open = self._login(self._connect(conversation))
            if self._open is None:
                smtp = self._login(self._connect(conversation))
                try:
                    return self._hand_over(smtp, outgoing, conversation)
                finally:
                    with contextlib.suppress(smtplib.SMTPException, OSError):
                        smtp.quit()
                    smtp.close()
            try:
                return self._hand_over(self._open, outgoing, conversation)
            except BaseException:
                # After any failure the connection's state is unknown: the next opens anew.
                self._open.close()
                self._open = None
                raise
        finally:
            conversation.end()

    @staticmethod
    def _hand_over(
        smtp: smtplib.SMTP, outgoing: Outgoing, conversation: _Conversation
    ) -> dict[str, tuple[int, bytes]]:
        conversation.watch(smtp)
        options: list[str] = []
        if not all(a.isascii() for a in (outgoing.sender, *outgoing.recipients)):
            smtp.ehlo_or_helo_if_needed()
            if not smtp.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError("the server cannot take non-ASCII addresses")
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        return smtp.sendmail(
            outgoing.sender, list(outgoing.recipients), outgoing.raw, mail_options=options
        )

    def _login(self, smtp: smtplib.SMTP) -> smtplib.SMTP:
        if self.settings.username:
            try:
                smtp.login(self.settings.username, self.settings.password)
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _connect(self, conversation: _Conversation) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context()
        if s.security == "tls":
            secure = _SMTP_SSL(
                conversation, s.host, s.effective_port, timeout=s.timeout, context=context
            )
            conversation.watch(secure)
            return secure
        smtp = _SMTP(conversation, s.host, s.effective_port, timeout=s.timeout)
        conversation.watch(smtp)  # STARTTLS and the login too are within the deadline
        if s.security == "starttls":
            try:
                smtp.starttls(context=context)
            except BaseException:
                smtp.close()
                raise
        return smtp

    @staticmethod
    def _classify(where: str, refused: dict[str, tuple[int, bytes]]) -> DeliveryError:
        address, (code, text) = next(iter(refused.items()))
        error = _reply(where, code, text) + f" for {address}"
        return (TransientDeliveryError if 400 <= code < 500 else PermanentDeliveryError)(error)


class _Conversation:
    """One message's conversation with the mail server: whether the message's end has gone
    out (after that a lost answer leaves its fate unknown), and a deadline for the whole of
    it, when the connection's socket is shut down (a blocked read then ends at once)."""

    def __init__(self, deadline: float) -> None:
        self.message_sent = False
        self.expired = False
        self._smtp: smtplib.SMTP | None = None
        self._socket: socket.socket | None = None  # until the connection holds it
        self._lock = threading.Lock()
        self._timer = threading.Timer(deadline, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, smtp: smtplib.SMTP) -> None:
        """Follow ``smtp`` (a connection kept from an earlier message, or a new one)."""
        if isinstance(smtp, _Watched):
            smtp.conversation = self
            with self._lock:
                self._smtp = smtp
                if self.expired:
                    self._shut()

    def attach(self, sock: socket.socket) -> None:
        """The socket a connection just opened (before smtplib holds it as ``sock``)."""
        with self._lock:
            self._socket = sock
            if self.expired:
                self._shut()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shut()

    def _shut(self) -> None:
        # the connection's own socket first: STARTTLS replaces the one it opened with
        held = getattr(self._smtp, "sock", None)
        for sock in (held, self._socket):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def end(self) -> None:
        self._timer.cancel()


class _Watched:
    """What :class:`_SMTP` and :class:`_SMTP_SSL` add to smtplib's: their conversation learns
    of their socket as soon as it exists (the greeting may already be slow) and of the end of
    each message they send (the data's last line, a lone dot)."""

    conversation: _Conversation

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)  # type: ignore[misc]
        self.conversation.attach(sock)
        return sock

    def send(self, s: str | bytes) -> None:
        super().send(s)  # type: ignore[misc]
        if (s.encode("ascii", "replace") if isinstance(s, str) else s).endswith(b"\r\n.\r\n"):
            self.conversation.message_sent = True


class _SMTP(_Watched, smtplib.SMTP):
    def __init__(self, conversation: _Conversation, *args: Any, **kwargs: Any) -> None:
        self.conversation = conversation
        super().__init__(*args, **kwargs)


class _SMTP_SSL(_Watched, smtplib.SMTP_SSL):  # noqa: N801 (as smtplib names it)
    def __init__(self, conversation: _Conversation, *args: Any, **kwargs: Any) -> None:
        self.conversation = conversation
        super().__init__(*args, **kwargs)


def _reply(where: str, code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{where} replied {code} {' '.join(text.split())}"


class FileTransport:
    """Writes each message as ``NAME.eml`` and an ``NAME.html`` preview into a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"FileTransport({self.folder})"

    def send(self, outgoing: Outgoing) -> str:
        """Write the files; return the ``.eml``'s path (the preview is beside it, as
        :meth:`preview_of` says). A folder that cannot be made or written to is a transient
        error: nothing was handed over, and a later attempt may find it fixed."""
        stem = file_stem(outgoing)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            text_files.replace_file(self.folder / f"{stem}.eml", outgoing.raw)
            html = html_part(outgoing.raw)
            if html is not None:
                text_files.replace_file(self.folder / f"{stem}.html", html.encode("utf-8"))
        except OSError as exc:
            where = exc.filename or self.folder
            raise TransientDeliveryError(
                f"cannot write to {where}: {exc.strerror or type(exc).__name__}"
            ) from None
        return str(self.folder / f"{stem}.eml")

    @staticmethod
    def preview_of(written: str) -> Path | None:
        """The ``.html`` preview written beside the ``.eml`` that :meth:`send` returned."""
        html = Path(written).with_suffix(".html")
        return html if html.exists() else None


def transport_for(settings: Settings) -> Transport:
    """SMTP when a server is set, else ``.eml`` and ``.html`` files in the outbox folder."""
    s = settings
    if s.smtp_host:
        return SmtpTransport(
            SmtpSettings(s.smtp_host, s.smtp_port, s.smtp_security, s.smtp_user, s.smtp_password)
        )
    return FileTransport(s.outbox)


def file_stem(outgoing: Outgoing) -> str:
    """A file name for a message: its recipient and Message-ID, safe on every file system."""
    to = (outgoing.recipients or ("unknown",))[0]
    mid = outgoing.message_id.strip("<>").split("@")[0]
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{to}-{mid}")[:150]
