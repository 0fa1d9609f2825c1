"""Offline training corpus for flowsep, built at run time from Debian packages.

Run ``python recipes/corpus/build_corpus.py --out data/debian-corpus``. The stages live in small modules:

* :mod:`fetch` downloads and unpacks the packages (``apt-get download`` + ``dpkg-deb -x``) and checks the tools;
* :mod:`sources` is the curated allow-list of recorded files (and their classes);
* :mod:`synth` renders soundfont clips with fluidsynth, speech with espeak-ng and drum patterns;
* :mod:`render` conditions the audio (16 kHz mono, filters, trimming, loudness) and cuts clips;
* :mod:`labels` holds the classes and their caption phrasings (train and held-out);
* :mod:`curate` removes near-duplicates, splits by recording and writes the manifests.
"""
