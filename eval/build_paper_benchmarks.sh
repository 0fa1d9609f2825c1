#!/usr/bin/env bash
# Build the FlowSep paper's benchmarks from local dataset copies (see eval/README.md for the layouts).
#
#   eval/build_paper_benchmarks.sh RAW [OUT=data/benchmarks] [build options, e.g. --force]
#
# Reads RAW/audiocaps, RAW/vggsound, RAW/ESC-50 and RAW/dcase2024 where present (missing ones are skipped).
# Same copies, same seed: identical benchmark folders, byte for byte.
set -euo pipefail
RAW=${1:?usage: $0 RAW [OUT] [build options]}
OUT=${2:-data/benchmarks}
shift $(( $# > 1 ? 2 : 1 ))
OPTIONS=("$@")

build() {  # KIND SOURCE [FILE that must exist under SOURCE]
    if [ ! -e "$2" ] || { [ -n "${3:-}" ] && [ -z "$(find "$2" -name "$3" -print -quit)" ]; }; then
        echo "skipping $1: ${3:-$2} not found under $2" >&2
        return
    fi
    flowsep build-benchmark "$1" "$2" "$OUT/$1" --seed 0 "${OPTIONS[@]}"
}

build audiocaps "$RAW/audiocaps" test.csv
build vggsound "$RAW/vggsound" vggsound.csv
build esc50 "$RAW/ESC-50" esc50.csv
build dcase2024-validation "$RAW/dcase2024" lass_synthetic_validation.csv
build dcase2024-eval-synthetic "$RAW/dcase2024" lass_synthetic_evaluation.csv
build dcase2024-eval-real "$RAW/dcase2024" lass_real_evaluation.csv
