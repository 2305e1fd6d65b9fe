"""Compile every locale/*/LC_MESSAGES/*.po into .mo with polib.

Django's own `compilemessages` needs GNU gettext's msgfmt, a system package;
this needs nothing beyond the virtualenv, so `make run` works on a bare machine.
"""

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile .po translation catalogues to .mo without GNU gettext."

    def handle(self, *args, **options):
        compiled = 0
        for locale_dir in map(Path, settings.LOCALE_PATHS):
            for po_path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                try:
                    catalogue = polib.pofile(str(po_path))
                except OSError as exc:
                    raise CommandError(f"{po_path}: {exc}") from exc
                # Fuzzy entries are guesses; gettext leaves them out and so do we.
                for entry in catalogue.fuzzy_entries():
                    catalogue.remove(entry)
                catalogue.save_as_mofile(str(mo_path))
                compiled += 1
        self.stdout.write(f"compiled {compiled} translation catalogue(s)")
