"""theano.tensor.signal: pooling (`pool`)."""
from . import pool  # noqa: F401
