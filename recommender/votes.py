"""The rating vocabulary, defined once: the votes a subscriber can give and where they came from.

A vote is a word where people and files see it (``up``, ``down``, ``clear``) and a number where
the store and the model keep it (+1, -1, 0: cleared).
"""

from __future__ import annotations

# Each vote's word and the number stored for it.
VOTES = {"up": 1, "down": -1, "clear": 0}
VOTE_NAMES = {value: name for name, value in VOTES.items()}
# The votes a rating link in an email carries (a rating is cleared on the page it opens).
LINK_VOTES = ("up", "down")
# Where a rating came from.
SOURCES = ("cli", "email", "web", "import")
