#!/usr/bin/env bash
# The TALLRec GPU check: `hyperlearn llm tune --device cuda` on a tiny model built on the spot
# (benchmarks/tallrec_gpu.py), on a machine with no network. It installs nothing from the
# network: torch, transformers, peft, tokenizers, numpy, scipy, typer, rich and pytest come with
# the GPU image (Python 3.12); the few pure packages the `hyperlearn` command needs beyond them
# travel as wheels in $WHEELS (default .whl), made here beforehand with:
#
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#     --platform manylinux2014_x86_64 -d .whl pydantic==2.14.4 pydantic_core==2.50.5 \
#     pydantic-settings==2.16.3 python-dotenv==1.2.4 annotated-types==0.8.0 \
#     typing-inspection==0.4.5
#
# (2.8 MB; versions as in .venv). Then, on the GPU machine, from the repository root:
#   bash benchmarks/tallrec_gpu.sh --device cuda
# (run on an NVIDIA H200, 2026-11-26: bf16, 2 epochs of 12.3 s and 10.4 s, loss 4.17 -> 0.92,
# validation AUC 0.735, the tallrec policy ranking a shortlist in 18.5 ms)
# Arguments go to tallrec_gpu.py (--learners, --attempts, --epochs, --hidden, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
WHEELS="${WHEELS:-.whl}"
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/tallrec-site "$WHEELS"/*.whl
  export PYTHONPATH="/tmp/tallrec-site${PYTHONPATH:+:$PYTHONPATH}"
fi
# The repository as it is: hyperlearn from src/, the tiny-model builder from tests/.
export PYTHONPATH="$PWD/src:$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
"$PY" -c "import pydantic_settings, typer, rich, torch, transformers, peft, tokenizers" || {
  echo "a package is missing: carry its wheel in $WHEELS (see the top of this script)" >&2
  exit 2
}
exec "$PY" benchmarks/tallrec_gpu.py "$@"
