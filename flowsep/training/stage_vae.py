"""``vae`` stage: the 1-channel KL autoencoder (diffusers ``AutoencoderKL``) on log-mel images.

It learns on the levelled mixtures and targets of the training mixtures, i.e. on exactly what the flow
stage and the pipeline encode. Loss: L1 (or L2) reconstruction of the log-mel, a KL term and optional
coarser-scale L1 terms. At the end the latent scaling factor is measured on training data
(``1 / std`` of the posterior modes) and written into the saved config's ``scaling_factor``.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL
from torch import nn

from ..codec import AudioCodec
from ..figures import write_example
from .components import build_component, check_vae
from .data import EpochSampler, make_codec, make_loader
from .stage import StageTask


class PosteriorAutoencoder(nn.Module):
    """Wraps ``AutoencoderKL`` so that one (DDP-wrappable) forward returns the reconstruction and posterior."""

    def __init__(self, vae: AutoencoderKL):
        super().__init__()
        self.vae = vae

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None):
        """images ``(B, 1, frames, n_mels)`` -> (reconstruction ``(B, 1, frames, n_mels)``, posterior)."""
        posterior = self.vae.encode(images).latent_dist
        latents = posterior.sample(generator=generator)  # (B, C, frames / 4, n_mels / 4)
        return self.vae.decode(latents).sample, posterior


class VAEStage(StageTask):
    """Trains ``models["vae"]`` (a :class:`PosteriorAutoencoder`) and saves ``OUTPUT_DIR/vae``."""

    ema_model = "vae"

    def build_models(self) -> dict:
        vae = build_component(AutoencoderKL, self.recipe)
        check_vae(vae)
        return {"vae": PosteriorAutoencoder(vae)}

    def setup(self, accelerator, weight_dtype):
        super().setup(accelerator, weight_dtype)
        self.codec = make_codec(self.recipe.data)  # the front end only: the VAE is what this stage trains

    def _images(self, batch: dict) -> torch.Tensor:
        """Levelled mixtures and targets as log-mel images ``(2B, 1, frames, n_mels)``."""
        mixture, target = self.codec.level_pair(batch["mixture"], batch["target"])
        return self.codec.mel_image(torch.cat([mixture, target]).to(self.device))

    def _losses(self, model, images: torch.Tensor, generator: torch.Generator) -> dict:
        config = self.recipe.vae
        reconstruction, posterior = model(images, generator=generator)
        reconstruction = reconstruction.float()
        distance = F.l1_loss if config.reconstruction == "l1" else F.mse_loss
        rec = distance(reconstruction, images)
        kl = posterior.kl().float().sum() / images.numel()  # summed over latents, per log-mel bin
        loss = rec + config.kl_weight * kl
        logs = {"reconstruction": rec.detach(), "kl": kl.detach()}
        if config.multiscale_weight:
            coarse = sum(F.l1_loss(F.avg_pool2d(reconstruction, k), F.avg_pool2d(images, k)) for k in (2, 4))
            loss = loss + config.multiscale_weight * coarse
            logs["multiscale"] = coarse.detach()
        return {"loss": loss, **logs}

    def training_step(self, batch, models, optimize, generator) -> dict:
        logs = self._losses(models["vae"], self._images(batch), generator)
        optimize("vae", logs["loss"])
        return {**logs, "loss": logs["loss"].detach()}

    def validation_step(self, batch, models, generator) -> dict:
        return self._losses(models["vae"], self._images(batch), generator)

    def write_examples(self, items, models, folder: Path, device) -> dict:
        figures = {}
        vae = models["vae"].vae
        for index, item in enumerate(items):
            mixture, _ = self.codec.level(item["mixture"][None])
            mel = self.codec.log_mel(mixture.to(device))  # (1, M, N)
            reconstruction = vae.decode(vae.encode(AudioCodec.mel_to_image(mel)).latent_dist.mode()).sample
            mels = {"input": mel[0], "reconstruction": AudioCodec.image_to_mel(reconstruction)[0]}
            figures[f"vae-{index}"] = write_example(
                folder, f"item{index}", self.mel, {"mixture": mixture[0]}, mels
            )
        return figures

    @torch.no_grad()
    def scaling_factor(self, vae: AutoencoderKL) -> float:
        """``1 / std`` of the posterior modes over ``vae.scaling_batches`` training batches (epoch 0)."""
        dataset = self.train_dataset()
        dataset.set_epoch(0)
        batch_size = self.recipe.trainer.batch_size
        loader = make_loader(dataset, batch_size, EpochSampler(len(dataset), self.recipe.seed), 0)
        total, total_sq, count = 0.0, 0.0, 0
        vae.eval()
        for index, batch in enumerate(loader):
            if index >= self.recipe.vae.scaling_batches:
                break
            latents = vae.encode(self._images(batch).to(vae.dtype)).latent_dist.mode().double()
            total, total_sq, count = (
                total + latents.sum().item(),
                total_sq + latents.pow(2).sum().item(),
                count + latents.numel(),
            )
        variance = total_sq / count - (total / count) ** 2
        return float(1.0 / max(variance, 1e-12) ** 0.5)

    def save(self, models, output_dir: Path):
        vae = models["vae"].vae
        vae.register_to_config(scaling_factor=self.scaling_factor(vae))
        vae.save_pretrained(output_dir / "vae")
