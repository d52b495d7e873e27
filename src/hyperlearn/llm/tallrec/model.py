"""The tuned model: P(Yes) for TALLRec prompts, from a base causal LM plus a LoRA adapter.

Needs the `[train]` extra (torch, transformers, peft), imported inside the functions so that the
core install never loads them. A model directory written by `hyperlearn llm tune` holds the
adapter, the tokenizer and `tallrec.json` (the base model's path, the training settings and
figures). Scoring is one batched forward pass: the logits of the first token of "Yes" and of
"No" at the position after the prompt, softmaxed over the two.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyperlearn.llm.backend import LLMInvalidOutput, LLMUnavailable
from hyperlearn.llm.tallrec.data import NO, YES

METADATA = "tallrec.json"
TRAIN_PACKAGES = ("torch", "transformers", "peft")


class TallRecModelError(ValueError):
    """A model directory, base model or device that cannot be used (a clear message)."""


def missing_packages() -> list[str]:
    """The `[train]` packages that cannot be imported here."""
    import importlib.util

    return [name for name in TRAIN_PACKAGES if importlib.util.find_spec(name) is None]


def require_train_extra() -> None:
    missing = missing_packages()
    if missing:
        raise TallRecModelError(
            f"{', '.join(missing)} missing: install the extra with pip install -e '.[train]'"
        )


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; 'cuda' without one is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise TallRecModelError(f"device {device!r} asked for, but torch sees no CUDA GPU")
        return device
    if device == "cpu":
        return device
    raise TallRecModelError(f"unknown device {device!r}; use auto, cpu or cuda")


def dtype_for(device: str) -> Any:
    """bf16 on a GPU that supports it (half the memory, full speed), else float32."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_base_model(base: Path, device: str) -> Any:
    """The base causal LM from a local directory (never a hub: local_files_only)."""
    import transformers
    from transformers import AutoModelForCausalLM

    if not (base / "config.json").is_file():
        raise TallRecModelError(f"{base} is not a model directory (no config.json)")
    # transformers 4.56 renamed `torch_dtype` to `dtype`.
    major, minor = (int(p) for p in transformers.__version__.split(".")[:2])
    dtype_key = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"
    kwargs = {dtype_key: dtype_for(device), "local_files_only": True}
    auto: Any = AutoModelForCausalLM  # its stubs want a model class, not a path
    model = auto.from_pretrained(str(base), **kwargs)
    return model.to(device)


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    if tokenizer.pad_token_id is None:
        # Padding positions are masked out, so any known token will do.
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    if tokenizer.pad_token_id is None:
        raise TallRecModelError("the tokenizer has no pad, end-of-sequence or unknown token")
    return tokenizer


@dataclass(frozen=True, slots=True)
class Answers:
    """Token ids of the two answers, as the training labels spell them."""

    yes_ids: tuple[int, ...]
    no_ids: tuple[int, ...]
    eos: int | None

    @property
    def yes(self) -> int:
        return self.yes_ids[0]

    @property
    def no(self) -> int:
        return self.no_ids[0]

    def label_ids(self, label: bool) -> list[int]:
        ids = list(self.yes_ids if label else self.no_ids)
        return ids + ([self.eos] if self.eos is not None else [])

    @property
    def longest(self) -> int:
        return max(len(self.label_ids(True)), len(self.label_ids(False)))


def answers(tokenizer: Any) -> Answers:
    yes_ids = tuple(tokenizer(YES, add_special_tokens=False)["input_ids"])
    no_ids = tuple(tokenizer(NO, add_special_tokens=False)["input_ids"])
    if not yes_ids or not no_ids or yes_ids[0] == no_ids[0]:
        raise TallRecModelError(
            f"the tokenizer does not tell {YES!r} from {NO!r} by their first token"
        )
    eos = tokenizer.eos_token_id
    return Answers(yes_ids, no_ids, eos if isinstance(eos, int) else None)


def encode_prompt(tokenizer: Any, text: str, budget: int) -> list[int]:
    """The prompt's token ids, cut from the left to `budget` (the oldest history goes first;
    the target exercise and the response marker at the end always stay). A leading BOS
    token is kept."""
    ids: list[int] = list(tokenizer(text)["input_ids"])
    if len(ids) <= budget:
        return ids
    bos = tokenizer.bos_token_id
    if bos is not None and ids[0] == bos and budget > 1:
        return [bos, *ids[len(ids) - budget + 1 :]]
    return ids[len(ids) - budget :]


def left_padded(rows: Sequence[Sequence[int]], pad_id: int, device: str) -> dict[str, Any]:
    """input_ids, attention_mask and position_ids of a left-padded batch. Positions count
    real tokens only, so a prompt gets the same positions padded or alone."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for n, row in enumerate(rows):
        if row:
            ids[n, width - len(row) :] = torch.tensor(list(row), dtype=torch.long)
            mask[n, width - len(row) :] = 1
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    return {
        "input_ids": ids.to(device),
        "attention_mask": mask.to(device),
        "position_ids": positions.to(device),
    }


def p_yes(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_length: int,
    device: str,
    batch_size: int = 32,
) -> list[float]:
    """P(Yes) for each prompt: softmax over the Yes and No first-token logits after it."""
    import torch

    spelled = answers(tokenizer)
    budget = max(1, max_length - spelled.longest)
    result: list[float] = []
    with torch.inference_mode():
        for start in range(0, len(prompts), batch_size):
            rows = [
                encode_prompt(tokenizer, p, budget) for p in prompts[start : start + batch_size]
            ]
            batch = left_padded(rows, tokenizer.pad_token_id, device)
            logits = model(**batch).logits[:, -1, :].float()
            pair = torch.stack([logits[:, spelled.yes], logits[:, spelled.no]], dim=1)
            result.extend(torch.softmax(pair, dim=1)[:, 0].cpu().tolist())
    if not all(math.isfinite(p) for p in result):
        raise TallRecModelError("the model gave a non-finite probability")
    return result


def read_metadata(model_dir: Path) -> dict[str, Any]:
    path = model_dir / METADATA
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TallRecModelError(f"{model_dir} holds no {METADATA}: not a tuned model") from exc
    except json.JSONDecodeError as exc:
        raise TallRecModelError(f"{path} is not valid JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("base_model"), str):
        raise TallRecModelError(f"{path} does not name its base model")
    return data


class TallRecScorer:
    """A loaded base model with its adapter. `score` is thread-safe (one forward at a time)."""

    def __init__(
        self, model: Any, tokenizer: Any, device: str, max_length: int, history: int | None = None
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device
        self.max_length = max_length
        self.history = history  # interactions per prompt in the training data (None: unknown)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path, device: str = "auto") -> TallRecScorer:
        """Raises LLMUnavailable (with the cause) when anything about the model is unusable."""
        try:
            require_train_extra()
            from peft import PeftModel

            metadata = read_metadata(model_dir)
            resolved = resolve_device(device)
            tokenizer = load_tokenizer(model_dir)
            answers(tokenizer)
            base = load_base_model(Path(metadata["base_model"]), resolved)
            model = PeftModel.from_pretrained(base, str(model_dir)).to(resolved)
            model.eval()
            max_length = int(metadata.get("max_length", 512))
            history = metadata.get("history")
        except Exception as exc:  # the model is external: any failure means "no model"
            raise LLMUnavailable(f"cannot load the TALLRec model in {model_dir}: {exc}") from exc
        return cls(
            model, tokenizer, resolved, max_length, history if isinstance(history, int) else None
        )

    def score(self, prompts: Sequence[str], batch_size: int | None = None) -> list[float]:
        """P(Yes) per prompt, in one batched pass unless `batch_size` splits it; raises
        LLMInvalidOutput on any failure."""
        if not prompts:
            return []
        try:
            with self._lock:
                return p_yes(
                    self.model,
                    self.tokenizer,
                    prompts,
                    max_length=self.max_length,
                    device=self.device,
                    batch_size=batch_size or len(prompts),
                )
        except Exception as exc:
            raise LLMInvalidOutput(f"TALLRec scoring failed: {exc}") from exc
