"""Vectorizable math: transcendental functions emitted inline as LLVM IR.

LLVM 20+ has no vector math library we can rely on (no SVML in llvmlite), and a
call to libm inside a loop stops the loop vectorizer. So, as XLA and MLIR's
math dialect do, each function is built here from branch-free IR (range
reduction, polynomials, selects for special values) that vectorizes.

Each family module exposes RULES = {scalar op name: emit(em, k, dtype, *args)},
with the signature of `tjit.codegen.scalar_ops.OPS`, which these override.
"""
import importlib

# Each family module and the ops it defines rules for (tests/test_vecmath_targets.py
# checks this against the modules' RULES).
FAMILIES = {
    "trig": ("arccos", "arcsin", "arctan", "arctan2", "cos", "sin", "tan"),
    "explog": ("cosh", "erf", "erfc", "exp", "exp2", "expm1", "log", "log10", "log1p",
               "log2", "pow", "sigmoid", "sinh", "softplus", "tanh"),
    "hyperbolic_inverse": ("arccosh", "arcsinh", "arctanh"),
    "erfinv64": ("erfcinv", "erfinv"),
    "bessel_i": ("i0", "i1"),
    "bessel_j": ("j0", "j1"),
    "gamma": ("gamma", "gammaln"),
    "digamma": ("psi",),
}
_FAMILY_OF = {name: family for family, names in FAMILIES.items() for name in names}


class _Rules(dict):
    """The rules, a family's module imported when one of its ops is first looked up:
    building exp and tanh (a cold W8) imports explog's ~1000 lines, not all ~5000."""

    def __missing__(self, name):
        module = importlib.import_module("." + _FAMILY_OF[name], __name__)
        self.update(module.RULES)
        return dict.__getitem__(self, name)


RULES = _Rules()
