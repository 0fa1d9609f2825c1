"""The authors' FlowSep inference, stage by stage, for ``eval/official_parity.py`` (run by it in a child process).

Imports the authors' code from ``--authors-src`` (a checkout of their repository; nothing of it is copied here),
builds their ``LatentDiffusion`` from ``lass_config/2channel_flow.yaml``, loads the checkpoint into it, and runs
what ``lass_inference.py`` runs on one 10.24 s clip: ``AudioDataset.read_wav_file`` and ``wav_feature_extraction``,
the mixture latent ``get_first_stage_encoding(encode_first_stage(...))`` (a posterior sample), the Flan-T5 states,
``sample_log`` (their Euler solver), ``decode_first_stage`` and ``mel_spectrogram_to_waveform``. Writes every stage
to ``--out`` (``torch.save`` of a dict of tensors).

Random draws: the posterior's noise is the second draw of ``torch.Generator().manual_seed(seed)`` (after the start
noise, as flowsep's pipeline draws them), and the solver's start noise the first (the global generator is set to
those states before each call).

What running their code on a CPU needs, done here for the run only (see ``research/official_parity.md``):

- ``ipdb`` is a stub whose ``set_trace`` raises: their UNet calls it when an attention block fails, which would
  otherwise skip the block silently; ``Tensor.to("cuda")`` is the identity without CUDA (their UNet moves every
  attention input to CUDA); ``SpatialTransformer.forward`` calls are counted to prove attention ran.
- Modules their imports name but this inference never runs are stubs when not installed (``wandb``, ``timm``,
  ``torchvision``, ``decord``, ``taming``); ``torchaudio.load`` reads with soundfile. ``pytorch_lightning``
  must be installed (``pip install pytorch-lightning``).
- librosa >= 0.10 takes keyword arguments only: their ``TacotronSTFT`` gets keyword adapters.
- Their vocoder is built from ``src/bigvgan/config.json`` without its pretrained file (the checkpoint holds its
  weights), their VAE without its pretrained file or training loss, their Flan-T5 from ``--text-encoder``'s config
  (weights from the checkpoint), EMA off; the checkpoint must then fill every tensor of their networks (DDPM
  schedule buffers it lacks keep the values their config gives them; the flow does not use them).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from pathlib import Path

import torch

# imported before their folders are on the path: flowsep's diffusers, not the copy in their src/
from flowsep.conversion.checkpoint import read_state_dict

STUBBED = ("wandb", "timm", "torchvision", "decord", "taming")
CLIP_SAMPLES = 163_840
# their networks' prefixes; their model's other tensors are DDPM buffers, unused by the flow
NETWORKS = ("model.", "first_stage_model.", "cond_stage_models.")


class _Unavailable:
    """Stands for a name of a module this inference never runs; using it fails loudly."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("a stubbed module was used by the authors' inference")


class _StubModule(types.ModuleType):
    __path__: list = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Unavailable


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of the ``STUBBED`` packages that are not installed give permissive stub modules."""

    def __init__(self, roots):
        self.roots = roots

    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StubModule(spec.name)

    def exec_module(self, module):
        pass


def _install_stubs():
    """``ipdb`` whose ``set_trace`` raises, stubs of the missing ``STUBBED``, ``torchaudio.load`` by soundfile."""
    import pytorch_lightning  # noqa: F401 (these look for optional packages first: they must not find stubs)
    import transformers

    transformers.T5EncoderModel, transformers.AutoTokenizer  # noqa: B018 (imported now, not lazily)
    missing = {name for name in (*STUBBED, "torchaudio") if importlib.util.find_spec(name) is None}
    sys.meta_path.insert(0, _StubFinder(missing | {"ipdb"}))
    import ipdb

    def set_trace(*args, **kwargs):
        raise RuntimeError("the authors' code reached ipdb.set_trace() (an attention block failed)")

    ipdb.set_trace = set_trace
    if "torchaudio" in missing:
        import soundfile as sf
        import torchaudio

        def load(path, *args, **kwargs):
            data, rate = sf.read(path, dtype="float32", always_2d=True)
            return torch.from_numpy(data.T.copy()), rate

        torchaudio.load = load


@contextlib.contextmanager
def cuda_moves_are_identity():
    """``Tensor.to("cuda")`` returns the tensor itself while CUDA is absent."""
    original = torch.Tensor.to

    def to(self, *args, **kwargs):
        target = args[0] if args else kwargs.get("device")
        if not torch.cuda.is_available() and str(target).startswith("cuda"):
            return self
        return original(self, *args, **kwargs)

    torch.Tensor.to = to
    try:
        yield
    finally:
        torch.Tensor.to = original


def _patch_authors_modules(root: Path, text_encoder: str):
    """Keyword adapters for librosa, their vocoder and Flan-T5 built without pretrained files (``bigvgan`` is
    their ``src/bigvgan``)."""
    import json

    import bigvgan
    import latent_encoder.autoencoder as autoencoder
    import librosa
    import utilities.audio.stft as stft
    from latent_diffusion.modules.encoders import modules as encoders
    from transformers import AutoConfig, T5EncoderModel

    stft.librosa_mel_fn = lambda sr, n_fft, n_mels, fmin, fmax: librosa.filters.mel(
        sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax
    )
    stft.pad_center = lambda data, size: librosa.util.pad_center(data, size=size)

    def get_vocoder(config, device, mel_bins):
        hparams = json.loads((root / "src" / "bigvgan" / "config.json").read_text())
        vocoder = bigvgan.BigVGAN(bigvgan.AttrDict(hparams))
        vocoder.eval()
        vocoder.remove_weight_norm()
        return vocoder.to(device)

    class ConfigOnlyT5(T5EncoderModel):
        @classmethod
        def from_pretrained(cls, name, *args, **kwargs):
            return T5EncoderModel(AutoConfig.from_pretrained(text_encoder))

    autoencoder.get_vocoder = get_vocoder
    encoders.T5EncoderModel = ConfigOnlyT5


def build_model(root: Path, checkpoint: Path, text_encoder: str):
    """Their LatentDiffusion from ``2channel_flow.yaml``, filled from ``checkpoint``; returns it in eval mode."""
    import yaml
    from latent_diffusion.util import instantiate_from_config

    config = yaml.safe_load((root / "lass_config" / "2channel_flow.yaml").read_text())["model"]
    config = copy.deepcopy(config)
    params = config["params"]
    params["use_ema"] = False
    params["first_stage_config"]["params"]["reload_from_ckpt"] = None
    params["first_stage_config"]["params"]["lossconfig"] = {"target": "torch.nn.Identity"}
    params["cond_stage_config"]["crossattn_text"]["params"]["text_encoder_name"] = text_encoder
    model = instantiate_from_config(config)
    # tensors only: the other objects of a Lightning checkpoint are not unpickled
    state, _ = read_state_dict(checkpoint)
    missing, unexpected = model.load_state_dict(state, strict=False)
    unset = [key for key in missing if key.startswith(NETWORKS)]
    if unset:
        raise SystemExit(f"the checkpoint leaves {len(unset)} tensor(s) of their networks unset: {unset[:5]}")
    return model.eval(), {"unexpected": len(unexpected), "schedule_buffers_from_config": len(missing)}


def count_attention_calls():
    """A counter of ``SpatialTransformer.forward`` calls (their attention blocks)."""
    from latent_diffusion.modules.attention import SpatialTransformer

    counter, forward = {"calls": 0}, SpatialTransformer.forward

    def counted(self, *args, **kwargs):
        counter["calls"] += 1
        return forward(self, *args, **kwargs)

    SpatialTransformer.forward = counted
    return counter


def read_clip(root: Path, wave: str):
    """Their test-time front end: ``read_wav_file`` (mean removed, peak 0.5, padded to 10.24 s) and the
    TacotronSTFT log-mel ``(1024, 64)`` of ``wav_feature_extraction``."""
    import yaml
    from utilities.data.dataset import AudioDataset

    dataset = AudioDataset.__new__(AudioDataset)
    dataset.config = yaml.safe_load((root / "lass_config" / "2channel_flow.yaml").read_text())
    dataset.split, dataset.pad_wav_start_sample, dataset.trim_wav = "test", 0, False
    dataset.build_setting_parameters()
    dataset.build_dsp()
    waveform, _ = dataset.read_wav_file(wave)
    waveform = waveform[0][:CLIP_SAMPLES]
    mel, _ = dataset.wav_feature_extraction(waveform.reshape(1, -1))
    return torch.from_numpy(waveform.copy()), mel


@torch.no_grad()
def run(args) -> dict:
    root = Path(args.authors_src).resolve()
    _install_stubs()  # before their folders are on the path (their taming/ holds only a data file)
    sys.path[:0] = [str(root / "src"), str(root)]
    os.chdir(root)  # their modules read some files relative to the repository
    _patch_authors_modules(root, args.text_encoder)
    model, keys = build_model(root, Path(args.checkpoint).resolve(), args.text_encoder)
    attention = count_attention_calls()
    stages = {"checkpoint_keys": keys}

    waveform, mel = read_clip(root, args.wave)
    stages["levelled"], stages["log_mel"] = waveform, mel  # (S,), (N, M)
    shape = (1, model.channels, model.latent_t_size, model.latent_f_size)
    draws = torch.Generator().manual_seed(args.seed)
    noise = torch.randn(shape, generator=draws)
    with cuda_moves_are_identity():
        torch.set_rng_state(draws.get_state())  # the posterior's noise is the generator's second draw
        mixture_latents = model.get_first_stage_encoding(model.encode_first_stage(mel[None, None]))
        cond = {"crossattn_text": model.get_learned_conditioning([args.query], "crossattn_text", False)}
        stages["text_states"], stages["text_mask"] = cond["crossattn_text"]
        for t in args.times:
            time = torch.tensor([t])
            stages[f"velocity_t{t:g}"] = model.apply_model(
                torch.cat([noise, mixture_latents], 1), time, cond
            )[:, : model.channels]
        calls = attention["calls"]
        torch.manual_seed(args.seed)  # the solver's start noise is the generator's first draw
        samples, _ = model.sample_log(
            cond=cond, batch_size=1, x_T=mixture_latents, ddim=True, ddim_steps=args.steps
        )
        stages["attention_calls_per_forward"] = (attention["calls"] - calls) / args.steps
        stages["start_noise"], stages["mixture_latents"] = noise, mixture_latents
        stages["sample"] = samples[:, : model.channels]
        decoded = model.decode_first_stage(stages["sample"])  # (1, 1, N, M)
        stages["decoded_mel"] = decoded
        stages["waveform"] = torch.from_numpy(model.mel_spectrogram_to_waveform(decoded, save=False))
        model.first_stage_model.vocoder.double()
        stages["waveform_float64"] = torch.from_numpy(
            model.mel_spectrogram_to_waveform(decoded.double(), save=False)
        )
    return stages


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--authors-src", required=True, help="a checkout of the authors' FlowSep repository")
    parser.add_argument("--checkpoint", required=True, help="a checkpoint in the official layout")
    parser.add_argument("--text-encoder", required=True, help="folder with the Flan-T5 config and tokenizer")
    parser.add_argument("--wave", required=True, help="the 10.24 s mixture")
    parser.add_argument("--query", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--times", type=float, nargs="+", default=[0.0, 0.3, 0.9])
    parser.add_argument("--out", required=True, help="where to torch.save the stages")
    args = parser.parse_args()
    args.wave, args.out = str(Path(args.wave).resolve()), str(Path(args.out).resolve())
    args.text_encoder = str(Path(args.text_encoder).resolve())
    torch.save(run(args), args.out)


if __name__ == "__main__":
    main()
