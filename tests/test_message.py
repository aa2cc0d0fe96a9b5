"""A digest's message: its headers, its parts, and what a reader gets back from them."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from recommender.message import POLICY, HeaderError, build_message
from recommender.render import RenderedDigest, one_line

DATE = datetime(2026, 3, 21, 7, 0, tzinfo=UTC)
HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Auto-Submitted",
    "MIME-Version",
    "Content-Type",
]
TEXT = (
    "1. Graph Neural Networks for Molecules\n"
    "Über Graphen, “curly quotes”, and a line that ends in spaces   \n"
    "From the start of a line, and a lone dot:\n.\n"
    + "a very long line " * 80
    + "\n\nWhy: about “graph”\n"
)
HTML = '<!DOCTYPE html>\n<p>Schrödinger = 👍 &amp; <a href="https://x.example/?a=1&b=2">x</a></p>\n'


def build(rendered: RenderedDigest, **overrides: str) -> bytes:
    values = {
        "mail_from": "Paper digest <digest@example.org>",
        "to": "=?utf-8?b?Wm/DqyDDhW5nc3Ryw7Zt?= <zoe@example.org>",
        "message_id": "<1234.5678@papers.example.org>",
        "list_unsubscribe_url": "https://papers.example.org/unsubscribe/abc",
        "list_unsubscribe_mailto": "mailto:digest@example.org?subject=unsubscribe%20zoe",
    } | overrides
    return build_message(rendered, date=DATE, **values)


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, _class=EmailMessage, policy=POLICY)
    assert all(not part.defects for part in parsed.walk())
    return parsed


def test_a_message_has_the_headers_then_text_then_html_and_parses_without_defects() -> None:
    rendered = RenderedDigest("Paper digest for Sat 21 Mar 2026: 2 new papers", HTML, TEXT)
    raw = build(rendered)
    parsed = parse(raw)
    assert list(parsed.keys()) == HEADERS
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parsed.iter_parts())
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parsed.iter_parts())
    html = parsed.get_body(("html",))
    text = parsed.get_body(("plain",))
    assert html is not None and text is not None
    # Read back with CRLF line ends, as SMTP carried them.
    assert html.get_content().replace("\r\n", "\n") == HTML
    assert text.get_content().replace("\r\n", "\n") == TEXT
    assert parsed["To"].addresses[0].display_name == "Zoë Ångström"
    assert parsed["Date"].datetime == DATE
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["Auto-Submitted"] == "auto-generated"


def test_a_message_is_ascii_with_crlf_lines_within_the_limit() -> None:
    raw = build(RenderedDigest("Päper digest for Sat 21 Mar 2026", HTML, TEXT))
    assert raw.isascii()
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_non_ascii_names_subjects_and_addresses_are_encoded_and_read_back() -> None:
    rendered = RenderedDigest("Päper digest für dich: 1 new paper", HTML, TEXT)
    raw = build(rendered, to="Zoë <zoë@example.org>", mail_from="Digest ✉ <digest@example.org>")
    head = raw.split(b"\r\n\r\n")[0]
    assert b"=?utf-8?" in head
    parsed = parse(raw)
    assert parsed["Subject"] == "Päper digest für dich: 1 new paper"
    (to,) = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Zoë", "zoë@example.org")
    assert parsed["From"].addresses[0].display_name == "Digest ✉"


@pytest.mark.parametrize("name", ["to", "mail_from", "message_id", "list_unsubscribe_url"])
@pytest.mark.parametrize("brk", ["\r\n", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"])
def test_no_line_break_in_a_value_can_add_a_header(name: str, brk: str) -> None:
    hostile = {
        "to": f"Ada{brk}Bcc: y@example.org <ada@example.org>",
        "mail_from": f"Digest <digest@example.org>{brk}Bcc: y@example.org",
        "message_id": f"<1@example.org>{brk}Bcc: y@example.org",
        "list_unsubscribe_url": f"https://x.example/u{brk}Bcc: y@example.org",
    }
    subject = f"Digest{brk}Bcc: z@example.org{brk}{brk}body"
    raw = build(RenderedDigest(subject, HTML, TEXT), **{name: hostile[name]})
    head = raw.split(b"\r\n\r\n")[0]
    assert not any(line.lower().startswith(b"bcc") for line in head.split(b"\r\n"))
    assert list(parse(raw).keys()) == HEADERS


def test_a_name_whose_encoded_word_hides_a_line_break_is_refused() -> None:
    to = email.utils.formataddr(("Zoë\r\nBcc: y@example.org", "zoe@example.org"))
    with pytest.raises(HeaderError):
        build(RenderedDigest("Digest", HTML, TEXT), to=to)


def test_a_long_non_ascii_name_takes_several_encoded_words_on_short_lines() -> None:
    to = email.utils.formataddr(("Łukasz Żółć " * 12, "zoe@example.org"))
    raw = build(RenderedDigest("Digest", HTML, TEXT), to=to)
    head = raw.split(b"\r\n\r\n")[0].decode("ascii")
    assert max(len(line) for line in head.split("\r\n")) <= 78
    assert len(re.findall(r"=\?utf-8\?", head)) > 1
    assert parse(raw)["To"].addresses[0].addr_spec == "zoe@example.org"


def test_an_empty_header_value_is_refused() -> None:
    with pytest.raises(HeaderError):
        build(RenderedDigest("Digest", HTML, TEXT), to=" \r\n ")


any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=any_text, name=any_text, text=any_text, html=any_text)
def test_any_subject_name_and_bodies_are_read_back_as_they_were(
    subject: str, name: str, text: str, html: str
) -> None:
    assume("=?" not in name)  # a name that is itself an encoded word is read decoded
    rendered = RenderedDigest(subject, html, text)
    to = email.utils.formataddr((name, "zoe@example.org"))
    if not one_line(subject) or (not name.isascii() and {"\r", "\n"} & set(name)):
        with pytest.raises(HeaderError):
            build(rendered, to=to)
        return
    parsed = parse(build(rendered, to=to))
    assert parsed["Subject"] == one_line(subject)
    (address,) = parsed["To"].addresses
    assert address.addr_spec == "zoe@example.org"
    # An ASCII name goes as it is, so one_line cleans it; any other is encoded. The reader
    # (Python 3.11) puts a space between the encoded words a long name takes.
    shown = one_line(name) if name.isascii() else name
    assert (
        address.display_name.split() == shown.split()
        or not name.isascii()
        and ("".join(address.display_name.split()) == "".join(shown.split()))
    )
    for part, sent in zip(parsed.iter_parts(), (text, html), strict=True):
        lines = sent.encode("utf-8").splitlines()
        assert part.get_content() == (b"\r\n".join(lines) + b"\r\n").decode("utf-8")
