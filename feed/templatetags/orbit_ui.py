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
