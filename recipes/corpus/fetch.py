"""Fetch the Debian data packages into a cache folder and make sure the command-line tools exist.

Data packages are never installed: ``apt-get download`` puts the .deb in ``<cache>/debs`` and ``dpkg-deb -x``
unpacks it into ``<cache>/pkgs/<package>``; a ``.unpacked`` marker makes both steps skip on a rerun.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm


@dataclass(frozen=True)
class Package:
    """A Debian package the corpus draws from, with its licence and credit as stated in its copyright file."""

    license: str
    credit: str


PACKAGES: dict[str, Package] = {
    "fluid-soundfont-gm": Package("MIT", "FluidR3 GM soundfont by Frank Wen and contributors"),
    "fluid-soundfont-gs": Package("MIT", "FluidR3 GS sound effects by Frank Wen and contributors"),
    "timgm6mb-soundfont": Package("GPL-2", "TimGM6mb soundfont by Tim Brechbill"),
    "asterisk-core-sounds-en-g722": Package(
        "CC-BY-SA-3.0", "Asterisk prompts voiced by Allison Smith (Digium)"
    ),
    "asterisk-core-sounds-es-g722": Package(
        "CC-BY-SA-3.0", "Asterisk Spanish prompts voiced by Allison Smith (Digium)"
    ),
    "asterisk-core-sounds-fr-g722": Package(
        "CC-BY-SA-3.0", "Asterisk French (Canada) prompts voiced by June Wallack (Digium)"
    ),
    "asterisk-moh-opsound-g722": Package(
        "CC-BY-SA-3.0", "Music on hold by Paul Shuler (Macroform), Manolo Camp, Reno Project"
    ),
    "tuxpaint-stamps-default": Package(
        "GPL-2", "Tux Paint stamps by Bill Kendrick and the Tux Paint contributors"
    ),
    "widelands-data": Package("GPL-2+", "Widelands Development Team"),
    "openttd-opensfx": Package(
        "CC-BY-3.0 / CC-BY-SA-3.0 / CC0-1.0 (per file)",
        "OpenSFX authors; each clip's credit is in the .cat entry",
    ),
    "lincity-ng-data": Package("GPL-2+", "LinCity-NG developers"),
    "sonic-pi-samples": Package(
        "CC0-1.0 / CC-BY-SA-4.0", "Sonic Pi samples, Sam Aaron and freesound contributors"
    ),
    "hydrogen-drumkits": Package(
        "GPL-2+", "Hydrogen drum kits by Artemiy Pavlov, Emiliano Grilli and others"
    ),
    "hedgewars-data": Package(
        "GFDL-1.3 / GPL-2 / CC-BY-SA-3.0", "Hedgewars project (Andrey Korotaev et al.)"
    ),
    "frozen-bubble-data": Package("GPL-2", "Frozen Bubble team"),
    "sound-theme-freedesktop": Package("GPL-2+ / CC-BY-SA-3.0", "freedesktop.org sound theme contributors"),
    # issue 20's packages; licence and credit of each from its debian/copyright ("Files: *" unless noted);
    # per-file stanzas of the DEP-5 files become each clip's credit (credits.py). neverball-data and
    # pioneers-data are not listed: they carry no audio files.
    "0ad-data": Package("CC-BY-SA-3.0", "Wildfire Games (0 A.D.)"),
    "supertuxkart-data": Package(
        "GPL-3+ / CC-BY-SA-3.0 / CC-BY-SA-4.0 / CC-BY-3.0 / CC0 (per file)",
        "SuperTuxKart Team and contributors",
    ),
    "lmms-common": Package("GPL-2+", "LMMS developers (Tobias Doerffel et al.)"),
    "freeciv-data": Package("GPL-2+", "The Freeciv project"),
    "extremetuxracer-data": Package("GPL-2+", "Jasmin F. Patry (Tuxracer), Extreme Tux Racer team"),
    "warzone2100-data": Package("GPL-2+ / CC0-1.0 (per file)", "Eidos Interactive, Warzone 2100 Project"),
    "redeclipse-data": Package("CC-BY-SA-3.0+ / CC-BY-3.0 / CC0-1.0 (per file)", "Red Eclipse Team"),
    "xmoto-data": Package("GPL-2+", "Rasmus Neckelmann and the X-Moto team"),
    "supertux-data": Package("GPL-3+ / GPL-2+ / CC-BY-SA (per file)", "SuperTux Devel Team"),
    "tuxtype-data": Package("GPL-2", "Tux4Kids (Sam Hart, Jesse D. Andrews, David Bruce and others)"),
    "pingus-data": Package("GPL-2+", "Ingo Ruhnke and the Pingus contributors"),
    "trigger-rally-data": Package(
        "GPL-2+ / CC0 / CC-BY-3.0 / CC-BY-SA-3.0 (per file)", "Jasmine and Richard Langridge, Andrei Bondor"
    ),
    "freedroidrpg-data": Package("GPL-2+", "Johannes Prix and the FreedroidRPG team"),
    "minetest-data": Package(
        "LGPL-2.1+ / CC-BY-SA-3.0 (per file)", "Perttu Ahola (celeron55) and contributors"
    ),
    "openclonk-data": Package("ISC / CC-BY (see its copyright file)", "RedWolf Design, The OpenClonk Team"),
    "teeworlds-data": Package("Zlib / CC-BY-SA-3.0 (per file)", "Magnus Auvinen and contributors"),
    "oxygen-sounds": Package("LGPL-3.0-or-later", "Nuno Filipe Povoa"),
    "gnome-audio": Package("CC-BY-SA-2.0 / CC-BY-3.0", "Andreas Karlsson, Martyn Clement, Ivica Ico Bukvic"),
    "yaru-theme-sound": Package("GPL-3.0+ / CC-BY-SA-4.0", "Canonical Ltd. and the Yaru team"),
    "sound-icons": Package("GPL-2+", "Brailcom, o.p.s."),
    "marsshooter-data": Package(
        "GPL-3+ / CC-BY-SA-3.0 / CC-BY-3.0 (per file)", "Simon Schneegans, Felix Lauer and contributors"
    ),
    "scorched3d-data": Package("GPL-2+", "Gavin Camp"),
    "stormbaancoureur-data": Package("GPL-3", "Bram Stolk"),
    "chromium-bsu-data": Package("Clarified-Artistic / Expat (per file)", "Mark B. Allan, Brian Redfern"),
    "flightgear-data-base": Package("GPL-2+", "Curtis L. Olson and the FlightGear contributors"),
}

GENERATED = {  # tools whose output is in the corpus (nothing of theirs is downloaded as data)
    "espeak-ng": Package(
        "GPL-3+ (the synthesizer's licence)",
        "speech synthesized with eSpeak NG (the installed Debian package)",
    ),
    "generated-noise": Package(
        "CC0-1.0", "coloured noise and mains hum generated by recipes/corpus/noise.py"
    ),
}

TOOLS = {"fluidsynth": "fluidsynth", "espeak-ng": "espeak-ng", "ffmpeg": "ffmpeg"}  # binary -> apt package


def ensure_tools(install: bool = True) -> None:
    """Install the missing tools with apt-get when running as root, otherwise stop with the exact command."""
    missing = sorted({pkg for binary, pkg in TOOLS.items() if shutil.which(binary) is None})
    if not missing:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if not install or os.geteuid() != 0:
        raise SystemExit(f"missing tools; run: sudo apt-get update && sudo {' '.join(command)}")
    print(f"installing {' '.join(missing)} with apt-get")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(command, check=True, env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})


def fetch_packages(cache: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Download and unpack the packages; returns ``{package: unpacked root}``. Finished packages are skipped."""
    names = names or list(PACKAGES)
    debs, roots = cache / "debs", {}
    debs.mkdir(parents=True, exist_ok=True)
    todo = [name for name in names if not (cache / "pkgs" / name / ".unpacked").exists()]
    missing_debs = [name for name in todo if not list(debs.glob(f"{name}_*.deb"))]
    if missing_debs:
        print(f"apt-get download {len(missing_debs)} packages into {debs}")
        subprocess.run(["apt-get", "download", *missing_debs], cwd=debs, check=True)
    for name in tqdm(todo, desc="unpack", unit="pkg"):
        root = cache / "pkgs" / name
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(next(debs.glob(f"{name}_*.deb"))), str(root)], check=True)
        (root / ".unpacked").touch()
    for name in names:
        roots[name] = cache / "pkgs" / name
    return roots


def package_versions(cache: Path) -> dict[str, str]:
    """The Debian version of each downloaded package (from its .deb name) and of each generating tool."""
    versions = {}
    for deb in (cache / "debs").glob("*.deb"):
        name, version = deb.name.split("_")[:2]
        versions[name] = version.replace("%3a", ":")
    for tool in GENERATED:
        query = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", tool], check=False, capture_output=True, text=True
        )
        versions[tool] = query.stdout.strip() or "-"
    return versions
