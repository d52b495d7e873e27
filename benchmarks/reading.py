"""Reading-question benchmark, as a script: the same as `hyperlearn bench reading`.

python benchmarks/reading.py [--json] [--limit N]
"""

from __future__ import annotations

import typer

from hyperlearn.reading_cli import bench_reading

if __name__ == "__main__":
    typer.run(bench_reading)
