"""Template context every page needs from Orbit itself."""

from django.http import HttpRequest

# The reader's colour theme, set by static/orbit.js's theme switch (one year, SameSite=Lax).
THEME_COOKIE = "orbit_theme"
THEMES = frozenset({"light", "dark"})


def theme(request: HttpRequest) -> dict[str, str]:
    """`theme`: "light" or "dark" as the reader chose, or "" to follow the system (prefers-color-scheme).

    base.html writes it on <html data-theme> so that the first paint already has the right colours.
    The cookie is the client's word: anything but the two names counts as no choice.
    """
    chosen = request.COOKIES.get(THEME_COOKIE, "")
    return {"theme": chosen if chosen in THEMES else ""}
