"""Small display helpers for the page templates."""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format
from django.utils.translation import get_language

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
