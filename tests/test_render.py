"""Rendering a digest: the text part's wrapping, and what rendering remembers between digests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import jinja2
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender import render, resources

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
    assert abstract.count("\n") >= 4 and reason.count("\n") >= 2
    assert max(len(line) for line in (abstract + "\n" + reason).splitlines()) <= 72
    assert "Code: https://github.com/lab/x" in text and "javascript" not in text


def test_an_item_shown_to_another_subscriber_renders_the_same() -> None:
    templates = render.Templates(resources.templates_dir())
    first = render.render_digest(templates, context([item(1)]))
    again = render.render_digest(templates, context([replace(item(1))]))
    assert (first.text, first.html) == (again.text, again.html)
    changed = render.render_digest(templates, context([item(1, abstract="Something else.")]))
    assert "Something else." in changed.text and "Something else." in changed.html
