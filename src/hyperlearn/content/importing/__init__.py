"""Importers: public corpora in, verified items out (see base.py for the contract)."""
