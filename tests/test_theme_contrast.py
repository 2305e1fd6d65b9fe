"""The light and the dark theme in static/orbit.css reach WCAG AA, computed from the file itself.

WCAG 2.x contrast: (L1 + 0.05) / (L2 + 0.05) of the two colours' relative luminances. Text needs 4.5:1;
borders that identify a control and the focus ring need 3:1 (WCAG 1.4.11).
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

STATIC = Path(settings.BASE_DIR) / "static"
CSS = (STATIC / "orbit.css").read_text()

TEXT = ["--fg", "--muted", "--link", "--up-ink", "--down-ink"]
SURFACES = ["--bg", "--card", "--surface-2", "--accent-soft", "--up-soft", "--down-soft"]
# Other pairs the stylesheets draw text with: (text, background).
PAIRS = [
    ("--accent-ink", "--accent"),
    ("--accent-ink", "--accent-strong"),
    ("--bar-ink", "--bar"),
    ("--accent", "--bar"),  # the brand on the top bar
    ("--card", "--down-ink"),  # counts on a red badge
    ("--card", "--up-ink"),
]
# Non-text: (colour, what it sits on), 3:1.
CONTROLS = [
    ("--line-strong", "--card"),
    ("--focus", "--bg"),
    ("--focus", "--card"),
]
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgb|rgba|hsl|hsla)\(")


def block(css: str, selector: str) -> str:
    """The declarations of the first rule whose selector is exactly `selector`."""
    match = re.search(re.escape(selector) + r"\s*\{([^{}]*)\}", css)
    assert match, f"no {selector} block in orbit.css"
    return match.group(1)


def tokens(declarations: str) -> dict[str, str]:
    return dict(re.findall(r"(--[a-z0-9-]+)\s*:\s*([^;]+);", re.sub(r"/\*.*?\*/", "", declarations, flags=re.S)))


def luminance(colour: str) -> float:
    digits = colour.strip().lstrip("#")
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted([luminance(one), luminance(other)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


THEMES = {
    "light": tokens(block(CSS, ":root")),
    "dark": tokens(block(CSS, 'html[data-theme="dark"]')),
}


def shortfalls(theme: dict[str, str], pairs, minimum: float) -> list[str]:
    return [
        f"{text} {theme[text]} on {ground} {theme[ground]}: {contrast(theme[text], theme[ground]):.2f}"
        for text, ground in pairs
        if contrast(theme[text], theme[ground]) < minimum
    ]


def test_the_ratio_is_computed_as_wcag_defines_it():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    # The gold links axe-core flagged: 2.72:1 on white.
    assert contrast("#c99400", "#ffffff") == pytest.approx(2.72, abs=0.01)


@pytest.mark.parametrize("name", THEMES)
def test_every_text_token_reaches_aa_on_every_surface_of_its_theme(name):
    theme = THEMES[name]
    pairs = [(text, ground) for text in TEXT for ground in SURFACES] + PAIRS
    assert shortfalls(theme, pairs, 4.5) == []


@pytest.mark.parametrize("name", THEMES)
def test_field_borders_and_the_focus_ring_stand_out_by_three_to_one(name):
    assert shortfalls(THEMES[name], CONTROLS, 3) == []


def test_both_themes_define_the_same_tokens():
    assert THEMES["light"].keys() == THEMES["dark"].keys()


def test_a_system_that_prefers_dark_gets_exactly_the_dark_theme_unless_the_reader_chose_light():
    media = re.search(r"@media \(prefers-color-scheme: dark\)\s*\{(.*?)\n\}", CSS, flags=re.S)
    assert media, "no prefers-color-scheme: dark rule in orbit.css"
    assert tokens(block(media.group(1), 'html:not([data-theme="light"])')) == THEMES["dark"]


def test_no_stylesheet_writes_a_colour_outside_the_theme_tokens():
    found = []
    for path in sorted(STATIC.rglob("*.css")):
        if "vendor" in path.parts or "api" in path.parts:
            continue
        # Comments go, their line breaks stay, so that line numbers still point at the file.
        css = re.sub(r"/\*.*?\*/", lambda comment: "\n" * comment.group().count("\n"), path.read_text(), flags=re.S)
        for number, line in enumerate(css.splitlines(), start=1):
            if COLOUR.search(line) and not re.match(r"\s*--[a-z0-9-]+\s*:", line):
                found.append(f"{path.relative_to(STATIC)}:{number}: {line.strip()}")
    assert found == []
