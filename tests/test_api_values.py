"""The Python API checks values, not only shapes: non-finite or absurd arguments, what a callback returns (diffusers'
convention: a dict), and a flow that diverges are errors that name the argument or the step."""

import numpy as np
import pytest
import torch

from flowsep.audio import read_audio
from flowsep.errors import NumericalError, UsageError

MIXTURE = (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)


def separate(pipe, **kwargs):
    pipe.set_progress_bar_config(disable=True)
    prompt = kwargs.pop("prompt", "a dog")
    return pipe(prompt, MIXTURE, sample_rate=16000, num_inference_steps=2, **kwargs)


def latent_shape(pipe) -> tuple:
    config = pipe.transformer.config
    return (1, config.latent_channels, config.sample_size, config.latent_frequency_bins)


def test_non_finite_and_absurd_arguments_are_named(tiny_pipe):
    width = tiny_pipe.transformer.config.text_embed_dim
    embeds = torch.zeros(1, 4, width)
    embeds[0, 1, 2] = float("inf")
    cases = [
        ({"latents": torch.full(latent_shape(tiny_pipe), float("nan"))}, "latents holds NaN or Inf"),
        ({"latents": [0.0]}, "latents must be a tensor, got list"),
        ({"prompt": None, "prompt_embeds": embeds}, "prompt_embeds holds NaN or Inf"),
        ({"guidance_scale": 1e30}, "guidance_scale must be at most 100"),
        ({"guidance_scale": -1e30}, "guidance_scale must be >= -100"),
        ({"source_noise": 1e30}, "source_noise must be at most 100"),
    ]
    for kwargs, fragment in cases:
        with pytest.raises(UsageError, match=fragment):
            separate(tiny_pipe, **kwargs)


@pytest.mark.parametrize(
    "callback, fragment",
    [
        (
            lambda pipe, step, t, tensors: None,
            "callback_on_step_end returned NoneType at step 0: return a dict",
        ),
        (lambda pipe, step, t, tensors: [tensors], "returned list at step 0"),
        (
            lambda pipe, step, t, tensors: {"latents": tensors["latents"] * float("nan")},
            "at step 0: 'latents' holds",
        ),
        (
            lambda pipe, step, t, tensors: {"latents": tensors["latents"][:, :1]},
            "'latents' must keep its shape",
        ),
        (
            lambda pipe, step, t, tensors: {"latents": tensors["latents"] * (float("inf") if step else 1.0)},
            "at step 1: 'latents' holds NaN or Inf",
        ),
    ],
)
def test_what_a_callback_returns_is_checked(tiny_pipe, callback, fragment):
    with pytest.raises(UsageError, match=fragment):
        separate(tiny_pipe, callback_on_step_end=callback)


def test_a_callback_returning_its_tensors_or_other_keys_changes_nothing(tiny_pipe):
    reference = separate(tiny_pipe).audios
    unchanged = separate(tiny_pipe, callback_on_step_end=lambda pipe, step, t, tensors: tensors).audios
    ignored = separate(tiny_pipe, callback_on_step_end=lambda pipe, step, t, tensors: {"other": 1}).audios
    np.testing.assert_array_equal(unchanged, reference)
    np.testing.assert_array_equal(ignored, reference)


def test_a_diverged_flow_and_a_non_finite_result_name_where(tiny_pipe):
    state = {name: value.clone() for name, value in tiny_pipe.transformer.state_dict().items()}
    for parameter in tiny_pipe.transformer.parameters():
        parameter.data.fill_(float("nan"))
    with pytest.raises(
        NumericalError, match="the flow diverged: the latents hold NaN or Inf after step 1 of 2"
    ):
        separate(tiny_pipe)
    tiny_pipe.transformer.load_state_dict(state)
    for parameter in tiny_pipe.vae.decoder.parameters():
        parameter.data.fill_(float("nan"))
    with pytest.raises(
        NumericalError, match="output holds NaN or Inf although every step's latents were finite"
    ):
        separate(tiny_pipe)


def test_a_short_array_that_could_be_either_way_round_is_read_by_the_convention_with_a_warning():
    with pytest.warns(UserWarning, match=r"shape \(10, 2\) is read as \(channels, samples\)"):
        wave, _ = read_audio(np.zeros((10, 2), np.float32), 16000)
    assert wave.shape == (10, 2)
    assert read_audio(np.zeros((2, 10), np.float32), 16000)[0].shape == (2, 10)  # no warning: the convention
    assert read_audio(np.zeros((40, 2), np.float32), 16000)[0].shape == (2, 40)  # (samples, channels)


def test_callback_outputs_messages_name_the_step_the_tensor_and_what_came_back():
    """Known answers of the callback check on its own: the whole advice for a non-dict, the shape expected and
    the shape (or the type, for a value without one) received; changed tensors replace, other keys are ignored."""
    from flowsep.pipelines.arguments import callback_outputs

    tensors = {"latents": torch.zeros(1, 2), "mixture_latents": torch.ones(1, 2)}
    with pytest.raises(UsageError) as caught:
        callback_outputs(None, 3, tensors)
    assert str(caught.value) == (
        "callback_on_step_end returned NoneType at step 3: return a dict (callback_kwargs, changed or not), as "
        "diffusers pipelines expect"
    )
    for value, got in ((torch.zeros(1, 1), "(1, 1)"), (0.5, "float"), ([1, 2], "list")):
        with pytest.raises(UsageError) as caught:
            callback_outputs({"latents": value}, 2, tensors)
        assert str(caught.value) == (
            f"callback_on_step_end at step 2: 'latents' must keep its shape (1, 2), got {got}"
        )
    new = torch.full((1, 2), 2.0)
    updated = callback_outputs({"latents": new, "other": 1}, 0, tensors)
    assert updated.keys() == tensors.keys() and updated["latents"] is new
    assert updated["mixture_latents"] is tensors["mixture_latents"]
