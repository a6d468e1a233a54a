"""Vectorizable math: transcendental functions emitted inline as LLVM IR.

LLVM 20+ has no vector math library we can rely on (no SVML in llvmlite), and a
call to libm inside a loop stops the loop vectorizer. So, as XLA and MLIR's
math dialect do, each function is built here from branch-free IR (range
reduction, polynomials, selects for special values) that vectorizes.

Each family module exposes RULES = {scalar op name: emit(em, k, dtype, *args)},
with the signature of `tjit.codegen.scalar_ops.OPS`, which these override.
"""
RULES = {}
from .trig import RULES as _TRIG; RULES.update(_TRIG)  # noqa: E402,E702
from .explog import RULES as _EXPLOG; RULES.update(_EXPLOG)  # noqa: E402,E702
from .hyperbolic_inverse import RULES as _HYP_INV; RULES.update(_HYP_INV)  # noqa: E402,E702
from .erfinv64 import RULES as _ERFINV; RULES.update(_ERFINV)  # noqa: E402,E702
from .bessel_i import RULES as _BESSEL_I; RULES.update(_BESSEL_I)  # noqa: E402,E702
from .gamma import RULES as _GAMMA; RULES.update(_GAMMA)  # noqa: E402,E702
from .digamma import RULES as _DIGAMMA; RULES.update(_DIGAMMA)  # noqa: E402,E702
from .bessel_j import RULES as _BESSEL_J; RULES.update(_BESSEL_J)  # noqa: E402,E702
