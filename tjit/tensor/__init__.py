"""tjit.tensor (import as T): tensor types, constructors and every tensor op."""
from .basic import *  # noqa: F401,F403
from .basic import __all__ as _basic_all
from .type import TensorType  # noqa: F401
from .var import TensorConstant, TensorVariable, as_tensor_variable, constant  # noqa: F401
from .subtensor import inc_subtensor, set_subtensor  # noqa: F401
from .reduction import all, any, max, mean, min, prod, std, sum, var  # noqa: F401,A004
from . import nnet  # noqa: F401
from ..gradient import grad  # noqa: F401

__all__ = list(_basic_all) + ["TensorType", "TensorConstant", "TensorVariable",
                              "as_tensor_variable", "constant", "inc_subtensor",
                              "set_subtensor", "nnet", "sum", "prod", "max", "min", "mean",
                              "var", "std", "all", "any", "grad"]
