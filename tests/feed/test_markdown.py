import re

import pytest

from feed.markdown import render


def test_markdown_becomes_html_and_links_known_entities():
    rendered = render(
        "**$BTC** broke out, #DeFi rotation next, thanks @Satoshi", known_assets={"BTC"}, known_users={"satoshi"}
    )
    assert "<strong>" in rendered.html
    assert 'href="/assets/BTC/"' in rendered.html
    assert 'href="/tags/defi/"' in rendered.html
    assert 'href="/@Satoshi/"' in rendered.html
    assert rendered.cashtags == ["BTC"]
    assert rendered.hashtags == ["defi"]
    assert rendered.mentions == ["Satoshi"]


def test_unknown_cashtags_and_people_stay_plain_text():
    rendered = render("$NOPE and @nobody", known_assets={"BTC"}, known_users=set())
    assert "<a" not in rendered.html
    assert rendered.cashtags == [] and rendered.mentions == []


def test_chinese_hashtags_are_hashtags():
    rendered = render("今天聊聊 #比特币 和 $BTC", known_assets={"BTC"})
    assert rendered.hashtags == ["比特币"]
    assert rendered.cashtags == ["BTC"]


def test_entities_inside_code_and_links_are_not_linked():
    rendered = render("`$BTC #tag` and [see $ETH #tag](https://example.com)", known_assets={"BTC", "ETH"})
    assert rendered.html.count("<a ") == 1
    # Link text still names its cashtags (tests/feed/test_cashtags.py); code names nothing.
    assert rendered.cashtags == ["ETH"]
    assert rendered.hashtags == []


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "<svg onload=alert(1)>",
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        "<iframe src=//evil.example></iframe>",
    ],
)
def test_html_and_script_in_markdown_render_inert(payload):
    html = render(payload).html
    # Escaped text such as "&lt;script&gt;" is fine; a live tag or attribute is not.
    assert not re.search(r"<(script|svg|iframe|img)\b", html)
    assert not re.search(r"<[a-z][^>]*\son\w+\s*=", html)
    assert not re.search(r"<a [^>]*href=\"(javascript|data):", html)


def test_every_link_gets_nofollow_noopener():
    html = render("[docs](https://example.com/a)").html
    assert 'rel="nofollow noopener"' in html


def test_a_number_after_a_hash_is_not_a_hashtag():
    assert render("We are #1 on the board").hashtags == []
