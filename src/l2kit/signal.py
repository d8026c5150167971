r"""Signal alignment: the shift that minimises the L2 error between two signals.

:func:`align` finds the delay between a reference ``x`` and a delayed copy
``y`` in two stages:

1. **Integer lag, O(n log n).** With samples outside each signal taken as
   zero, the L2 error at integer lag ``k`` is

   .. math::
       E(k) = \sum_t (x_t - y_{t+k})^2 = \|x\|^2 + \|y\|^2 - 2\,c(k),
       \qquad c(k) = \sum_t x_t\, y_{t+k},

   so minimising it means maximising the cross-correlation ``c``, computed
   for every lag at once with zero-padded real FFTs.

2. **Sub-sample refinement.** Around the integer optimum ``p`` the two
   signals share an overlap ``x_o``, ``y_o``. The band-limited
   (Fourier-domain) fractional-delay L2 error

   .. math::
       E_p(\delta) = \frac{1}{N}\sum_f \bigl|X_o(f) - Y_o(f)\,e^{+2\pi i f \delta}\bigr|^2

   is minimised over ``δ`` in ``[-1, 1]`` by a safeguarded Newton iteration
   with analytic derivatives (three or four spectrum passes). Parabolic
   interpolation of ``c`` around its peak is biased for broadband signals,
   so it only seeds the iteration. When ``y_o`` equals ``x_o`` exactly the
   error at ``δ = 0`` is exactly zero and the integer shift is returned
   unchanged: integer shifts are exact.

Everything is computed in float64.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._array import as_numpy
from ._errors import InputError

__all__ = ["Alignment", "align", "read_signal"]


@dataclass(frozen=True)
class Alignment:
    """Result of :func:`align`.

    Attributes
    ----------
    shift : float
        Delay of ``y`` relative to ``x`` in samples, positive when ``y`` lags
        ``x`` (``y[t] ≈ x[t - shift]``).
    integer_shift : int
        The integer lag with the smallest L2 error (before refinement).
    lags : ndarray of int
        The integer lags searched, ascending.
    loss : ndarray
        L2 error ``sum_t (x_t - y_{t+lag})^2`` at each lag (zero outside the
        signals).
    correlation : ndarray
        Cross-correlation ``sum_t x_t y_{t+lag}`` at each lag.
    refined_loss : float
        Band-limited L2 error over the overlap at the refined shift.
    overlap : int
        Number of samples the signals share at ``integer_shift``.
    coefficient : float
        Normalised correlation at ``integer_shift`` over the overlap, in
        [-1, 1] (1 means the overlapping parts are proportional).
    """

    shift: float
    integer_shift: int
    lags: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    correlation: np.ndarray = field(repr=False)
    refined_loss: float = 0.0
    overlap: int = 0
    coefficient: float = float("nan")

    def __post_init__(self):
        for name in ("lags", "loss", "correlation"):
            a = np.asarray(getattr(self, name)).view()  # a read-only view, no copy
            a.flags.writeable = False
            object.__setattr__(self, name, a)

    def seconds(self, rate: float) -> float:
        """The shift in seconds for a sample rate in Hz.

        Examples
        --------
        >>> Alignment(441.0, 441, [0], [0.0], [0.0]).seconds(44100.0)
        0.01
        """
        if not (isinstance(rate, (int, float, np.floating, np.integer)) and math.isfinite(rate) and rate > 0):
            raise InputError("rate", "a positive sample rate in Hz", repr(rate), "pass e.g. rate=44100")
        return float(self.shift) / float(rate)


# -- validation ------------------------------------------------------------
def _as_signal(a: Any, name: str) -> np.ndarray:
    arr = as_numpy(a, name)
    if arr.dtype.kind == "c":
        raise InputError(name, "a real signal", f"dtype {arr.dtype}",
                         "align the real part, or the magnitudes, of complex signals")
    if arr.dtype.kind not in "fiub":
        raise InputError(name, "a numeric array", f"dtype {arr.dtype}", "convert it with .astype(float)")
    if arr.ndim not in (1, 2):
        raise InputError(name, "a 1-D signal or a 2-D array (samples, channels)", f"shape {arr.shape}",
                         "reshape it to (n_samples,) or (n_samples, n_channels)")
    if arr.shape[0] < 2 or (arr.ndim == 2 and arr.shape[1] == 0):
        raise InputError(name, "at least 2 samples and 1 channel", f"shape {arr.shape}", "pass a longer signal")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    finite = np.isfinite(arr)
    if not finite.all():
        rows = np.flatnonzero(~finite.reshape(arr.shape[0], -1).all(axis=1))
        raise InputError(name, "finite samples", f"{int((~finite).sum())} NaN/inf value(s), first at sample "
                         f"{int(rows[0])}", "interpolate or remove the gaps before aligning")
    return arr


def _check_max_shift(max_shift: Any) -> int | None:
    if max_shift is None:
        return None
    ok = isinstance(max_shift, (int, float, np.integer, np.floating)) and not isinstance(max_shift, bool) \
        and math.isfinite(max_shift) and max_shift >= 0
    if not ok:
        raise InputError("max_shift", "None or a non-negative number of samples", repr(max_shift),
                         "pass e.g. max_shift=100")
    return int(math.floor(max_shift))


# -- kernels ---------------------------------------------------------------
def _rfft(a: np.ndarray, n: int) -> np.ndarray:
    from scipy import fft

    return fft.rfft(a, n, axis=0)


def _cross_spectrum(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """sum over channels of conj(X) * Y."""
    S = np.conj(X)
    S *= Y
    return S if S.ndim == 1 else S.sum(axis=1)


class _FractionalError:
    r"""``N * E_p(δ)`` up to a constant, with its first two derivatives in δ.

    For real signals padded to ``N`` samples, with ``C = conj(X) Y`` summed
    over channels, ``m_k`` the two-sided multiplicity of bin ``k`` and the
    Nyquist bin delayed by ``cos(π δ)`` (the real band-limited delay):

    .. math::
        F(\delta) = -2\,\mathrm{Re}\sum_{k<N/2} m_k C_k e^{i\omega_k\delta}
                    + a\cos^2(\pi\delta) - 2 b\cos(\pi\delta)
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, n: int):
        C = _cross_spectrum(X, Y)
        self.n = n
        K = n // 2 if n % 2 == 0 else (n + 1) // 2  # bins below Nyquist
        mC = C[:K] * 2.0
        mC[0] = C[0]
        self.mC = mC
        self.K = K
        self.w = (2 * np.pi / n) * np.arange(K, dtype=np.float64)
        self.w2 = self.w * self.w
        if n % 2 == 0:
            XN, YN = X[n // 2], Y[n // 2]
            self.a = float(np.sum(np.real(YN) ** 2))
            self.b = float(np.sum(np.real(XN) * np.real(YN)))
        else:
            self.a = self.b = 0.0
        self.block = int(math.ceil(math.sqrt(K)))

    def at_zero(self) -> float:
        """F(0) without the phase factors."""
        return -2.0 * float(self.mC.real.sum()) + self.a - 2.0 * self.b

    def _phase(self, d: float) -> np.ndarray:
        # e^{i w_k d} for k = q*B + r as an outer product of two short exponentials: one
        # complex multiply per bin instead of one complex exp per bin (accurate to a few ulp)
        B = self.block
        step = 2 * np.pi * d / self.n
        r = np.arange(B, dtype=np.float64)
        return np.multiply.outer(np.exp(1j * (step * B) * r), np.exp(1j * step * r)).ravel()[: self.K]

    def __call__(self, d: float, derivatives: bool = True):
        P = self.mC * self._phase(d)
        re, im = P.real, P.imag
        cp, sp = math.cos(math.pi * d), math.sin(math.pi * d)
        F = -2.0 * float(re.sum()) + self.a * cp * cp - 2.0 * self.b * cp
        if not derivatives:
            return F
        F1 = 2.0 * float(np.dot(self.w, im)) - self.a * math.pi * math.sin(2 * math.pi * d) \
            + 2.0 * self.b * math.pi * sp
        F2 = 2.0 * float(np.dot(self.w2, re)) - 2.0 * self.a * math.pi ** 2 * math.cos(2 * math.pi * d) \
            + 2.0 * self.b * math.pi ** 2 * cp
        return F, F1, F2


def _minimise(f: _FractionalError, lo: float, hi: float, start: float, tol: float = 1e-10) -> tuple[float, float]:
    """Minimise ``f`` on [lo, hi]; returns ``(x, F)`` with ``F >= f(x)`` (at most O(tol^2) above).

    Plain Newton from the parabolic seed first (quadratic convergence: three or
    four spectrum passes); if it leaves the bracket or meets negative
    curvature, a safeguarded Newton/bisection on f' over [lo, hi] takes over.
    """
    if hi - lo <= 0:
        return lo, f(lo, derivatives=False)
    x = min(max(start, lo), hi)
    for _ in range(8):
        F, g, h = f(x)
        if not h > 0:
            break
        x_new = x - g / h
        if not lo <= x_new <= hi:
            break
        if abs(x_new - x) <= tol:
            return x_new, F  # F(x_new) <= F(x) up to O(tol^2)
        x = x_new
    Flo, Glo, _ = f(lo)
    Fhi, Ghi, _ = f(hi)
    if Glo >= 0 and Ghi <= 0:  # concave on the bracket: take the better end
        return (lo, Flo) if Flo <= Fhi else (hi, Fhi)
    if Glo >= 0:
        return lo, Flo
    if Ghi <= 0:
        return hi, Fhi
    a, b = lo, hi  # f'(a) < 0 < f'(b): a minimum lies inside
    x = min(max(start, a), b)
    for _ in range(100):
        F, g, h = f(x)
        if g < 0:
            a = x
        else:
            b = x
        step = g / h if h > 0 else None
        if step is None or not (a < x - step < b):
            x_new = 0.5 * (a + b)
        else:
            x_new = x - step
        if abs(x_new - x) <= tol or b - a <= tol:
            break
        x = x_new
    # bisection halves [a, b] at least every other step, so 100 steps always reach tol
    return x_new, f(x_new, derivatives=False)


def _overlap(p: int, n: int, m: int) -> tuple[int, int]:
    """Indices [a, b) of x that meet y at integer lag p (x_t against y_{t+p})."""
    return max(0, -p), min(n, m - p)


def _refine(x: np.ndarray, y: np.ndarray, p: int, lo: float, hi: float, start: float):
    """Sub-sample shift around integer lag p; returns (delta, band-limited error, overlap)."""
    from scipy import fft

    n, m = x.shape[0], y.shape[0]
    a, b = _overlap(p, n, m)
    xo, yo = x[a:b], y[a + p:b + p]
    e0 = float(np.sum((xo - yo) ** 2))
    if e0 == 0.0 or b - a < 2 or hi <= lo:
        return 0.0, e0, b - a
    N = fft.next_fast_len(b - a, real=True)
    f = _FractionalError(_rfft(xo, N), _rfft(yo, N), N)
    F0 = f.at_zero()
    d, Fd = _minimise(f, lo, hi, start)
    gain = (F0 - Fd) / N  # decrease of the L2 error, in the same units as e0
    scale = float(np.sum(xo * xo) + np.sum(yo * yo))
    if not gain > 1e-12 * scale:  # no real improvement over the integer lag: keep it exactly
        return 0.0, e0, b - a
    return d, max(e0 - gain, 0.0), b - a


def align(x: Any, y: Any, *, max_shift: float | None = None) -> Alignment:
    r"""Shift of ``y`` against ``x`` that minimises the L2 error between them.

    Parameters
    ----------
    x : array of shape (n,) or (n, channels)
        Reference signal.
    y : array of shape (m,) or (m, channels)
        Delayed signal; lengths may differ, channel counts must match (one
        common shift for all channels).
    max_shift : float, optional
        Only consider ``|shift| <= max_shift`` samples.

    Returns
    -------
    Alignment
        ``shift`` in samples, positive when ``y`` lags ``x``
        (``y[t] ≈ x[t - shift]``), plus the L2 error curve ``loss`` and the
        ``correlation`` over the integer ``lags``.

    Notes
    -----
    The integer lag maximises the FFT cross-correlation (equivalently
    minimises :math:`\sum_t (x_t - y_{t+k})^2` with zeros outside the
    signals), in :math:`O(n \log n)`. The sub-sample refinement minimises the
    band-limited fractional-delay L2 error over the overlap,
    :math:`\sum_f |X(f) - Y(f) e^{2\pi i f\delta}|^2`, by safeguarded Newton
    steps with analytic derivatives. If the overlapping samples are equal,
    the integer lag is returned exactly.

    Zero padding treats the signals as silent outside their support. Signals
    that end abruptly at a large value (a DC offset, a step) make the error
    at neighbouring lags nearly equal; subtract the mean or taper the ends
    first. With very little overlap, a chance correlation over a long overlap
    can beat the true lag: bound the search with ``max_shift``.

    Examples
    --------
    >>> import numpy as np, l2kit as l2
    >>> rng = np.random.default_rng(0)
    >>> s = rng.normal(size=1100)
    >>> x, y = s[100:1100], s[93:1093]      # y[t] = x[t - 7]
    >>> l2.align(x, y).shift
    7.0
    >>> r = l2.align(x, y, max_shift=5)     # the true shift is outside the window
    >>> int(r.lags.min()), int(r.lags.max()), abs(r.shift) <= 5
    (-5, 5, True)
    """
    xa = _as_signal(x, "x")
    ya = _as_signal(y, "y")
    if xa.ndim != ya.ndim or (xa.ndim == 2 and xa.shape[1] != ya.shape[1]):
        raise InputError("y", f"{'1-D' if xa.ndim == 1 else f'{xa.shape[1]} channels'} like x",
                         f"shape {ya.shape}", "pass both signals with the same channels, as (n_samples, n_channels)")
    ms = _check_max_shift(max_shift)
    n, m = xa.shape[0], ya.shape[0]
    with np.errstate(over="ignore"):
        ex, ey = float(np.sum(xa * xa)), float(np.sum(ya * ya))
    if not math.isfinite(4.0 * (ex + ey)):   # the error curve reaches 2 (ex + ey); NaN shifts came from inf
        raise InputError("x, y", "signals whose energy (sum of squares) fits float64",
                         f"sums of squares {ex:.3g} and {ey:.3g} (overflow)",
                         "divide both signals by the same large number (e.g. their largest absolute value); "
                         "the shift does not change")
    if ex == 0.0 or ey == 0.0:
        raise InputError("x" if ex == 0.0 else "y", "a signal with some non-zero samples", "all zeros",
                         "an all-zero signal matches every shift equally; check the input")
    from scipy import fft

    L = fft.next_fast_len(n + m - 1, real=True)
    c_full = fft.irfft(_cross_spectrum(_rfft(xa, L), _rfft(ya, L)), L)
    lo_lag, hi_lag = -(n - 1), m - 1
    if ms is not None:
        lo_lag, hi_lag = max(lo_lag, -ms), min(hi_lag, ms)
    lags = np.arange(lo_lag, hi_lag + 1)
    # c(k) sits at index k mod L
    if lo_lag < 0:
        corr = np.concatenate([c_full[L + lo_lag:], c_full[:hi_lag + 1]]) if hi_lag >= 0 \
            else c_full[L + lo_lag:L + hi_lag + 1].copy()
    else:
        corr = c_full[lo_lag:hi_lag + 1].copy()
    del c_full
    loss = (ex + ey) - 2.0 * corr
    np.maximum(loss, 0.0, out=loss)  # a sum of squares; FFT rounding can dip below zero
    i = int(np.argmax(corr))
    p = int(lags[i])

    def bounds(q: int) -> tuple[float, float]:
        lo, hi = -1.0, 1.0
        if ms is not None:
            lo, hi = max(lo, -float(max_shift) - q), min(hi, float(max_shift) - q)
        # stay where the signals still overlap by at least two samples
        lo, hi = max(lo, float(-(n - 2) - q)), min(hi, float((m - 2) - q))
        return lo, hi

    # parabolic interpolation of the correlation peak seeds the refinement
    start = 0.0
    if 0 < i < len(corr) - 1:
        den = corr[i - 1] - 2 * corr[i] + corr[i + 1]
        if den < 0:
            start = float(np.clip(0.5 * (corr[i - 1] - corr[i + 1]) / den, -0.5, 0.5))
    d, err, ov = _refine(xa, ya, p, *bounds(p), start)
    if abs(d) > 0.5:  # the optimum sits nearer the neighbouring lag: refine around it once
        q = p + int(np.sign(d))
        if lo_lag <= q <= hi_lag:
            d2, err2, ov2 = _refine(xa, ya, q, *bounds(q), d - np.sign(d))
            if err2 <= err:
                p, d, err, ov = q, d2, err2, ov2
    a, b = _overlap(p, n, m)
    xo, yo = xa[a:b], ya[a + p:b + p]
    den = math.sqrt(float(np.sum(xo * xo)) * float(np.sum(yo * yo)))
    coef = float(np.sum(xo * yo)) / den if den > 0 else float("nan")
    return Alignment(shift=float(p) + float(d), integer_shift=p, lags=lags, loss=loss, correlation=corr,
                     refined_loss=float(err), overlap=int(ov), coefficient=coef)


# -- files -----------------------------------------------------------------
def read_signal(path: str) -> tuple[np.ndarray, float | None]:
    """Read a signal from a CSV, NPY or WAV file.

    Returns ``(samples, rate)`` where ``samples`` is float64 of shape
    ``(n,)`` or ``(n, channels)`` and ``rate`` is the WAV sample rate (None
    for CSV and NPY). Every column of a CSV file is a channel; a header row is
    detected when its cells are not numbers.

    Raises :class:`l2kit.io.errors.DataError` naming the file, column, row
    and the fix.
    """
    from .io.errors import DataError

    if not os.path.exists(path):
        raise DataError("no such file", file=path, fix="check the path")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        try:
            data = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise DataError(f"not a readable NumPy .npy file ({exc})", file=path,
                            fix="save the signal with numpy.save(path, array)") from None
        rate = None
    elif ext == ".wav":
        from scipy.io import wavfile

        try:
            rate, data = wavfile.read(path)
        except Exception as exc:
            raise DataError(f"not a readable WAV file ({exc})", file=path,
                            fix="export it as PCM or float WAV") from None
        rate = float(rate)
    elif ext in (".csv", ".txt", ".tsv"):
        return _read_csv(path), None
    else:
        raise DataError(f"unknown file type {ext or '(no extension)'!r}", file=path,
                        fix="pass a .csv, .npy or .wav file")
    if data.dtype.kind not in "fiub" or data.ndim not in (1, 2):
        raise DataError(f"expected a numeric 1-D or 2-D array, found dtype {data.dtype} and shape {data.shape}",
                        file=path, fix="store one column per channel, one row per sample")
    data = np.asarray(data, dtype=np.float64)
    bad = ~np.isfinite(data)
    if bad.any():
        row = int(np.flatnonzero(bad.reshape(data.shape[0], -1).any(axis=1))[0])
        col = None if data.ndim == 1 else str(int(np.flatnonzero(bad[row])[0]))
        raise DataError(f"{int(bad.sum())} non-finite sample(s)", file=path, column=col, row=row,
                        fix="interpolate or remove the gaps")
    if data.shape[0] < 2:
        raise DataError(f"only {data.shape[0]} sample(s)", file=path, fix="pass a signal with at least 2 samples")
    return data, rate


def _read_csv(path: str) -> np.ndarray:
    import csv

    from .io.errors import DataError

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            delim = "\t" if sample.count("\t") > sample.count(",") else ","
            rows = [r for r in csv.reader(fh, delimiter=delim)]
    except (UnicodeDecodeError, csv.Error):   # gzip or other binary bytes, text that is not UTF-8
        from .io.tables import text_error

        raise text_error(path) from None
    lines = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not lines:
        raise DataError("the file is empty", file=path, fix="pass a CSV with one numeric column per channel")

    def number(cell: str) -> float | None:
        try:
            return float(cell)
        except ValueError:
            return None

    first = lines[0][1]
    header = any(number(c) is None for c in first)
    names = [c.strip() or str(j) for j, c in enumerate(first)] if header else [str(j) for j in range(len(first))]
    body = lines[1:] if header else lines
    width = len(names)
    out = np.empty((len(body), width))
    for k, (lineno, r) in enumerate(body):
        if len(r) != width:
            raise DataError(f"{len(r)} cells where the {'header' if header else 'first row'} has {width}",
                            file=path, row=lineno, fix="give every row one value per channel")
        for j, cell in enumerate(r):
            v = number(cell)
            if v is None or not math.isfinite(v):
                raise DataError(f"cell {cell.strip()!r} is not a finite number", file=path, column=names[j],
                                row=lineno, fix="clean or interpolate that cell")
            out[k, j] = v
    if out.shape[0] < 2:
        raise DataError(f"only {out.shape[0]} data row(s)", file=path, fix="pass a signal with at least 2 samples")
    return out[:, 0] if width == 1 else out
