"""T.nnet: neural-network elementwise functions (more come with the nnet ops)."""
from .basic import maximum, sigmoid, softplus, switch, mul  # noqa: F401


def relu(x, alpha=0):
    """max(x, 0), or x * alpha for x < 0 when alpha is given (leaky relu)."""
    if alpha == 0:
        return maximum(x, 0)
    return switch(x > 0, x, mul(alpha, x))
