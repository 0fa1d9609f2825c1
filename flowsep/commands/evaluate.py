"""``flowsep evaluate``: separate built benchmarks with a model at one or more step counts, and score them.

    flowsep evaluate --model checkpoints/flowsep-mini --benchmark data/benchmarks/audiocaps data/benchmarks/esc50 \\
        --steps 1 5 10 25 --metrics sisdr clap fad -o runs/eval-mini --plot
    accelerate launch -m flowsep.cli evaluate ...        # the items split across processes

Metric weights are loaded, and missing ones reported, before anything is separated. The run folder is resumable
(see :mod:`flowsep.evaluation.runner`) and ends with ``items.csv``, ``summary.json``, ``results.md`` and figures
(see :mod:`flowsep.evaluation.report`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..choices import DEFAULT_CLAP_CHECKPOINT, FAD_BACKBONES, METRICS
from ..errors import UsageError
from ..loading import default_model
from .options import (
    MODEL_SETTINGS,
    add_model_arguments,
    check_model_options,
    non_negative_int,
    positive_int,
    prepare_pipeline,
    sampling_options,
)
from .outputs import check_output_folder


def register(subparsers):
    parser = subparsers.add_parser(
        "evaluate", help="score a model on built benchmarks (FAD, CLAPScore, SI-SDR ...)"
    )
    parser.add_argument("--benchmark", "-b", nargs="+", required=True,
                        help="built benchmark folders, their manifests, or names under $FLOWSEP_BENCHMARKS")  # fmt: skip
    parser.add_argument("-o", "--output-dir", required=True, help="run folder (rerun to resume)")
    add_model_arguments(parser, steps_nargs="+")
    parser.add_argument("--metrics", nargs="+", choices=METRICS, default=["sisdr"],
                        help="sisdr (SI-SDR, SDR and improvements), clap (CLAPScore, CLAPScore_A), fad")  # fmt: skip
    parser.add_argument("--clap-checkpoint", default=DEFAULT_CLAP_CHECKPOINT, help="CLAP hub id or folder")
    parser.add_argument("--fad-backbone", choices=FAD_BACKBONES, default="vggish")
    parser.add_argument("--fad-ckpt-dir", help="folder of the FAD backbone's weights (default: torch-hub's)")
    parser.add_argument("--batch-size", type=positive_int, default=1, help="items separated together")
    parser.add_argument(
        "--limit", type=positive_int, help="evaluate only the first N items of each benchmark"
    )
    parser.add_argument(
        "--figures", type=non_negative_int, default=3, help="items per benchmark drawn as log-mels (0: none)"
    )
    parser.add_argument(
        "--trim", action="store_true",
        help="score a reference and a mixture of other lengths on their shared part (recorded in the settings; "
        "by default such an item is an error)",
    )  # fmt: skip
    parser.add_argument("--plot", action="store_true", help="write metric_vs_steps.png (several --steps)")
    parser.set_defaults(func=run)


def run_settings(args: argparse.Namespace) -> dict:
    """The settings that decide the outputs; a run folder holds the results of one such set."""
    model = str(args.model or default_model())
    if Path(model).exists():
        model = str(Path(model).resolve())
    settings = {key: getattr(args, key) for key in MODEL_SETTINGS}
    return {"model": model} | settings | ({"trim": True} if args.trim else {})


def run(args: argparse.Namespace) -> int:
    from ..evaluation.benchmark import check_benchmark, read_benchmark
    from ..evaluation.layout import RunFolder, System

    # 1. Check the flags, the benchmarks (queries, files, lengths) and every output path before torch is imported
    check_model_options(args)
    if "clap" in args.metrics:  # offline and not cached: say so now, not after the hub's retries
        from ..loading import check_hub_weights

        check_hub_weights(args.clap_checkpoint, "--clap-checkpoint", "a ClapModel save_pretrained folder")
    benchmarks = [read_benchmark(spec, args.limit) for spec in args.benchmark]
    names = [benchmark.name for benchmark in benchmarks]
    if len(set(names)) != len(names):
        raise UsageError(f"benchmark names must differ, got {names} (rebuild one with --name)")
    for benchmark in benchmarks:
        check_benchmark(benchmark, args.metrics, args.trim)
    systems = [System()] + [System(steps) for steps in sorted(set(args.steps))]
    run_folder, settings = RunFolder(args.output_dir), run_settings(args)
    inputs = [benchmark.manifest for benchmark in benchmarks] + [
        path for benchmark in benchmarks for item in benchmark.items
        for path in (item.mixture, item.reference, item.interference) if path is not None
    ]  # fmt: skip
    check_output_folder(args.output_dir, run_folder.planned_files(benchmarks, systems, args.figures), inputs)
    run_folder.check_settings(settings)
    import torch
    from accelerate import PartialState

    from ..evaluation.report import write_report
    from ..evaluation.runner import Separator, pending_jobs, process_jobs
    from ..evaluation.scoring import ItemScorer, MetricSettings, SetScorer
    from ..loading import resolve_device

    # (on a machine without CUDA, CPU processes form a gloo group only when PartialState is told cpu=True)
    state = PartialState(cpu=not torch.cuda.is_available())
    if args.device == "auto" and state.device.type == "cuda":
        args.device = str(state.device)
    metrics = MetricSettings(
        tuple(dict.fromkeys(args.metrics)), args.clap_checkpoint, args.fad_backbone, args.fad_ckpt_dir,
        device=str(resolve_device(args.device)), trim=args.trim,
    )  # fmt: skip

    # 2. Load the metric models before separating anything (missing weights fail here)
    scorer = ItemScorer(metrics)
    set_scorer = SetScorer(metrics, run_folder.root / "embeddings") if "fad" in metrics.metrics else None
    if set_scorer is not None and state.is_main_process:
        for benchmark in benchmarks:
            set_scorer.prepare(benchmark)
    state.wait_for_everyone()

    # 3. Find what is left to do (every process reads the same rows before any is written)
    if state.is_main_process:
        run_folder.write_settings(settings)
    jobs = pending_jobs(run_folder, benchmarks, systems, scorer)
    state.wait_for_everyone()

    # 4. Separate and score this process's share
    options = {key: value for key, value in sampling_options(args).items() if key != "num_inference_steps"}
    separator = Separator(lambda: prepare_pipeline(args), args.seed, **options)  # steps vary per system
    with state.split_between_processes(jobs) as mine:
        separated = process_jobs(mine, run_folder, scorer, separator, state.process_index, args.batch_size)
    print(f"process {state.process_index}: {len(mine)} items scored, {separated} separated")
    state.wait_for_everyone()

    # 5. Merge the rows and write the results
    if state.is_main_process:
        header = {
            "model": settings["model"], "settings": settings | {"steps": sorted(set(args.steps))},
            "metrics": list(metrics.metrics), "checkpoints": scorer.checkpoints(),
            "run": {"processes": state.num_processes, "device": args.device, "batch_size": args.batch_size,
                    "limit": args.limit},
        }  # fmt: skip
        write_report(run_folder, benchmarks, systems, header, set_scorer, args.figures, args.plot)
        print((run_folder.root / "results.md").read_text())
    return 0
