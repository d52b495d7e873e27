"""Import speed and peak memory, as a script: the same as `hyperlearn bench import`.

python benchmarks/import_bench.py [--json]
"""

from __future__ import annotations

import typer

from hyperlearn.evaluation.cli import import_speed

if __name__ == "__main__":
    typer.run(import_speed)
