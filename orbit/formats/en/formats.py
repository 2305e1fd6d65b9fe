"""English as Orbit has always shown a day and month ("by 3 Mar", "14 Nov"); the rest is Django's."""

MONTH_DAY_FORMAT = "j M"
