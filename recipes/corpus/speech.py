"""Speech sources: espeak-ng synthesis, Asterisk voice prompts and Tux Paint's spoken stamp descriptions.

Genders were measured, not guessed: the median pitch (pYIN) of each espeak variant and of each Tux Paint
language's speaker decided the lists below (male 77-127 Hz, female 180-275 Hz; ambiguous ones are left out).
Hedgewars voice packs are pitched-up cartoon voices (~300 Hz for every pack), so they are not used as speech.
"""

from __future__ import annotations

import itertools
import random
import re
import subprocess
import zlib
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from .sources import Item

ESPEAK_MALE = [
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "m8",
    "adam",
    "antonio",
    "benjamin",
    "david",
    "ed",
    "edward",
    "gustave",
    "john",
    "max",
    "miguel",
    "pablo",
    "paul",
    "robert",
]
ESPEAK_FEMALE = [
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "Alicia",
    "Andrea",
    "Annie",
    "anika",
    "belinda",
    "grandma",
    "linda",
    "shelby",
    "steph",
]

TEXTS = {
    "en": [
        "The train to the city leaves at half past nine.",
        "Please remember to close the window before you go.",
        "We walked along the beach until the sun went down.",
        "My brother bought a new bicycle last week.",
        "Could you tell me the way to the nearest station?",
        "The soup is hot, so wait a minute before eating.",
        "She reads a chapter of her book every evening.",
        "The meeting has been moved to Thursday afternoon.",
        "There are three apples and two pears on the table.",
        "It was raining when we arrived at the airport.",
        "The children are playing football in the park.",
        "I will call you back as soon as I get home.",
        "Turn left at the bakery and go straight ahead.",
        "This old clock belonged to my grandmother.",
        "The museum is closed on Mondays and holidays.",
        "He forgot his umbrella on the bus again.",
        "Our neighbours have a garden full of roses.",
        "The library opens at eight in the morning.",
        "Please speak slowly, I am still learning.",
        "The weather should be sunny for the rest of the week.",
    ],
    "es": [
        "El tren sale de la estación a las nueve.",
        "Mañana vamos a visitar a mis abuelos.",
        "La comida está lista, ven a la mesa.",
        "Hace mucho calor en la ciudad este verano.",
        "¿Dónde está la biblioteca más cercana?",
        "Los niños juegan en el parque todas las tardes.",
    ],
    "fr": [
        "Le train pour Paris part dans dix minutes.",
        "Nous allons au marché tous les samedis matin.",
        "Il fait beau aujourd'hui, allons nous promener.",
        "Ma sœur apprend à jouer du piano.",
        "Pouvez-vous m'indiquer le chemin de la gare ?",
        "Le café est fermé le dimanche.",
    ],
    "de": [
        "Der Zug nach Berlin fährt um acht Uhr ab.",
        "Wir gehen heute Abend ins Kino.",
        "Das Wetter ist schön, lass uns spazieren gehen.",
        "Mein Bruder wohnt in einer kleinen Stadt.",
        "Kannst du mir bitte das Salz geben?",
        "Die Bibliothek ist am Sonntag geschlossen.",
    ],
    "it": [
        "Il treno per Roma parte alle dieci.",
        "Domani andiamo al mare con gli amici.",
        "La cena è pronta, vieni a tavola.",
        "Mia sorella studia medicina a Bologna.",
    ],
    "pt": [
        "O comboio para Lisboa sai às oito horas.",
        "Amanhã vamos visitar os nossos avós.",
        "O jantar está pronto, vem para a mesa.",
        "Hoje está muito calor na cidade.",
    ],
    "nl": [
        "De trein naar Amsterdam vertrekt om negen uur.",
        "Morgen gaan we naar het strand.",
        "Het eten is klaar, kom aan tafel.",
        "Mijn broer woont in een klein dorp.",
    ],
}
ESPEAK_LANGS = {
    "en": ["en", "en-us", "en-gb-scotland"],
    "es": ["es"],
    "fr": ["fr-fr"],
    "de": ["de"],
    "it": ["it"],
    "pt": ["pt"],
    "nl": ["nl"],
}
LANG_WEIGHTS = {"en": 4, "es": 1, "fr": 1, "de": 1, "it": 1, "pt": 1, "nl": 1}

TUXPAINT_MALE = ("bg", "ca", "da", "lt", "nl", "ru")
TUXPAINT_FEMALE = ("be", "el", "es", "ro")
ASTERISK = {  # package -> its voice actor (one recording: a speaker never spans two splits)
    "asterisk-core-sounds-en-g722": "allison-smith",
    "asterisk-core-sounds-es-g722": "allison-smith",
    "asterisk-core-sounds-fr-g722": "june-wallack",
}
G722_BYTES_PER_SECOND = 8000  # 64 kbit/s


def espeak_items(cache: Path, n_male: int, n_female: int, seed: int) -> list[Item]:
    """Synthesize ``n_male + n_female`` utterances of two sentences each (kept in ``cache/espeak``)."""
    rng = random.Random(seed)
    out_dir = cache / "espeak"
    out_dir.mkdir(parents=True, exist_ok=True)
    langs = list(LANG_WEIGHTS)
    jobs, items = [], []
    for gender, count, voices in (
        ("speech_male", n_male, ESPEAK_MALE),
        ("speech_female", n_female, ESPEAK_FEMALE),
    ):
        for k in range(count):
            lang = rng.choices(langs, weights=[LANG_WEIGHTS[x] for x in langs])[0]
            text = " ".join(rng.sample(TEXTS[lang], 2))
            voice = f"{rng.choice(ESPEAK_LANGS[lang])}+{voices[k % len(voices)]}"
            args = ["-v", voice, "-s", str(rng.randint(130, 185)), "-p", str(rng.randint(35, 65)), text]
            path = (
                out_dir / f"{gender}-{k:03d}-{zlib.crc32(' '.join(args).encode()):08x}.wav"
            )  # new args, new file
            jobs.append((path, args))
            items.append(
                Item(
                    id=f"espeak-{gender.split('_')[1]}-{k:03d}",
                    label=gender,
                    source="espeak-ng",
                    files=(path,),
                    max_segments=1,
                )
            )
    for path, args in tqdm(jobs, desc="espeak-ng", unit="utt"):
        if not path.exists():
            for old in path.parent.glob(path.name.rsplit("-", 1)[0] + "-*.wav"):
                old.unlink()
            tmp = path.with_suffix(".part.wav")
            subprocess.run(["espeak-ng", "-w", str(tmp), *args], check=True, capture_output=True)
            tmp.rename(path)
    return items


def asterisk_items(
    roots: dict[str, Path], per_language: int, seed: int, min_seconds: float = 1.5
) -> list[Item]:
    """A seeded sample of whole-sentence Asterisk prompts (the top folder; digits, letters etc. are skipped)."""
    rng = random.Random(seed)
    items = []
    for package in ASTERISK:
        folder = next((roots[package] / "usr/share/asterisk/sounds").iterdir())
        prompts = sorted(
            p for p in folder.glob("*.g722") if p.stat().st_size >= min_seconds * G722_BYTES_PER_SECOND
        )
        lang = package.split("-")[3]
        for path in rng.sample(prompts, min(per_language, len(prompts))):
            items.append(
                Item(
                    id=f"asterisk-{lang}-{path.stem.replace('_', '-')}",
                    label="speech_female",
                    source=package,
                    files=(path,),
                    recording=f"asterisk:{ASTERISK[package]}",
                    max_segments=1,
                )
            )
    return items


def tuxpaint_speech_items(root: Path, chunks_per_language: int, per_chunk: int, seed: int) -> list[Item]:
    """Join ``per_chunk`` spoken stamp descriptions of one language (one speaker) into each speech item.

    A few descriptions are 8 kHz recordings; they are skipped (see ``render.MIN_SOURCE_RATE``).
    """
    rng = random.Random(seed)
    by_lang: dict[str, list[Path]] = {}
    for path in sorted((root / "usr/share/tuxpaint/stamps").rglob("*_desc_*.ogg")):
        match = re.search(r"_desc_([a-z]{2})\.ogg$", path.name)
        if match and match.group(1) in TUXPAINT_MALE + TUXPAINT_FEMALE:
            by_lang.setdefault(match.group(1), []).append(path)
    items = []
    for langs, label in ((TUXPAINT_MALE, "speech_male"), (TUXPAINT_FEMALE, "speech_female")):
        for lang in langs:
            candidates = by_lang.get(lang, [])
            rng.shuffle(candidates)
            wideband = (p for p in candidates if sf.info(str(p)).samplerate >= 16000)
            files = list(itertools.islice(wideband, chunks_per_language * per_chunk))
            for k in range(len(files) // per_chunk):
                items.append(
                    Item(
                        id=f"tuxpaint-speech-{lang}-{k:02d}",
                        label=label,
                        source="tuxpaint-stamps-default",
                        files=tuple(files[k * per_chunk : (k + 1) * per_chunk]),
                        recording=f"tuxpaint-speech:{lang}",  # one speaker per language
                        max_segments=1,
                    )
                )
    return items
