r"""The one fused NumPy kernel behind every metric: :func:`fused`.

Everything the metrics need is a handful of per-output sums over the data.
:func:`fused` computes them in a single pass over memory, without O(n)
temporaries:

* ``what="sse"`` -- :math:`\sum_i (y_i - \hat y_i)^2` per output (the MSE fast
  path; unweighted);
* ``what="moments"`` -- the mergeable state of :class:`~l2kit.metrics.Accumulator`:
  per output the weight sum :math:`W`, the weighted means and centred second
  moments (co-moments) of the target and of the residual, both stored relative
  to a shift, and the weighted mean absolute residual.

The moments are computed block by block (a block is small enough to stay in
L1/L2 cache): within a block by the exact two-pass formula (the second pass
reads cache, not memory), and blocks are merged by Chan's pairwise update.
Values are shifted by a data value first (``y - K``), which is exact for data
with a large offset (Sterbenz), so :math:`R^2` keeps its digits for targets
like ``1e9 + noise`` where one-pass sum-of-squares formulas lose all of them.

The kernels are numba-compiled on first use by :func:`l2kit._jit.jit`
(``cache=True``, so later processes load them from disk); small inputs and machines without numba use
a NumPy implementation of the same algorithm with bounded temporaries.
Accumulation is always in float64 (float32 input is read as float32). Inputs
of at least :data:`SPLIT` elements are reduced as two halves on two threads
(the kernels release the GIL) and the halves merged exactly
(:func:`l2kit.metrics._state.merge_states`). Set the environment variable
``L2KIT_DISABLE_NUMBA=1`` to force the NumPy path.

Examples
--------
>>> import numpy as np
>>> y, p = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])
>>> fused(y, p, what="sse")
array([4.])
>>> st = fused(y, p, what="moments")
>>> float(st["W"][0]), float(st["ky"][0] + st["my"][0]), float(st["m2y"][0])
(3.0, 2.0, 2.0)
"""

from __future__ import annotations

import os

import numpy as np

from .._jit import jit
from ._state import KERNEL_KEYS, merge_states

__all__ = ["fused"]

#: inputs with fewer elements than this use NumPy (no numba import/compile, lower call overhead)
SMALL = 16384
#: rows per block: both arrays of a block stay in cache for the second pass
BLOCK = 2048
#: inputs with at least this many elements are split in two halves reduced on two threads
#: (the kernels release the GIL); a fixed split keeps results independent of the core count
SPLIT = 1 << 20

_POOL: tuple | None = None  # (pid, executor)


def _pool():
    global _POOL
    # a forked child inherits the executor but not its thread: make a fresh one there
    if _POOL is None or _POOL[0] != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        _POOL = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="l2kit-fused"))
    return _POOL[1]


def _halves(fn, n: int, block: int):
    """Run ``fn(lo, hi)`` on two row ranges concurrently; returns both results."""
    h = max(block, (n // 2) // block * block)
    fut = _pool().submit(fn, 0, h)
    second = fn(h, n)
    return fut.result(), second


def _sse(Y, P):  # pragma: no cover - compiled
    """Sums of squared residuals per output row of ``Y`` and ``P`` (k, N), in blocks of 4096."""
    k, n = Y.shape
    out = np.zeros(k)
    for s in range(0, n, 4096):
        for j in range(k):
            y = Y[j, s:s + 4096]
            p = P[j, s:s + 4096]
            acc = 0.0
            for i in range(y.shape[0]):
                d = np.float64(y[i]) - np.float64(p[i])
                acc += d * d
            out[j] += acc
    return out


def _moments(Y, P, Wt, wmode, Ws, Ky, Kr, B):  # pragma: no cover - compiled
    """The moments state (8, k), rows in ``KERNEL_KEYS`` order: blocks of ``B`` rows by the exact two-pass
    formula, merged by Chan's update (``wmode``: 0 unweighted, 1 one weight per row, 2 per element; the
    weights of row ``i`` of ``Wt`` are multiplied by ``Ws[i]``, a power of two)."""
    k, n = Y.shape
    out = np.zeros((8, k))
    for j in range(k):
        out[1, j] = Ky[j]
        out[4, j] = Kr[j]
    for s in range(0, n, B):
        for j in range(k):
            y = Y[j, s:s + B]
            p = P[j, s:s + B]
            m = y.shape[0]
            ky = Ky[j]
            kr = Kr[j]
            m4 = m - m % 4
            if wmode == 0:
                a0 = a1 = a2 = a3 = 0.0
                b0 = b1 = b2 = b3 = 0.0
                c0 = c1 = c2 = c3 = 0.0
                for i in range(0, m4, 4):
                    y0 = np.float64(y[i]); y1 = np.float64(y[i + 1])
                    y2 = np.float64(y[i + 2]); y3 = np.float64(y[i + 3])
                    r0 = y0 - np.float64(p[i]); r1 = y1 - np.float64(p[i + 1])
                    r2 = y2 - np.float64(p[i + 2]); r3 = y3 - np.float64(p[i + 3])
                    a0 += y0 - ky; a1 += y1 - ky; a2 += y2 - ky; a3 += y3 - ky
                    b0 += r0 - kr; b1 += r1 - kr; b2 += r2 - kr; b3 += r3 - kr
                    c0 += abs(r0); c1 += abs(r1); c2 += abs(r2); c3 += abs(r3)
                for i in range(m4, m):
                    y0 = np.float64(y[i])
                    r0 = y0 - np.float64(p[i])
                    a0 += y0 - ky; b0 += r0 - kr; c0 += abs(r0)
                bw = float(m)
                by = ((a0 + a1) + (a2 + a3)) / bw
                br = ((b0 + b1) + (b2 + b3)) / bw
                ba = ((c0 + c1) + (c2 + c3)) / bw
                a0 = a1 = a2 = a3 = 0.0
                b0 = b1 = b2 = b3 = 0.0
                for i in range(0, m4, 4):
                    y0 = np.float64(y[i]); y1 = np.float64(y[i + 1])
                    y2 = np.float64(y[i + 2]); y3 = np.float64(y[i + 3])
                    e0 = (y0 - ky) - by; e1 = (y1 - ky) - by
                    e2 = (y2 - ky) - by; e3 = (y3 - ky) - by
                    f0 = ((y0 - np.float64(p[i])) - kr) - br
                    f1 = ((y1 - np.float64(p[i + 1])) - kr) - br
                    f2 = ((y2 - np.float64(p[i + 2])) - kr) - br
                    f3 = ((y3 - np.float64(p[i + 3])) - kr) - br
                    a0 += e0 * e0; a1 += e1 * e1; a2 += e2 * e2; a3 += e3 * e3
                    b0 += f0 * f0; b1 += f1 * f1; b2 += f2 * f2; b3 += f3 * f3
                for i in range(m4, m):
                    y0 = np.float64(y[i])
                    e0 = (y0 - ky) - by
                    f0 = ((y0 - np.float64(p[i])) - kr) - br
                    a0 += e0 * e0; b0 += f0 * f0
                qy = (a0 + a1) + (a2 + a3)
                qr = (b0 + b1) + (b2 + b3)
            else:
                w = Wt[0, s:s + B] if wmode == 1 else Wt[j, s:s + B]
                ws = Ws[0] if wmode == 1 else Ws[j]
                a0 = a1 = 0.0
                b0 = b1 = 0.0
                c0 = c1 = 0.0
                d0 = d1 = 0.0
                m2 = m - m % 2
                for i in range(0, m2, 2):
                    w0 = np.float64(w[i]) * ws; w1 = np.float64(w[i + 1]) * ws
                    y0 = np.float64(y[i]); y1 = np.float64(y[i + 1])
                    r0 = y0 - np.float64(p[i]); r1 = y1 - np.float64(p[i + 1])
                    d0 += w0; d1 += w1
                    a0 += w0 * (y0 - ky); a1 += w1 * (y1 - ky)
                    b0 += w0 * (r0 - kr); b1 += w1 * (r1 - kr)
                    c0 += w0 * abs(r0); c1 += w1 * abs(r1)
                for i in range(m2, m):
                    w0 = np.float64(w[i]) * ws
                    y0 = np.float64(y[i])
                    r0 = y0 - np.float64(p[i])
                    d0 += w0; a0 += w0 * (y0 - ky); b0 += w0 * (r0 - kr); c0 += w0 * abs(r0)
                bw = d0 + d1
                if bw == 0.0:
                    continue  # an all-zero-weight block adds nothing
                by = (a0 + a1) / bw
                br = (b0 + b1) / bw
                ba = (c0 + c1) / bw
                a0 = a1 = 0.0
                b0 = b1 = 0.0
                for i in range(0, m2, 2):
                    w0 = np.float64(w[i]) * ws; w1 = np.float64(w[i + 1]) * ws
                    y0 = np.float64(y[i]); y1 = np.float64(y[i + 1])
                    e0 = (y0 - ky) - by; e1 = (y1 - ky) - by
                    f0 = ((y0 - np.float64(p[i])) - kr) - br
                    f1 = ((y1 - np.float64(p[i + 1])) - kr) - br
                    a0 += w0 * e0 * e0; a1 += w1 * e1 * e1
                    b0 += w0 * f0 * f0; b1 += w1 * f1 * f1
                for i in range(m2, m):
                    w0 = np.float64(w[i]) * ws
                    y0 = np.float64(y[i])
                    e0 = (y0 - ky) - by
                    f0 = ((y0 - np.float64(p[i])) - kr) - br
                    a0 += w0 * e0 * e0; b0 += w0 * f0 * f0
                qy = a0 + a1
                qr = b0 + b1
            # Chan et al. pairwise merge of the block into the running state
            W0 = out[0, j]
            Wn = W0 + bw
            if W0 == 0.0:
                out[2, j] = by
                out[3, j] = qy
                out[5, j] = br
                out[6, j] = qr
                out[7, j] = ba
            else:
                f = bw / Wn
                dy = by - out[2, j]
                dr = br - out[5, j]
                out[2, j] += dy * f
                out[3, j] += qy + dy * dy * W0 * f
                out[5, j] += dr * f
                out[6, j] += qr + dr * dr * W0 * f
                out[7, j] += (ba - out[7, j]) * f
            out[0, j] = Wn
    return out


_KERNELS: dict | None = None


def _numba_kernels():
    """The compiled kernels (numba's disk cache after the first process); ``{}`` without numba."""
    global _KERNELS
    if _KERNELS is None:
        # Only reassociation and FMA contraction: NaN/inf semantics stay (no nnan/ninf),
        # and a NaN anywhere still makes the sum NaN, which is how bad input is detected.
        sse = jit(_sse, fastmath={"reassoc", "contract"}, nogil=True)
        # No fastmath for the moments: reassociation could fold (y - K) - m into y - (K + m),
        # which would round away the digits the shift exists to keep. Four independent lanes
        # give the CPU the instruction-level parallelism instead.
        moments = jit(_moments, nogil=True)
        _KERNELS = {} if sse is None or moments is None else {"sse": sse, "moments": moments}
    return _KERNELS


def _moments_numpy(Y, P, Wt, wmode, Ws, Ky, Kr, B):
    """The same algorithm as the numba kernel, in NumPy, block by block (bounded temporaries)."""
    # non-finite input is detected from the result, like the compiled kernel: no warnings here
    with np.errstate(all="ignore"):
        return _moments_numpy_impl(Y, P, Wt, wmode, Ws, Ky, Kr, B)


def _moments_numpy_impl(Y, P, Wt, wmode, Ws, Ky, Kr, B):
    k, n = Y.shape
    out = np.zeros((8, k))
    out[1] = Ky
    out[4] = Kr
    ky = Ky[:, None]
    kr = Kr[:, None]
    for s in range(0, n, B):
        y = Y[:, s:s + B].astype(np.float64, copy=False)
        r = y - P[:, s:s + B]
        yc = y - ky
        rc = r - kr
        if wmode == 0:
            bw = np.full(k, float(y.shape[1]))
            by = yc.sum(axis=1) / bw
            br = rc.sum(axis=1) / bw
            ba = np.abs(r).sum(axis=1) / bw
            e = yc - by[:, None]
            qy = np.einsum("ij,ij->i", e, e)
            e = rc - br[:, None]
            qr = np.einsum("ij,ij->i", e, e)
        else:
            w = np.broadcast_to(Wt[:, s:s + B] * Ws[:, None], y.shape)
            bw = w.sum(axis=1)
            safe = np.where(bw == 0, 1.0, bw)
            by = np.einsum("ij,ij->i", w, yc) / safe
            br = np.einsum("ij,ij->i", w, rc) / safe
            ba = np.einsum("ij,ij->i", w, np.abs(r)) / safe
            e = yc - by[:, None]
            qy = np.einsum("ij,ij,ij->i", w, e, e)
            e = rc - br[:, None]
            qr = np.einsum("ij,ij,ij->i", w, e, e)
        W0 = out[0]
        Wn = W0 + bw
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(Wn == 0, 0.0, bw / np.where(Wn == 0, 1.0, Wn))
        first = W0 == 0
        dy = by - out[2]
        dr = br - out[5]
        m2y = out[3] + qy + dy * dy * W0 * f
        m2r = out[6] + qr + dr * dr * W0 * f
        out[2] = np.where(first, by, out[2] + dy * f)
        out[3] = np.where(first, qy, m2y)
        out[5] = np.where(first, br, out[5] + dr * f)
        out[6] = np.where(first, qr, m2r)
        out[7] = np.where(first, ba, out[7] + (ba - out[7]) * f)
        keep = bw == 0  # zero-weight block: leave the state untouched
        if keep.any():
            for i in (2, 3, 5, 6, 7):
                out[i] = np.where(keep, np.where(first, 0.0, out[i]), out[i])
        out[0] = Wn
    return out


def _as_kn(a: np.ndarray) -> np.ndarray:
    """View (N,) as (1, N) and (N, k) as its transpose (k, N): one row per output."""
    return a.reshape(1, -1) if a.ndim == 1 else a.T


def _exponent(a: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``floor(log2(a))`` exactly, where ``a`` is finite and positive; ``fallback`` elsewhere."""
    ok = np.isfinite(a) & (a > 0)
    _, e = np.frexp(np.where(ok, a, 1.0))
    return np.where(ok, e - 1, fallback)


def _weight_scaling(Wt: np.ndarray, k: int):
    """``(Wt, Ws, unit, heaviest)`` for the weights ``Wt`` (one row per weight column).

    ``heaviest`` is, per output, the row of the largest weight: the shift is taken there, so the row that
    dominates the weighted mean is centred exactly (with weights from 1e-300 to 1e300, a shift elsewhere
    left a rounding error of the mean that the largest weight multiplied by 1e300). ``Ws`` (per weight
    row) is the power of two the kernel multiplies the weights by and ``unit`` its inverse, per output:
    the largest weight goes to [1, 2) unless the smallest positive one would then fall below 2**-1000 (a
    range beyond float64's exponents: the range is then split evenly), so weights of 5e-324 no longer
    underflow in ``w * r**2`` and weights of 1e300 do not overflow. Multiplying by a power of two is exact.
    NaN/inf weights keep the scale 1: they make the state non-finite, which the callers detect.
    """
    rows = np.arange(Wt.shape[0])
    heaviest = np.argmax(Wt, axis=1)
    e_hi = _exponent(Wt[rows, heaviest].astype(np.float64), 0)
    wmin = np.min(Wt, axis=1)
    if not (wmin > 0).all():   # zero weights: the smallest positive one
        wmin = np.min(Wt, axis=1, initial=np.inf, where=Wt > 0)
    e = np.minimum(e_hi, _exponent(wmin.astype(np.float64), e_hi) + 1000)
    if (e < -1021).any():      # 2**-e would overflow: pre-scale the (tiny) weights exactly
        Wt = np.ldexp(Wt.astype(np.float64), 600)
        Ws = np.ldexp(1.0, -(e + 600))
    else:
        Ws = np.ldexp(1.0, -e)
    unit = np.ldexp(1.0, e)
    if Wt.shape[0] != k:       # one weight per row, k outputs
        unit, heaviest = np.repeat(unit, k), np.repeat(heaviest, k)
    return Wt, Ws, unit, heaviest


def fused(y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray | None = None, *,
          what: str = "moments", shift: tuple[np.ndarray, np.ndarray] | None = None):
    """Per-output sums for the metrics, in one pass over NumPy arrays.

    Parameters
    ----------
    y_true, y_pred : ndarray
        Same shape ``(N,)`` or ``(N, k)``, dtype float32 or float64 (validated by the caller).
    weights : ndarray, optional
        Shape ``(N,)`` (one per row) or the inputs' shape (one per element);
        ``(N, 1)`` is accepted for 2-D input. Only for ``what="moments"``.
    what : {"sse", "moments"}
        ``"sse"``: float64 array ``(k,)`` of sums of squared residuals.
        ``"moments"``: dict of float64 arrays ``(k,)`` keyed by :data:`~l2kit.metrics._state.STATE_KEYS`:
        ``W`` (weight sum), ``ky``/``kr`` (shifts), ``my``/``mr`` (weighted means of
        ``y - ky`` and ``r - kr``), ``m2y``/``m2r`` (weighted centred sums of
        squares), ``mabs`` (weighted mean of ``|r|``), ``u`` (the weight unit: ``W``, ``m2y`` and
        ``m2r`` are in units of ``u``; 1 when unweighted).
    shift : (ky, kr), optional
        Shifts to use (default: the target and residual of the first row, or with weights of the row
        with the largest weight, so rows of zero weight leave no rounding trace and weight 0 equals
        removal exactly, and the row that dominates the weighted mean is centred exactly).

    Returns
    -------
    ndarray or dict
    """
    Y = _as_kn(y_true)
    P = _as_kn(y_pred)
    k, n = Y.shape
    small = n * k < SMALL
    kern = None if small else _numba_kernels()
    if what == "sse":
        if kern:
            if n * k >= SPLIT:
                a, b = _halves(lambda lo, hi: kern["sse"](Y[:, lo:hi], P[:, lo:hi]), n, 4096)
                return a + b
            return kern["sse"](Y, P)
        out = np.zeros(k)
        buf = np.empty((k, min(n, 1 << 15)))
        with np.errstate(all="ignore"):
            for s in range(0, n, buf.shape[1]):
                d = buf[:, :min(buf.shape[1], n - s)]
                np.subtract(Y[:, s:s + d.shape[1]], P[:, s:s + d.shape[1]], out=d)
                out += np.einsum("ij,ij->i", d, d)
        return out
    if what != "moments":  # pragma: no cover - internal misuse
        raise ValueError(what)
    if weights is None:
        wmode, Wt, Ws, unit = 0, np.zeros((1, 1)), np.ones(1), np.ones(k)
        first = np.zeros(k, dtype=np.intp)
    else:
        Wt = _as_kn(weights) if weights.ndim == 1 or weights.shape[-1] != 1 else weights.reshape(1, -1)
        if Wt.shape[0] == 1 and k > 1:
            wmode = 1
        else:
            wmode = 2 if k > 1 else 1
        if Wt.dtype != np.float64 and Wt.dtype != np.float32:
            Wt = Wt.astype(np.float64)
        Wt, Ws, unit, first = _weight_scaling(Wt, k)
    if shift is None:
        cols = np.arange(k)
        ky = Y[cols, first].astype(np.float64)
        kr = ky - P[cols, first]
    else:
        ky, kr = (np.asarray(s, dtype=np.float64) for s in shift)
    # a non-finite shift would poison every value; the data itself is checked via the result
    if not (np.isfinite(ky).all() and np.isfinite(kr).all()):
        ky = np.where(np.isfinite(ky), ky, 0.0)
        kr = np.where(np.isfinite(kr), kr, 0.0)
    if kern:
        if n * k >= SPLIT:
            def part(lo, hi):
                w = Wt if wmode == 0 else Wt[:, lo:hi]
                out = kern["moments"](Y[:, lo:hi], P[:, lo:hi], w, wmode, Ws, ky, kr, BLOCK)
                return {**dict(zip(KERNEL_KEYS, out)), "u": unit}

            return merge_states(*_halves(part, n, BLOCK))
        out = kern["moments"](Y, P, Wt, wmode, Ws, ky, kr, BLOCK)
    else:
        out = _moments_numpy(Y, P, Wt, wmode, Ws, ky, kr, max(BLOCK, 1 << 14))
    return {**dict(zip(KERNEL_KEYS, out)), "u": unit}
