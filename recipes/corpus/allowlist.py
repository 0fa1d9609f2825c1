"""The curated allow-list: exactly which files of each recorded-sound package are used, and as what.

File names in games are not literal labels, so nothing is matched by keyword: each table names the exact files
kept (relative path without extension -> ``(label, subject)``, see :mod:`labels`). Choices were checked with
statistics and spectrograms: e.g. lincity's ``Health3``/``Health4`` are sirens while its ``Farm*`` files are mixed
scenes (left out); Hedgewars voice packs are pitched-up cartoon voices (only their laughs are used). Files left
out after measuring: 8 kHz recordings (Tux Paint's fireworks, hammer, saw, toilet; freedesktop's ringback tone),
and files that are mostly silence or too short (widelands' fast_woodcutting, Tux Paint's metal mallet,
freedesktop's bell, Hedgewars' Droplet2).
"""

TUXPAINT = {  # usr/share/tuxpaint/stamps
    "animals/amphibians/frog": ("wild_animal", "frog"),
    "animals/birds/blackbird": ("birds", None),
    "animals/birds/crow": ("birds", "crow"),
    "animals/birds/cuckoo": ("birds", "cuckoo"),
    "animals/birds/lark": ("birds", None),
    "animals/birds/owl": ("birds", "owl"),
    "animals/birds/seagull": ("birds", "seagull"),
    "animals/birds/tucan": ("birds", None),
    "animals/birds/vulture": ("birds", None),
    "animals/birds/quetzal": ("birds", None),
    "animals/birds/drake": ("farm_animal", "duck"),
    "animals/birds/duck": ("farm_animal", "duck"),
    "animals/birds/gander": ("farm_animal", "goose"),
    "animals/birds/hen": ("farm_animal", "chicken"),
    "animals/birds/rooster": ("farm_animal", "rooster"),
    "animals/birds/turkey": ("farm_animal", "turkey"),
    "animals/insects/bee": ("insects", "bee"),
    "animals/insects/hornet": ("insects", "bee"),
    "animals/insects/mosquito": ("insects", "mosquito"),
    "animals/insects/grasshopper": ("insects", "crickets"),
    "animals/mammals/apes/chimp": ("wild_animal", "monkey"),
    "animals/mammals/apes/gorilla": ("wild_animal", "monkey"),
    "animals/mammals/aquatic/dolphin": ("wild_animal", "dolphin"),
    "animals/mammals/aquatic/orca": ("wild_animal", "whale"),
    "animals/mammals/aquatic/whale": ("wild_animal", "whale"),
    "animals/mammals/aquatic/sea_lion": ("wild_animal", "sea_lion"),
    "animals/mammals/bears/bear": ("wild_animal", "bear"),
    "animals/mammals/cats/lion": ("wild_animal", "lion"),
    "animals/mammals/cats/tiger": ("wild_animal", "tiger"),
    "animals/mammals/elephant": ("wild_animal", "elephant"),
    "animals/mammals/deer/deer": ("wild_animal", "deer"),
    "animals/mammals/bovines/bull": ("farm_animal", "cow"),
    "animals/mammals/bovines/cow": ("farm_animal", "cow"),
    "animals/mammals/bovines/cow_white": ("farm_animal", "cow"),
    "animals/mammals/bovines/goat": ("farm_animal", "goat"),
    "animals/mammals/bovines/mountaingoat": ("farm_animal", "goat"),
    "animals/mammals/bovines/ram": ("farm_animal", "sheep"),
    "animals/mammals/bovines/sheep": ("farm_animal", "sheep"),
    "animals/mammals/bovines/sheep_lamb": ("farm_animal", "sheep"),
    "animals/mammals/pig": ("farm_animal", "pig"),
    "animals/mammals/pig_golden": ("farm_animal", "pig"),
    "animals/mammals/pig_golden2": ("farm_animal", "pig"),
    "animals/mammals/equines/donkey": ("farm_animal", "donkey"),
    "animals/mammals/equines/horse": ("horse", None),
    "animals/mammals/dogs/dog": ("dog", None),
    "hobbies/music/percussion/cymbal_crash": ("drums", "cymbal"),
    "hobbies/music/percussion/drum_tomtom_floor": ("drums", None),
    "hobbies/music/percussion/drumkit": ("drums", None),
    "hobbies/music/string/cello": ("strings", "cello"),
    "hobbies/music/string/violin": ("strings", "violin"),
    "hobbies/music/wind/bassoon": ("woodwind", "bassoon"),
    "household/Washing-machine": ("machine", "washing_machine"),
    "household/vacuum_cleaner": ("machine", "vacuum_cleaner"),
    "naturalforces/lightningbolt": ("thunder", None),
    "vehicles/emergency/firetruck": ("siren", None),
}

WIDELANDS = {  # usr/share/games/widelands/data; a trailing _NN is a re-cut of the same recording
    **{
        f"sound/animals/bird{n}_{k:02d}": ("birds", None)
        for n, takes in {1: 3, 2: 5, 3: 4, 4: 3, 5: 3, 6: 2}.items()
        for k in range(takes)
    },
    "sound/animals/crickets1_00": ("insects", "crickets"),
    "sound/animals/crickets2_00": ("insects", "crickets"),
    "sound/animals/frog": ("wild_animal", "frog"),
    "sound/animals/boar": ("wild_animal", "boar"),
    **{
        f"sound/animals/{name}_{k:02d}": ("wild_animal", subject)
        for name, subject, takes in [
            ("wolf", "wolf", 3),
            ("coyote", "wolf", 2),
            ("moose", "deer", 2),
            ("stag", "deer", 2),
        ]
        for k in range(takes)
    },
    **{
        f"sound/farm/{name}_{k:02d}": ("farm_animal", subject)
        for name, subject, takes in [("ox", "cow", 2), ("sheep", "sheep", 3)]
        for k in range(takes)
    },
    "sound/farm/donkey": ("farm_animal", "donkey"),
    "sound/farm/horse_00": ("horse", None),
    "sound/farm/horse_01": ("horse", None),
    **{f"world/critters/duck/duck_{k:02d}": ("farm_animal", "duck") for k in range(3)},
    **{f"sound/hammering/hammering_{k:02d}": ("hammering", None) for k in range(3)},
    "sound/hammering/geologist_hammer": ("hammering", None),
    **{
        f"sound/smiths/{name}_{k:02d}": ("hammering", "anvil")
        for name, takes in [("smith", 3), ("toolsmith", 2)]
        for k in range(takes)
    },
    **{f"sound/atlanteans/saw/sawing_{k:02d}": ("woodcutting", "saw") for k in range(3)},
    **{f"sound/atlanteans/saw/benchsaw_{k:02d}": ("woodcutting", "power_saw") for k in range(3)},
    **{f"sound/sawmill/sawmill_{k:02d}": ("woodcutting", "power_saw") for k in range(2)},
    "sound/woodcutting/woodcutting": ("woodcutting", "axe"),
    **{f"sound/woodcutting/tree_falling_{k:02d}": ("woodcutting", "tree_falling") for k in range(2)},
    **{f"sound/mill/mill_turning_{k:02d}": ("machine", "mill") for k in range(2)},
    "sound/mill/weaving": ("machine", None),
    "sound/barbarians/stonegrind": ("machine", "mill"),
    **{
        f"sound/empire/{name}_{k:02d}": ("water", "bubbles")
        for k in range(2)
        for name in ("beerbubble", "winebubble")
    },
    "sound/metal/furnace": ("fire", None),
}

LINCITY = {  # usr/share/games/lincity-ng/sounds; a trailing digit is a re-cut of the same scene
    **{f"TraficHigh{k}": ("vehicle", "traffic") for k in (1, 2, 3)},
    **{f"TraficLow{k}": ("vehicle", "traffic") for k in (1, 2, 3)},
    **{f"RailTrain{k}": ("train", None) for k in (1, 2, 3)},
    **{f"SportsCroud{k}": ("crowd", "cheering") for k in (1, 2, 3)},
    "School1": ("crowd", "children"),
    "School3": ("crowd", "children"),
    **{f"Fire{k}": ("fire", None) for k in (1, 2, 3)},
    **{f"Blacksmith{k}": ("hammering", "anvil") for k in (1, 2, 3)},
    "Health3": ("siren", None),
    "Health4": ("siren", None),
    "FireStation3": ("siren", None),
    "Water5": ("water", "stream"),
}

SONIC_PI = {  # usr/share/sonic-pi/samples
    **{
        name: ("drums", None)
        for name in (
            "loop_amen",
            "loop_amen_full",
            "loop_breakbeat",
            "loop_perc1",
            "loop_perc2",
            "loop_compus",
            "drum_roll",
            "drum_splash_hard",
        )
    },
    "loop_tabla": ("drums", "tabla"),
    "drum_cymbal_open": ("drums", "cymbal"),
    "drum_cymbal_hard": ("drums", "cymbal"),
    **{name: ("guitar", None) for name in ("guit_em9", "guit_e_slide", "guit_harmonics", "guit_e_fifths")},
    "ambi_piano": ("piano", None),
    "perc_bell": ("bells", None),
    "perc_bell2": ("bells", None),
    **{f"mehackit_phone{k}": ("telephone", None) for k in (1, 2, 3, 4)},
    "misc_crow": ("birds", "crow"),
    "perc_door": ("door", None),
    "misc_cineboom": ("explosion", "explosion"),
    "loop_3d_printer": ("machine", None),
}

HEDGEWARS = {  # usr/share/games/hedgewars/Data/Sounds
    "explosion": ("explosion", "explosion"),
    "shotgunfire": ("explosion", "gunshot"),
    "minigun": ("explosion", "machine_gun"),
    "steps": ("footsteps", None),
    "splash": ("water", "splash"),
    "Droplet1": ("water", "drips"),
    "Droplet3": ("water", "drips"),
    "bee": ("insects", "bee"),
    "plane": ("aircraft", "propeller_plane"),
    "pickhammer": ("machine", "jackhammer"),
}

SMALL_PACKS = {  # package -> (folder, {file stem: (label, subject)})
    "frozen-bubble-data": (
        "usr/share/games/frozen-bubble/snd",
        {"applause": ("crowd", "applause"), "typewriter": ("machine", "typewriter")},
    ),
    "sound-theme-freedesktop": (
        "usr/share/sounds/freedesktop/stereo",
        {
            "phone-incoming-call": ("telephone", None),
        },
    ),
}

OPENSFX = {  # entry index in opensfx.cat -> (label, subject, group)
    4: ("train", None, "steam-horn"),
    5: ("train", None, "steam-horn"),
    10: ("train", None, ""),
    65: ("train", None, ""),
    71: ("train", None, ""),
    8: ("aircraft", "propeller_plane", ""),
    69: ("aircraft", "propeller_plane", ""),
    9: ("aircraft", "jet", ""),
    59: ("aircraft", "jet", ""),
    61: ("aircraft", "jet", ""),
    24: ("aircraft", "helicopter", ""),
    25: ("vehicle", "bus", "saphix-bus"),
    26: ("vehicle", "bus", "saphix-bus"),
    27: ("vehicle", "bus", ""),
    28: ("vehicle", "bus", ""),
    35: ("vehicle", "car_horn", ""),
    29: ("crowd", "applause", ""),
    33: ("machine", "jackhammer", ""),
    11: ("machine", None, ""),
    40: ("woodcutting", "power_saw", ""),
    56: ("woodcutting", "chainsaw", ""),
    54: ("woodcutting", "tree_falling", ""),
    55: ("woodcutting", "tree_falling", ""),
    39: ("hammering", "anvil", ""),
    36: ("farm_animal", "sheep", ""),
    37: ("farm_animal", "cow", ""),
    38: ("horse", "horse_neigh", ""),
    66: ("birds", None, ""),
    72: ("birds", None, ""),
    67: ("wild_animal", "lion", ""),
    68: ("wild_animal", "monkey", ""),
    52: ("wind", None, "anton-wind"),
    57: ("wind", None, "anton-wind"),
    18: ("explosion", "explosion", ""),
    46: ("water", "bubbles", ""),
}

MUSIC = {  # package -> (folder, glob) of whole music tracks
    "widelands-data": ("usr/share/games/widelands/data/music", "*.ogg"),
    "hedgewars-data": ("usr/share/games/hedgewars/Data/Music", "*.ogg"),
    "frozen-bubble-data": ("usr/share/games/frozen-bubble/snd", "*zik*.ogg"),
    "asterisk-moh-opsound-g722": ("usr/share/asterisk/moh", "*.g722"),
}
MUSIC_SEGMENTS = 3
