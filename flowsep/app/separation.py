"""What one click of the web app does, without a server: check a request, separate one file, write the results.

:class:`Separator` holds the one loaded pipeline of the process. Its outputs are written as the CLI writes them:
at the input's sample rate and channel count (``output_format="input"``), so that target + residual is the
input, in the input's sample format when a wav file can hold it. Bad input raises the library's
:class:`~flowsep.errors.FlowSepError` with a one-line message, before the model runs.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..audio import read_audio, save_audio, to_mono
from ..choices import MAX_SCALE, MAX_SEED, MAX_STEPS
from ..commands.separate import describe, output_subtype
from ..errors import AudioInputError
from ..figures import mel_figure
from ..pipelines import FlowSepPipeline
from ..pipelines.arguments import require_choice, require_int, require_number
from ..queries import QueryPlan, check_query, parse_query
from ..schedulers import config_of, make_scheduler, solvers_for

MODES = ("extract", "remove")
MAX_MINUTES = 10  # longest input the page takes (the CLI takes any length)
MAX_FILE_MB = 100  # largest upload the page takes


@dataclass
class Settings:
    """One request's choices. ``mode="remove"`` returns the mixture without the queried sound as the target; a
    query that is an instruction ("remove the noise", "isolate the dog") says its operation itself; ``solver=None``
    is the model's own solver."""

    query: str
    mode: str = "extract"
    steps: int = 10
    solver: str | None = None
    decoder: str = "mask"
    guidance: float = 1.0
    seed: int = 0

    def describe(self) -> str:
        """``"extract 'bells ringing': 10 euler steps, mask decoder, guidance 1, seed 0"``."""
        return (
            f"{self.mode} '{self.query.strip()}': {self.steps} {self.solver} step{'s' * (self.steps != 1)}, "
            f"{self.decoder} decoder, guidance {self.guidance:g}, seed {self.seed}"
        )


@dataclass
class Separation:
    """Files of one separation: ``target`` and ``residual`` wavs ``(C, S)`` at the input's rate, and
    ``spectrograms``, a PNG of the log-mels of mixture, target and residual; ``summary``: the elapsed time, the
    input and the settings, one line each."""

    target: Path
    residual: Path
    spectrograms: Path
    summary: str


class Separator:
    """Separates one file per call with ``pipe``, writing each result into a fresh folder under ``work_dir``
    (the previous result's folder is removed: the page has copied it by then).

    Args:
        pipe ([`FlowSepPipeline`]): the loaded model, shared by every request.
        work_dir (`Path`): where results are written.
    """

    def __init__(self, pipe: FlowSepPipeline, work_dir: Path):
        self.pipe, self.work_dir = pipe, Path(work_dir)
        self.scheduler_config = config_of(pipe.scheduler)
        self.previous: Path | None = None
        self.model_dir = pipe.config.get("_name_or_path")  # its queries.json gives the page's examples

    @property
    def solvers(self) -> tuple[str, ...]:
        """The solvers that can sample this model (its own first): flow or diffusion solvers."""
        return solvers_for(self.scheduler_config)

    @property
    def decoders(self) -> tuple[str, ...]:
        """The waveform decoders this model supports: ``"vocoder"`` only when it has one."""
        return ("mask", "vocoder") if self.pipe.vocoder is not None else ("mask",)

    def resolve(self, settings: Settings) -> Settings:
        """``settings`` with the model's own solver where it names none."""
        return settings if settings.solver is not None else replace(settings, solver=self.solvers[0])

    def check(self, path: str | Path | None, settings: Settings):
        """Raise the library's one-line error for a missing, too large or unreadable file, an empty query or an
        option out of range (``settings`` as :meth:`resolve` gives them)."""
        if path is None:
            raise AudioInputError("no mixture: upload or record one, or pick the example")
        check_query(settings.query, "query")
        require_choice("mode", settings.mode, MODES)
        require_choice("solver", settings.solver, self.solvers)
        require_choice("decoder", settings.decoder, self.decoders)
        require_int("steps", settings.steps, 1, MAX_STEPS)
        require_int("seed", settings.seed, 0, MAX_SEED)
        require_number("guidance", settings.guidance, -MAX_SCALE, MAX_SCALE)
        size = Path(path).stat().st_size if Path(path).is_file() else 0
        if size > MAX_FILE_MB * 2**20:
            raise AudioInputError(
                f"{Path(path).name}: {size / 2**20:.0f} MB is over the page's limit of {MAX_FILE_MB} MB "
                "(use `flowsep separate` for larger files)"
            )

    def __call__(self, path: str | Path | None, settings: Settings) -> Separation:
        """Separate the file at ``path`` as ``settings`` ask; see :class:`Separation`."""
        start = time.perf_counter()
        settings = self.resolve(settings)
        self.check(path, settings)
        try:
            mixture, rate = read_audio(path)  # (C, S)
        except AudioInputError as error:  # name the upload, not the server's copy of it
            raise AudioInputError(str(error).replace(str(path), Path(path).name)) from None
        if mixture.shape[-1] > MAX_MINUTES * 60 * rate:
            raise AudioInputError(
                f"{Path(path).name}: {mixture.shape[-1] / rate / 60:.1f} minutes is over the page's limit of "
                f"{MAX_MINUTES} minutes (use `flowsep separate` for longer files)"
            )
        self.pipe.scheduler = make_scheduler(settings.solver, None, self.scheduler_config)
        plan = parse_query(settings.query.strip())
        if settings.mode == "remove" and plan.operation == "extract":
            plan = QueryPlan(plan.text, "remove", plan.target, plan.exclude)
        result = self.pipe(
            [plan], mixture, sample_rate=rate, num_inference_steps=settings.steps,
            guidance_scale=settings.guidance, decoder=settings.decoder, return_residual=True, return_spans=True,
            output_format="input", output_type="np", generator=torch.Generator().manual_seed(settings.seed),
        )  # fmt: skip
        target, residual = result.audios[0], result.residuals[0]  # (C, S) each
        spans = result.spans[0]
        waves = {"mixture": mixture, "target": target, "residual": residual}
        files = self.write(Path(path), waves, rate, {"target": spans})
        elapsed = time.perf_counter() - start
        shown = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in spans[:6]) + " ..." * (len(spans) > 6)
        lines = (
            f"separated in {elapsed:.1f} s",
            describe(Path(path).name, mixture, rate),
            settings.describe(),
            f"done: {result.operation[0]}; active in {len(spans)} span(s){': ' + shown if spans else ''}",
        )
        return Separation(**files, summary="\n".join(lines))

    def write(self, source: Path, waves: dict, rate: int, spans: dict | None = None) -> dict[str, Path]:
        """Write target and residual (``(C, S)`` arrays in ``waves``) and the spectrogram figure of all three
        (``spans`` marked on their panels) into a fresh folder; returns their paths by name."""
        folder = Path(tempfile.mkdtemp(prefix="separation-", dir=self.work_dir))
        if self.previous is not None:
            shutil.rmtree(self.previous, ignore_errors=True)
        self.previous = folder
        files = {}
        for key in ("target", "residual"):
            files[key] = folder / f"{source.stem}_{key}.wav"
            save_audio(files[key], waves[key], rate, subtype=output_subtype(source, files[key]))
        codec = self.pipe.codec
        mels = {
            key: codec.log_mel(torch.from_numpy(to_mono(wave, rate, codec.mel.sample_rate)))[0]
            for key, wave in waves.items()
        }  # (n_mels, frames) each
        figure = mel_figure(mels, codec.mel, title=source.stem, spans=spans)
        files["spectrograms"] = folder / f"{source.stem}_spectrograms.png"
        figure.savefig(files["spectrograms"], dpi=80)
        return files
