"""The page of today's papers over real HTTP: the ranking of ``recommend``, rated in one click."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from recommender import links
from recommender.config import Settings
from recommender.core import Recommender
from recommender.store.models import Subscriber
from recommender.today import RANKED
from tests.catalogue import EMAIL, TOPICS, profile
from tests.clock import Clock
from tests.loopback import reserved_port, serving_app
from tests.mail import hrefs, parts
from tests.mailserver import MailServer
from tests.web_site import Site, snapshot

DAY = date(2026, 3, 20)  # the topical dump's listing ("Mar 20", in the test clock's year)


def ranked_titles(page: str) -> list[str]:
    """The titles of the ranking, in the page's order."""
    found = re.findall(r'<h2 id="paper-\d+"><a href="[^"]*">([^<]*)</a></h2>', page)
    return [html.unescape(title) for title in found]


def ids_by_title(app: Recommender) -> dict[str, str]:
    return {r.title: r.id for r in app.recommend(EMAIL, top=RANKED, since=DAY)}


def test_the_page_lists_the_days_papers_in_ranking_order_with_reasons(site: Site) -> None:
    with httpx.Client(timeout=10) as client:
        page = client.get(site.urls["today"])
    assert page.status_code == 200
    expected = site.app.recommend(EMAIL, top=RANKED, since=DAY)
    assert ranked_titles(page.text) == [r.title for r in expected]
    assert len(expected) == 9 and expected[0].title in TOPICS["graphs"]
    assert "first listed on Fri 20 Mar 2026" in page.text
    for r in expected:
        assert html.escape(r.read_url) in page.text
        assert html.escape(f"Why: {'; '.join(r.reasons)}", quote=False) in page.text
    # the score as the email words it: the share of the papers new to them it beats
    assert expected[0].beats == 1 and expected[0].among == 9
    assert "Your best match of 9 new papers" in page.text
    assert expected[1].beats == 7 / 8 and "Ranks 2nd of 9 new papers for you" in page.text
    assert page.text.count(">More like this</button>") == 9
    assert page.text.count(">Less like this</button>") == 9


def test_a_rating_is_stored_and_the_next_page_shows_the_ranking_changed(site: Site) -> None:
    url = site.urls["today"]
    vision = TOPICS["vision"]
    with httpx.Client(timeout=10) as client:
        before = ranked_titles(client.get(url).text)
        liked, ids = vision[0], ids_by_title(site.app)
        form = {"up": ids[liked], "shown": " ".join(ids.values())}  # as the page sends it
        rated = client.post(url, data=form)
        assert rated.status_code == 200
        assert "Saved: “" + html.escape(liked) in rated.text and "Undo this rating" in rated.text
        assert "Rated from this day" in rated.text and "(just now)" in rated.text
        after = ranked_titles(client.get(url).text)
    assert [(r.title, r.vote, r.source) for r in site.app.ratings(EMAIL)] == [(liked, "up", "web")]
    assert ranked_titles(rated.text) == after
    assert liked not in after and after != [t for t in before if t != liked]
    # the other vision papers climbed above where they were
    for title in vision[1:]:
        assert after.index(title) < before.index(title), title
    assert re.search(r"up \d+ \(was #\d+\)", rated.text)


def test_undo_withdraws_the_rating_and_puts_the_paper_back(site: Site) -> None:
    url = site.urls["today"]
    with httpx.Client(timeout=10) as client:
        before = ranked_titles(client.get(url).text)
        paper = ids_by_title(site.app)[before[0]]
        assert client.post(url, data={"down": paper}).status_code == 200
        assert before[0] not in ranked_titles(client.get(url).text)
        undone = client.post(url, data={"clear": paper})
    assert undone.status_code == 200 and "is withdrawn" in undone.text
    assert before[0] in ranked_titles(undone.text)
    assert site.app.ratings(EMAIL) == []
    history = [r.vote for r in site.app.ratings(EMAIL, history=True)]
    assert history == ["down", "clear"]


def test_head_and_get_of_the_page_change_nothing(site: Site) -> None:
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        for method in ("HEAD", "GET", "OPTIONS", "PUT", "DELETE"):
            answer = client.request(method, site.urls["today"], data={"up": "x"})
            assert answer.status_code in (200, 405), method
        assert client.head(site.urls["today"]).content == b""
    assert snapshot(site.app) == before


def test_a_post_without_one_button_or_of_an_unknown_paper_changes_nothing(site: Site) -> None:
    url = site.urls["today"]
    paper = next(iter(ids_by_title(site.app).values()))
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        for form in ({}, {"up": paper, "down": paper}, {"vote": "up", "paper": paper}):
            refused = client.post(url, data=form)
            assert refused.status_code == 400 and "vote: press one rating button" in refused.text
        # a NUL, which PostgreSQL refuses in a query (a 500 there)
        for ref in ("no-such-paper", "no-such-paper\x00"):
            unknown = client.post(url, data={"up": ref})
            assert unknown.status_code == 400, ref
            assert "paper: no paper has the id" in unknown.text, ref
            assert "Nothing was changed" in unknown.text, ref
    assert snapshot(site.app) == before


def test_a_forged_or_expired_link_gets_the_friendly_problem_page(site: Site, clock: Clock) -> None:
    token = site.urls["today"].rsplit("/", 1)[1]
    manage_token = site.urls["manage"].rsplit("/", 1)[1]
    paper = next(iter(ids_by_title(site.app).values()))
    forged = [
        token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"),  # a changed signature
        manage_token,  # a genuine link for another action
        "not-a-token",
    ]
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        for bad in forged:
            for method in ("GET", "POST"):
                page = client.request(method, f"{site.base}/today/{bad}", data={"up": paper})
                assert page.status_code == 400, (bad, method)
                assert "This link does not work" in page.text and "Nothing was changed" in page.text
        clock.now += links.LIFETIMES["today"] + timedelta(days=1)
        for method in ("GET", "POST"):
            old = client.request(method, site.urls["today"], data={"up": paper})
            assert old.status_code == 410 and "expired" in old.text, method
    assert snapshot(site.app) == before


def test_a_cross_site_post_is_refused_and_changes_nothing(site: Site) -> None:
    paper = next(iter(ids_by_title(site.app).values()))
    before = snapshot(site.app)
    with httpx.Client(timeout=10) as client:
        for headers in (
            {"Origin": "https://evil.example"},
            {"Origin": "null"},
            {"Referer": "https://evil.example/page"},
        ):
            refused = client.post(site.urls["today"], data={"up": paper}, headers=headers)
            assert refused.status_code == 403 and "Nothing was changed" in refused.text
    assert snapshot(site.app) == before


def test_the_digest_and_the_manage_page_link_to_todays_page(
    site: Site, mail_server: MailServer
) -> None:
    text, html_part = parts(mail_server.received[0].message)
    url = site.urls["today"]
    assert url in hrefs(html_part)
    assert f"All of today's papers, ranked for you: {url}" in text
    with httpx.Client(timeout=10) as client:
        manage = client.get(site.urls["manage"]).text
        (linked,) = [u for u in hrefs(manage) if u.startswith(f"{site.base}/today/")]
        opened = client.get(html.unescape(linked))
    assert opened.status_code == 200 and ranked_titles(opened.text) == ranked_titles(
        httpx.get(url, timeout=10).text
    )


def test_a_day_rated_through_says_so_in_a_friendly_line(site: Site) -> None:
    for paper in ids_by_title(site.app).values():
        site.app.rate(EMAIL, paper, "up")
    with httpx.Client(timeout=10) as client:
        page = client.get(site.urls["today"])
    assert page.status_code == 200 and ranked_titles(page.text) == []
    assert "You have rated every paper of Fri 20 Mar 2026" in page.text
    assert page.text.count(">Undo</button>") == 9


def test_before_any_listing_the_page_says_so_in_a_friendly_line(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    port = reserved_port()
    base = f"http://127.0.0.1:{port}"
    with Recommender(replace(settings, base_url=base), clock=clock) as app:
        app.subscribe(profile(tmp_path))
        (manage,) = _manage_links(app)
        with serving_app(app, port), httpx.Client(timeout=10) as client:
            manage_page = client.get(manage).text
            (url,) = [u for u in hrefs(manage_page) if u.startswith(f"{base}/today/")]
            page = client.get(html.unescape(url))
    assert page.status_code == 200 and "No papers have been listed yet" in page.text


def _manage_links(app: Recommender) -> list[str]:
    """The manage link of each subscriber, as a digest would carry it."""
    with app.engine.connect() as connection:
        ids = list(connection.scalars(select(Subscriber.id)))
    return [links.manage_url(app.settings.base_url, app.signer().manage(i)) for i in ids]


def test_the_page_labels_each_paper_with_its_interest_and_leaves_out_must_not_words(
    site: Site,
) -> None:
    with httpx.Client(timeout=10) as client:
        named = {"form": "interest", "number": "new", "name": "Speech", "share": "0.5"}
        named |= {"phrases": "speech recognition", "authors": "", "must": ""}
        assert client.post(site.urls["manage"], data=named).status_code == 200
        words = {"form": "follows", "authors": "", "must_not": "noisy"}
        assert client.post(site.urls["manage"], data=words).status_code == 200
        page = client.get(site.urls["today"])
    titles = ranked_titles(page.text)
    assert len(titles) == 8 and TOPICS["speech"][1] not in titles
    labelled = re.findall(
        r'For your interest: ([^<]*)</p>\s*<h2 id="paper-\d+"><a[^>]*>([^<]*)<', page.text
    )
    assert {html.unescape(title) for _, title in labelled} == {
        TOPICS["speech"][0],
        TOPICS["speech"][2],
    }
    assert {name for name, _ in labelled} == {"Speech"}
