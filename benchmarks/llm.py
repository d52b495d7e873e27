"""Language-model benchmark, as a script: the same as `hyperlearn bench llm`.

python benchmarks/llm.py [--backend none|openai|llamacpp] [--model-path FILE] [--items N] [--json]
"""

from __future__ import annotations

import typer

from hyperlearn.evaluation.cli import bench_llm

if __name__ == "__main__":
    typer.run(bench_llm)
