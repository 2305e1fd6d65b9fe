"""Prices on pages: no trailing zeros, grouped, and no more digits than a reader can use."""

import pytest

from feed.templatetags.orbit_ui import price


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("64250.50000000", "64,250.5"),
        # A weighted average of fills keeps twelve decimals in the database; eight significant digits show.
        ("5.230645383649", "5.2306454"),
        ("0.000012345678912", "0.000012345679"),
        # Whole units are never rounded away.
        ("1234567890.5", "1,234,567,890"),
        ("100000000", "100,000,000"),
        ("12.50", "12.5"),
        (None, ""),
        ("not a number", ""),
    ],
)
def test_prices_are_shown_plainly_and_to_eight_significant_digits(value, shown):
    assert price(value) == shown
