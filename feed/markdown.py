"""Post and comment text: Markdown in, sanitized HTML out, with $CASHTAGS, #hashtags and @mentions linked.

Raw HTML in the source is never passed through (markdown-it's html option is off), and the
result goes through nh3's allow-list anyway, so a renderer bug cannot become stored XSS.
Cashtags, hashtags and mentions are found in text only, never inside code or existing links.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import nh3
from django.urls import reverse
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .cashtags import CASHTAG, CASHTAG_PATTERN, symbol_of

# \w is Unicode-aware: #比特币 is a hashtag too.
HASHTAG = r"(?<![\w#&])#(?P<hashtag>\w{1,64})"
MENTION = r"(?<![\w@])@(?P<mention>[A-Za-z0-9_][A-Za-z0-9_.-]{0,149})"
ENTITY = re.compile(f"{CASHTAG_PATTERN}|{HASHTAG}|{MENTION}")

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "del", "a", "ul", "ol", "li", "blockquote", "code", "pre", "hr",
    "h1", "h2", "h3", "h4", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "class"}, "code": {"class"}, "th": {"align"}, "td": {"align"}}


@dataclass
class Rendered:
    html: str
    cashtags: list[str] = field(default_factory=list)  # upper-case symbols, in order of first use
    hashtags: list[str] = field(default_factory=list)  # lower-case names
    mentions: list[str] = field(default_factory=list)  # usernames as written


def _entity_rule(state) -> None:
    """Split text tokens around entities into links, collecting what was found in state.env."""
    env = state.env
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        link_depth, in_autolink = 0, False
        for token in block.children:
            if token.type == "link_open":
                link_depth += 1
                in_autolink = token.markup == "autolink"
            elif token.type == "link_close":
                link_depth -= 1
            if token.type == "text" and link_depth and not in_autolink:
                # Link text names its cashtags (the post is about them) but cannot hold a link; an
                # autolink's text is a URL, which names nothing.
                _remember_linked_cashtags(token.content, env)
            if token.type != "text" or link_depth:
                children.append(token)
                continue
            children.extend(_split_text(token, env))
        block.children = children


def _split_text(token: Token, env: dict) -> Iterable[Token]:
    text, position = token.content, 0
    for match in ENTITY.finditer(text):
        href, label = _link_for(match, env)
        if href is None:
            continue
        if match.start() > position:
            yield _text(text[position : match.start()])
        link = Token("link_open", "a", 1)
        link.attrs = {"href": href, "class": label}
        yield link
        yield _text(match.group(0))
        yield Token("link_close", "a", -1)
        position = match.end()
    if position < len(text):
        yield _text(text[position:])


def _text(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


def _remember(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


def _remember_linked_cashtags(text: str, env: dict) -> None:
    for match in CASHTAG.finditer(text):
        if (symbol := symbol_of(match)) in env["known_assets"]:
            _remember(env["cashtags"], symbol)


def _link_for(match: re.Match, env: dict) -> tuple[str | None, str]:
    if match.group("cashtag"):
        symbol = symbol_of(match)
        if symbol not in env["known_assets"]:
            return None, ""
        _remember(env["cashtags"], symbol)
        return reverse("feed:asset", args=[symbol]), "cashtag"
    if name := match.group("hashtag"):
        if name.isdigit():  # "#1" is a rank, not a tag
            return None, ""
        name = name.lower()
        _remember(env["hashtags"], name)
        return reverse("feed:hashtag", args=[name]), "hashtag"
    username = match.group("mention").rstrip(".")
    if username.lower() not in env["known_users"]:
        return None, ""
    _remember(env["mentions"], username)
    return reverse("feed:profile", args=[username]), "mention"


def _markdown() -> MarkdownIt:
    # "js-default": CommonMark without raw HTML, plus tables and strikethrough.
    md = MarkdownIt("js-default", {"linkify": False, "typographer": False})
    md.core.ruler.push("orbit_entities", _entity_rule)
    return md


_MD = _markdown()


def candidates(source: str) -> tuple[set[str], set[str]]:
    """Upper-case cashtag symbols and lower-case usernames the text might name, for one lookup each."""
    symbols = {symbol_of(m) for m in CASHTAG.finditer(source)}
    names = {m.group("mention").rstrip(".").lower() for m in ENTITY.finditer(source) if m.group("mention")}
    return symbols, names


def render(
    source: str,
    *,
    known_assets: Iterable[str] = (),
    known_users: Iterable[str] = (),
    lookup: Callable[[set[str], set[str]], tuple[Iterable[str], Iterable[str]]] | None = None,
) -> Rendered:
    """Render Markdown to safe HTML. Only known assets and users are linked; `lookup`, if
    given, is asked once for which of the candidate symbols and usernames exist."""
    if lookup is not None:
        known_assets, known_users = lookup(*candidates(source))
    env = {
        "known_assets": set(known_assets),
        "known_users": {name.lower() for name in known_users},
        "cashtags": [],
        "hashtags": [],
        "mentions": [],
    }
    unsafe_html = _MD.render(source, env)
    html = nh3.clean(
        unsafe_html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
    )
    return Rendered(html=html, cashtags=env["cashtags"], hashtags=env["hashtags"], mentions=env["mentions"])
