"""Theano's `theano.compile.sharedvalue` names."""
from ..shared import Container, SharedVariable, shared

__all__ = ["Container", "SharedVariable", "shared"]
