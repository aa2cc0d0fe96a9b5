"""What a digest says, and how: its two parts, headers and links, its labels (interests,
followed authors), must-not words, and hostile text escaped (it cannot add a header or a
recipient)."""

from __future__ import annotations

import re
from datetime import date
from html import escape as html_escape
from html import unescape
from pathlib import Path

from sqlalchemy import select, update

from recommender import dumps, render
from recommender.config import Settings
from recommender.core import Recommender
from recommender.sources.base import SourceDay, SourcePaper
from recommender.store import papers as paper_store
from recommender.store.models import DigestPaper, Paper, Subscriber
from recommender.store.papers import add_source_day
from tests.catalogue import EMAIL, TOPICS, profile
from tests.clock import Clock
from tests.mail import BASE_URL, hrefs, parts, smtp_settings
from tests.mailserver import MailServer


def test_a_digest_arrives_with_both_parts_the_headers_and_working_links(
    mailing: Recommender, mail_server: MailServer
) -> None:
    report = mailing.send(EMAIL)
    assert [d.state for d in report.delivered] == ["sent"]
    (received,) = mail_server.received
    assert received.rcpt_tos == [EMAIL]
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"] == "Paper digest <digest@example.org>"
    assert message["To"].addresses[0].addr_spec == EMAIL
    assert re.fullmatch(r"Paper digest for Sat 21 Mar 2026: \d+ new papers?", message["Subject"])
    assert message["Date"].datetime == mailing.clock()
    assert message["Message-ID"].endswith("@papers.example.org>")
    unsubscribe = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert unsubscribe[0].startswith(f"{BASE_URL}/unsubscribe/")
    assert unsubscribe[1].startswith("mailto:digest@example.org")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    text, html = parts(message)
    signer = mailing.signer()
    votes = {}
    for url in hrefs(html):
        if url.startswith(f"{BASE_URL}/r/"):
            token = signer.check_rating(url.rsplit("/", 1)[1])
            votes.setdefault(token.paper_id, set()).add(token.vote)
            assert url in text  # the text part carries the same links
    assert votes and all(v == {"up", "down"} for v in votes.values())
    # Each title links to where the paper can be read; the text part gives it under the title.
    titles = re.findall(r'<h2[^>]*><a href="([^"]+)"[^>]*>([^<]+)</a></h2>', html)
    lines = text.replace("\r\n", "\n")
    assert len(titles) == len(votes)
    for href, title in titles:
        url, title = unescape(href), unescape(title)
        assert url == mailing.paper(title).read_url  # the same as `papers show` gives
        assert url.startswith("https://arxiv.org/") and f" {title}\n{url}\n" in lines
    assert "<script" not in html and 'src="http' not in html  # no scripts, no remote images
    assert 'style="' in html  # the CSS is inlined
    assert "prefers-color-scheme: dark" in html
    manage = [u for u in hrefs(html) if u.startswith(f"{BASE_URL}/manage/")]
    assert signer.check_subscriber("manage", manage[0].rsplit("/", 1)[1]) > 0


def hostile_dump() -> dumps.Dump:
    record = dumps.ListedPaper(
        title="<script>alert(1)</script> Graph Neural Networks for Molecules",
        abstract="Graph neural networks for molecular graphs.\r\nBcc: x@example.org\r\n\r\n"
        '<img src="https://tracker.example.org/p.gif"> More graph neural networks.',
        authors=3,
        published=date(2026, 3, 20),
        upvotes=5,
        links=(dumps.Link("code", 'https://github.com/lab/x"><script>alert(2)</script>'),),
        line=1,
    )
    return dumps.Dump(date(2026, 3, 20), "test", "hostile", (record,))


def test_a_hostile_paper_is_escaped_and_cannot_add_a_header_or_a_recipient(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    with Recommender(smtp_settings(settings, mail_server), clock=clock) as app:
        with app._session() as session, session.begin():
            paper_store.add_dump(session, "hostile.txt", hostile_dump(), clock())
        path = tmp_path / "mallory.toml"
        path.write_text(f'email = "{EMAIL}"\ninterests = ["graph neural networks"]\n')
        app.subscribe(path)
        # Profiles refuse such a name now; one stored before they did must not add a header.
        with app._session() as session, session.begin():
            session.execute(
                update(Subscriber)
                .where(Subscriber.email == EMAIL)
                .values(name="Ada\r\nBcc: y@example.org")
            )
        app.send(EMAIL)
    (received,) = mail_server.received
    assert received.rcpt_tos == [EMAIL]
    message = received.message
    assert message["Bcc"] is None
    assert all(not key.lower().startswith("bcc") for key in message.keys())
    text, html = parts(message)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img" in html
    assert 'x"><script>' not in html
    assert "Bcc: x@example.org" in text  # shown as the text it is, inside the body
    assert "\nBcc:" not in received.data.decode("ascii", "replace").split("\r\n\r\n")[0]


def test_the_exploration_pick_is_labelled(
    mailing: Recommender, mail_server: MailServer, tmp_path: Path
) -> None:
    path = profile(tmp_path)
    path.write_text(path.read_text() + "digest_size = 3\n")
    mailing.subscribe(path)
    mailing.send(EMAIL)
    text, html = parts(mail_server.received[0].message)
    assert html.count("Something different") == 1
    assert "[Something different]" in text


def listed_titles(text: str) -> list[str]:
    return re.findall(r"^\d+\. (.+?)\r?$", text, re.M)


TWO_INTERESTS = f"""email = "{EMAIL}"
digest_size = 4
explore = false

[[interest]]
name = "Graphs"
phrases = ["graph neural networks"]
share = 0.5

[[interest]]
name = "Speech"
phrases = ["speech recognition"]
share = 0.5
"""


def test_each_paper_is_labelled_with_the_interest_it_serves_and_each_interest_has_its_share(
    mailing: Recommender, mail_server: MailServer, tmp_path: Path
) -> None:
    path = tmp_path / "ada.toml"
    path.write_text(TWO_INTERESTS)
    mailing.subscribe(path)
    mailing.send(EMAIL)
    text, html = parts(mail_server.received[0].message)
    listed = listed_titles(text)
    labelled = {line.split("] ", 1)[1]: line[1:].split("]")[0] for line in listed}
    assert len(labelled) == 4
    for title, interest in labelled.items():
        topic = {"Graphs": "graphs", "Speech": "speech"}[interest]
        assert title in TOPICS[topic], (title, interest)
    assert sorted(labelled.values()) == ["Graphs", "Graphs", "Speech", "Speech"]
    assert html.count("For your interest: Graphs") == 2
    assert html.count("For your interest: Speech") == 2
    # the interest is recorded with the digest's paper, for the rating to teach it
    with mailing._sessions() as session:
        rows = session.execute(select(Paper.title, DigestPaper.interest).join(DigestPaper)).all()
    assert {title: interest for title, interest in rows} == labelled


def test_a_followed_authors_new_paper_is_always_in_the_digest_and_labelled(
    mailing: Recommender, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    title = "Zorblat: A Quixotic Treatise"
    author_list = ("Ada Lovelace", "Jürgen Müller")
    paper = SourcePaper("hf", title, "We route.", author_list, "2603.18101", None, clock.now.date())
    with mailing._sessions() as session, session.begin():
        add_source_day(session, SourceDay("hf", clock.now.date(), papers=(paper,)), clock.now)
    path = profile(tmp_path)
    # a minimum score no paper reaches: only the followed author's paper goes
    path.write_text(path.read_text() + 'authors = ["J. Mueller"]\nmin_score = 1000.0\n')
    mailing.subscribe(path)
    mailing.send(EMAIL)
    text, html = parts(mail_server.received[0].message)
    assert listed_titles(text) == [f"[By an author you follow: J. Mueller] {title}"]
    assert "By an author you follow: J. Mueller" in html


def test_a_paper_with_a_must_not_word_never_reaches_the_digest(
    mailing: Recommender, mail_server: MailServer, tmp_path: Path
) -> None:
    path = profile(tmp_path, '"graph neural networks", "speech recognition"')
    path.write_text(path.read_text() + 'must_not = ["Speech"]\ndigest_size = 9\n')
    mailing.subscribe(path)
    mailing.send(EMAIL)
    text, _ = parts(mail_server.received[0].message)
    listed = listed_titles(text)
    assert listed and not any("Speech" in t or "Speaker" in t for t in listed)
    assert set(listed) & set(TOPICS["graphs"])  # the other interest's papers still go


def paper_blocks(text: str, html: str) -> tuple[list[str], list[str]]:
    """Each paper's part of the text and of the HTML, in the digest's order."""
    text = text.replace("\r\n", "\n").split("\n--\n")[0]
    in_text = re.split(r"^(?=\d+\. )", text, flags=re.M)[1:]
    in_html = html.split('<div class="paper"')[1:]
    return in_text, in_html


def test_each_paper_shows_the_share_of_the_new_papers_it_beats_never_its_raw_score(
    mailing: Recommender, mail_server: MailServer
) -> None:
    ranked = mailing.recommend(EMAIL, top=10_000)  # the papers new to them: what a digest weighs
    readable = {r.title: render.standing(r.beats, len(ranked)) for r in ranked}
    raw = {r.title: r.score for r in ranked}
    mailing.send(EMAIL)
    text, html = parts(mail_server.received[0].message)
    in_text, in_html = paper_blocks(text, html)
    assert len(in_text) == len(in_html) > 1
    scored = 0
    for part, markup in zip(in_text, in_html, strict=True):
        title = part.split("\n")[0].split(". ", 1)[1].split("] ")[-1]
        if "[Something different]" in part:  # unlike the rest: no score, it says so
            assert "new papers for you" not in part and "new papers for you" not in markup
            label = "Unlike the rest of this digest"
            assert label in part and label in markup
            continue
        scored += 1
        standing = readable[title]
        assert re.fullmatch(
            r"(Top \d+%|Ranks \d+(st|nd|rd|th)|Your best match) of \d+ new papers.*", standing
        )
        assert re.search(rf"^{re.escape(standing)}( · |$)", part, re.M), part
        assert 'class="standing"' in markup and f">{html_escape(standing)}</span>" in markup
        assert f"{raw[title]:.3f}" not in part and f"{raw[title]:.3f}" not in markup
    assert scored
    # the best new paper leads, and says so
    assert "Your best match of" in in_text[0] or "Top 1% of" in in_text[0]


def test_the_nothing_new_email_links_to_todays_papers_in_both_parts(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> None:
    noted = smtp_settings(settings, mail_server, nothing_new_note=True)
    with Recommender(noted, clock=clock) as app:
        app.subscribe(profile(tmp_path))
        app.send(EMAIL)
    (note,) = mail_server.received
    text, html = parts(note.message)
    assert "Nothing new for you today" in text
    (today,) = [u for u in hrefs(html) if u.startswith(f"{BASE_URL}/today/")]
    assert f"All of today's papers, ranked for you: {today}" in text
