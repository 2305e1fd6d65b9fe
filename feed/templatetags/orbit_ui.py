"""Small display helpers for the page templates."""

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language, gettext, ngettext

register = template.Library()


PRICE_DIGITS = 8


@register.filter
def price(value):
    """A price or percentage without trailing zeros, grouped the reader's way: 64,250.5."""
    if value in (None, ""):
        return ""
    try:
        number = Decimal(value).normalize()
    except (InvalidOperation, TypeError, ValueError):
        return ""
    # Averages of fills carry twelve decimals; eight significant digits are all a reader can use.
    if number and len(number.as_tuple().digits) > PRICE_DIGITS:
        places = min(number.adjusted() - PRICE_DIGITS + 1, 0)  # whole units are never rounded away
        number = number.quantize(Decimal(1).scaleb(places)).normalize()
    # normalize() may switch to exponent form (1E+5); quantizing to its own exponent keeps it plain.
    plain = number.quantize(Decimal(1)) if number == number.to_integral() else number
    return number_format(plain, use_l10n=True, force_grouping=True)


@register.filter
def ago(moment):
    """When something happened, as feeds say it: 5 minutes ago, 3 days ago, then the date (7 Dec, 12月7日).

    Humanize's naturaltime goes on to "1 month, 1 week ago", which Chinese renders as "1 月 1 周前"
    (read as "January"); a date is what readers of both languages expect after a week.
    """
    if not moment:
        return ""
    now = timezone.now()
    elapsed = now - moment
    if elapsed < timedelta(minutes=1):
        return gettext("just now")
    if elapsed < timedelta(hours=1):
        minutes = elapsed.seconds // 60
        return ngettext("%(count)d minute ago", "%(count)d minutes ago", minutes) % {"count": minutes}
    if elapsed < timedelta(days=1):
        hours = elapsed.seconds // 3600
        return ngettext("%(count)d hour ago", "%(count)d hours ago", hours) % {"count": hours}
    if elapsed < timedelta(days=7):
        return ngettext("%(count)d day ago", "%(count)d days ago", elapsed.days) % {"count": elapsed.days}
    local = timezone.localtime(moment)
    same_year = local.year == timezone.localtime(now).year
    return date_format(local, "MONTH_DAY_FORMAT" if same_year else "DATE_FORMAT")


@register.filter
def type_name(post_type):
    """A content type's or creator title's name in the reader's language."""
    if post_type is None:
        return ""
    return post_type.name_zh if (get_language() or "").startswith("zh") else post_type.name_en


@register.filter
def display_name(user):
    """What to call a person: their display name, else their username (also when they have no profile)."""
    try:
        name = user.profile.display_name
    except AttributeError:  # no profile row yet (RelatedObjectDoesNotExist is an AttributeError)
        name = ""
    return name or user.username


@register.filter
def avatar_url(user):
    try:
        avatar = user.profile.avatar
    except AttributeError:
        return ""
    return avatar.url if avatar else ""


# Thresholds and suffixes of compact counts: thousands and millions in English, 万 (10⁴) and 亿 (10⁸) in Chinese.
COMPACT_UNITS = {
    "en": ((10**9, "B"), (10**6, "M"), (10**3, "K")),
    "zh": ((10**8, "亿"), (10**4, "万")),
}


@register.filter
def compact_count(value):
    """A count as feeds show it: 987, 1.2K, 3.4M; in Chinese 9,876, 1.2万, 3.4亿. Rounded down, so
    999,999 is 999.9K and never a premature 1M."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return ""
    units = COMPACT_UNITS["zh" if (get_language() or "").startswith("zh") else "en"]
    for size, suffix in units:
        if abs(number) >= size:
            tenths = abs(number) * 10 // size
            whole, tenth = divmod(tenths, 10)
            shown = f"{whole}" if tenth == 0 or whole >= 100 else f"{whole}.{tenth}"
            return f"{'-' if number < 0 else ''}{shown}{suffix}"
    return number_format(number, force_grouping=True)


@register.filter
def disclosure_summary(disclosures):
    """One line for a post's disclosures: which assets the author bought and which they sold, and
    the widest gap from posting in whole days (0: all within a day)."""
    bought = sorted({d.asset for d in disclosures if d.side == "bought"})
    sold = sorted({d.asset for d in disclosures if d.side == "sold"})
    return {
        "bought": ", ".join(f"${asset}" for asset in bought),
        "sold": ", ".join(f"${asset}" for asset in sold),
        "days": max((d.days for d in disclosures), default=0),
    }
