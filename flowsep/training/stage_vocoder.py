"""``vocoder`` stage: BigVGAN training or fine-tuning, combined as ``bigvgan/train.py`` combines it.

Each step crops ``segment_frames`` mel frames of waveform from the levelled targets and mixtures, then
1. updates the discriminators on real vs generated audio (generated audio detached);
2. updates the generator with ``lambda_mel`` x mel L1 (single-scale on the recipe's log-mel, or BigVGAN
   v2's multi-scale loss) + adversarial + feature-matching losses, the discriminators frozen.
``init_from`` fine-tunes a ``save_pretrained`` folder or an NVIDIA BigVGAN release; the generator is saved
to ``OUTPUT_DIR/vocoder`` (a :class:`~flowsep.models.BigVGANVocoder`).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from bigvgan.loss import MultiScaleMelSpectrogramLoss

from ..errors import RecipeError
from ..figures import write_example
from ..models import BigVGANVocoder
from .components import build_component
from .data import make_codec
from .gan import Discriminators, discriminator_objective, generator_objective
from .stage import StageTask


class VocoderStage(StageTask):
    """Trains ``models["generator"]`` against ``models["discriminator"]``; saves ``OUTPUT_DIR/vocoder``."""

    ema_model = "generator"

    def build_models(self) -> dict:
        generator = build_component(BigVGANVocoder, self.recipe)
        if generator.config.num_mels != self.mel.n_mels or generator.config.hop_size != self.mel.hop_length:
            raise RecipeError(
                "model: the vocoder's num_mels/hop_size differ from data.mel's n_mels/hop_length"
            )
        crop = self.recipe.vocoder.segment_frames * self.mel.hop_length
        if crop > round(self.recipe.data.segment_seconds * self.mel.sample_rate):
            raise RecipeError(f"vocoder.segment_frames: {crop} samples do not fit in data.segment_seconds")
        return {"generator": generator, "discriminator": Discriminators(self.recipe.vocoder)}

    def setup(self, accelerator, weight_dtype):
        super().setup(accelerator, weight_dtype)
        self.accelerator = accelerator
        self.codec = make_codec(self.recipe.data)
        self.multiscale = MultiScaleMelSpectrogramLoss(sampling_rate=self.mel.sample_rate)

    def _crops(self, batch: dict, generator: torch.Generator) -> torch.Tensor:
        """Random ``segment_frames * hop`` crops ``(2B, T)`` of the levelled targets and mixtures."""
        mixture, target = self.codec.level_pair(batch["mixture"], batch["target"])
        waves = torch.cat([target, mixture])
        length = self.recipe.vocoder.segment_frames * self.mel.hop_length
        starts = torch.randint(0, waves.shape[-1] - length + 1, (waves.shape[0],), generator=generator)
        return torch.stack([wave[s : s + length] for wave, s in zip(waves, starts.tolist())]).to(self.device)

    def _mel_loss(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if self.recipe.vocoder.multiscale_mel:
            return self.multiscale(fake.unsqueeze(1).float(), real.unsqueeze(1))
        return F.l1_loss(self.codec.log_mel(fake.float()), self.codec.log_mel(real))

    def training_step(self, batch, models, optimize, generator) -> dict:
        config = self.recipe.vocoder
        real = self._crops(batch, generator)  # (2B, T)
        fake = models["generator"](self.codec.log_mel(real))  # (2B, T)
        # 1. discriminators
        loss_d = discriminator_objective(
            models["discriminator"](real.unsqueeze(1), fake.detach().unsqueeze(1))
        )
        optimize("discriminator", loss_d)
        # 2. generator, through the bare discriminators with their weights frozen
        discriminators = self.accelerator.unwrap_model(models["discriminator"])
        discriminators.requires_grad_(False)
        adversarial, matching = generator_objective(discriminators(real.unsqueeze(1), fake.unsqueeze(1)))
        discriminators.requires_grad_(True)
        mel_loss = self._mel_loss(fake, real)
        loss_g = adversarial + matching + config.lambda_mel * mel_loss
        optimize("generator", loss_g)
        return {
            "loss": loss_g.detach(), "discriminator": loss_d.detach(), "mel_l1": mel_loss.detach(),
            "adversarial": adversarial.detach(), "feature_matching": matching.detach(),
        }  # fmt: skip

    def validation_step(self, batch, models, generator) -> dict:
        real = self._crops(batch, generator)
        mel_loss = self._mel_loss(models["generator"](self.codec.log_mel(real)), real)
        return {"loss": self.recipe.vocoder.lambda_mel * mel_loss, "mel_l1": mel_loss}

    def write_examples(self, items, models, folder: Path, device) -> dict:
        figures = {}
        for index, item in enumerate(items):
            _, target = self.codec.level_pair(item["mixture"][None], item["target"][None])
            resynthesis = models["generator"](self.codec.log_mel(target.to(device)))
            waves = {"target": target[0], "resynthesis": resynthesis[0]}
            figures[f"vocoder-{index}"] = write_example(folder, f"item{index}", self.mel, waves)
        return figures

    def save(self, models, output_dir: Path):
        models["generator"].save_pretrained(output_dir / "vocoder")
