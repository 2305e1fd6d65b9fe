"""The literal tables the demo draws from, loaded once from demo/data/: listed assets, post
templates and phrases, hashtags, comments, share channels, handles, names and bios.

The order of every list and mapping is part of the seed's output (draws pick by position), so
editing a file changes the demo data for every seed.
"""

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _load(name: str):
    with (DATA / name).open(encoding="utf-8") as file:
        return json.load(file)


# (symbol, name, reference price in USD at the anchor, how often people trade and talk about it)
ASSETS: list[tuple[str, str, float, float]] = [
    (asset["symbol"], asset["name"], asset["reference_price_usd"], asset["weight"]) for asset in _load("assets.json")
]

# Post bodies by (content type, language). Placeholders: {a} {b} symbols, {A} name of a, {p} price of
# a, {s1} support, {r1} resistance, {tp} target, {sl} stop, {pct} {pnl} {apr} percentages, {lev}
# leverage, {tf} timeframe, {days} {n} small integers, {amt} millions of USD, {amt_yi} hundreds of
# millions of USD.
TEMPLATES: dict[tuple[str, str], list[str]] = {
    (content_type, language): templates
    for content_type, by_language in _load("post_templates.json").items()
    for language, templates in by_language.items()
}

_phrases = _load("post_phrases.json")
OPENERS: dict[str, list[str]] = _phrases["openers"]
CLOSERS: dict[str, list[str]] = _phrases["closers"]
TIMEFRAMES: list[str] = _phrases["timeframes"]
TYPE_HASHTAGS: dict[tuple[str, str], list[str]] = {
    (content_type, language): tags
    for content_type, by_language in _phrases["content_type_hashtags"].items()
    for language, tags in by_language.items()
}
# The tag a post about an asset may carry, by (symbol, language).
ASSET_HASHTAGS: dict[tuple[str, str], str] = {
    (symbol, language): tag for symbol, language, tag in _phrases["asset_hashtags"]
}

_reactions = _load("reactions.json")
COMMENTS: dict[str, list[str]] = _reactions["comments"]
HYPE_COMMENTS: dict[str, list[str]] = _reactions["hype_comments"]  # the like ring's
SHARE_CHANNELS: dict[str, list[str]] = _reactions["share_channels"]  # repeated entries weigh more

_people = _load("people.json")
EN_HANDLE_WORDS: list[str] = _people["en_handle_words"]
EN_HANDLE_SUFFIXES: list[str] = _people["en_handle_suffixes"]
ZH_HANDLE_WORDS: list[str] = _people["zh_handle_words"]
ZH_HANDLE_SUFFIXES: list[str] = _people["zh_handle_suffixes"]
EN_FIRST_NAMES: list[str] = _people["en_first_names"]
EN_LAST_NAMES: list[str] = _people["en_last_names"]
ZH_NAME_PREFIXES: list[str] = _people["zh_name_prefixes"]
ZH_NAME_NOUNS: list[str] = _people["zh_name_nouns"]
BIOS: dict[str, list[str]] = _people["bios"]  # placeholders: {year}, {a} a symbol
BURST_PREFIXES: list[str] = _people["burst_prefixes"]  # the sign-up burst's usernames
