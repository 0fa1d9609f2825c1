"""The Gradio page around :class:`~flowsep.app.separation.Separator`, and serving it.

One model per process, one separation at a time (Gradio's queue holds the others). The library's errors
become one-line messages in the page (``gr.Error``); anything else shows Gradio's plain "Error", never a
traceback, and the page keeps serving.
"""

from __future__ import annotations

import html
import json
import shutil
from functools import partial
from pathlib import Path

import gradio as gr

from ..commands.demo import ASSETS
from ..errors import FlowSepError
from ..queries import example_queries as known_examples
from .separation import MAX_FILE_MB, MAX_MINUTES, MODES, Separation, Separator, Settings

# Captions of the default model's training corpus (recipes/corpus/labels.py), for a model without queries.json
TRAINING_QUERIES = ("a woman speaking", "a piano playing", "a dog barking", "rain falling")
INSTRUCTION_EXAMPLES = ("remove the rain", "a man speaking without the music")
INTRO = f"""# flowsep
Separate the sound a text query describes from a mixture: upload or record a mixture (up to {MAX_MINUTES}
minutes, {MAX_FILE_MB} MB), or pick the example below, say what to extract or remove, and press **Separate**.
The target is what you asked for (the queried sound, or everything else when removing it: a query such as "remove
the rain" says so itself); it and the residual have the input's sample rate and channels, and add up to the
mixture. Where the target is active is marked on its spectrogram."""
# System fonts only: the page works without a network (Gradio's default theme fetches Google fonts)
THEME = gr.themes.Default(
    font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
)


def bundled_example(work_dir: Path) -> tuple[Path, tuple[str, ...]]:
    """The mixture and queries of ``flowsep demo``, the mixture copied into ``work_dir`` (Gradio serves files
    from temporary folders, not from an installed package)."""
    example = json.loads((ASSETS / "demo.json").read_text())
    mixture = work_dir / example["mixture"]
    shutil.copyfile(ASSETS / example["mixture"], mixture)
    return mixture, tuple(example["queries"])


def run_request(
    separator: Separator, mixture, query, mode, steps, solver, decoder, guidance, seed,
    progress=gr.Progress(track_tqdm=True),  # noqa: B008 (Gradio's way of asking for progress: the pipeline's bar)
) -> tuple:  # fmt: skip
    """The click handler: the page's values in, ``(target, residual, downloads, spectrograms, summary)`` out;
    the library's errors raised as ``gr.Error`` with their one-line message."""
    guidance = 1.0 if guidance is None else float(guidance)  # an emptied number box: the default
    settings = Settings(query or "", mode, int(steps), solver, decoder, guidance, int(seed or 0))
    try:
        result: Separation = separator(mixture, settings)
    except FlowSepError as error:  # Gradio renders the message as HTML: escape the file name and query in it
        raise gr.Error(html.escape(str(error)), print_exception=False) from None
    files = [str(result.target), str(result.residual)]
    return *files, files, str(result.spectrograms), result.summary


def build_page(separator: Separator, work_dir: Path) -> gr.Blocks:
    """The page: mixture, query and settings on the left; players, downloads and the settings used on the
    right; the log-mel spectrograms of mixture, target and residual below."""
    example, example_queries = bundled_example(work_dir)
    known = known_examples(separator.model_dir) if separator.model_dir else ()
    queries = tuple(dict.fromkeys(example_queries + tuple(known or TRAINING_QUERIES) + INSTRUCTION_EXAMPLES))
    with gr.Blocks(title="flowsep", analytics_enabled=False, delete_cache=(3600, 3600)) as page:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                mixture = gr.Audio(
                    sources=["upload", "microphone"], type="filepath", label="Mixture", elem_id="mixture"
                )
                query = gr.Textbox(
                    label="Query", placeholder=f"e.g. {queries[0]}", max_lines=1, elem_id="query"
                )
                gr.Examples(
                    [[q] for q in queries],
                    inputs=[query],
                    label="Queries this model knows (and instructions)",
                )
                mode = gr.Radio(list(MODES), value="extract", label="Extract the queried sound, or remove it")
                with gr.Accordion("Advanced", open=False):
                    steps = gr.Slider(1, 50, value=10, step=1, label="ODE steps")
                    solver = gr.Dropdown(list(separator.solvers), value=separator.solvers[0], label="Solver")
                    decoder = gr.Dropdown(list(separator.decoders), value="mask", label="Decoder")
                    guidance = gr.Number(1.0, label="Classifier-free guidance (1 = off)")
                    seed = gr.Number(0, precision=0, minimum=0, label="Seed (of the start noise, if any)")
                button = gr.Button("Separate", variant="primary", elem_id="separate")
                gr.Examples([[str(example), example_queries[-1]]], inputs=[mixture, query], label="Example")
            with gr.Column():
                target, residual = (
                    gr.Audio(
                        type="filepath",
                        label=name,
                        interactive=False,
                        buttons=["download"],
                        elem_id=name.lower(),
                    )
                    for name in ("Target", "Residual")
                )
                downloads = gr.File(
                    label="Downloads", file_count="multiple", interactive=False, elem_id="downloads"
                )
                summary = gr.Markdown(line_breaks=True, elem_id="summary")
        spectrograms = gr.Image(
            type="filepath", label="Log-mel spectrograms", interactive=False, format="png"
        )
        button.click(
            partial(run_request, separator),
            inputs=[mixture, query, mode, steps, solver, decoder, guidance, seed],
            outputs=[target, residual, downloads, spectrograms, summary],
            show_progress="full",
        )
    return page


def serve(separator: Separator, work_dir: Path, host: str, port: int | None, share: bool):
    """Build the page and serve it until interrupted, one separation at a time."""
    page = build_page(separator, work_dir)
    page.queue(default_concurrency_limit=1).launch(
        server_name=host, server_port=port, share=share, max_file_size=f"{MAX_FILE_MB}mb", theme=THEME,
        show_error=False,
    )  # fmt: skip
