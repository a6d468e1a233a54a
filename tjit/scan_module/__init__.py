"""Loops: `scan` (Theano's semantics) and `until` for while-loops."""
from .scan import scan  # noqa: F401
from .utils import until  # noqa: F401
from .op import Scan  # noqa: F401
from .views import foldl, foldr, map, reduce  # noqa: F401,A004

__all__ = ["scan", "until", "Scan", "map", "reduce", "foldl", "foldr"]
