"""The mail a sign-up sends: the link that confirms it, or, to an address subscribed already,
its manage link, said as fits the subscription: active, paused, or stopped by an unsubscribe
(then with a link to start it again). An HTML and a text version from one context, rendered
from ``templates/`` (``signup.html``, ``signup.txt``) as digests are, with autoescaping and
inlined CSS.

Choosing whom to send what is :mod:`recommender.signup`'s; delivering, the mailer's.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TYPE_CHECKING

from recommender.links import LIFETIMES
from recommender.mailer import Outgoing
from recommender.message import POLICY
from recommender.render import one_line

if TYPE_CHECKING:
    from recommender.render import Templates

PRODUCT = "Paper digest"


@dataclass(frozen=True)
class SignupMail:
    """What the mail says: to whom, and the links it carries (a confirm link for a new
    address; a manage link, and a resubscribe link if unsubscribed, for a known one), and
    whether a known one's digests are paused."""

    email: str
    name: str
    interests: list[str]
    confirm_url: str | None = None
    manage_url: str | None = None
    resubscribe_url: str | None = None
    paused: bool = False
    product: str = PRODUCT

    @property
    def greeting_name(self) -> str:
        return self.name or self.email.split("@")[0]

    @property
    def confirm_days(self) -> int:
        return LIFETIMES["confirm-signup"].days

    @property
    def subject(self) -> str:
        product = self.product.lower()
        if self.confirm_url is not None:
            return f"Confirm your {product}"
        if self.resubscribe_url is not None:  # unsubscribed: paused or not, nothing is sent
            return f"Your {product}: your digests are stopped; start them again"
        if self.paused:
            return f"Your {product}: your digests are paused; resume them"
        return f"Your {product}: you are subscribed already"


def compose(templates: Templates, mail: SignupMail, *, mail_from: str, now: datetime) -> Outgoing:
    """The message, ready for a transport."""
    html, text = templates.render_pair("signup", mail)
    message = EmailMessage(policy=POLICY)
    domain = email.utils.parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"
    message["From"] = one_line(mail_from)
    local, _, host = mail.email.rpartition("@")
    # username and domain, not addr_spec: the policy encodes a non-ASCII address, as it does
    # a digest's, where parsing one would refuse it. A name holding an encoded word (which
    # profiles refuse) is left out: the policy would decode it, line breaks and all.
    name = "" if "=?" in mail.name else one_line(mail.name)
    message["To"] = Address(display_name=name, username=local, domain=host)
    message["Subject"] = one_line(mail.subject)
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = email.utils.make_msgid("signup", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return Outgoing.from_message(message)
