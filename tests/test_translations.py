"""`manage.py check_translations` (run by CI and `make check-translations`) fails on a string the
Chinese catalogue lacks, or holds empty or fuzzy, and never rewrites the catalogue."""

import shutil

import polib
import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.skipif(not shutil.which("xgettext"), reason="needs GNU gettext (apt-get install gettext)")

CATALOGUE = "zh_Hans/LC_MESSAGES/django.po"


def test_a_missing_an_empty_and_a_fuzzy_chinese_entry_each_fail_the_check(tmp_path, settings):
    committed = settings.LOCALE_PATHS[0] / CATALOGUE
    copy = tmp_path / CATALOGUE
    copy.parent.mkdir(parents=True)
    catalogue = polib.pofile(str(committed))
    catalogue.remove(catalogue.find("More comments"))
    catalogue.find("Latest").msgstr = ""
    catalogue.find("Language").flags.append("fuzzy")
    catalogue.save(str(copy))
    before = copy.read_bytes()
    settings.LOCALE_PATHS = [tmp_path]

    with pytest.raises(CommandError) as failure:
        call_command("check_translations")

    assert "missing: 'More comments'" in str(failure.value)
    assert "empty: 'Latest'" in str(failure.value)
    assert "fuzzy: 'Language'" in str(failure.value)
    assert copy.read_bytes() == before
    # makemessages' template went to a temporary directory, not beside either catalogue.
    assert not list(tmp_path.rglob("*.pot")) and not list(committed.parents[2].rglob("*.pot"))
