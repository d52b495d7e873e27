"""Every policy by name, the language-model ones included: the registry the service, the
simulation and the benchmarks use.

The core policies (`random`, `mastery`, `hybrid`) come from `hyperlearn.core.policy`; `llm`
(paradigm 1: the model re-ranks the hybrid shortlist) is built on the process-wide backend of
the settings; `tallrec` (paradigm 2: a tuned model scores candidates) loads the tuned model in
`settings.tallrec_model_dir` from `hyperlearn.llm.tallrec`, imported only when asked for.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hyperlearn.core.policy import POLICIES, HybridPolicy, Policy, policy_named
from hyperlearn.llm.backend import LLMBackend
from hyperlearn.llm.recommender import LLMPolicy

if TYPE_CHECKING:
    from hyperlearn.settings import Settings

LLM_POLICY_NAMES = ("llm", "tallrec")
POLICY_NAMES: tuple[str, ...] = (*POLICIES, *LLM_POLICY_NAMES)


class PolicyUnavailable(ValueError):
    """A known policy that cannot be built here (no tuned model, a missing extra)."""


_llm_policies: dict[int, tuple[LLMBackend, LLMPolicy]] = {}
_tallrec_policies: dict[str, Policy] = {}
_lock = threading.Lock()


def make_policy(name: str, settings: Settings, backend: LLMBackend | None = None) -> Policy:
    """The policy called `name`. `llm` uses `backend`, else the settings' shared backend; one
    `LLMPolicy` per backend is kept, so its fallback counts add up over calls.

    ValueError for an unknown name or unusable LLM settings; PolicyUnavailable (a ValueError)
    when `tallrec` has no tuned model."""
    if name in POLICIES:
        return policy_named(name)
    if name == "llm":
        if backend is None:
            from hyperlearn.llm.factory import shared_backend

            backend = shared_backend(settings)
        return _llm_policy(backend)
    if name == "tallrec":
        return _tallrec_policy(settings)
    raise ValueError(f"unknown policy {name!r}; use one of {', '.join(POLICY_NAMES)}")


def _llm_policy(backend: LLMBackend) -> LLMPolicy:
    with _lock:
        # Keyed by identity (backends need not be hashable); the backend is kept alive with
        # its policy, so an id cannot be reused by another backend while the entry exists.
        found = _llm_policies.get(id(backend))
        if found is None:
            found = _llm_policies[id(backend)] = (backend, LLMPolicy(backend))
        return found[1]


def _tallrec_policy(settings: Settings) -> Policy:
    model_dir: Any = getattr(settings, "tallrec_model_dir", None)
    if model_dir is None or not str(model_dir).strip():
        raise PolicyUnavailable(
            "the tallrec policy needs a tuned model: set HYPERLEARN_TALLREC_MODEL_DIR to the "
            "folder `hyperlearn llm tune` wrote"
        )
    return tallrec_policy(Path(model_dir))


def tallrec_policy(model_dir: Path) -> Policy:
    """The `tallrec` policy on the tuned model in `model_dir`, loaded once per folder and
    process (loading costs seconds), with the hybrid policy as its fallback."""
    key = str(model_dir.resolve())
    with _lock:
        found = _tallrec_policies.get(key)
    if found is not None:
        return found
    try:
        module = importlib.import_module("hyperlearn.llm.tallrec")
    except ImportError as error:
        raise PolicyUnavailable(
            f"the tallrec policy is not available here ({error}); it needs the [train] extra"
        ) from error
    loader = getattr(module, "TallRecPolicy", None)
    if loader is None:
        raise PolicyUnavailable("hyperlearn.llm.tallrec has no TallRecPolicy")
    policy: Policy = loader.load(model_dir, fallback=HybridPolicy())
    with _lock:
        return _tallrec_policies.setdefault(key, policy)


def clear_policies() -> None:
    """Forget the built LLM policies (tests; a settings reload)."""
    with _lock:
        _llm_policies.clear()
        _tallrec_policies.clear()


__all__ = [
    "LLM_POLICY_NAMES",
    "POLICY_NAMES",
    "PolicyUnavailable",
    "clear_policies",
    "make_policy",
    "tallrec_policy",
]
