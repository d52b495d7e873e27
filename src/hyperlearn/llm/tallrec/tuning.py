"""LoRA instruction tuning on TALLRec data (`hyperlearn llm tune`).

A plain training loop rather than transformers' Trainer: the loss is taken on the answer
tokens only (the prompt's labels are -100), batches are left-padded with explicit positions as
in scoring, and nothing depends on Trainer's changing defaults. The same call runs a tiny model
on a CPU in a test and a real model on a GPU (bf16 where supported). The output directory is
written whole or not at all.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hyperlearn.llm.tallrec.data import TRAIN, VALIDATION, Example, file_sha256, read_jsonl
from hyperlearn.llm.tallrec.metrics import roc_auc
from hyperlearn.llm.tallrec.model import (
    METADATA,
    TallRecModelError,
    answers,
    dtype_for,
    encode_prompt,
    left_padded,
    load_base_model,
    load_tokenizer,
    p_yes,
    require_train_extra,
    resolve_device,
)

IGNORE = -100  # label of a position that adds nothing to the loss


@dataclass(frozen=True)
class TuneConfig:
    epochs: int = 2
    lr: float = 2e-4
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    batch_size: int = 8
    max_length: int = 512
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.epochs <= 100:
            problems.append("epochs must be between 1 and 100")
        if not (math.isfinite(self.lr) and 0 < self.lr < 1):
            problems.append("the learning rate must be in (0, 1)")
        if self.lora_r < 1 or self.lora_alpha < 1:
            problems.append("lora r and alpha must be at least 1")
        if not 0 <= self.lora_dropout < 1:
            problems.append("lora dropout must be in [0, 1)")
        if not self.target_modules or not all(self.target_modules):
            problems.append("name at least one target module")
        if self.batch_size < 1:
            problems.append("the batch size must be at least 1")
        if self.max_length < 16:
            problems.append("max length must be at least 16 tokens")
        if problems:
            raise TallRecModelError("; ".join(problems))


@dataclass(frozen=True)
class TuneReport:
    out: Path
    device: str
    dtype: str
    train_examples: int
    validation_examples: int
    initial_loss: float  # of the first batch, before any update
    epoch_losses: list[float]  # mean training loss per epoch
    validation_auc: float | None  # None: the validation split lacks one of the classes
    seconds: float
    seconds_per_epoch: list[float] = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        return self.epoch_losses[-1]


Progress = Callable[[str], None]


def tune(
    base: Path,
    data: Path,
    out: Path,
    config: TuneConfig | None = None,
    progress: Progress | None = None,
) -> TuneReport:
    """Tune a LoRA adapter for `base` on the train split of `data`; write it, the tokenizer and
    `tallrec.json` to `out` (which must not exist yet, or be empty)."""
    config = config or TuneConfig()
    say = progress or (lambda _message: None)
    if not (base / "config.json").is_file():
        raise TallRecModelError(f"{base} is not a model directory (no config.json)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TallRecModelError(f"{out} already exists and is not empty; choose a new directory")
    examples = read_jsonl(data)
    train = [e for e in examples if e.split == TRAIN]
    validation = [e for e in examples if e.split == VALIDATION]
    if not train:
        raise TallRecModelError(f"{data} has no training examples")
    require_train_extra()

    import torch
    from peft import LoraConfig, get_peft_model

    device = resolve_device(config.device)
    dtype = dtype_for(device)
    torch.manual_seed(config.seed)
    if device.startswith("cuda"):
        torch.cuda.manual_seed_all(config.seed)
    tokenizer = load_tokenizer(base)
    encoded = _encode(tokenizer, train, config.max_length)
    model = load_base_model(base, device)
    model.config.use_cache = False
    lora = LoraConfig(
        task_type="CAUSAL_LM",
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
    )
    try:
        model = get_peft_model(model, lora)
    except ValueError as exc:  # e.g. no module of that name in the base model
        raise TallRecModelError(f"cannot add LoRA to {base}: {exc}") from exc
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.lr)
    say(
        f"Tuning {base.name} on {device} ({str(dtype).removeprefix('torch.')}): "
        f"{len(train)} examples, {len(validation)} for validation, "
        f"{sum(p.numel() for p in trainable):,} trainable parameters"
    )

    order = random.Random(config.seed)
    started = time.perf_counter()
    epoch_losses: list[float] = []
    epoch_seconds: list[float] = []
    initial_loss: float | None = None
    model.train()
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        indices = list(range(len(encoded)))
        order.shuffle(indices)
        total, count = 0.0, 0
        for start in range(0, len(indices), config.batch_size):
            rows = [encoded[n] for n in indices[start : start + config.batch_size]]
            loss = _loss(model, rows, tokenizer.pad_token_id, device)
            value = float(loss.detach().float().item())
            if not math.isfinite(value):
                raise TallRecModelError(f"the loss became {value} in epoch {epoch}; lower --lr")
            if initial_loss is None:
                initial_loss = value
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimizer.step()
            total += value * len(rows)
            count += len(rows)
        epoch_losses.append(total / count)
        epoch_seconds.append(time.perf_counter() - epoch_start)
        say(
            f"epoch {epoch}/{config.epochs}: loss {epoch_losses[-1]:.4f}, {epoch_seconds[-1]:.1f} s"
        )

    model.eval()
    auc = None
    if validation:
        scores = p_yes(
            model,
            tokenizer,
            [e.prompt for e in validation],
            max_length=config.max_length,
            device=device,
            batch_size=max(config.batch_size, 8),
        )
        auc = roc_auc([e.label for e in validation], scores)
    seconds = time.perf_counter() - started
    report = TuneReport(
        out=out,
        device=device,
        dtype=str(dtype).removeprefix("torch."),
        train_examples=len(train),
        validation_examples=len(validation),
        initial_loss=initial_loss if initial_loss is not None else math.nan,
        epoch_losses=epoch_losses,
        validation_auc=auc,
        seconds=seconds,
        seconds_per_epoch=epoch_seconds,
    )
    metadata = _metadata(base, data, config, report)
    _save(model, tokenizer, metadata, out)
    auc_text = "n/a (one class only)" if auc is None else f"{auc:.3f}"
    say(f"Saved the adapter to {out}; validation AUC of P(Yes): {auc_text}")
    return report


@dataclass(frozen=True, slots=True)
class _Encoded:
    ids: list[int]
    labels: list[int]


def _encode(tokenizer: Any, examples: Sequence[Example], max_length: int) -> list[_Encoded]:
    spelled = answers(tokenizer)
    result = []
    for example in examples:
        answer = spelled.label_ids(example.label)
        prompt = encode_prompt(tokenizer, example.prompt, max(1, max_length - len(answer)))
        result.append(_Encoded(prompt + answer, [IGNORE] * len(prompt) + answer))
    return result


def _loss(model: Any, rows: Sequence[_Encoded], pad_id: int, device: str) -> Any:
    import torch

    batch = left_padded([r.ids for r in rows], pad_id, device)
    width = batch["input_ids"].shape[1]
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for n, row in enumerate(rows):
        labels[n, width - len(row.labels) :] = torch.tensor(row.labels, dtype=torch.long)
    # The model shifts the labels itself: position t predicts token t + 1.
    return model(**batch, labels=labels.to(device)).loss


def _metadata(base: Path, data: Path, config: TuneConfig, report: TuneReport) -> dict[str, Any]:
    import peft
    import torch
    import transformers

    settings = asdict(config)
    settings["target_modules"] = list(config.target_modules)
    return {
        "format": 1,
        "base_model": str(base.resolve()),
        "data": str(data.resolve()),
        "data_sha256": file_sha256(data),
        **settings,
        "device": report.device,
        "dtype": report.dtype,
        # The history length of the data, so that the policy writes prompts like it.
        "history": max((len(e.history_item_ids) for e in read_jsonl(data)), default=0),
        "train_examples": report.train_examples,
        "validation_examples": report.validation_examples,
        "initial_loss": report.initial_loss,
        "epoch_losses": report.epoch_losses,
        "final_loss": report.final_loss,
        "validation_auc": report.validation_auc,
        "seconds": round(report.seconds, 3),
        "seconds_per_epoch": [round(s, 3) for s in report.seconds_per_epoch],
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
        },
    }


def _save(model: Any, tokenizer: Any, metadata: dict[str, Any], out: Path) -> None:
    """Write into a temporary sibling, then move it into place: all or nothing."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        (tmp / METADATA).write_text(json.dumps(metadata, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            out.rmdir()  # checked empty above
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass(frozen=True)
class ScoreReport:
    examples: int
    yes_share: float  # how often the real answer was right
    mean_p_yes: float
    accuracy: float  # of "P(Yes) >= 0.5 means Yes"
    auc: float | None
    seconds: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def evaluate(
    model_dir: Path,
    data: Path,
    *,
    split: str = VALIDATION,
    device: str = "auto",
    batch_size: int = 32,
    limit: int | None = None,
) -> ScoreReport:
    """Score the examples of one split (or "all") with a tuned model: AUC, accuracy."""
    from hyperlearn.llm.tallrec.model import TallRecScorer

    if split not in (TRAIN, VALIDATION, "all"):
        raise TallRecModelError(f"unknown split {split!r}; use train, validation or all")
    if batch_size < 1 or (limit is not None and limit < 1):
        raise TallRecModelError("batch size and limit must be at least 1")
    examples = [e for e in read_jsonl(data) if split == "all" or e.split == split]
    examples = examples[:limit] if limit is not None else examples
    if not examples:
        raise TallRecModelError(f"{data} has no {split} examples")
    scorer = TallRecScorer.load(model_dir, device)
    started = time.perf_counter()
    scores = scorer.score([e.prompt for e in examples], batch_size=batch_size)
    seconds = time.perf_counter() - started
    labels = [e.label for e in examples]
    return ScoreReport(
        examples=len(examples),
        yes_share=sum(labels) / len(labels),
        mean_p_yes=sum(scores) / len(scores),
        accuracy=sum((p >= 0.5) == y for p, y in zip(scores, labels, strict=True)) / len(labels),
        auc=roc_auc(labels, scores),
        seconds=seconds,
    )
