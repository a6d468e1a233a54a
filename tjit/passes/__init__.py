"""Graph rewrites, one per module; `pipeline.py` lists them in the order they run.

A rewrite is a pure function from a list of output variables to a new list; the
input graph is never mutated (nodes are rebuilt). `optimize` runs the passes a
mode selects, in pipeline order, skipping names in `excluding`, and reports the
ones that changed the graph.
"""
from .pipeline import PIPELINE, Pass, format_pipeline, optimize, pipeline  # noqa: F401
