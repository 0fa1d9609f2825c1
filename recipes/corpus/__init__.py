"""Offline training corpus for flowsep, built at run time from Debian packages.

Run ``python recipes/corpus/build_corpus.py --out data/debian-corpus``. The stages live in small modules:

* :mod:`fetch` downloads and unpacks the packages (``apt-get download`` + ``dpkg-deb -x``) and checks the tools;
* :mod:`allowlist` names exactly which recorded files are used and as what; :mod:`sources` turns them into items;
* :mod:`allowlist_games` and :mod:`allowlist_voices` do so for issue 20's game and desktop packages, whose
  items :mod:`games` builds (archives read by :mod:`archives`, per-file credits from :mod:`credits`);
* :mod:`soundfonts` renders General MIDI / GS clips with fluidsynth, :mod:`drumkits` plays drum patterns with the
  Hydrogen kits, :mod:`speech` synthesizes espeak-ng speech and picks recorded speech;
* :mod:`render` conditions the audio (16 kHz mono, filters, trimming, loudness) and cuts clips;
* :mod:`labels` holds the classes and their caption phrasings (train and held-out);
* :mod:`curate` removes near-duplicates, splits by recording and writes the manifests.
"""
