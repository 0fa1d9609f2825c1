"""Any-length input: windows recombine without seams; the overlap-add itself is exact."""

import numpy as np
import torch

from flowsep.models import FlowSepTransformer
from flowsep.testing import make_tiny_pipeline
from flowsep.windowing import WindowPlan, plan_windows


class MixtureEcho(FlowSepTransformer):
    """A velocity field whose flow ends exactly at the mixture latent: ``v = (x - mixture) / sigma``."""

    def forward(self, hidden_states, mixture_latents, timestep, *args, **kwargs):
        sigma = (
            (torch.as_tensor(timestep, dtype=hidden_states.dtype) / 1000).view(-1, 1, 1, 1).clamp(min=1e-3)
        )
        return ((hidden_states - mixture_latents) / sigma,)

    def __call__(self, *args, **kwargs):
        from flowsep.models.transformer_flowsep import FlowSepTransformerOutput

        return FlowSepTransformerOutput(sample=self.forward(*args, **kwargs)[0])


def frame_levels_db(wave: np.ndarray, frame: int = 320) -> np.ndarray:
    frames = wave[: wave.size // frame * frame].reshape(-1, frame)
    return 10 * np.log10((frames**2).mean(axis=1) + 1e-12)


def test_stationary_input_has_no_level_jumps_at_window_boundaries():
    pipe = make_tiny_pipeline()
    pipe.transformer = MixtureEcho(**pipe.transformer.config)
    rng = np.random.default_rng(0)
    window = pipe.segment_samples  # 5,120 samples
    mixture = (0.1 * rng.standard_normal(window * 6)).astype(np.float32)
    for decoder in ("mask", "vocoder"):
        out = pipe(
            "noise", mixture, sample_rate=16000, num_inference_steps=3, decoder=decoder, window_overlap=0.08
        )
        levels = frame_levels_db(out.audios[0])
        starts = plan_windows(mixture.size, window, 1280, 640)
        boundary_frames = sorted({s // 320 for s in starts[1:]} | {(s + 1280) // 320 for s in starts[1:-1]})
        jumps = np.abs(np.diff(levels))
        inner = np.delete(jumps, [f for f in boundary_frames if f < jumps.size])
        at_boundaries = jumps[[f - 1 for f in boundary_frames if 0 < f <= jumps.size]]
        assert at_boundaries.max() <= max(3.0, 1.5 * np.percentile(inner, 99)), decoder


def test_overlap_add_is_exact_and_bounded():
    torch.manual_seed(0)
    wave = torch.randn(50_000)
    plan = WindowPlan(wave.numel(), 8_000, 1_920, 160, 640)
    assert plan.starts[-1] + 8_000 >= wave.numel() and all(s % 640 == 0 for s in plan.starts)
    adder = plan.sample_adder()
    for index, window in enumerate(plan.split(wave)):
        adder.add(index, window)
    assert adder.out.shape[-1] == plan.starts[-1] + 8_000  # the output's size, not the windows'
    assert torch.allclose(adder.result(), wave, atol=1e-6)


def test_chunked_mask_decoding_equals_one_pass():
    from flowsep.decoding import _mask_decode_whole, mask_decode
    from flowsep.spectrogram import MelConfig, log_mel_spectrogram

    config, generator = MelConfig(), torch.Generator().manual_seed(0)
    mixture = 0.1 * torch.randn(2, 16000 * 7 + 123, generator=generator)
    target = 0.5 * mixture + 0.01 * torch.randn(mixture.shape, generator=generator)
    target_mel = log_mel_spectrogram(target, config)
    whole = _mask_decode_whole(target_mel, mixture, config, "wiener")
    chunked = mask_decode(target_mel, mixture, config, "wiener", chunk_seconds=1.0)
    assert chunked.shape == whole.shape
    assert torch.allclose(chunked, whole, atol=1e-6)
