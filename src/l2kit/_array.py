"""Array namespace resolution, dtype promotion and the one input validator.

Every public function resolves its array namespace ``xp`` and validates its
inputs here, once, at the public boundary. Kernels below the boundary trust
their inputs.

Rules (documented in DESIGN.md):

* Shapes must match exactly. ``(N,)`` against ``(N, 1)`` is refused, never
  broadcast.
* Integer and boolean inputs are promoted to the default float dtype of the
  namespace (float64 for NumPy and PyTorch); float32 stays float32; float16 is
  computed in float32 and the result is cast back to float16.
* Arrays of different libraries in one call are refused.
* Empty input is refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._errors import InputError

__all__ = [
    "Validated",
    "array_namespace",
    "compute_dtype",
    "is_numpy",
    "is_traced",
    "from_frame",
    "to_numpy",
    "as_numpy",
    "validate_pair",
    "validate_weights",
    "nonfinite_error",
    "overflow_error",
    "check_finite_result",
]




def is_traced(x: Any) -> bool:
    """True for a value whose numbers cannot be read without tracing or a host sync.

    That is an abstract value under a JAX transformation (``jit``, ``grad``, ``vmap``), a torch
    tensor while ``torch.compile`` traces (``torch.compiler.is_compiling()``), or a torch tensor
    wrapped by a ``torch.func`` transform (``vmap``, ``grad``). Value checks (non-negative weights,
    domains, finiteness) are skipped for it; shapes and dtypes are still validated, and NaN then
    propagates to the result.
    """
    if type(x).__module__.split(".")[0] == "torch":
        return _torch_traced(x)
    return any(c.__name__ == "Tracer" for c in type(x).__mro__)


def _torch_traced(x: Any) -> bool:
    import torch

    if torch.compiler.is_compiling():  # checked first: dynamo folds it to a constant, no graph break
        return True
    return bool(torch._C._functorch.is_functorch_wrapped_tensor(x))  # noqa: SLF001 - vmap/grad wrappers


def from_frame(x: Any) -> Any:
    """A table column as an array: a pandas or polars Series/DataFrame as NumPy, a Dask Series/DataFrame
    as a Dask array (row chunks of known length, so shapes are checked); anything else unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> from_frame(pd.Series([1.0, 2.0]))
    array([1., 2.])
    """
    mod = type(x).__module__.split(".")[0]
    if mod in ("pandas", "polars") and hasattr(x, "to_numpy"):
        return x.to_numpy()
    if mod == "dask" and hasattr(x, "to_dask_array"):
        return x.to_dask_array(lengths=True)
    return x


def is_numpy(x: Any) -> bool:
    """True for a NumPy ndarray (the fast path), False otherwise."""
    return type(x) is np.ndarray


def _is_array(x: Any) -> bool:
    return hasattr(x, "__array_namespace__") or hasattr(x, "shape") and hasattr(x, "dtype")


def _library(x: Any) -> str:
    mod = type(x).__module__.split(".")[0]
    return {"jaxlib": "jax", "array_api_strict": "array_api_strict"}.get(mod, mod)


def numpy_namespace():
    """The array-API namespace of NumPy arrays, for code that only ever handles NumPy arrays.

    NumPy itself from 2.0 on (it implements the standard's functions that l2kit
    uses), else ``array_api_compat.numpy``. Importing that wrapper clones every
    NumPy attribute, which loads ``numpy.f2py`` and ``numpy.testing``: about
    70 ms that a streamed ``l2kit score`` would otherwise spend before its
    first batch.

    Examples
    --------
    >>> import numpy as np
    >>> xp = numpy_namespace()
    >>> float(xp.sum(xp.astype(xp.asarray([1, 2]), xp.float64)))
    3.0
    """
    if hasattr(np, "isdtype"):   # NumPy >= 2.0
        return np
    import array_api_compat.numpy as xnp  # pragma: no cover - NumPy 1.x

    return xnp   # pragma: no cover


def array_namespace(*arrays: Any):
    """Return the array-API namespace shared by ``arrays``.

    ``None``, Python scalars, lists and tuples are ignored (they are converted
    into the namespace of the others). Arrays from two different libraries are
    refused.

    Examples
    --------
    >>> import numpy as np
    >>> array_namespace(np.ones(2), [1.0, 2.0]).__name__
    'array_api_compat.numpy'
    """
    import array_api_compat

    real = [a for a in arrays if a is not None and _is_array(a)]
    if not real:
        return array_api_compat.array_namespace(np.empty(0))
    libs = {_library(a) for a in real}
    if len(libs) > 1:
        raise InputError(
            "arrays",
            "arrays from one array library",
            "a mix of " + " and ".join(sorted(libs)),
            "convert all inputs to one library first, e.g. torch.as_tensor(x) or np.asarray(x)",
        )
    if libs == {"torch"}:
        # direct: one module lookup (per-call overhead, and torch.compile traces no lru_cache)
        if len({a.device for a in real}) > 1:
            raise InputError("arrays", "arrays from one array library and device", "tensors on devices "
                             + ", ".join(sorted({str(a.device) for a in real})),
                             "move them to one device first, e.g. t.to(device)")
        import array_api_compat.torch as xp_torch

        return xp_torch
    try:
        return array_api_compat.array_namespace(*real)
    except TypeError as exc:  # e.g. torch tensors on two devices
        raise InputError(
            "arrays", "arrays from one array library and device", "incompatible arrays", str(exc)
        ) from None


def to_numpy(x: Any) -> np.ndarray:
    """Convert any supported array (NumPy, torch, JAX, CuPy, array-api-strict) to NumPy."""
    if isinstance(x, np.ndarray):
        return x
    mod = type(x).__module__.split(".")[0]
    if mod == "torch":
        return x.detach().cpu().numpy()
    if mod == "cupy":
        return x.get()
    if mod == "dask":
        return np.asarray(x.compute())
    if mod == "array_api_strict":
        import array_api_strict as xps

        return np.asarray(xps.asarray(x, copy=True)._array)  # noqa: SLF001 - documented escape hatch
    return np.asarray(x)


def _default_float(xp):
    try:
        return xp.__array_namespace_info__().default_dtypes()["real floating"]
    except Exception:  # pragma: no cover - namespaces without the inspection API
        return xp.float64


def _kind(xp, dtype) -> str:
    if xp.isdtype(dtype, "complex floating"):
        return "complex"
    if xp.isdtype(dtype, "real floating"):
        return "real"
    if xp.isdtype(dtype, "bool") or xp.isdtype(dtype, "integral"):
        return "integer"
    return "other"


def compute_dtype(xp, *arrays, allow_complex: bool = True, argnames: tuple[str, ...] = ()):
    """Return ``(compute, result)`` dtypes for ``arrays``.

    Integers and booleans promote to the namespace's default float; float16
    computes in float32 and returns float16; complex stays complex when allowed.
    """
    f16 = getattr(xp, "float16", None)
    bf16 = getattr(xp, "bfloat16", None)
    kinds = []
    for i, a in enumerate(arrays):
        k = _kind(xp, a.dtype)
        if k == "other" or (k == "complex" and not allow_complex):
            name = argnames[i] if i < len(argnames) else "input"
            raise InputError(
                name,
                "a real floating, integer or boolean array" if not allow_complex
                else "a numeric array",
                f"dtype {a.dtype}",
                "convert it with .astype(float)" if k == "other"
                else "this loss is defined for real data only; pass the real part or use Squared()",
            )
        kinds.append(k)
    floats = [a.dtype for a, k in zip(arrays, kinds) if k in ("real", "complex")]
    if not floats:
        dt = _default_float(xp)
        return dt, dt
    result = floats[0]
    for d in floats[1:]:
        result = xp.result_type(result, d)
    compute = result
    if (f16 is not None and result == f16) or (bf16 is not None and result == bf16):
        compute = xp.float32
    return compute, result


@dataclass(frozen=True)
class Validated:
    """Validated inputs: arrays already in the compute dtype of namespace ``xp``."""

    xp: Any
    y_true: Any
    y_pred: Any
    weights: Any
    result_dtype: Any


def _shape_fix(n_true: tuple, n_pred: tuple, name_true: str, name_pred: str) -> str:
    if len(n_true) == 1 and len(n_pred) == 2 and n_pred[1] == 1 and n_pred[0] == n_true[0]:
        return f"they would broadcast to ({n_true[0]}, {n_true[0]}); pass {name_pred}.reshape(-1) or {name_pred}[:, 0]"
    if len(n_pred) == 1 and len(n_true) == 2 and n_true[1] == 1 and n_true[0] == n_pred[0]:
        return f"they would broadcast to ({n_pred[0]}, {n_pred[0]}); pass {name_true}.reshape(-1) or {name_true}[:, 0]"
    return f"pass {name_true} and {name_pred} with the same shape (l2kit never broadcasts them)"


def _unconvertible(name: str, x: Any) -> InputError:
    """The error for a sequence no array library can take: ragged rows, or things that are not numbers."""
    ragged = isinstance(x, (list, tuple)) and len({len(r) if isinstance(r, (list, tuple)) else -1 for r in x}) > 1
    got = f"a ragged {type(x).__name__} (rows of different lengths)" if ragged else type(x).__name__
    return InputError(name, "an array or a rectangular sequence of numbers", got,
                      "pass rows of equal length" if ragged else "pass numbers")


def _as_array(xp, x, name):
    if x is None:
        return None
    if _is_array(x):
        return x
    try:
        return xp.asarray(x)
    except Exception:
        raise _unconvertible(name, x) from None


def as_numpy(x: Any, name: str) -> np.ndarray:
    """``x`` as a NumPy array (any supported array library, or a sequence), never NumPy's raw ValueError.

    Examples
    --------
    >>> as_numpy([[1.0, 2.0], [3.0]], "X")
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: X: expected an array or a rectangular sequence of numbers, got a ragged list ...
    """
    if _is_array(x):
        return to_numpy(x)
    try:
        return np.asarray(x)
    except (ValueError, TypeError):
        raise _unconvertible(name, x) from None


def validate_weights(xp, weights, shape: tuple, dtype, *, name: str = "weights"):
    """Validate case ``weights`` against an elementwise-loss ``shape``.

    Weights must have the loss's shape, or shape ``(N,)`` for its leading axis
    (one weight per sample, expanded along the other axes explicitly). They
    must be non-negative with a positive sum.
    """
    w = _as_array(xp, weights, name)
    if _kind(xp, w.dtype) not in ("real", "integer"):
        raise InputError(name, "real, non-negative numbers", f"dtype {w.dtype}", "pass real weights")
    w = xp.astype(w, dtype) if w.dtype != dtype else w
    wshape = tuple(w.shape)
    if wshape != tuple(shape):
        if len(shape) >= 2 and wshape == (shape[0],):
            w = xp.reshape(w, (shape[0],) + (1,) * (len(shape) - 1))
        else:
            raise InputError(
                name,
                f"shape {tuple(shape)}" + (f" or ({shape[0]},)" if len(shape) >= 2 else ""),
                f"shape {wshape}",
                "pass one weight per element, or one per sample along the first axis",
            )
    wmin = 0.0 if is_traced(w) else float(xp.min(w))
    if math.isnan(wmin) or wmin < 0:
        raise InputError(
            name,
            "non-negative weights",
            "NaN weights" if math.isnan(wmin) else f"a minimum weight of {wmin:g}",
            "weights are case weights; drop those rows or clip the weights at zero",
        )
    return w


def validate_pair(
    y_true: Any,
    y_pred: Any,
    *,
    weights: Any = None,
    allow_complex: bool = True,
    names: tuple[str, str] = ("y_true", "y_pred"),
    weight_shape: tuple | None = None,
    xp: Any = None,
) -> Validated:
    """Validate a pair of same-shape arrays and optional weights.

    Parameters
    ----------
    y_true, y_pred : array_like
        Arrays of one library with exactly equal, non-empty shapes.
    weights : array_like, optional
        Case weights; see :func:`validate_weights`.
    allow_complex : bool
        Whether complex input is accepted.
    names : tuple of str
        Argument names used in error messages.
    weight_shape : tuple, optional
        Shape the weights refer to (the elementwise-loss shape) when it differs
        from the inputs' shape, e.g. ``shape[:-1]`` for losses over the last axis.
    xp : namespace, optional
        The inputs' namespace when the caller knows it (e.g.
        :func:`numpy_namespace` for NumPy arrays); default: found from them.

    Returns
    -------
    Validated

    Examples
    --------
    >>> import numpy as np
    >>> v = validate_pair(np.arange(3), np.zeros(3))
    >>> v.y_true.dtype, v.y_pred.dtype
    (dtype('float64'), dtype('float64'))
    >>> validate_pair(np.zeros(3), np.zeros((3, 1)))
    Traceback (most recent call last):
    ...
    l2kit._errors.InputError: y_pred: expected shape (3,) like y_true, got shape (3, 1). Fix: they would broadcast ...
    """
    y_true, y_pred, weights = from_frame(y_true), from_frame(y_pred), from_frame(weights)
    xp = array_namespace(y_true, y_pred, weights) if xp is None else xp
    yt = _as_array(xp, y_true, names[0])
    yp = _as_array(xp, y_pred, names[1])
    st, sp = tuple(yt.shape), tuple(yp.shape)
    if st != sp:
        if len(st) == len(sp) == 1 or (len(st) >= 1 and len(sp) >= 1 and st[0] != sp[0] and st[1:] == sp[1:]):
            raise InputError(
                names[1], f"length {st[0]} like {names[0]}", f"length {sp[0] if sp else 0}",
                "pass predictions for exactly the rows of the target (no rows are dropped or repeated)",
            )
        raise InputError(names[1], f"shape {st} like {names[0]}", f"shape {sp}", _shape_fix(st, sp, *names))
    if math.prod(st) == 0:
        raise InputError(names[0], "at least one element", f"an empty array of shape {st}", "pass non-empty data")
    compute, result = compute_dtype(xp, yt, yp, allow_complex=allow_complex, argnames=names)
    if yt.dtype != compute:
        yt = xp.astype(yt, compute)
    if yp.dtype != compute:
        yp = xp.astype(yp, compute)
    w = None
    if weights is not None:
        real = compute
        if _kind(xp, compute) == "complex":
            real = xp.float32 if compute == xp.complex64 else xp.float64
        w = validate_weights(xp, weights, st if weight_shape is None else weight_shape, real)
    return Validated(xp, yt, yp, w, result)


def nonfinite_error(xp, arrays: dict[str, Any]) -> InputError:
    """Build the error for non-finite input, naming which argument holds how many.

    Called only after a result came out non-finite, so clean data pays no
    extra pass.
    """
    parts = []
    for name, a in arrays.items():
        if a is None:
            continue
        bad = ~xp.isfinite(a)
        count = int(xp.sum(xp.astype(bad, xp.int64)))
        if count:
            flat = xp.reshape(bad, (-1,))
            first = int(xp.argmax(xp.astype(flat, xp.int8)))
            plural = "s" if count > 1 else ""
            parts.append(f"{name} holds {count} non-finite value{plural} (first at flat index {first})")
    if not parts:
        return overflow_error(", ".join(arrays))
    return InputError(
        ", ".join(arrays), "finite values", "; ".join(parts),
        "clean the data, or pass nonfinite='omit' to drop non-finite pairs (the count is reported)",
    )


def overflow_error(names: str, dtype: str = "float64", metric: str | None = None) -> InputError:
    """The error for finite input whose result overflows ``dtype`` (squares of values near 1e200, or a
    ``metric`` of float16 input above 65504).

    Examples
    --------
    >>> overflow_error("y_true, y_pred").fix
    'rescale the data (e.g. divide by its largest absolute value)'
    >>> overflow_error("y_true, y_pred", dtype="float16", metric="mse").expected
    'a value of mse that fits float16'
    """
    fix = "rescale the data (e.g. divide by its largest absolute value)"
    if dtype != "float64":
        fix = f"pass float32 or float64 data (the result does not fit {dtype}), or {fix}"
    expected = f"a value of {metric} that fits {dtype}" if metric else f"values whose squared errors fit {dtype}"
    return InputError(names, expected, "a non-finite result from finite input (overflow)", fix)


def check_finite_result(xp, value, arrays: dict[str, Any]):
    """Raise :func:`nonfinite_error` if scalar/array ``value`` is not all finite."""
    if not bool(xp.all(xp.isfinite(value))):
        raise nonfinite_error(xp, arrays)
    return value
