"""Colour contrast as WCAG 2 computes it, and the colours a stylesheet gives text, by mode.

For tests: :func:`ratio` of two ``#rrggbb`` colours, and :func:`text_colours`, which reads the
simple CSS our emails and pages use (one rule per selector list, a dark-mode ``@media`` block)
and pairs each selector's text colour with the background it stands on in light and dark mode.
"""

from __future__ import annotations

import re

DARK = "@media (prefers-color-scheme: dark)"
RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")


def luminance(colour: str) -> float:
    """The relative luminance of ``#rrggbb`` (or ``#rgb``)."""
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(c * 2 for c in hex_digits)
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(one: str, other: str) -> float:
    """The contrast ratio of two colours: 1 (none) to 21 (black on white)."""
    dark, light = sorted((luminance(one), luminance(other)))
    return (light + 0.05) / (dark + 0.05)


def _rules(css: str) -> dict[str, dict[str, str]]:
    """Selector -> {property: value} (``color``, ``background``/``background-color``)."""
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in RULE.findall(css):
        found = {}
        for declaration in body.split(";"):
            name, _, value = declaration.partition(":")
            name, value = name.strip(), value.replace("!important", "").strip()
            if name == "color":
                found["color"] = value
            elif name in ("background", "background-color") and value.startswith("#"):
                found["background"] = value
        for selector in selectors.split(","):
            rules.setdefault(" ".join(selector.split()), {}).update(found)
    return rules


def text_colours(css: str, surfaces: tuple[str, ...]) -> dict[str, list[tuple[str, str, str]]]:
    """For "light" and "dark": (selector, text colour, background) for every selector that
    sets a text colour, on its own background where it sets one, else on each of the
    ``surfaces`` (the selectors of the page and its cards) of that mode. A light rule not
    overridden in dark mode keeps its colour there."""
    light_css, _, dark_css = css.partition(DARK)
    light = _rules(light_css)
    dark = _rules(dark_css)
    modes = {"light": light, "dark": {s: light.get(s, {}) | dark.get(s, {}) for s in light | dark}}
    pairs: dict[str, list[tuple[str, str, str]]] = {}
    for mode, rules in modes.items():
        grounds = [rules[s]["background"] for s in surfaces if "background" in rules.get(s, {})]
        assert grounds, f"no background for {surfaces} in {mode} mode"
        pairs[mode] = [
            (selector, rule["color"], background)
            for selector, rule in rules.items()
            if "color" in rule and rule["color"].startswith("#")
            for background in (
                grounds
                if selector in surfaces or "background" not in rule
                else [rule["background"]]
            )
        ]
    return pairs
