"""Per-file credits from a package's machine-readable ``debian/copyright`` (DEP-5).

Each ``Files:`` stanza names source-tree globs with their copyright holders and licence; the last stanza
whose glob matches a file's path (compared with the end of the installed path, since Debian installs
``data/sfx/x.ogg`` as ``usr/share/games/<game>/data/sfx/x.ogg``) gives the file's credit. Members of
archives are matched as ``<archive path>/<member>`` (trigger-rally's copyright names
``data/data.zip/sounds/gear.wav`` that way).
Free-text copyright files (no ``Files:`` stanzas) give no per-file credit; the package credit applies.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Stanza:
    """One ``Files:`` stanza: its globs, copyright holders and licence name."""

    globs: tuple[str, ...]
    copyright: str
    license: str

    def credit(self, glob: str) -> str:
        """The credit line of the file(s) that ``glob`` names."""
        return f"{glob}: {self.copyright} ({self.license})"


def _fields(paragraph: str) -> dict[str, str]:
    """The fields of one DEP-5 paragraph; continuation lines are joined with "; " (``.`` lines dropped)."""
    fields: dict[str, str] = {}
    key = None
    for line in paragraph.splitlines():
        if line[:1] in (" ", "\t") and key:
            text = line.strip()
            if text and text != ".":
                fields[key] = f"{fields[key]}; {text}" if fields[key] else text
        elif ":" in line:
            key, value = line.split(":", 1)
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields


def read_stanzas(copyright_file: Path) -> list[Stanza]:
    """The ``Files:`` stanzas of a DEP-5 copyright file (an empty list for free-text or missing files)."""
    if not copyright_file.exists():
        return []
    stanzas = []
    for paragraph in copyright_file.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        fields = _fields(paragraph)
        if "files" in fields and "license" in fields:
            license_name = fields["license"].split(";")[0].strip()
            stanzas.append(
                Stanza(
                    tuple(fields["files"].replace(";", " ").split()),
                    fields.get("copyright", ""),
                    license_name,
                )
            )
    return stanzas


def _matches(glob: str, path: str) -> bool:
    """Whether ``glob`` names ``path``; a glob's first folder may be missing from the installed path (Debian
    installs chromium-bsu's ``data/wav/*`` as ``usr/share/games/chromium-bsu/wav/*``)."""
    if glob.startswith("debian/"):  # the packaging, never the data
        return False
    rest = glob.split("/", 1)[-1]
    globs = [glob] + ([rest] if "/" in glob and not glob.startswith("*") and rest.strip("*") else [])
    return any(fnmatch.fnmatchcase(path, g) or fnmatch.fnmatchcase(path, "*/" + g) for g in globs)


def credit_for(stanzas: list[Stanza], path: str) -> str | None:
    """The credit of the last stanza matching ``path`` (a path relative to the package root), or None."""
    found = None
    for stanza in stanzas:
        for glob in stanza.globs:
            if _matches(glob, path):
                found = stanza.credit(glob)
                break
    return found


def package_stanzas(root: Path, package: str) -> list[Stanza]:
    """The stanzas of an unpacked package's own copyright file."""
    return read_stanzas(root / "usr/share/doc" / package / "copyright")
