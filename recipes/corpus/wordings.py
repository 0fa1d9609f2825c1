"""Query wordings people type, in families: the model is trained with every family, and evaluated per family.

Families of one clip (class, optional subject), e.g. a dog: ``word`` "dog", ``synonym`` "hound",
``noun_phrase`` "a dog barking" (the class and subject phrasings of :mod:`labels`), ``sentence`` "I can hear a dog
barking", ``instruction`` "isolate the dog". A subject's own name (``washing_machine`` -> "washing machine") is one
more word. The held-out paraphrases of :mod:`labels` are a sixth family that training never sees.
"""

from __future__ import annotations

import random

from .labels import CLASSES, SUBJECTS

FAMILIES = ("word", "synonym", "noun_phrase", "sentence", "instruction")

WORDS: dict[str, tuple[str, str]] = {  # class -> ("; "-separated one-word names, "; "-separated synonyms)
    "speech_male": ("speech; voice; talking; man", "male voice; a man; spoken words; male speaker"),
    "speech_female": ("speech; voice; talking; woman", "female voice; a woman; spoken words; female speaker"),
    "laughter": ("laughter; laughing; laugh", "giggling; chuckling"),
    "scream": ("scream; screaming; yell", "shriek; cry of pain"),
    "crowd": ("crowd; people; audience", "chatter; hubbub"),
    "piano": ("piano; keys", "keyboard; pianoforte"),
    "guitar": ("guitar; strumming", "acoustic guitar; plucking"),
    "strings": ("strings; violin; cello", "fiddle; string section"),
    "brass": ("brass; trumpet; horn", "trombone; brass section"),
    "woodwind": ("woodwind; flute; clarinet", "reed instrument; wind instrument"),
    "organ": ("organ", "harmonium; pipe organ"),
    "bells": ("bells; bell; chimes", "ringing; chiming"),
    "drums": ("drums; percussion; beat", "drum kit; drumming"),
    "music": ("music; song; melody", "tune; soundtrack"),
    "dog": ("dog; barking; bark", "puppy; hound; woof"),
    "birds": ("birds; bird; birdsong", "chirping; tweeting"),
    "horse": ("horse; hooves", "pony; stallion"),
    "farm_animal": ("animal; livestock", "farm animals; barnyard"),
    "wild_animal": ("animal; beast", "wildlife; creature"),
    "insects": ("insects; bugs; buzzing", "crickets; bees"),
    "water": ("water; splashing", "liquid; stream"),
    "rain": ("rain; rainfall; raindrops", "downpour; drizzle"),
    "wind": ("wind; gusts", "breeze; gale"),
    "thunder": ("thunder; thunderstorm", "storm; rumble"),
    "fire": ("fire; flames; crackling", "campfire; blaze"),
    "vehicle": ("car; engine; traffic", "truck; motor"),
    "train": ("train; locomotive", "railway; tram"),
    "aircraft": ("airplane; plane; aircraft", "jet; helicopter"),
    "siren": ("siren; alarm", "ambulance; police car"),
    "telephone": ("phone; telephone; ringtone", "cellphone; ringing phone"),
    "footsteps": ("footsteps; steps; walking", "feet; stomping"),
    "door": ("door; knocking", "slam; creak"),
    "hammering": ("hammer; hammering; pounding", "banging; mallet"),
    "woodcutting": ("sawing; chopping; saw", "axe; lumber"),
    "machine": ("machine; machinery; motor", "engine; appliance"),
    "explosion": ("explosion; bang; gunshot", "blast; boom"),
    "noise": ("noise; hiss; static", "hum; buzz; background noise"),
}

SENTENCES = (  # phrasings are noun phrases or short sentences ("a man talks"): both read well here
    "I want to hear the {word}",
    "can you find the {word} in this recording",
    "{phrase} in the background",
    "{phrase} somewhere in this clip",
)
INSTRUCTIONS = (
    "isolate the {word}",
    "extract {phrase}",
    "keep only the {word}",
    "separate the {word} from the rest",
    "get the {word} out of this mix",
)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def families(label: str, subject: str | None = None) -> dict[str, list[str]]:
    """Every wording of a class (and subject), by family: ``{family: [wording, ...]}`` for :data:`FAMILIES`."""
    words, synonyms = (_split(text) for text in WORDS[label])
    phrases = list(CLASSES[label].train)
    if subject:
        words.insert(0, subject.replace("_", " "))
        phrases = list(SUBJECTS[subject].train) + phrases
    return {
        "word": words,
        "synonym": synonyms,
        "noun_phrase": phrases,
        "sentence": [
            template.format(word=word, phrase=phrase)
            for template in SENTENCES
            for word, phrase in zip(words[:2], phrases[:2])
        ],
        "instruction": [template.format(word=words[0], phrase=phrases[0]) for template in INSTRUCTIONS],
    }


def one_per_family(label: str, subject: str | None, rng: random.Random) -> dict[str, str]:
    """One wording of every family, drawn with ``rng``: ``{family: wording}``."""
    return {family: rng.choice(options) for family, options in families(label, subject).items()}
