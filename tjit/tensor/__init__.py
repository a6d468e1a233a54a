"""tjit.tensor (import as T): tensor types, constructors and every tensor op.

Its modules build on each other in this order: type, var, shape_ops, elemwise, basic,
reduction, subtensor, advanced_subtensor, sort, numpy_ops, extra_ops, nnet, nlinalg, blas. A module
imports names only from modules before it. What runs the other way (TensorVariable's
operators and methods, gradients and type rules that use later ops) goes through the
package, `from .. import tensor as _tensor`, and is looked up when called; this file has
imported every module by then. (`_tensor.var` and `_tensor.sort` are T.var and T.sort,
the functions, not the modules.) tjit.gradient builds on basic, elemwise, shape_ops and
var and is imported after them, for T.grad.
"""
from .basic import *  # noqa: F401,F403
from .basic import __all__ as _basic_all
from .type import TensorType  # noqa: F401
from .var import TensorConstant, TensorVariable, as_tensor_variable, constant  # noqa: F401
from .subtensor import inc_subtensor, set_subtensor  # noqa: F401
from .reduction import (all, any, argmax, argmin, max, max_and_argmax, mean, min,  # noqa: F401,A004
                        prod, ptp, std, sum, var)
from . import nnet  # noqa: F401
from ..gradient import grad, hessian, jacobian  # noqa: F401  (Theano: T.jacobian, T.hessian)

__all__ = list(_basic_all) + ["TensorType", "TensorConstant", "TensorVariable",
                              "as_tensor_variable", "constant", "inc_subtensor",
                              "set_subtensor", "nnet", "sum", "prod", "max", "min", "mean",
                              "var", "std", "all", "any", "grad", "argmax", "argmin", "ptp",
                              "max_and_argmax"]
from .blas import batched_dot, dot, nlinalg, outer, tensordot  # noqa: F401,E402
__all__ += ["dot", "outer", "tensordot", "batched_dot", "nlinalg"]
from .extra_ops import (AdvancedIncSubtensor, AdvancedIncSubtensor1, AdvancedSubtensor, AdvancedSubtensor1, argsort, cumprod, cumsum, diag, diagonal, flatnonzero, nonzero, nonzero_values, repeat, sort, take, tile)  # noqa: F401,E402,E501
__all__ += ["AdvancedIncSubtensor", "AdvancedIncSubtensor1", "AdvancedSubtensor", "AdvancedSubtensor1", "argsort", "cumprod", "cumsum", "diag", "diagonal", "flatnonzero", "nonzero", "nonzero_values", "repeat", "sort", "take", "tile"]  # noqa: E501
from . import shared_randomstreams  # noqa: F401,E402  (T.shared_randomstreams.RandomStreams)
# Theano 1.0 tensor functions (issue 13): shape padding, broadcast patterns, constant
# values, dtype lists (from basic), and extra_ops' functions Theano also puts in T.
from .extra_ops import (bartlett, choose, cov, diff, fill_diagonal, fill_diagonal_offset,  # noqa: F401,E402
                        inverse_permutation, permute_row_elements, squeeze)
__all__ += ["bartlett", "choose", "cov", "diff", "fill_diagonal", "fill_diagonal_offset",
            "inverse_permutation", "permute_row_elements", "squeeze"]
from . import extra_ops  # noqa: F401,E402  (T.extra_ops.unique, ...)
from .shape_ops import get_vector_length  # noqa: F401,E402
__all__ += ["get_vector_length"]
from ..gradient import Lop, Rop, consider_constant, numeric_grad, verify_grad  # noqa: F401,E402
__all__ += ["Lop", "Rop", "consider_constant", "numeric_grad", "verify_grad", "jacobian", "hessian"]
from . import signal  # noqa: F401,E402  (T.signal.pool.pool_2d; issue 18)
