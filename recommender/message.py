"""Build a digest's email message: multipart/alternative, UTF-8, RFC 8058 one-click unsubscribe.

Every header value passes through :func:`recommender.render.one_line`, and is refused if a CR
or LF is left, so no field (a paper title, a subscriber's name) can add a header.

The message is assembled with the ``email`` package's ``compat32`` classes and generator, its
bodies quoted-printable encoded beforehand, in C, by :mod:`binascii`: the modern policy parses
every header into a typed object and writes bodies one short line at a time, which made
building a digest cost more than rendering it. Only a non-ASCII address still goes through the
modern header registry, the one part of the package that encodes it as it should be. Messages
are read back (by the mailer, the web view, the tests) with :data:`POLICY`.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import email.utils
import io
import secrets
from datetime import datetime
from email.errors import HeaderParseError
from email.generator import NLCRE, BytesGenerator
from email.header import Header, decode_header
from email.message import EmailMessage, Message

from recommender.render import RenderedDigest, one_line

# The policy messages are read with: lines folded and ended with CRLF as SMTP wants.
POLICY = email.policy.SMTP.clone(raise_on_defect=True)

_ADDRESS_FIELDS = frozenset({"From", "To"})


class HeaderError(ValueError):
    """A header value that cannot be used safely."""


class _WirePolicy(email.policy.Compat32):
    """compat32 writing a header that fits on its line as it is: folding it with
    :class:`email.header.Header`, as compat32 does every header, gives the same bytes."""

    def fold_binary(self, name: str, value: object) -> bytes:
        if (
            isinstance(value, str)
            and len(name) + 2 + len(value) <= self.max_line_length
            and value.isascii()
            and value.isprintable()
            and value == value.strip()
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


# The policy messages are written with: headers folded at whitespace to 78 columns, CRLF line
# ends, and "From " at the start of a body line left alone (as the modern policy leaves it).
_WIRE = _WirePolicy(linesep="\r\n", mangle_from_=False)


class _Generator(BytesGenerator):
    """The stock generator, writing a body in one piece rather than line by line: the same
    bytes, every line break made ``linesep``, for a fraction of the cost."""

    def _write_lines(self, lines: str) -> None:
        # Without a CR, the only line break NLCRE can match is LF: replace does the same.
        if "\r" in lines:
            self.write(NLCRE.sub(self._NL, lines))
        else:
            self.write(lines.replace("\n", self._NL))


def _safe(value: str) -> str:
    cleaned = one_line(value)
    if not cleaned:
        raise HeaderError("empty header value")
    return cleaned


def _field(name: str, value: str) -> str | Header:
    """``value`` ready for the compat32 generator: ASCII as it is, anything else RFC 2047
    encoded (an address in its display name and local part only, as the modern policy does)."""
    if "\r" in value or "\n" in value:
        raise HeaderError(f"a line break in the {name} header")
    if name in _ADDRESS_FIELDS:
        return _address(name, value)
    return value if value.isascii() else Header(value, "utf-8", header_name=name)


def _address(name: str, value: str) -> str:
    """An address header's value: as it is when it is ASCII with no encoded word longer than
    RFC 2047 allows (``formataddr`` makes one of a long name), else as the modern policy
    encodes it."""
    if value.isascii() and not any(len(w) > 75 for w in value.split() if "=?" in w):
        if "=?" not in value:
            return value
        # An encoded word must not hide a line break either: the modern policy, which reads
        # the message back, refuses an address holding one.
        try:
            decoded = _decoded(value)
        except (HeaderParseError, LookupError):
            pass  # an encoded word the modern policy reads its own way: let it judge
        else:
            if "\r" in decoded or "\n" in decoded:
                raise HeaderError(f"a line break in the {name} header")
            return value
    try:
        folded = POLICY.fold(name, POLICY.header_store_parse(name, value)[1])
    except ValueError as error:
        raise HeaderError(f"the {name} header: {error}") from error
    encoded = "".join(folded.split("\r\n"))[len(name) + 2 :]
    if not encoded.isascii():
        raise HeaderError(f"the {name} header cannot be encoded")
    return encoded


def _decoded(value: str) -> str:
    return "".join(
        part if isinstance(part, str) else part.decode(charset or "ascii", "replace")
        for part, charset in decode_header(value)
    )


def _boundary() -> str:
    """A boundary no quoted-printable body can hold ("=" there starts "=XX" or ends a line,
    so "==" never occurs), which spares the generator searching the bodies for it."""
    return f"=={secrets.token_hex(12)}=="


def _text_part(subtype: str, text: str) -> Message:
    """A UTF-8 quoted-printable text part, every line break in ``text`` made one."""
    body = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    part = Message(policy=_WIRE)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(body, istext=True).decode("ascii"))
    return part


def build_message(
    rendered: RenderedDigest,
    *,
    mail_from: str,
    to: str,
    message_id: str,
    date: datetime,
    list_unsubscribe_url: str,
    list_unsubscribe_mailto: str,
) -> bytes:
    """The message's bytes, to be read with :data:`POLICY`: a text part, then the HTML part,
    with the headers mail clients need."""
    fields = {
        "From": _safe(mail_from),
        "To": _safe(to),
        "Subject": _safe(rendered.subject),
        "Date": email.utils.format_datetime(date),
        "Message-ID": _safe(message_id),
        "List-Unsubscribe": f"<{_safe(list_unsubscribe_url)}>, <{_safe(list_unsubscribe_mailto)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "MIME-Version": "1.0",
        "Content-Type": f'multipart/alternative; boundary="{_boundary()}"',
    }
    message = Message(policy=_WIRE)
    for name, value in fields.items():
        message[name] = _field(name, value)
    message.attach(_text_part("plain", rendered.text))
    message.attach(_text_part("html", rendered.html))
    out = io.BytesIO()
    _Generator(out, policy=_WIRE).flatten(message)
    return out.getvalue()


def html_part(raw: bytes) -> str | None:
    """The HTML part of a message as built here (its bytes), decoded; None if it has none."""
    parsed = email.message_from_bytes(raw, _class=EmailMessage, policy=POLICY)
    body = parsed.get_body(preferencelist=("html",))
    return None if body is None else str(body.get_content())
