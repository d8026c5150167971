"""The array namespace l2kit's loss kernels see inside Keras.

Under the torch and JAX backends Keras hands the loss native tensors, and the
array-API namespace of those tensors (array-api-compat) runs the kernels as
they run everywhere else. TensorFlow tensors have no array-API namespace, so
:class:`KerasOps` provides the few functions the kernels call on top of
``keras.ops`` (symbolic tensors inside ``tf.function`` included). A kernel that
needs a function not listed here fails with an error naming it.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import keras
from keras import ops

from .._array import array_namespace
from .._errors import InputError

_KINDS = {"real floating": ("float",), "complex floating": ("complex",),
          "integral": ("int", "uint"), "bool": ("bool",), "numeric": ("float", "int", "uint", "complex")}


class KerasOps:
    """A minimal array-API namespace over ``keras.ops`` (what the loss kernels call, nothing more)."""

    __name__ = "l2kit.keras.ops"
    float16, float32, float64, int8, int64, bool = "float16", "float32", "float64", "int8", "int64", "bool"
    bfloat16 = "bfloat16"
    complex64, complex128 = "complex64", "complex128"

    @staticmethod
    def isdtype(dtype: Any, kind: str) -> bool:
        name = keras.backend.standardize_dtype(dtype)
        return name.startswith(_KINDS[kind]) if kind in _KINDS else name == kind

    @staticmethod
    def astype(x, dtype):
        return ops.cast(x, dtype)

    @staticmethod
    def asarray(x, dtype=None, device=None):  # one device: Keras places the tensors
        return ops.convert_to_tensor(x, dtype=dtype)

    @staticmethod
    def full_like(x, value, dtype=None):
        return ops.full_like(x, value, dtype=dtype)

    @staticmethod
    def full(shape, value, dtype=None):
        return ops.full(shape, value, dtype=dtype)

    @staticmethod
    def clip(x, min=None, max=None):  # noqa: A002 - the array API's names
        if min is not None:
            x = ops.maximum(x, ops.cast(min, x.dtype))
        if max is not None:
            x = ops.minimum(x, ops.cast(max, x.dtype))
        return x

    @staticmethod
    def hypot(a, b):
        return ops.sqrt(a * a + b * b)

    @staticmethod
    def lgamma(x):
        # keras.ops has no lgamma; l2kit.losses._special.gammaln uses this one when present
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            return tf.math.lgamma(x)
        raise NotImplementedError(backend)  # pragma: no cover - torch and JAX use their own namespaces

    @staticmethod
    def finfo(dtype):
        import numpy as np

        return np.finfo(keras.backend.standardize_dtype(dtype))

    def __getattr__(self, name: str):
        raise InputError("the loss under Keras' TensorFlow backend", "array functions keras.ops provides",
                         f"a kernel that needs xp.{name}",
                         "use the torch or JAX Keras backend for this loss (KERAS_BACKEND=torch or jax)")


# direct counterparts in keras.ops (staticmethods: the namespace is an instance, like a module)
for _name in ("abs", "exp", "log", "log1p", "expm1", "sqrt", "tanh", "sinh", "cosh", "sign", "floor", "where",
              "maximum", "minimum", "isfinite", "isnan", "isinf", "real", "imag", "sum", "mean", "min",
              "max", "any", "all", "reshape", "zeros_like", "ones_like"):
    setattr(KerasOps, _name, staticmethod(getattr(ops, _name)))
KerasOps.matrix_transpose = staticmethod(lambda x: ops.swapaxes(x, -1, -2))
KerasOps.atan2 = staticmethod(ops.arctan2)
KerasOps.linalg = SimpleNamespace(solve=ops.solve)

KERAS_OPS = KerasOps()


def namespace(*tensors: Any):
    """The namespace the kernels run in: the tensors' own (torch, JAX, NumPy), or :data:`KERAS_OPS`."""
    if keras.backend.backend() == "tensorflow":
        return KERAS_OPS
    return array_namespace(*tensors)


def json_safe(value: Any) -> Any:
    """A loss parameter as JSON (arrays as nested lists), for ``get_config``."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError("loss parameter", "a finite number", repr(value), "pass finite loss parameters")
    return value
