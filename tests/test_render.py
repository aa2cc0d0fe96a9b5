"""Rendering a digest: the text part's wrapping, and what rendering remembers between digests."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs, urlsplit

import jinja2
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender import render, resources
from tests import contrast

WIDE_WORD = "x" * 80
ENV = jinja2.Environment()


@settings(max_examples=500, deadline=None)
@given(
    text=st.lists(
        st.sampled_from(["a", "bb", "Über", "“quoted”", "co-author", "--", WIDE_WORD])
        | st.sampled_from([" ", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\xa0", "\u2028"])
        | st.text(max_size=8),
        max_size=60,
    ).map("".join),
    width=st.integers(1, 80),
)
def test_wrap_wraps_as_jinjas_wordwrap_filter(text: str, width: int) -> None:
    assert render.wrap(text, width) == jinja2.filters.do_wordwrap(ENV, text, width)


def item(n: int, **more: object) -> render.DigestItem:
    values: dict[str, object] = {
        "paper_id": f"2603.{n:05d}",
        "title": f"Paper {n}",
        "abstract": "Graph neural networks for molecular graphs, self-supervised. " * 12,
        "reason": "about “graph”, “neural”; close to “Graph Transformers” (you rated up)",
        "links": [("code", "https://github.com/lab/x"), ("odd", "javascript:alert(1)")],
        "published": date(2026, 3, 20),
        "upvotes": 3,
        "score": 0.5,
        "exploration": False,
        "up_url": "https://papers.example.org/r/up",
        "down_url": "https://papers.example.org/r/down",
    }
    return render.DigestItem(**(values | more))  # type: ignore[arg-type]


def context(items: list[render.DigestItem]) -> render.DigestContext:
    return render.DigestContext(
        subscriber_name="Zoë",
        subscriber_email="zoe@example.org",
        digest_date=date(2026, 3, 21),
        items=items,
        manage_url="https://papers.example.org/manage/m",
        unsubscribe_url="https://papers.example.org/unsubscribe/u",
        browser_url="https://papers.example.org/d/d",
    )


def test_the_text_part_wraps_abstracts_and_reasons_at_72_columns() -> None:
    templates = render.Templates(resources.templates_dir())
    long_reason = "about " + "“graph neural networks”, " * 8
    first, second = item(1), item(2, reason=long_reason)
    text = render.render_digest(templates, context([first, second])).text
    abstract = render.wrap(first.short_abstract, 72)
    reason = render.wrap(long_reason, 72)
    assert f"\n{abstract}\n" in text and f"\nWhy: {reason}\n" in text
    # the cut abstract (ABSTRACT_CHARS) still spans lines, so the wrapping is exercised
    assert abstract.count("\n") >= 2 and reason.count("\n") >= 2
    assert max(len(line) for line in (abstract + "\n" + reason).splitlines()) <= 72
    assert "Code: https://github.com/lab/x" in text and "javascript" not in text


def test_an_item_shown_to_another_subscriber_renders_the_same_with_their_own_links() -> None:
    templates = render.Templates(resources.templates_dir())
    ada = render.render_digest(templates, context([item(1)]))
    # Another subscriber, the same paper: what rendering remembers of the paper (its cut
    # abstract, its safe links) is shared; what is theirs (vote links, address) is not.
    bob_item = item(1, up_url="https://papers.example.org/r/bob-up")
    bob = render.render_digest(
        templates, replace(context([bob_item]), subscriber_email="bob@example.org")
    )
    assert "/r/bob-up" in bob.html and "/r/bob-up" in bob.text
    assert "/r/up" not in bob.html and "bob@example.org" in bob.text
    assert "zoe@example.org" not in bob.html
    for part in ("short_abstract", "read_url"):
        assert getattr(bob_item, part) == getattr(item(1), part)
    assert bob.html.replace("bob-up", "up").replace("bob@", "zoe@") == ada.html
    changed = render.render_digest(templates, context([item(1, abstract="Something else.")]))
    assert "Something else." in changed.text and "Something else." in changed.html


def title_links(html_text: str) -> list[tuple[str, str]]:
    """(href, title) of each paper's title link, unescaped as a browser reads them."""
    found = re.findall(r'<h2[^>]*><a href="([^"]*)"[^>]*>(.*?)</a></h2>', html_text)
    return [(html.unescape(href), html.unescape(title)) for href, title in found]


def test_each_title_links_to_where_the_paper_can_be_read_in_both_parts() -> None:
    templates = render.Templates(resources.templates_dir())
    code = ("code", "https://github.com/lab/x")
    from_arxiv = item(1, links=[("project", "https://arxiv.org/abs/2603.01234v3"), code])
    from_hf = item(2, hf_page="https://huggingface.co/papers/2603.00002")
    only_title = item(3)
    digest = render.render_digest(templates, context([from_arxiv, from_hf, only_title]))
    reads = [
        "https://arxiv.org/abs/2603.01234",
        "https://huggingface.co/papers/2603.00002",
        "https://arxiv.org/search/?query=Paper+3&searchtype=title",
    ]
    assert title_links(digest.html) == [(url, f"Paper {n}") for n, url in enumerate(reads, 1)]
    for n, url in enumerate(reads, 1):
        assert f"{n}. Paper {n}\n{url}\n" in digest.text  # the URL on its own line
    assert "PDF: https://arxiv.org/pdf/2603.01234\n" in digest.text
    assert 'href="https://arxiv.org/pdf/2603.01234"' in digest.html
    # The code link each paper had is kept, in both parts; the unsafe one is still dropped.
    assert digest.text.count("Code: https://github.com/lab/x\n") == 3
    assert digest.html.count('<a href="https://github.com/lab/x"') == 3
    assert "javascript" not in digest.text + digest.html
    title_style = re.search(r'<h2[^>]*><a href="[^"]*" style="([^"]*)"', digest.html)
    assert title_style and "color: #0969da" in title_style[1]  # the inlined link colour


def test_a_title_needing_encoding_is_escaped_in_html_and_searched_for_as_it_is() -> None:
    templates = render.Templates(resources.templates_dir())
    title = 'Q&A #1: "Ünïcode" <b>Graphs</b>'
    digest = render.render_digest(templates, context([item(1, title=title)]))
    ((href, shown),) = title_links(digest.html)
    assert shown == title and "<b>" not in digest.html
    assert parse_qs(urlsplit(href).query) == {"query": [title], "searchtype": ["title"]}
    assert f"1. {title}\n{href}\n" in digest.text


def test_a_bidi_override_in_a_stored_title_turns_nothing_around_in_either_part() -> None:
    # A dump keeps one; shown, the text after it read backwards ("(pu detar uoy)").
    templates = render.Templates(resources.templates_dir())
    title = "Plain start \u202eevil end عربي"
    hostile = item(1, title=title, reason=f"close to “{title}” (you rated up)")
    digest = render.render_digest(templates, context([hostile]))
    for part in (digest.html, digest.text):
        assert not re.search("[\u202a-\u202e\u2066-\u2069]", part)
        assert "Plain start evil end عربي" in part  # right-to-left letters stay
    assert "close to “Plain start evil end عربي” (you rated up)" in digest.text


def test_a_long_abstract_is_cut_to_a_few_lines_with_a_more_link_and_a_short_one_is_whole() -> None:
    templates = render.Templates(resources.templates_dir())
    long, short = item(1), item(2, abstract="Graphs, briefly.")
    digest = render.render_digest(templates, context([long, short]))
    assert long.abstract_cut and not short.abstract_cut
    assert len(long.short_abstract) <= render.ABSTRACT_CHARS + 1  # the ellipsis
    more = re.findall(r'<a class="more" href="([^"]*)"[^>]*>more</a>', digest.html)
    assert [html.unescape(href) for href in more] == [long.read_url]
    assert "Graphs, briefly.</p>" in digest.html


def test_the_vote_buttons_read_without_an_emoji_font_in_both_parts() -> None:
    templates = render.Templates(resources.templates_dir())
    digest = render.render_digest(templates, context([item(1)]))
    for part in (digest.html, digest.text):
        assert "More like this" in part and "Less like this" in part
        # no character outside the Basic Multilingual Plane (where emoji live)
        assert all(ord(c) < 0x10000 for c in part)
    up = re.search(r'<a class="vote up" href="([^"]*)"[^>]*>([^<]*)</a>', digest.html)
    assert up and up[1] == "https://papers.example.org/r/up" and "More like this" in up[2]
    assert "Paper digest · Sat 21 Mar 2026" in html.unescape(digest.html)


def test_a_papers_score_reads_as_the_share_of_the_new_papers_it_beats() -> None:
    assert render.standing(0.96, 120) == "Top 4% of 120 new papers for you"
    assert render.standing(0.95, 101) == "Top 5% of 101 new papers for you"  # not 6%: no slip
    # among fewer than 100 papers a share is coarser than the place: "Top 5% of 21" is the 2nd
    assert render.standing(0.95, 21) == "Ranks 2nd of 21 new papers for you"
    assert render.standing(7 / 8, 9) == "Ranks 2nd of 9 new papers for you"
    assert render.standing(0.999, 2000) == "Top 1% of 2000 new papers for you"
    assert render.standing(1.0, 30) == "Your best match of 30 new papers"
    assert render.standing(0.3, 121) == "Ranks 85th of 121 new papers for you"  # 36 below it
    assert render.standing(0.0, 10) == "Ranks 10th of 10 new papers for you"  # never "above 0%"
    assert [render.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
        "111th",
    ]
    assert render.standing(0.0, 1) == "The only new paper for you"


def test_each_paper_shows_its_readable_score_in_both_parts_but_the_exploration_pick() -> None:
    templates = render.Templates(resources.templates_dir())
    best = item(1, score=0.123456, beats=0.96, among=120)
    exploring = item(2, score=-0.654321, beats=0.2, among=120, exploration=True)
    digest = render.render_digest(templates, context([best, exploring]))
    first, second = digest.text.split("\n2. ")
    assert "\nTop 4% of 120 new papers for you · Published 20 Mar 2026 · 3 upvotes\n" in first
    assert "new papers for you" not in second
    assert "Unlike the rest of this digest" in second
    cards = digest.html.split('<div class="paper"')[1:]
    assert ">Top 4% of 120 new papers for you</span> · Published" in cards[0]
    assert "new papers for you" not in cards[1] and "Unlike the rest of this digest" in cards[1]
    for part in (digest.html, digest.text):  # never the raw margin
        assert "0.12" not in part and "0.65" not in part


def test_every_text_colour_of_the_email_reaches_4_5_to_1_in_light_and_dark_mode() -> None:
    css = (resources.templates_dir() / "_layout.html").read_text().split("<style>")[1]
    pairs = contrast.text_colours(css.split("</style>")[0], ("body", ".wrap", ".paper"))
    assert {mode: len(found) > 10 for mode, found in pairs.items()} == {"light": True, "dark": True}
    weak = [
        (mode, selector, colour, ground, round(contrast.ratio(colour, ground), 2))
        for mode, found in pairs.items()
        for selector, colour, ground in found
        if contrast.ratio(colour, ground) < 4.5
    ]
    assert weak == []


def test_the_dark_mode_label_was_too_faint_before_and_the_check_sees_it() -> None:
    css = ".paper { background: #ffffff; } .label { color: #8250df; }\n"
    css += f"{contrast.DARK} {{ .paper {{ background: #161b22 !important; }} }}"
    pairs = contrast.text_colours(css, (".paper",))
    assert [round(contrast.ratio(c, g), 1) for _, c, g in pairs["dark"]] == [3.4]
    assert [round(contrast.ratio(c, g), 1) for _, c, g in pairs["light"]] == [5.0]


def test_the_nothing_new_email_links_to_todays_papers_when_there_is_a_page() -> None:
    templates = render.Templates(resources.templates_dir())
    today = "https://papers.example.org/today/t"
    linked = render.render_nothing_new(templates, replace(context([]), today_url=today))
    assert f'href="{today}"' in linked.html and f"ranked for you: {today}" in linked.text
    unlinked = render.render_nothing_new(templates, context([]))
    assert "/today/" not in unlinked.html + unlinked.text
