"""``flow`` stage: FlowSep's velocity network with a frozen latent model and a frozen text encoder.

Per batch: level the mixtures (same gain on the targets) and encode both to latents with the pipeline's
:class:`~flowsep.codec.AudioCodec` (a trained VAE, or ``flow.codec: mel``: the normalised log-mel), encode the
captions to text states, and apply the recipe's objective (``flow.objective``: flow matching, diffusion or
predictive, :mod:`~flowsep.training.objective`; text dropout for classifier-free guidance). ``flow.waveform_loss_weight`` adds what the metric sees: the predicted target
latent is decoded to a log-mel, the mask decoder turns it into a waveform, and its SI-SDR against the true
target (capped at ``SI_SDR_CAP_DB``) is maximised.
With ``flow.cache_dir`` the latents and text states come from a :mod:`~flowsep.training.latent_cache`.
Validation writes separations of a few validation mixtures by a :class:`~flowsep.FlowSepPipeline` built
from the current weights.
"""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

from ..choices import SOLVER_FAMILIES
from ..decoding import mask_decode
from ..errors import RecipeError
from ..figures import write_example
from ..models import BigVGANVocoder, FlowSepTransformer, LogMelLatent, encode_text, load_text_encoder
from ..schedulers import make_scheduler
from .assemble import build_pipeline
from .components import build_component
from .data import make_codec
from .latent_cache import LatentCacheDataset, build_latent_cache, collate_cached
from .objective import make_objective
from .stage import StageTask

SI_SDR_CAP_DB = 30.0  # a row separated this well stops pulling on the waveform loss


class FlowStage(StageTask):
    """Trains ``models["transformer"]`` and saves ``OUTPUT_DIR/transformer`` and the scheduler that samples it,
    ``OUTPUT_DIR/scheduler``."""

    ema_model = "transformer"

    def build_models(self) -> dict:
        self.transformer = build_component(FlowSepTransformer, self.recipe)
        return {"transformer": self.transformer}

    def setup(self, accelerator, weight_dtype):
        super().setup(accelerator, weight_dtype)
        config, transformer = self.recipe.flow, self.transformer.config
        self.accelerator = accelerator
        self.objective = make_objective(
            config.objective, transformer.source, transformer.source_noise, config.prediction_type,
            timestep_sampling=config.timestep_sampling, logit_mean=config.logit_mean, logit_std=config.logit_std,
            text_dropout=config.text_dropout, source_sigma_prob=config.source_sigma_prob,
        )  # fmt: skip
        self.scheduler = make_scheduler(
            SOLVER_FAMILIES[config.objective][0], base_config={"prediction_type": config.prediction_type}
        )
        if config.codec == "mel":
            latent_model = LogMelLatent(self.mel.n_mels)
        else:
            latent_model = AutoencoderKL.from_pretrained(config.vae, torch_dtype=weight_dtype)
        self.codec = make_codec(self.recipe.data, latent_model.to(self.device).eval().requires_grad_(False))
        segment = round(self.recipe.data.segment_seconds * self.mel.sample_rate)
        latent_frames = self.codec.latent_frames(segment)
        if latent_frames != transformer.sample_size:
            raise RecipeError(
                f"data.segment_seconds gives {latent_frames} latent frames, the transformer's sample_size is "
                f"{transformer.sample_size}: the pipeline separates windows of sample_size frames"
            )
        encoder, self.tokenizer = load_text_encoder(config.text_encoder)
        if encoder.config.hidden_size != transformer.text_embed_dim:
            raise RecipeError(
                f"flow.text_encoder: {config.text_encoder} has width {encoder.config.hidden_size}, "
                f"the transformer's text_embed_dim is {transformer.text_embed_dim}"
            )
        self.text_encoder = encoder.to(self.device, weight_dtype)
        self.vocoder = None
        if config.vocoder:
            self.vocoder = (
                BigVGANVocoder.from_pretrained(config.vocoder).to(self.device).eval().requires_grad_(False)
            )

    def encode(self, batch: dict) -> dict:
        """Mixtures, targets and captions -> ``target_latents``/``mixture_latents`` ``(B, C, T, F)`` and
        ``text_states`` ``(B, L, E)`` with ``text_mask`` ``(B, L)``, all on the device."""
        mixture, target = self.codec.level_pair(batch["mixture"], batch["target"])
        latents, _ = self.codec.encode(torch.cat([mixture, target]))
        mixture_latents, target_latents = latents.float().chunk(2)
        states, mask = encode_text(self.text_encoder, self.tokenizer, list(batch["caption"]), self.device)
        return {
            "target_latents": target_latents, "mixture_latents": mixture_latents,
            "text_states": states.float(), "text_mask": mask,
            "mixture": mixture.to(self.device), "target": target.to(self.device),
        }  # fmt: skip

    def train_dataset(self):
        mixtures = super().train_dataset()
        config = self.recipe.flow
        if not config.cache_dir:
            return mixtures
        build_latent_cache(
            self, mixtures, Path(config.cache_dir), config.cache_epochs, self.recipe.trainer.batch_size
        )
        self.collate = collate_cached
        return LatentCacheDataset(config.cache_dir)

    def _inputs(self, batch: dict) -> dict:
        if "target_latents" in batch:
            return {
                key: value.to(self.device) for key, value in batch.items() if isinstance(value, torch.Tensor)
            }
        return self.encode(batch)

    def _loss(self, model, batch, generator, text_dropout=None):
        config, inputs = self.recipe.flow, self._inputs(batch)
        output = self.objective(
            model, inputs["target_latents"], inputs["mixture_latents"], inputs["text_states"], inputs["text_mask"],
            generator=generator, text_dropout=text_dropout,
        )  # fmt: skip
        loss = config.velocity_loss_weight * output.loss
        if config.waveform_loss_weight:
            loss = loss + config.waveform_loss_weight * self._waveform_loss(output.predicted_target, inputs)
        return loss

    def _waveform_loss(self, predicted: torch.Tensor, inputs: dict) -> torch.Tensor:
        """-SI-SDR in dB (capped) of the mask-decoded prediction `(B, C, T, F)` against the levelled target."""
        estimate = mask_decode(
            self.codec.decode(predicted), inputs["mixture"], self.mel, self.recipe.flow.mask_rule
        )
        si_sdr = scale_invariant_signal_distortion_ratio(estimate, inputs["target"])
        return -si_sdr.clamp(max=SI_SDR_CAP_DB).mean()

    def training_step(self, batch, models, optimize, generator) -> dict:
        loss = self._loss(models["transformer"], batch, generator)
        optimize("transformer", loss)
        return {"loss": loss.detach()}

    def validation_step(self, batch, models, generator) -> dict:
        return {"loss": self._loss(models["transformer"], batch, generator, text_dropout=0.0)}

    def write_examples(self, items, models, folder: Path, device) -> dict:
        config = self.recipe.flow
        pipe = build_pipeline(
            models["transformer"], self.text_encoder, self.tokenizer, self.vocoder, self.codec, self.scheduler
        )
        figures = {}
        for index, item in enumerate(items):
            output = pipe(
                item["caption"], item["mixture"], sample_rate=self.mel.sample_rate,
                num_inference_steps=config.inference_steps, guidance_scale=config.guidance_scale,
                decoder="vocoder" if self.vocoder is not None else "mask", output_type="pt",
                generator=torch.Generator().manual_seed(self.recipe.seed + index),
            )  # fmt: skip
            waves = {"mixture": item["mixture"], "target": item["target"], "estimate": output.audios[0]}
            figures[f"separation-{index}"] = write_example(folder, f"item{index}", self.mel, waves)
            (folder / f"item{index}.txt").write_text(item["caption"] + "\n")
        return figures

    def save(self, models, output_dir: Path):
        models["transformer"].save_pretrained(output_dir / "transformer")
        self.scheduler.save_pretrained(output_dir / "scheduler")
