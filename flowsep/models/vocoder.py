"""BigVGAN vocoder as a diffusers component, so that a pipeline saves and loads it (config.json + safetensors).

The network is the ``bigvgan`` package's :class:`bigvgan.BigVGAN`; this class only carries its
hyper-parameters in a diffusers config. :meth:`BigVGANVocoder.from_bigvgan_release` converts a folder or
hub id in NVIDIA's release layout (``config.json`` + ``bigvgan_generator.pt``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin

from ..errors import CheckpointError

GENERATOR_KEYS = (
    "num_mels", "upsample_rates", "upsample_kernel_sizes", "upsample_initial_channel", "resblock",
    "resblock_kernel_sizes", "resblock_dilation_sizes", "activation", "snake_logscale", "use_tanh_at_final",
    "use_bias_at_final", "sampling_rate", "hop_size", "n_fft", "win_size", "fmin", "fmax",
)  # fmt: skip


class BigVGANVocoder(ModelMixin, ConfigMixin):
    r"""
    Log-mel ``(B, num_mels, frames)`` -> waveform ``(B, frames * hop_size)``.

    Defaults are FlowSep's vocoder: 16 kHz, 64 mel bands, hop 160 (upsampling 5 x 4 x 2 x 2 x 2), snakebeta.
    """

    @register_to_config
    def __init__(
        self,
        num_mels: int = 64,
        upsample_rates: tuple = (5, 4, 2, 2, 2),
        upsample_kernel_sizes: tuple = (11, 8, 4, 4, 4),
        upsample_initial_channel: int = 1536,
        resblock: str = "1",
        resblock_kernel_sizes: tuple = (3, 7, 11),
        resblock_dilation_sizes: tuple = ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
        activation: str = "snakebeta",
        snake_logscale: bool = True,
        use_tanh_at_final: bool = True,
        use_bias_at_final: bool = True,
        sampling_rate: int = 16000,
        hop_size: int = 160,
        n_fft: int = 1024,
        win_size: int = 1024,
        fmin: float = 0.0,
        fmax: float = 8000.0,
    ):
        super().__init__()
        product = 1
        for rate in upsample_rates:
            product *= rate
        if product != hop_size:
            raise ValueError(f"upsample_rates multiply to {product}, but hop_size is {hop_size}")
        hparams = {key: getattr(self.config, key) for key in GENERATOR_KEYS}
        from bigvgan import BigVGAN  # imported on use: bigvgan pulls librosa and scipy, seconds of start-up
        from bigvgan.env import AttrDict

        self.generator = BigVGAN(AttrDict(hparams))

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel: ``(B, num_mels, frames)`` log-mel -> ``(B, frames * hop_size)`` waveform in [-1, 1].

        Kernel sizes that do not match their rates (FlowSep's 16, 16, 8, 4, 4 for 5, 4, 2, 2, 2) give a few samples
        more at the end; they are cut so that the length is always ``frames * hop_size``."""
        return self.generator(mel.to(self.dtype)).squeeze(1)[..., : mel.shape[-1] * self.config.hop_size]

    @classmethod
    def from_bigvgan_release(cls, name_or_path: str | os.PathLike, **hub_kwargs) -> BigVGANVocoder:
        """Convert an NVIDIA BigVGAN release (``config.json`` + ``bigvgan_generator.pt``), local or on the hub.

        This is the one place flowsep reads a pickle-based file; it uses ``torch.load(weights_only=True)``,
        which refuses anything but tensors.
        """
        folder = Path(name_or_path)
        if folder.is_dir():
            config_file, weights_file = folder / "config.json", folder / "bigvgan_generator.pt"
        else:
            from huggingface_hub import hf_hub_download

            config_file = Path(hf_hub_download(str(name_or_path), "config.json", **hub_kwargs))
            weights_file = Path(hf_hub_download(str(name_or_path), "bigvgan_generator.pt", **hub_kwargs))
        for path in (config_file, weights_file):
            if not path.is_file():
                raise CheckpointError(f"BigVGAN release is incomplete: {path} is missing")
        release = json.loads(config_file.read_text())
        config = {key: release[key] for key in GENERATOR_KEYS if key in release}
        vocoder = cls(**config)
        state = torch.load(weights_file, map_location="cpu", weights_only=True)
        vocoder.generator.load_state_dict(state.get("generator", state))
        return vocoder
