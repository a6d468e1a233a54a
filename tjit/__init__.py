"""tjit: Theano's API, compiled to native code through LLVM.

    import tjit as theano
    import tjit.tensor as T
"""
from . import config as _config_module
from .config import config  # noqa: F401
from .function import In, Mode, Out, function  # noqa: F401
from .shared import shared  # noqa: F401
from .graph import clone_replace  # noqa: F401
from . import graph, gradient, printing, tensor  # noqa: F401
from .gradient import grad  # noqa: F401
from .printing import pp  # noqa: F401
from . import passes, runtime  # noqa: F401  (the pipeline, loaded once at import)
from .codegen import jit as _jit  # noqa: F401
from . import ifelse  # noqa: F401,E402  (module: tjit.ifelse.ifelse)
from . import scan_module  # noqa: F401,E402
from .scan_module import foldl, foldr, map, reduce, scan  # noqa: F401,E402,A004
from .runtime.dump import dump_function as _dump_function

__version__ = "0.1.0"


def clone(output, replace=None, strict=True, share_inputs=True):
    """A copy of the graph of `output` with the `replace` pairs substituted."""
    return clone_replace(output, replace or {}, strict=strict)


def dump(fn, stage="opt"):
    """Text of one stage of a compiled function: 'opt' (rewritten graph), 'loop'
    (loop IR), 'llvm' (optimized LLVM IR) or 'asm' (machine code)."""
    return _dump_function(fn, stage)

# Theano's names for the function API (compile package, dot, change_flags, function_dump)
from . import compile  # noqa: F401,E402,A004
from .config import change_flags  # noqa: F401,E402
from .function import function_dump  # noqa: F401,E402
from .tensor import dot  # noqa: F401,E402
from .gradient import Lop, Rop, subgraph_grad  # noqa: F401,E402
from . import profiling  # noqa: F401,E402  (ProfileStats: function(profile=True))
