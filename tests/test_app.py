"""The web app's request handler, without a server: outputs at the input's rate and channels, errors as messages."""

import sys

import numpy as np
import pytest
import soundfile as sf
import torch

from flowsep.app import separation
from flowsep.app.separation import Separator, Settings
from flowsep.errors import AudioInputError, QueryError, UsageError
from flowsep.schedulers import make_scheduler
from flowsep.testing import make_tiny_pipeline


@pytest.fixture(scope="module")
def separator(tmp_path_factory):
    return Separator(make_tiny_pipeline(seed=0), tmp_path_factory.mktemp("work"))


@pytest.fixture
def stereo_wav(tmp_path):
    """1 s of 44.1 kHz stereo (a tone left, noise right), stored as float."""
    rng = np.random.default_rng(0)
    t = np.arange(44100) / 44100
    wave = np.stack([0.3 * np.sin(2 * np.pi * 440 * t), 0.1 * rng.standard_normal(t.size)], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(path, wave.astype(np.float32), 44100, subtype="FLOAT")
    return path


def test_outputs_have_the_inputs_rate_channels_and_length_and_sum_to_it(separator, stereo_wav):
    result = separator(stereo_wav, Settings("a dog barking", steps=2, solver="heun"))
    mixture, rate = sf.read(stereo_wav, dtype="float32")
    target, target_rate = sf.read(result.target, dtype="float32")
    residual, residual_rate = sf.read(result.residual, dtype="float32")
    assert rate == target_rate == residual_rate == 44100
    assert target.shape == residual.shape == mixture.shape == (44100, 2)
    np.testing.assert_allclose(
        target + residual, mixture, atol=1e-5
    )  # the mask decoder is mixture-consistent
    assert not np.allclose(target, 0) and not np.allclose(residual, 0)
    assert sf.info(result.target).subtype == "FLOAT"  # the input's sample format
    assert result.spectrograms.read_bytes().startswith(b"\x89PNG")
    assert "stereo.wav (44100 Hz, 2 channels, 1.00 s)" in result.summary
    assert "extract 'a dog barking': 2 heun steps, mask decoder, guidance 1, seed 0" in result.summary


def test_remove_swaps_target_and_residual_and_old_results_are_removed(separator, mixture_wav):
    extract = separator(mixture_wav, Settings("a dog barking", steps=1))
    kept = sf.read(extract.target)[0]
    removed = separator(mixture_wav, Settings("a dog barking", mode="remove", steps=1))
    np.testing.assert_allclose(sf.read(removed.residual)[0], kept, atol=1e-4)
    assert not extract.target.exists() and removed.target.exists()


def test_long_uploads_are_windowed(separator, tmp_path):
    rng = np.random.default_rng(0)
    sf.write(tmp_path / "long.wav", (0.1 * rng.standard_normal((20 * 22050, 2))).astype(np.float32), 22050)
    result = separator(tmp_path / "long.wav", Settings("a dog barking", steps=1))  # about 80 windows
    info = sf.info(result.target)
    assert (info.frames, info.samplerate, info.channels) == (20 * 22050, 22050, 2)
    assert "long.wav (22050 Hz, 2 channels, 20.00 s)" in result.summary and "1 euler step," in result.summary


def test_decoders_are_those_the_model_has(tmp_path, mixture_wav):
    assert Separator(make_tiny_pipeline(), tmp_path).decoders == ("mask", "vocoder")
    without = Separator(make_tiny_pipeline(with_vocoder=False), tmp_path)
    assert without.decoders == ("mask",)
    with pytest.raises(UsageError, match="unknown decoder 'vocoder'"):
        without(mixture_wav, Settings("a dog barking", decoder="vocoder"))


def write_bad_input(path, case: str):
    if case == "text":
        path.write_text("this is not audio\n")
    elif case == "nan":
        sf.write(path, np.array([0.1, np.nan, 0.2] * 100, dtype=np.float32), 16000, subtype="FLOAT")
    else:
        sf.write(path, np.zeros(16000 if case == "silence" else 0, dtype=np.float32), 16000)


@pytest.mark.parametrize(
    "case, query, error, fragment",
    [
        ("text", "a dog", AudioInputError, "cannot read audio file bad.wav"),
        ("nan", "a dog", AudioInputError, "bad.wav: the audio contains NaN or Inf samples"),
        ("empty", "a dog", AudioInputError, "bad.wav: the audio is empty"),
        ("silence", "  ", QueryError, "is empty: say what to separate"),
    ],
)
def test_bad_input_raises_one_line_naming_the_upload(separator, tmp_path, case, query, error, fragment):
    write_bad_input(tmp_path / "bad.wav", case)
    with pytest.raises(error, match=fragment) as info:
        separator(tmp_path / "bad.wav", Settings(query, steps=1))
    assert "\n" not in str(info.value) and str(tmp_path) not in str(info.value)


@pytest.mark.parametrize(
    "limit, fragment",
    [("MAX_MINUTES", "mix.wav: 0.0 minutes is over the page's limit of 0.01 minutes"),
     ("MAX_FILE_MB", "mix.wav: 0 MB is over the page's limit of 0.01 MB")],
)  # fmt: skip
def test_inputs_over_the_pages_limits_are_refused(separator, mixture_wav, monkeypatch, limit, fragment):
    monkeypatch.setattr(separation, limit, 0.01)  # 0.6 s, 10 kB: the 1.5 s, 48 kB mixture is over both
    with pytest.raises(AudioInputError, match=fragment):
        separator(mixture_wav, Settings("a dog barking", steps=1))


def test_no_mixture_and_options_out_of_range(separator, mixture_wav):
    with pytest.raises(AudioInputError, match="no mixture: upload or record one"):
        separator(None, Settings("a dog barking"))
    with pytest.raises(UsageError, match="steps must be >= 1"):
        separator(mixture_wav, Settings("a dog barking", steps=0))
    with pytest.raises(UsageError, match="unknown mode 'keep'"):
        separator(mixture_wav, Settings("a dog barking", mode="keep"))


def test_click_handler_turns_library_errors_into_page_messages(separator, mixture_wav, tmp_path):
    gr = pytest.importorskip("gradio")
    from flowsep.app.page import run_request

    target, residual, downloads, spectrograms, summary = run_request(
        separator, str(mixture_wav), "a dog barking", "extract", 2.0, "euler", "mask", 1.0, 0.0
    )
    assert downloads == [target, residual] and spectrograms.endswith(".png") and "2 euler steps" in summary
    with pytest.raises(gr.Error) as info:
        run_request(separator, str(mixture_wav), "", "extract", 2, "euler", "mask", 1.0, 0)
    assert "is empty: say what to separate" in info.value.message


def test_page_offers_the_example_and_known_queries(tmp_path):
    pytest.importorskip("gradio")
    sys.path.insert(0, str(separation.Path(__file__).resolve().parents[1] / "recipes"))
    from corpus.labels import CLASSES

    from flowsep.app.page import TRAINING_QUERIES, build_page

    captions = {caption for phrases in CLASSES.values() for caption in phrases.train}
    assert set(TRAINING_QUERIES) <= captions
    page = build_page(Separator(make_tiny_pipeline(with_vocoder=False), tmp_path), tmp_path)
    config = page.get_config_file()
    dropdowns = [c["props"] for c in config["components"] if c["type"] == "dropdown"]
    assert [choice[0] for choice in dropdowns[1]["choices"]] == ["mask"]
    assert (tmp_path / "demo_mixture.flac").is_file()


@pytest.mark.parametrize("installed", [None, "5.49.1"])
def test_app_without_gradio_6_says_how_to_install_it(monkeypatch, capsys, installed):
    from importlib import metadata

    from flowsep.cli import main

    def version(name):
        if name != "gradio" or installed is None:
            raise metadata.PackageNotFoundError(name)
        return installed

    monkeypatch.setattr(metadata, "version", version)
    assert main(["app"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and 'pip install -e ".[app]"' in error
    assert ("not installed" if installed is None else "found 5.49.1") in error


@pytest.fixture
def served(monkeypatch):
    """Replaces the server: records what ``flowsep app`` would serve, and whether its work folder exists then."""
    import flowsep.app.page

    calls = []

    def serve(separator, work_dir, host, port, share):
        calls.append({"separator": separator, "work_dir": work_dir, "exists": work_dir.is_dir(), "host": host,
                      "port": port, "share": share})  # fmt: skip

    monkeypatch.setattr(flowsep.app.page, "serve", serve)
    return calls


def app_args(*flags: str):
    from flowsep.cli import build_parser

    return build_parser().parse_args(["app", *flags])


@pytest.mark.parametrize("version", ["6.0.0", "10.2.1"])
def test_app_serves_the_model_on_the_checked_port(saved_tiny_pipe, served, monkeypatch, version):
    """Guards what reaches the server: the model asked for, the host, the port, --share, a work folder that
    exists while serving and is removed after, and Gradio's major version read as a number (10 > 6)."""
    import socket
    from importlib import metadata

    monkeypatch.setattr(metadata, "version", lambda name: version)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = app_args("--model", str(saved_tiny_pipe), "--port", str(port), "--share", "--device", "cpu")
    assert args.func(args) == 0
    (call,) = served
    assert (call["host"], call["port"], call["share"], call["exists"]) == ("127.0.0.1", port, True, True)
    assert not call["work_dir"].exists() and call["work_dir"].name.startswith("flowsep-app-")
    assert isinstance(call["separator"], Separator) and call["separator"].work_dir == call["work_dir"]
    served_weights = call["separator"].pipe.transformer.state_dict()
    assert all(
        torch.equal(served_weights[k], v)
        for k, v in make_tiny_pipeline(seed=0).transformer.state_dict().items()
    )


def test_app_reports_a_port_taken_before_the_server_started(saved_tiny_pipe, monkeypatch):
    from importlib import metadata

    import flowsep.app.page

    def serve(*args):
        raise OSError(98, "Address already in use")

    monkeypatch.setattr(metadata, "version", lambda name: "6.1.0")
    monkeypatch.setattr(flowsep.app.page, "serve", serve)
    args = app_args("--model", str(saved_tiny_pipe), "--device", "cpu")
    with pytest.raises(
        UsageError, match=r"^cannot serve on 127.0.0.1 port \d+: \[Errno 98\] Address already in use$"
    ):
        args.func(args)


def test_settings_without_a_solver_use_the_models_own(tmp_path, mixture_wav):
    """Guards against a fixed default solver, which a diffusion model refuses ("euler" is a flow solver)."""
    pipe = make_tiny_pipeline(seed=0)
    pipe.scheduler = make_scheduler("ddim", None, None)
    result = Separator(pipe, tmp_path)(mixture_wav, Settings("a dog barking", steps=1))
    assert "extract 'a dog barking': 1 ddim step, mask decoder" in result.summary


def test_app_checks_the_device_first_and_loads_the_model_on_it(saved_tiny_pipe, served, monkeypatch):
    """Guards against --device being dropped: refused at once when the machine lacks it, else the model loads
    on the device asked for (not the default)."""
    from importlib import metadata

    import flowsep.loading

    loads = []
    monkeypatch.setattr(metadata, "version", lambda name: "6.1.0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(
        flowsep.loading, "load_pipeline", lambda model, device: loads.append(device) or "pipe"
    )
    monkeypatch.setattr(separation, "Separator", lambda pipe, work_dir: (pipe, work_dir))
    args = app_args("--model", str(saved_tiny_pipe), "--device", "cuda")
    with pytest.raises(UsageError, match="cuda"):
        args.func(args)
    assert not served and not loads  # refused before the model loads
    args = app_args("--model", str(saved_tiny_pipe), "--device", "cpu")
    assert args.func(args) == 0
    assert loads == ["cpu"] and served[0]["separator"][0] == "pipe"
