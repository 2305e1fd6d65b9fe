"""Dates and numbers as Chinese readers of exchange apps write them, over Django's zh_Hans formats.

Django's own pads months ("09月5日") and groups digits in fours with no separator ("96000");
Binance and OKX show 9月5日 and 96,000. Whatever is not named here falls back to Django's.
"""

DATE_FORMAT = "Y年n月j日"  # 2026年12月7日
DATETIME_FORMAT = "Y年n月j日 H:i"  # 2026年12月7日 14:30
MONTH_DAY_FORMAT = "n月j日"  # 12月7日
SHORT_DATE_FORMAT = "Y/n/j"  # 2026/12/7
SHORT_DATETIME_FORMAT = "Y/n/j H:i"  # 2026/12/7 14:30
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
