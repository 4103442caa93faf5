"""Arabic is complete: every user-facing string has a reviewed translation.

`makemessages` runs over a temporary copy of the source tree, so the test sees the strings the code
has now (not the ones the committed catalogue happened to contain) and never touches the tree.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".venv", "node_modules", "var", ".git", "bench", "docs", "tests", "__pycache__", ".hypothesis"}

pytestmark = pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")


def _catalogues(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("locale/ar/LC_MESSAGES/*.po") if not SKIP & set(p.relative_to(root).parts)
    )


def _copy_source(dest: Path) -> None:
    def ignore(_dir, names):
        return [n for n in names if n in SKIP or n.endswith((".pyc", ".sqlite3"))]

    for entry in ROOT.iterdir():
        if entry.name in SKIP or entry.name.startswith("."):
            continue
        if entry.is_dir():
            shutil.copytree(entry, dest / entry.name, ignore=ignore)
        else:
            shutil.copy2(entry, dest / entry.name)


@pytest.fixture(scope="module")
def fresh_catalogues(tmp_path_factory):
    copy = tmp_path_factory.mktemp("i18n") / "src"
    copy.mkdir()
    _copy_source(copy)
    for domain, extra in (("django", []), ("djangojs", ["--ignore=*.min.js"])):
        subprocess.run(  # noqa: S603 - fixed arguments, our own manage.py
            [sys.executable, "manage.py", "makemessages", "-l", "ar", "-d", domain, "-v", "0", *extra],
            cwd=copy,
            check=True,
        )
    return [polib.pofile(str(p)) for p in _catalogues(copy)]


def _describe(entry: polib.POEntry) -> str:
    where = ", ".join(f"{f}:{n}" for f, n in entry.occurrences[:2])
    return f"{entry.msgid[:70]!r} ({where})"


def test_every_user_facing_string_has_an_arabic_translation(fresh_catalogues):
    missing = [_describe(e) for po in fresh_catalogues for e in po.untranslated_entries()]
    assert not missing, f"{len(missing)} untranslated (run `make messages` and translate):\n" + "\n".join(
        missing[:40]
    )


def test_no_arabic_translation_is_left_fuzzy(fresh_catalogues):
    fuzzy = [_describe(e) for po in fresh_catalogues for e in po.fuzzy_entries() if not e.obsolete]
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries to review:\n" + "\n".join(fuzzy[:40])


def test_the_compiled_catalogues_match_their_sources():
    for po_path in _catalogues(ROOT):
        po = polib.pofile(str(po_path))
        mo = polib.mofile(str(po_path.with_suffix(".mo")))
        compiled = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0) for e in mo}
        stale = [
            e.msgid
            for e in po.translated_entries()
            if compiled.get((e.msgctxt, e.msgid)) != (e.msgstr or e.msgstr_plural.get(0))
        ]
        assert not stale, f"{po_path} is newer than its .mo: run `make messages` ({stale[:5]})"
