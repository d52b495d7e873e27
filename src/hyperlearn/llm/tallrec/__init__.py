"""TALLRec-style tuning (paradigm 2: an LLM reads the learner's history as tokens and scores
the recommender's candidates).

- `data`: the attempt log as instruction data ("will the learner answer the next exercise
  correctly? Yes/No"), without look-ahead, split by learner.
- `tuning`: LoRA instruction tuning of a local causal LM (`hyperlearn llm tune`).
- `policy`: `TallRecPolicy` ("tallrec"), the hybrid shortlist re-ranked by the tuned model.

Only `tuning` and `model` need the `[train]` extra, and they import it inside their functions:
importing this package never loads torch.
"""

from hyperlearn.llm.tallrec.data import (
    INSTRUCTION,
    Example,
    ExportOptions,
    Interaction,
    TallRecDataError,
    build_examples,
    read_jsonl,
    sequences_from_log,
    write_jsonl,
)
from hyperlearn.llm.tallrec.model import TallRecModelError
from hyperlearn.llm.tallrec.policy import TallRecPolicy

__all__ = [
    "INSTRUCTION",
    "Example",
    "ExportOptions",
    "Interaction",
    "TallRecDataError",
    "TallRecModelError",
    "TallRecPolicy",
    "build_examples",
    "read_jsonl",
    "sequences_from_log",
    "write_jsonl",
]
