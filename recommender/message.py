"""Build a digest's email message: multipart/alternative, UTF-8, RFC 8058 one-click unsubscribe.

Every header value passes through :func:`recommender.render.one_line` and the ``email``
package's strict policy, so no field (a paper title, a subscriber's name) can add a header.
"""

from __future__ import annotations

import email.policy
import email.utils
from datetime import datetime
from email.message import EmailMessage

from recommender.render import RenderedDigest, one_line

# Lines are folded and ended with CRLF as SMTP wants; a value with CR or LF raises.
POLICY = email.policy.SMTP.clone(raise_on_defect=True)


class HeaderError(ValueError):
    """A header value that cannot be used safely."""


def _safe(value: str) -> str:
    cleaned = one_line(value)
    if not cleaned:
        raise HeaderError("empty header value")
    return cleaned


def build_message(
    rendered: RenderedDigest,
    *,
    mail_from: str,
    to: str,
    message_id: str,
    date: datetime,
    list_unsubscribe_url: str,
    list_unsubscribe_mailto: str,
) -> EmailMessage:
    """The message: a text part, then the HTML part, with the headers mail clients need."""
    message = EmailMessage(policy=POLICY)
    message["From"] = _safe(mail_from)
    message["To"] = _safe(to)
    message["Subject"] = _safe(rendered.subject)
    message["Date"] = email.utils.format_datetime(date)
    message["Message-ID"] = _safe(message_id)
    message["List-Unsubscribe"] = (
        f"<{_safe(list_unsubscribe_url)}>, <{_safe(list_unsubscribe_mailto)}>"
    )
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message
