"""Which assets a post names: its cashtags, the names of ranking.aliases, and listed tickers in Chinese.

`assets_in` reads text that ranking.tagging.clean_text has cleaned (no code, URLs or link targets)
and returns symbols in order of first mention. No database and no model: the same text always
gives the same assets, and a new listing's cashtag is found the day it is listed.

What counts, beyond feed.cashtags (the one rule the renderer links by):
- a cashtag glued to an amount before it or to a word after it ("9.84M$USDCto" is USDC): people
  paste from trading apps and skip spaces. Upper case only, since "$USDCto" can only be split
  where the case changes; "US$5" and "A$BTC" (currency prefixes) still name nothing;
- a digit-led symbol ("$0G", "$1INCH"): it needs a letter, and number-plus-unit amounts
  ("$5k", "$10M", "$2bn", "$100s") are not symbols;
- a bare upper-case ticker of a listed asset (aliases.LISTED_SYMBOLS) written against Chinese
  ("上线BAT", "大饼和SOL"): Chinese posts rarely cashtag, while in English prose "ONE day" and
  "OP said" are words, so there only the aliases count.

And what does not:
- a name that is part of a title or a body ("以太坊创始人", "Ethereum Foundation", "Solana Labs
  CEO", "co-founder of Ethereum") names a person or an organisation, not the coin;
- a name that is also a company, used as the company ("Tether 公司", "Tether's attestation",
  "Tether froze ..."); USDT, $USDT and "tether (USDT)" are still USDT. Circle, Coinbase and
  Binance are no aliases at all, so they never name USDC or BNB.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from feed import cashtags
from ranking import aliases


def _alias_pattern(names: Iterable[str], *, ignore_case: bool) -> re.Pattern:
    """Longest names first, so "比特币现金" wins over "比特币" and "bitcoin cash" over "bitcoin"."""
    latin = sorted((name for name in names if name.isascii()), key=len, reverse=True)
    chinese = sorted((name for name in names if not name.isascii()), key=len, reverse=True)
    alternatives = []
    if latin:
        words = "|".join(re.escape(name) for name in latin)
        alternatives.append(rf"(?<![A-Za-z0-9$])(?:{words})(?![A-Za-z0-9])")
    if chinese:
        alternatives.append("|".join(re.escape(name) for name in chinese))
    return re.compile("|".join(alternatives), re.IGNORECASE if ignore_case else 0)


def _words(words: Iterable[str]) -> str:
    """An alternation of words, longest first; Latin ones must end at a word boundary."""
    ordered = sorted(words, key=len, reverse=True)
    return "|".join(re.escape(word) + (r"(?![A-Za-z])" if word.isascii() else "") for word in ordered)


ALIAS_PATTERN = _alias_pattern(aliases.ALIASES, ignore_case=True)
CASE_SENSITIVE_PATTERN = _alias_pattern(aliases.CASE_SENSITIVE_ALIASES, ignore_case=False)
NOT_ASSETS_PATTERN = re.compile("|".join(re.escape(phrase) for phrase in aliases.NOT_ASSETS), re.IGNORECASE)
ALIAS_SYMBOLS = {name.lower(): symbol for name, symbol in aliases.ALIASES.items()}

# Before the "$": a boundary as in feed.cashtags, or an amount ("9.84M$USDC", "500$BTC", "2bn$ETH").
# Python's look-behinds are fixed-width, hence one per width.
GLUED_CASHTAG = re.compile(
    r"(?:(?<![A-Za-z0-9_$])|(?<=\d)|(?<=\d[KkMmBb])|(?<=\d[Bb][Nn]))"
    r"\$(?P<symbol>(?=[0-9]*[A-Z])[0-9A-Z]{2,20})(?![0-9A-Z_])"
)
# "$1inch": a digit-led symbol in lower or mixed case counts only if it is listed ("$5k" is not).
DIGIT_LED_CASHTAG = re.compile(r"(?<![A-Za-z0-9_$])\$(?P<symbol>[0-9]+[A-Za-z][A-Za-z0-9]{0,18})(?![A-Za-z0-9_])")
# A number with a unit, not a symbol: thousands, millions, billions, multiples, decades, ordinals, times.
AMOUNT = re.compile(r"[0-9]+(?:K|M|MM|MN|B|BN|T|X|S|ST|ND|RD|TH|H|D|W|Y|YR|MO|MIN|MIL|PM|AM)")
# "$PEPEcoin", "$BTCto": the upper-case head of a cashtag written in mixed case.
UPPER_HEAD = re.compile(r"[0-9]*[A-Z][0-9A-Z]+(?=[a-z])")

BARE_TICKER = re.compile(r"(?<![A-Za-z0-9_$#@])(?=[0-9]*[A-Z])[0-9A-Z]{2,10}(?![A-Za-z0-9_])")
BARE_TICKERS = aliases.LISTED_SYMBOLS - aliases.BARE_TICKER_EXCEPTIONS
# CJK ideographs and radicals, CJK and full-width punctuation ("，", "。", "（", "：").
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
LATIN_LETTER = re.compile(r"[A-Za-z]")

# "以太坊创始人", "Ethereum's co-founder", "Solana Labs CEO", "以太坊的基金会": right after the name.
ROLE_AFTER = re.compile(rf"\s*(?:'s|’s|的)?\s*(?:{_words(aliases.ROLE_WORDS)})", re.IGNORECASE)
# "co-founder of Ethereum", "the CEO of Ripple": right before the name (searched up to its start).
ROLE_BEFORE = re.compile(
    r"(?:co-?founder|founder|ceo|cto|cfo|president|chairman)s?\s+(?:of|at)\s+(?:the\s+)?$", re.IGNORECASE
)
COMPANY_AFTER = re.compile(rf"(?:'s|’s|\s*(?:{_words(aliases.COMPANY_WORDS)}))", re.IGNORECASE)
COMPANY_BEFORE = re.compile(r"(?:issuer|发行方|发行商)\s*$", re.IGNORECASE)
LOOK_BEHIND = 40  # characters searched before a name for "<role> of"


def assets_in(cleaned: str) -> tuple[str, ...]:
    """Symbols of the assets cleaned post text names, in order of first mention, each once."""
    cleaned = NOT_ASSETS_PATTERN.sub(lambda match: " " * len(match[0]), cleaned)
    found: list[tuple[int, str]] = []
    cashtag_starts: set[int] = set()
    for match in cashtags.CASHTAG.finditer(cleaned):
        cashtag_starts.add(match.start())
        found.append((match.start(), _cashtag_symbol(match["cashtag"])))
    # Most posts have no "$" beyond the ones CASHTAG found, or none at all: skip the two scans then.
    extra_cashtags = cleaned.count("$") > len(cashtag_starts)
    for match in GLUED_CASHTAG.finditer(cleaned) if extra_cashtags else ():
        if match.start() not in cashtag_starts and not AMOUNT.fullmatch(match["symbol"]):
            cashtag_starts.add(match.start())
            found.append((match.start(), match["symbol"]))
    for match in DIGIT_LED_CASHTAG.finditer(cleaned) if extra_cashtags else ():
        symbol = match["symbol"].upper()
        if match.start() not in cashtag_starts and symbol in aliases.LISTED_SYMBOLS:
            found.append((match.start(), symbol))
    for match in ALIAS_PATTERN.finditer(cleaned):
        name = match[0].lower()
        if not _names_someone_else(cleaned, match, company=name in aliases.COMPANY_NAMES):
            found.append((match.start(), ALIAS_SYMBOLS[name]))
    for match in CASE_SENSITIVE_PATTERN.finditer(cleaned):
        if not _names_someone_else(cleaned, match, company=False):
            found.append((match.start(), aliases.CASE_SENSITIVE_ALIASES[match[0]]))
    # A post without a Chinese character has no Chinese context: one search spares it the scan.
    for match in BARE_TICKER.finditer(cleaned) if CJK.search(cleaned) else ():
        if (
            match[0] in BARE_TICKERS
            and _next_to_chinese(cleaned, match)
            and not _names_someone_else(cleaned, match, company=False)
        ):
            # A listed ticker that is also an alias ("MATIC") names the alias's symbol (POL).
            found.append((match.start(), ALIAS_SYMBOLS.get(match[0].lower(), match[0])))
    found.sort()
    return tuple(dict.fromkeys(symbol for _position, symbol in found if symbol not in aliases.NOT_ASSET_CASHTAGS))


def _cashtag_symbol(written: str) -> str:
    """The symbol of a cashtag as feed.cashtags delimits it, except that a listed upper-case head
    glued to lower-case letters is the symbol ("$USDCto" is USDC, "$PEPEcoin" is PEPE)."""
    symbol = written.upper()
    if symbol not in aliases.LISTED_SYMBOLS:
        head = UPPER_HEAD.match(written)
        if head and head[0] in aliases.LISTED_SYMBOLS:
            return head[0]
    return symbol


def _names_someone_else(text: str, match: re.Match, *, company: bool) -> bool:
    """True when the name is part of a title or body ("以太坊创始人", "founder of Ethereum") or,
    for a company's name, used as the company ("Tether's attestation", "Tether 公司")."""
    window = max(0, match.start() - LOOK_BEHIND)
    if ROLE_AFTER.match(text, match.end()) or ROLE_BEFORE.search(text, window, match.start()):
        return True
    return company and bool(
        COMPANY_AFTER.match(text, match.end()) or COMPANY_BEFORE.search(text, window, match.start())
    )


def _next_to_chinese(text: str, match: re.Match) -> bool:
    """True when the character before or after the match, past at most one space, is Chinese and
    neither is a Latin letter: "上线 BAT" and "BAT了" are tickers in Chinese, while in "和OP Rollup"
    the capitals belong to an English phrase."""
    before, after = match.start() - 1, match.end()
    if before >= 0 and text[before] == " ":
        before -= 1
    if after < len(text) and text[after] == " ":
        after += 1
    neighbours = (text[before] if before >= 0 else "") + (text[after] if after < len(text) else "")
    return bool(CJK.search(neighbours)) and not LATIN_LETTER.search(neighbours)
