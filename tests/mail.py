"""Mail in the tests: settings that send to the test SMTP server, and reading what it got."""

from __future__ import annotations

import re
from dataclasses import replace
from email.message import EmailMessage
from typing import TYPE_CHECKING

from recommender.config import Settings

if TYPE_CHECKING:  # conftest imports this module before pytest loads the mail server plugin
    from tests.mailserver import MailServer

BASE_URL = "https://papers.example.org"


def smtp_settings(settings: Settings, server: MailServer, **more: object) -> Settings:
    return replace(
        settings,
        smtp_host=server.host,
        smtp_port=server.port,
        smtp_security="none",
        base_url=BASE_URL,
        mail_from="Paper digest <digest@example.org>",
        **more,  # type: ignore[arg-type]
    )


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def received_once(mail_server: MailServer) -> list[str]:
    """The recipient of each message the server received; none may have received two."""
    recipients = [r.rcpt_tos[0] for r in mail_server.received]
    assert len(recipients) == len(set(recipients))
    return recipients
