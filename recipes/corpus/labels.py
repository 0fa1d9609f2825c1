"""Sound classes and their caption phrasings.

Every class (and every finer *subject* such as "cow" inside ``farm_animal``) has two disjoint sets of
phrasings: ``train`` phrasings become the ``captions`` of every row, ``held_out`` phrasings are never used as
captions and are given to evaluation as ``paraphrase_captions`` (unseen query wordings).
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Phrases:
    """Caption phrasings of one class or subject."""

    train: tuple[str, ...]
    held_out: tuple[str, ...]


def _p(train: str, held_out: str) -> Phrases:
    """Build :class:`Phrases` from two ``;``-separated strings (keeps the tables below compact)."""
    return Phrases(tuple(s.strip() for s in train.split(";")), tuple(s.strip() for s in held_out.split(";")))


CLASSES: dict[str, Phrases] = {
    "speech_male": _p(
        "a man speaking; a man talks; male speech; a man's voice saying something; a male voice talking; "
        "a man says a few words",
        "a guy is talking; spoken words from a male speaker; a gentleman speaks",
    ),
    "speech_female": _p(
        "a woman speaking; a woman talks; female speech; a woman's voice saying something; "
        "a female voice talking; a woman says a few words",
        "a lady is talking; spoken words from a female speaker; a girl speaks",
    ),
    "laughter": _p(
        "a person laughing; laughter; someone laughs out loud; people laughing; a laughing voice",
        "somebody chuckles and giggles; a burst of human laughter",
    ),
    "scream": _p(
        "a person screaming; someone screams; a scream of pain; a loud human scream; a person cries out",
        "a shriek of terror; a howl of agony from a person",
    ),
    "crowd": _p(
        "a crowd of people; crowd noise; a noisy crowd; a group of people; many people making noise",
        "the murmur of a large audience; a group of people making noise together",
    ),
    "piano": _p(
        "a piano playing; someone plays the piano; piano music; a melody on the piano; piano notes",
        "keys of a piano being played; a pianist performing a tune",
    ),
    "guitar": _p(
        "a guitar playing; someone plays the guitar; guitar music; guitar notes; a guitar melody",
        "a guitarist performing; plucked guitar strings",
    ),
    "strings": _p(
        "string instruments playing; a string instrument; strings playing a melody; stringed instrument music",
        "a string section performing; music played with a bow on strings",
    ),
    "brass": _p(
        "a brass instrument playing; brass music; a horn plays a melody; brass notes",
        "a tune blown on a brass horn; a brass player performing",
    ),
    "woodwind": _p(
        "a woodwind instrument playing; a wind instrument plays a melody; woodwind music; woodwind notes",
        "a tune blown on a woodwind; a woodwind player performing",
    ),
    "organ": _p(
        "an organ playing; organ music; someone plays the organ; organ chords",
        "a keyboard organ performing; sustained organ tones",
    ),
    "bells": _p(
        "bells ringing; a bell rings; ringing bells; chiming bells; a bell chimes",
        "the tolling of bells; bells sounding out",
    ),
    "drums": _p(
        "drums playing; a drum beat; someone plays the drums; drumming; percussion",
        "a drummer performing a rhythm; beats on a drum kit",
    ),
    "music": _p(
        "music playing; a piece of music; background music; instrumental music; a song playing",
        "a musical track; a tune with several instruments",
    ),
    "dog": _p(
        "a dog barking; barking of a dog; a dog barks loudly; a dog is barking; dog barks",
        "a canine barking repeatedly; woof woof from a dog",
    ),
    "birds": _p(
        "birds chirping; a bird singing; birdsong; bird calls; a bird chirps; birds tweeting",
        "the song of a small bird; a bird whistling its call",
    ),
    "horse": _p(
        "a horse; horse sounds; a horse nearby; noises of a horse",
        "a stallion on the move; the clip-clop of a horse",
    ),
    "farm_animal": _p(
        "farm animals; a farm animal calling; animal sounds on a farm; livestock noises",
        "noises of domestic animals; a barnyard animal",
    ),
    "wild_animal": _p(
        "a wild animal; a wild animal calling; an animal growling; animal noises in the wild",
        "the call of a wild beast; a creature in nature",
    ),
    "insects": _p(
        "insects buzzing; an insect; buzzing of insects; insects chirping",
        "the drone of small bugs; a bug buzzes around",
    ),
    "water": _p(
        "the sound of water; water sounds; water moving; water noises",
        "liquid moving and splashing; a watery sound",
    ),
    "rain": _p(
        "rain falling; rain; heavy rain; raindrops; the sound of rain; rain pouring down",
        "a rainstorm; water falling from the sky",
    ),
    "wind": _p(
        "wind blowing; strong wind; the wind howls; gusts of wind; wind noise",
        "a windy storm; air rushing past",
    ),
    "thunder": _p(
        "thunder; thunder rumbling; a thunderclap; thunder roars; a clap of thunder",
        "a thunderstorm rumbles; lightning and thunder",
    ),
    "fire": _p(
        "fire crackling; a crackling fire; flames burning; a fire burns; burning wood crackles",
        "a campfire popping; the roar of flames",
    ),
    "vehicle": _p(
        "a vehicle; a motor vehicle; road vehicle noise; a vehicle on the road; a vehicle engine",
        "an automobile on the road; cars and trucks passing",
    ),
    "train": _p(
        "a train; a train passing by; a train engine; a locomotive; a train on the tracks",
        "a railway train rolling; rail traffic",
    ),
    "aircraft": _p(
        "an aircraft flying; an airplane; an aircraft engine; a plane flying overhead; aircraft noise",
        "an airborne vehicle roaring; a flying machine passing",
    ),
    "siren": _p(
        "a siren; a siren wailing; an emergency siren; a police siren; a siren blaring",
        "an alarm wail from an emergency vehicle; a warning siren sounding",
    ),
    "telephone": _p(
        "a telephone ringing; a phone rings; phone ringing; a ringing telephone; a telephone rings",
        "an incoming call ringtone; someone's phone is ringing",
    ),
    "footsteps": _p(
        "footsteps; someone walking; footsteps on the ground; a person walks; steps of a person",
        "the sound of feet walking; a walker's steps",
    ),
    "door": _p(
        "a door; door sounds; a door being used; a door moving",
        "someone shutting a door; the hinge of a door",
    ),
    "hammering": _p(
        "hammering; a hammer hitting; someone hammering; hammer strikes; hammer blows",
        "pounding with a hammer; a mallet striking repeatedly",
    ),
    "woodcutting": _p(
        "wood being cut; cutting wood; woodwork sounds; someone cutting wood",
        "timber being worked; lumber being cut",
    ),
    "machine": _p(
        "a machine running; machinery; a mechanical device operating; machine noise; a machine at work",
        "an appliance at work; a motorized device",
    ),
    "explosion": _p(
        "a loud bang; a blast; a bang; an explosive sound; a sharp loud noise",
        "something blows up; shots being fired",
    ),
    "noise": _p(
        "background noise; a steady noise; a noisy hiss; static noise; a constant hiss",
        "a droning background sound; fuzz on the line",
    ),
}

SUBJECTS: dict[str, Phrases] = {
    # farm animals
    "cow": _p("a cow mooing; a cow moos; mooing of a cow", "cattle lowing"),
    "sheep": _p("a sheep bleating; sheep baaing; bleating of sheep", "a lamb calling baa"),
    "goat": _p("a goat bleating; a goat bleats; bleating of a goat", "a billy goat calling"),
    "pig": _p("a pig oinking; a pig grunts; grunting of a pig", "a hog snorting"),
    "donkey": _p("a donkey braying; a donkey brays; braying of a donkey", "a mule hee-hawing"),
    "chicken": _p("a chicken clucking; a hen clucks; clucking of a chicken", "poultry cackling"),
    "rooster": _p("a rooster crowing; a rooster crows; crowing of a rooster", "a cockerel calling at dawn"),
    "duck": _p("a duck quacking; a duck quacks; quacking of a duck", "a mallard calling"),
    "goose": _p("a goose honking; a goose honks; honking of a goose", "a gander calling"),
    "turkey": _p("a turkey gobbling; a turkey gobbles; gobbling of a turkey", "a tom turkey calling"),
    # wild animals
    "lion": _p("a lion roaring; a lion roars; roaring of a lion", "a big cat's roar"),
    "tiger": _p("a tiger growling; a tiger roars; growling of a tiger", "a striped big cat snarling"),
    "bear": _p("a bear growling; a bear growls; growling of a bear", "a grizzly grunting"),
    "elephant": _p(
        "an elephant trumpeting; an elephant trumpets; trumpeting of an elephant", "a pachyderm calling"
    ),
    "monkey": _p("a monkey screeching; monkeys chattering; an ape calling", "a primate hooting"),
    "wolf": _p("a wolf howling; a wolf howls; howling of a wolf", "a coyote yipping at night"),
    "deer": _p("a deer calling; a stag bellowing; a deer bellows", "an elk bugling"),
    "whale": _p("a whale singing; whale calls; a whale song", "a sea mammal calling underwater"),
    "dolphin": _p("a dolphin clicking; a dolphin squeaks; dolphin whistles", "a porpoise chattering"),
    "sea_lion": _p("a sea lion barking; a sea lion barks; barking of a sea lion", "a seal calling"),
    "frog": _p("a frog croaking; a frog croaks; croaking of frogs", "a toad calling"),
    "boar": _p("a wild boar grunting; a boar grunts; grunting of a wild boar", "a wild pig snorting"),
    # birds, insects
    "crow": _p("a crow cawing; a crow caws; cawing of a crow", "a raven calling"),
    "owl": _p("an owl hooting; an owl hoots; hooting of an owl", "a night bird hooing"),
    "cuckoo": _p("a cuckoo calling; a cuckoo sings; the call of a cuckoo", "a cuckoo bird going cuckoo"),
    "seagull": _p("a seagull crying; seagulls squawking; a gull calls", "a seabird screeching"),
    "bee": _p("a bee buzzing; bees buzz; buzzing of a bee", "a bumblebee flying"),
    "mosquito": _p(
        "a mosquito buzzing; a mosquito whines; whining of a mosquito", "a gnat flying near the ear"
    ),
    "crickets": _p("crickets chirping; a cricket chirps; chirping of crickets", "grasshoppers stridulating"),
    # water, vehicles, machines, tools
    "stream": _p("a stream flowing; a babbling brook; a river flowing", "a creek trickling"),
    "waves": _p("waves crashing; ocean waves on the shore; the sea surf", "breakers rolling onto a beach"),
    "bubbles": _p("water bubbling; bubbles rising; liquid bubbling", "a fizzy gurgle"),
    "drips": _p("water dripping; drops of water falling; a dripping tap", "droplets plinking"),
    "splash": _p(
        "a splash of water; something splashes into water; splashing", "an object plunging into water"
    ),
    "toilet": _p("a toilet flushing; a toilet flush; flushing of a toilet", "a lavatory being flushed"),
    "car": _p("a car engine running; a car drives past; a car accelerating", "an automobile revving"),
    "traffic": _p("road traffic; cars passing on a street; traffic on a busy road", "a highway full of cars"),
    "bus": _p("a bus pulling away; a bus engine; a truck starting", "a lorry's diesel engine"),
    "car_horn": _p("a car horn honking; a car honks; honking of a car horn", "a vehicle beeping its horn"),
    "helicopter": _p(
        "a helicopter flying; helicopter rotor blades; a helicopter hovering", "a chopper overhead"
    ),
    "jet": _p("a jet plane taking off; a jet engine roaring; a jet flying over", "a jetliner thundering"),
    "propeller_plane": _p(
        "a propeller plane; a small plane engine; a prop plane flying", "a light aircraft buzzing"
    ),
    "jackhammer": _p(
        "a jackhammer pounding; a pneumatic drill; jackhammering", "road works with an air hammer"
    ),
    "washing_machine": _p(
        "a washing machine running; a washing machine spinning", "a laundry machine tumbling"
    ),
    "vacuum_cleaner": _p("a vacuum cleaner running; someone vacuuming; a vacuum cleaner", "a hoover sucking"),
    "typewriter": _p(
        "a typewriter typing; typing on a typewriter; typewriter keys", "keys clacking on paper"
    ),
    "mill": _p("a mill grinding; a mill wheel turning; grinding machinery", "a millstone rotating"),
    "anvil": _p("a blacksmith hammering on an anvil; hammering metal on an anvil", "a smith forging iron"),
    "saw": _p("a saw cutting wood; sawing wood; a handsaw sawing", "someone working a saw"),
    "power_saw": _p("a circular saw cutting; a power saw whining; a sawmill saw", "an electric saw buzzing"),
    "chainsaw": _p("a chainsaw running; a chainsaw cutting wood; chainsaw noise", "a chain saw revving"),
    "axe": _p(
        "an axe chopping wood; chopping wood with an axe; wood chopping", "a lumberjack hacking at a log"
    ),
    "tree_falling": _p("a tree falling; a tree crashes down; a falling tree", "timber toppling over"),
    "explosion": _p("an explosion; something explodes; a big explosion", "a detonation"),
    "gunshot": _p("a gunshot; a gun firing; a shotgun blast", "a rifle shot"),
    "machine_gun": _p(
        "a machine gun firing; automatic gunfire; rapid gunshots", "a burst from an automatic weapon"
    ),
    "fireworks": _p("fireworks exploding; fireworks bang; firecrackers popping", "pyrotechnics bursting"),
    # crowd, speech-like
    "door_creak": _p(
        "a door creaking; a creaky door opening; a squeaking door hinge", "a door groaning open"
    ),
    "door_slam": _p("a door slamming; a door slams shut; someone slams a door", "a door banging closed"),
    "horse_neigh": _p("a horse neighing; a horse whinnies; neighing of a horse", "a stallion whinnying"),
    "horse_gallop": _p("a horse galloping; horse hooves; hooves galloping", "the clatter of hooves"),
    "applause": _p("applause; people clapping; an audience applauds", "hands clapping in approval"),
    "cheering": _p("a crowd cheering; fans cheering in a stadium; people cheer", "spectators roaring"),
    "children": _p(
        "children playing; kids shouting in a playground; children's voices", "youngsters at play"
    ),
    # instruments
    "electric_piano": _p(
        "an electric piano playing; an electric piano melody; a keyboard playing", "a Rhodes tune"
    ),
    "electric_guitar": _p(
        "an electric guitar playing; a distorted electric guitar; electric guitar riffs",
        "an amplified guitar",
    ),
    "ukulele": _p("a ukulele playing; strumming a ukulele; ukulele music", "a small four-string guitar"),
    "bass_guitar": _p("a bass guitar playing; a bass line; an electric bass", "low plucked bass strings"),
    "mandolin": _p("a mandolin playing; mandolin music; a mandolin melody", "a plucked mandolin tune"),
    "violin": _p("a violin playing; a violin melody; a fiddle playing", "a violinist bowing"),
    "cello": _p("a cello playing; a cello melody; a bowed cello", "a cellist bowing deep notes"),
    "double_bass": _p("a double bass playing; a contrabass; a bowed bass", "a deep upright bass"),
    "harp": _p("a harp playing; harp music; plucked harp strings", "a harpist performing"),
    "string_ensemble": _p(
        "a string ensemble; a string orchestra; strings playing together", "an orchestra's violins"
    ),
    "trumpet": _p("a trumpet playing; a trumpet melody; a trumpet sounds", "a bugle-like fanfare"),
    "trombone": _p("a trombone playing; a trombone melody; a sliding trombone", "a low brass slide horn"),
    "tuba": _p("a tuba playing; a tuba melody; deep tuba notes", "an oompah bass horn"),
    "french_horn": _p(
        "a French horn playing; a French horn melody; a mellow horn", "an orchestral horn solo"
    ),
    "saxophone": _p("a saxophone playing; a sax melody; a jazzy saxophone", "a sax solo"),
    "oboe": _p("an oboe playing; an oboe melody; a reedy oboe", "a double-reed tune"),
    "clarinet": _p("a clarinet playing; a clarinet melody; a clarinet tune", "a licorice stick tune"),
    "bassoon": _p("a bassoon playing; a bassoon melody; low bassoon notes", "a deep double-reed horn"),
    "flute": _p("a flute playing; a flute melody; an airy flute", "a flautist performing"),
    "pan_flute": _p("a pan flute playing; pan pipes; a pan flute melody", "breathy panpipes"),
    "recorder": _p("a recorder playing; a recorder melody; a simple recorder tune", "a school recorder"),
    "church_organ": _p("a church organ playing; a pipe organ; organ music in a church", "a cathedral organ"),
    "church_bell": _p("a church bell ringing; church bells toll; a big bell", "a carillon pealing"),
    "glockenspiel": _p(
        "a glockenspiel playing; glockenspiel notes; a metallophone", "small metal bars struck"
    ),
    "music_box": _p("a music box playing; a music box melody; a wind-up music box", "a tinkling toy melody"),
    "wind_chimes": _p(
        "wind chimes tinkling; wind chimes ringing; chimes in the breeze", "a porch chime jingling"
    ),
    "tubular_bells": _p(
        "tubular bells ringing; chimes playing; orchestral chimes", "a set of tubular chimes"
    ),
    "tabla": _p("tabla drums playing; a tabla rhythm; Indian hand drums", "a tabla player's beat"),
    "cymbal": _p("a cymbal crash; cymbals ringing; a crash cymbal", "a ringing metal cymbal"),
    # generated noise
    "white_noise": _p("white noise; a bright hiss; broadband noise", "a rushing sound like a detuned radio"),
    "pink_noise": _p("pink noise; a soft rushing noise; a hiss like a waterfall", "a gentle even roar"),
    "brown_noise": _p("brown noise; a deep rumbling noise; a low rumble", "a muffled roar"),
    "hum": _p("an electrical hum; mains hum; a low buzzing hum", "a humming transformer"),
}


def _stable_rng(key: str, seed: int) -> random.Random:
    """A random generator that depends only on ``key`` and ``seed`` (not on Python's hash salt)."""
    return random.Random(zlib.crc32(key.encode()) ^ seed)


def captions_for(
    key: str,
    label: str,
    subject: str | None = None,
    description: str | None = None,
    seed: int = 0,
    n: int = 5,
) -> list[str]:
    """Pick ``n`` distinct training captions for one clip: subject phrasings first, then class phrasings.

    Args:
        key: the clip id (makes the choice reproducible per clip).
        label: the clip's class in :data:`CLASSES`.
        subject: an optional finer subject in :data:`SUBJECTS`.
        description: an optional description from the package (e.g. a Tux Paint stamp text), used as
            "the sound of <description>".
    """
    rng = _stable_rng(key, seed)
    own = list(SUBJECTS[subject].train) if subject else []
    generic = list(CLASSES[label].train)
    rng.shuffle(own)
    rng.shuffle(generic)
    picked = own[:3] + generic
    if description:
        text = description.strip().rstrip(".!").strip()
        if text:
            picked.insert(0, "the sound of " + text[0].lower() + text[1:])
    return list(dict.fromkeys(picked))[:n]


def paraphrases_for(label: str, subject: str | None = None) -> list[str]:
    """Held-out phrasings (never used as training captions) of a clip's subject and class."""
    own = list(SUBJECTS[subject].held_out) if subject else []
    return own + list(CLASSES[label].held_out)
