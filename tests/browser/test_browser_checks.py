"""The page checks themselves: each fails on the fault it is there to catch, and only on it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.support import (
    assert_controls_labelled,
    assert_fits,
    assert_keyboard_reaches_every_control,
    check_page,
)

HEAD = '<meta name="viewport" content="width=device-width, initial-scale=1">'
GOOD = f"""{HEAD}<main><h1>Fine</h1>
<a href="/x">Read more</a> <button>Save</button>
<label for="n">Name</label> <input id="n"> <input type="submit" value="Send">
<label>Notes <textarea></textarea></label> <input type="hidden" name="t" value="1"></main>"""


def test_a_page_that_fits_has_labels_and_takes_the_keyboard_passes(page: Any) -> None:
    page.set_content(GOOD)
    check_page(page)


def test_a_box_wider_than_a_phone_is_horizontal_scroll(page: Any) -> None:
    page.set_content(f'{HEAD}<div style="width: 600px">wide</div>')
    assert_fits(page, (1200,))
    with pytest.raises(AssertionError, match="608 px wide at 390 px; widest: <div"):
        assert_fits(page)


@pytest.mark.parametrize(
    "control",
    [
        "<button>👍</button>",  # an emoji alone says nothing without an emoji font
        '<input name="q" placeholder="Search">',  # a placeholder is not a label
        '<label for="q" hidden>Search</label><input id="q">',
        '<a href="/x"><img alt="" src="data:,"></a>',
    ],
)
def test_a_control_without_a_visible_label_in_words_is_caught(page: Any, control: str) -> None:
    page.set_content(f"{HEAD}{control}")
    with pytest.raises(AssertionError, match="without a visible label"):
        assert_controls_labelled(page)


def test_a_control_the_tab_key_skips_is_caught(page: Any) -> None:
    page.set_content(f'{HEAD}<a href="/a">One</a><span role="button" tabindex="0">Two</span>')
    assert_keyboard_reaches_every_control(page)
    # Visible and enabled, but out of the tab order: inert (as under a modal dialog).
    page.set_content(f'{HEAD}<a href="/a">One</a><div inert><button>Three</button></div>')
    with pytest.raises(AssertionError, match="Tab never reaches"):
        assert_keyboard_reaches_every_control(page)


def test_a_control_whose_focus_does_not_show_is_caught(page: Any) -> None:
    page.set_content(f'{HEAD}<a href="/a">One</a><button style="outline: none">Two</button>')
    with pytest.raises(AssertionError, match="no focus ring"):
        assert_keyboard_reaches_every_control(page)
    # Its own way of showing the focus will do.
    page.set_content(
        f"{HEAD}<style>button:focus {{ outline: none; box-shadow: 0 0 0 3px #0969da }}</style>"
        '<a href="/a">One</a><button>Two</button>'
    )
    assert_keyboard_reaches_every_control(page)
