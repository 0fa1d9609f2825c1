"""Data: clip manifests, dataset readers, datasets and on-the-fly mixing.

Manifest format (JSONL, one JSON object per line; CSV with the same column names is accepted)::

    {"id": "gs-dog-0001",                 # unique clip id (a recording, not a crop)
     "audio": "audio/gs-dog-0001.wav",    # path, relative to the manifest's folder or absolute
     "captions": ["a dog barks", ...],     # one or more natural-language captions
     "labels": ["dog"],                    # optional class labels (used to avoid shared-class mixtures)
     "duration": 4.0,                      # optional, seconds
     "split": "train",                     # optional: train / valid / test
     "source": "fluid-soundfont-gs",       # optional provenance
     "license": "MIT"}                     # optional licence of the source

In CSV, ``captions`` and ``labels`` cells hold a JSON list or a ``|``-separated string. Other columns are
kept in :attr:`ClipRecord.extra` (as strings when read from CSV).

Modules:

* :mod:`~flowsep.data.manifest`: :class:`ClipRecord`, :func:`read_manifest`, :func:`write_manifest`,
  :func:`filter_split`, :class:`ManifestError`;
* :mod:`~flowsep.data.readers`: local AudioCaps / Clotho / WavCaps / VGGSound / DCASE 2024 Task 9 copies
  -> records, :func:`build_manifest` (``python -m flowsep.data KIND ROOT OUT``);
* :mod:`~flowsep.data.datasets`: :class:`ClipDataset` (segments of a manifest's clips), :class:`MixtureDataset`
  (target + interferers, SNR drawn in [-15, 15] dB, reproducible per epoch and index), :func:`collate_batch`;
* :mod:`~flowsep.data.pairing`: :func:`compatible`, which clips may be mixed (no shared class), for training and
  benchmark mixtures alike.
"""

# Imported on first use (PEP 562): reading a manifest (the command line's checks) does not import torch.
from ..lazy import lazy_attributes

_LAZY = {
    **dict.fromkeys(
        ("ClipDataset", "MixtureDataset", "collate_batch", "crop_or_pad", "load_segment"), ".datasets"
    ),
    **dict.fromkeys(
        ("ClipRecord", "ManifestError", "filter_split", "read_manifest", "write_manifest"), ".manifest"
    ),
    **dict.fromkeys(("caption_keywords", "compatible"), ".pairing"),
    **dict.fromkeys(("READERS", "build_manifest"), ".readers"),
}

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

__all__ = [
    "READERS",
    "ClipDataset",
    "ClipRecord",
    "ManifestError",
    "MixtureDataset",
    "build_manifest",
    "caption_keywords",
    "collate_batch",
    "compatible",
    "crop_or_pad",
    "filter_split",
    "load_segment",
    "read_manifest",
    "write_manifest",
]
