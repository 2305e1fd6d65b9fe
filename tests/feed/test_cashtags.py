"""One cashtag rule for rendering, tagging and the demo data, on the cases their old patterns disagreed on."""

import pytest

from feed.cashtags import cashtags_in
from feed.markdown import render
from ranking.tagging import extract_assets

KNOWN = {"BTC", "ETH", "SOL", "PEPE", "SUPERLONGTOKENNAME20"}


@pytest.mark.parametrize(
    ("text", "symbols"),
    [
        # Amounts: a cashtag starts with a letter.
        ("Paid $100 in fees, $5k profit, $1.5M volume", []),
        # Any case, read as upper case.
        ("$btc and $Eth", ["BTC", "ETH"]),
        # Punctuation ends a cashtag.
        ("Long $BTC. Short $ETH, ($SOL) and $PEPE!", ["BTC", "ETH", "SOL", "PEPE"]),
        # Chinese around a cashtag does not hide it (the old renderer's \w look-arounds did).
        ("买了$BTC现货，$ETH也拿着", ["BTC", "ETH"]),
        ("今天聊聊$SOL。", ["SOL"]),
        # Glued to ASCII letters, digits, "_" or another "$": not a cashtag.
        ("US$5 or A$BTC or $$BTC or $BTC_USDT", []),
        # A symbol is 2 to 20 characters (the old tagger stopped at 10); one letter is not a symbol.
        ("$SUPERLONGTOKENNAME20 and $X", ["SUPERLONGTOKENNAME20"]),
        ("$TWENTYONECHARACTERSXY", []),
        # Each once, in order of first use.
        ("$ETH $btc $BTC $eth", ["ETH", "BTC"]),
    ],
)
def test_cashtags_in_text(text, symbols):
    assert cashtags_in(text) == symbols


@pytest.mark.parametrize(
    ("text", "symbols"),
    [
        ("Paid $100, then bought $btc.", ["BTC"]),
        ("买了$BTC现货", ["BTC"]),
        ("Long $BTC. ($ETH)", ["BTC", "ETH"]),
        ("US$5 and A$BTC", []),
        ("$SUPERLONGTOKENNAME20 listed", ["SUPERLONGTOKENNAME20"]),
        # Code names nothing; link text names its cashtags, a link target does not.
        ("`$BTC` and\n\n```\necho $ETH\n```", []),
        ("[see $SOL](https://example.com/$PEPE)", ["SOL"]),
    ],
)
def test_the_renderer_and_the_tagger_find_the_same_cashtags(text, symbols):
    assert render(text, known_assets=KNOWN).cashtags == symbols
    assert list(extract_assets(text)) == symbols


def test_a_cashtag_in_chinese_text_is_linked():
    html = render("买了$BTC现货", known_assets={"BTC"}).html
    assert '买了<a href="/assets/BTC/" class="cashtag"' in html and "</a>现货" in html


def test_a_cashtag_in_link_text_is_counted_but_not_linked_twice():
    rendered = render("[see $BTC](https://example.com)", known_assets={"BTC"})
    assert rendered.cashtags == ["BTC"]
    assert rendered.html.count("<a ") == 1 and 'href="https://example.com"' in rendered.html


def test_an_autolinked_url_names_no_cashtag():
    assert render("<https://example.com/$BTC>", known_assets={"BTC"}).cashtags == []
