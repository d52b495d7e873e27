"""Evaluation: loaders for public knowledge-tracing logs and the benchmark harness.

Nothing is imported here on purpose: `hyperlearn.cli` mounts `hyperlearn.evaluation.cli`, and the
command line must stay quick to start. Import the submodules you need.
"""
