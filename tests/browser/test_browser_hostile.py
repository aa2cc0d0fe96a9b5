"""Papers and names as a hostile or careless source gives them (markup, a word longer than a
phone is wide, right-to-left script and a bidi override, emoji, long URLs), in the digest and on
every page its links open: shown as the text they are, and wrapped, never pushing a page
sideways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recommender import links
from recommender.config import Settings
from recommender.core import Recommender
from recommender.sources.base import SourceDay, SourcePaper
from recommender.store.papers import add_source_day
from tests.browser import support
from tests.catalogue import EMAIL
from tests.clock import Clock
from tests.mailserver import MailServer

WORD = "Hyperparameterizedtransformerarchitectures" * 4  # 168 letters, no break
TITLES = (
    '<script>alert(1)</script><b>Graph</b> neural networks &amp; "quoted"',
    f"Graph neural networks {WORD}",
    "شبكات عصبية بيانية: graph neural networks for Arabic text",
    "Graph neural networks 🧠🔬👩‍🔬 for chemistry 🏳️‍🌈",
)
OVERRIDE = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: a dump keeps it; no page or email may show it
STORED = tuple(title.replace("Arabic", f"{OVERRIDE}Arabic") for title in TITLES)
# Each on its own subject (near-duplicates would make one paper of the digest), each hostile.
SUBJECTS = (
    "molecules and proteins in drug discovery",
    "citation networks of physics papers",
    "road traffic forecasting across city sensors",
    "power grids under storms and outages",
)


def abstract(subject: str) -> str:
    return (
        f"Graph neural networks for {subject}. {subject.replace(' ', '') * 4} "
        f"<img src=x onerror=alert(2)> See https://example.org/{subject[:3] * 50} for code."
    )


AUTHORS = ("Ada Lovelace", "<i>Mallory</i>", "Jürgen " + "Müller" * 20, "محمد علي")
NAME = f"<b>Ada</b> {WORD[:150]}"


@pytest.fixture
def hostile_site(
    settings: Settings, mail_server: MailServer, clock: Clock, tmp_path: Path
) -> Iterator[support.Site]:
    """A subscriber with a long name, mailed a digest of the hostile papers alone."""

    def fill(app: Recommender) -> None:
        app.init()
        papers = tuple(
            SourcePaper(
                "hf",
                title,
                abstract(subject),
                AUTHORS,
                f"2603.1810{n}",
                clock.now.date(),
                clock.now.date(),
                upvotes=3,
                github_url=f"https://github.com/{'x' * 120}/y",
            )
            for n, (title, subject) in enumerate(zip(STORED, SUBJECTS, strict=True))
        )
        with app._sessions() as session, session.begin():
            add_source_day(session, SourceDay("hf", clock.now.date(), papers=papers), clock.now)
        profile = tmp_path / "ada.toml"
        profile.write_text(
            f'email = "{EMAIL}"\nname = "{NAME}"\ninterests = ["graph neural networks"]\n'
            'authors = ["J. Müller"]\ndigest_size = 4\nexplore = false\n'
        )
        app.subscribe(profile)

    with support.serve_site(settings, mail_server, clock, fill) as site:
        yield site


def shows_every_title_as_text(page: Any) -> None:
    shown = page.inner_text("body")
    assert page.locator("script:not([src$='/static/timezone.js']), b, img, i").count() == 0
    missing = [title for title in TITLES if title not in shown]
    assert missing == [], page.url
    assert OVERRIDE not in shown, page.url


def test_hostile_papers_and_names_are_text_and_wrap_in_the_email_and_its_text_part(
    hostile_site: support.Site, page: Any
) -> None:
    digest = hostile_site.digest
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        hostile_site.open_email(page)
        shows_every_title_as_text(page)
        assert NAME in page.inner_text("body")
        support.assert_fits(page)
    text = digest.text.replace("\r\n", "\n")
    assert [title for title in TITLES if title not in text] == []
    assert OVERRIDE not in text and OVERRIDE not in digest.html
    # each paper's read link and signed rating links are in both parts
    assert len(digest.links("rate")) == 2 * len(TITLES)
    for url in digest.links("rate"):
        assert url in text
        links_signer = hostile_site.app.signer()
        assert links_signer.check_rating(url.rsplit("/", 1)[1]).vote in ("up", "down")


def test_hostile_papers_and_names_are_text_and_wrap_on_every_page(
    hostile_site: support.Site, page: Any
) -> None:
    digest = hostile_site.digest
    page.set_viewport_size({"width": support.PHONE, "height": support.HEIGHT})
    page.goto(digest.link("view-digest"))
    shows_every_title_as_text(page)
    support.assert_fits(page)

    page.goto(digest.link("today"))
    shows_every_title_as_text(page)
    support.assert_fits(page)
    page.get_by_role("button", name="More like this").first.click()
    page.wait_for_load_state()
    shows_every_title_as_text(page)
    support.assert_fits(page)

    for url in digest.links("rate")[::2]:  # each paper's thumbs-up: its page, then its answer
        page.goto(url)
        support.assert_fits(page)
        page.get_by_role("button", name="Yes, more like this").click()
        page.wait_for_load_state()
        support.assert_fits(page)
        page.goto(url + "?keep=1")
        support.assert_fits(page)

    page.goto(digest.link("manage"))  # every paper in its ratings and their history
    shows_every_title_as_text(page)
    support.assert_fits(page)
    page.goto(digest.link("unsubscribe"))
    support.assert_fits(page)
    page.goto(f"{hostile_site.base}/{links.PATHS['manage']}/{WORD}")
    support.assert_fits(page)
