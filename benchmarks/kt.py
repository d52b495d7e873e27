"""The knowledge-tracing benchmark as a script: the same command as `hyperlearn bench kt`.

    python benchmarks/kt.py --format pykt \\
        --train ../shared/data/logs/assist2015/train_valid.csv \\
        --test ../shared/data/logs/assist2015/test.csv --models pfa,skill_mean,majority --json

Several folds: repeat --train and --test, paired in order.
"""

from __future__ import annotations

import typer

from hyperlearn.evaluation.cli import kt

if __name__ == "__main__":
    typer.run(kt)
