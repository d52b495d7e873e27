"""Turning sources into verified items: the starter bank now, corpora importers later."""
