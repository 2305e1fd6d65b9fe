"""Strings that Django, axes and allauth show in the admin but whose zh_Hans catalogues lack.

Listed here, makemessages puts them into Orbit's catalogue, and a catalogue in LOCALE_PATHS wins
over the libraries' own, so the Chinese admin reads Chinese. Nothing imports this module.
"""

from django.utils.translation import gettext_noop

LIBRARY_STRINGS = [
    # django/contrib/admin/templates/admin/app_list.html: headers read by screen readers (and innerText)
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    # axes' models
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
]
