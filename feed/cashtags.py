"""Cashtags ($BTC): the one definition of what in post text names an asset by its symbol.

Rendering (feed.markdown links them and fills a post's assets), the tagger (ranking.tagging) and
the demo data all read cashtags with this pattern, so a post links, tags and counts the same
symbols. The rules:

- a `$`, then a letter, then 1 to 19 letters or digits (an asset symbol is 2 to 20 characters):
  "$100", "$5k" and "$1.5M" are amounts, not cashtags;
- any case, read as upper case: "$btc" is BTC;
- delimited by anything but an ASCII letter, digit, "_" or "$" on either side, so punctuation ends
  one ("$BTC." and "($ETH)") and Chinese text around one does not hide it ("买了$BTC现货"), while
  "US$5", "$BTC_USDT" and "$$BTC" name nothing;
- code names nothing: callers find cashtags in prose only, never in code spans or blocks (the
  renderer walks text tokens; the tagger strips code first). Link text is prose and names its
  cashtags; a link's target does not.
"""

from __future__ import annotations

import re

# Named group `cashtag`, so the pattern can sit in an alternation beside other entities.
CASHTAG_PATTERN = r"(?<![A-Za-z0-9_$])\$(?P<cashtag>[A-Za-z][A-Za-z0-9]{1,19})(?![A-Za-z0-9_])"
CASHTAG = re.compile(CASHTAG_PATTERN)


def symbol_of(match: re.Match) -> str:
    """The upper-case symbol a cashtag match names."""
    return match.group("cashtag").upper()


def cashtags_in(text: str) -> list[str]:
    """Upper-case symbols of the cashtags in plain text, in order of first use, each once."""
    return list(dict.fromkeys(symbol_of(match) for match in CASHTAG.finditer(text)))
