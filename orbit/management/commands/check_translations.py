"""Fail when the Chinese catalogue is incomplete: a string makemessages would add, or an empty or fuzzy entry.

It runs Django's own makemessages (GNU gettext's xgettext, so templates and Python are read the same
way) but stops at the template (.pot) it builds in a temporary directory: the committed catalogue
is read, never rewritten. `make check-translations` runs it; CI runs it before the suite.
"""

import tempfile
from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands import makemessages

LOCALE = "zh_Hans"
# JavaScript strings would live in the djangojs domain; static/orbit.js has none today, so a check
# that djangojs stays empty (or complete) keeps a first one from shipping untranslated.
DOMAINS = ("django", "djangojs")


class _CollectMsgids(makemessages.Command):
    """makemessages that writes its .pot into `pot_dir` and hands it back instead of merging a .po."""

    def __init__(self, pot_dir: str, **kwargs):
        super().__init__(**kwargs)
        self.pot_dir = pot_dir
        self.templates: list[polib.POFile] = []

    def find_files(self, root):
        files = super().find_files(root)
        for translatable in files:
            translatable.locale_dir = self.pot_dir
        self.locale_paths = [self.pot_dir]  # where build_potfiles and remove_potfiles look
        return files

    def write_po_file(self, potfile, locale):
        self.templates.append(polib.pofile(potfile))


class Command(BaseCommand):
    help = "Fail listing strings missing from, empty in or fuzzy in the zh_Hans catalogue."

    def handle(self, *args, **options):
        problems = []
        for domain in DOMAINS:
            problems += self._check(domain)
        if problems:
            raise CommandError(
                "the zh_Hans catalogue is incomplete:\n  "
                + "\n  ".join(problems)
                + "\nTranslate these in locale/zh_Hans/LC_MESSAGES/ (makemessages -l zh_Hans --no-obsolete adds them)."
            )
        self.stdout.write("the zh_Hans catalogue is complete")

    def _check(self, domain: str) -> list[str]:
        with tempfile.TemporaryDirectory(prefix="orbit-pot-") as pot_dir:
            collector = _CollectMsgids(pot_dir, stdout=self.stdout, stderr=self.stderr)
            collector.handle(
                locale=[LOCALE],
                exclude=[],
                domain=domain,
                verbosity=0,
                all=False,
                extensions=None,
                symlinks=False,
                ignore_patterns=["tests", "bench", "var", "staticfiles", "static/vendor", "docs"],
                use_default_ignore_patterns=True,
                no_wrap=False,
                no_location=True,
                add_location=None,
                no_obsolete=True,
                keep_pot=False,
            )
            wanted = [entry for template in collector.templates for entry in template]
        po_path = Path(settings.LOCALE_PATHS[0]) / LOCALE / "LC_MESSAGES" / f"{domain}.po"
        if not po_path.exists():
            return [f"{domain}: no {po_path.name}; needed for {_quote(entry)}" for entry in wanted]
        catalogue = {(entry.msgctxt, entry.msgid): entry for entry in polib.pofile(str(po_path))}
        problems = []
        for entry in wanted:
            found = catalogue.get((entry.msgctxt, entry.msgid))
            if found is None or found.obsolete:
                problems.append(f"missing: {_quote(entry)}")
        for found in catalogue.values():
            if found.obsolete:
                continue
            if found.fuzzy:
                problems.append(f"fuzzy: {_quote(found)}")
            elif not found.translated():
                problems.append(f"empty: {_quote(found)}")
        return problems


def _quote(entry: polib.POEntry) -> str:
    context = f" (context {entry.msgctxt!r})" if entry.msgctxt else ""
    return repr(entry.msgid) + context
