"""`hyperlearn llm ...`: check a configured model, build TALLRec data, tune and score."""

from __future__ import annotations

import typer

llm_app = typer.Typer(help="Language models: check the backend, TALLRec export and tuning.")
