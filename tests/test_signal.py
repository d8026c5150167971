"""l2kit.align: integer exactness, sub-sample accuracy, windows, channels, lengths, files and CLI."""

import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import l2kit as l2
from l2kit import InputError
from l2kit.io.errors import DataError
from l2kit.signal import read_signal


def brute_force_loss(x, y, lags):
    """Independent reference: sum_t (x_t - y_{t+k})^2 with zeros outside, by direct loops."""
    x = x.reshape(len(x), -1)
    y = y.reshape(len(y), -1)
    n, m = len(x), len(y)
    out = []
    for k in lags:
        total = 0.0
        for t in range(min(-k, 0), max(n, m - k)):
            xv = x[t] if 0 <= t < n else 0.0
            yv = y[t + k] if 0 <= t + k < m else 0.0
            total += float(np.sum((xv - yv) ** 2))
        out.append(total)
    return np.array(out)


def bandlimited(rng, n, cutoff):
    W = np.fft.rfft(rng.normal(size=n))
    W[np.fft.rfftfreq(n) > cutoff] = 0
    return np.fft.irfft(W, n)


def delay(s, d):
    """Exact band-limited (circular) delay by d samples."""
    n = len(s)
    return np.fft.irfft(np.fft.rfft(s) * np.exp(-2j * np.pi * np.fft.rfftfreq(n) * d), n)


# -- integer shifts --------------------------------------------------------
@pytest.mark.parametrize("k", [0, 1, 7, -13, 250])
def test_integer_shift_exact_cropped(rng, k):
    s = rng.normal(size=3000)
    x = s[500:2500]
    y = s[500 - k:2500 - k]  # y[t] = x[t - k]
    r = l2.align(x, y)
    assert r.shift == float(k)
    assert r.integer_shift == k
    assert r.refined_loss == 0.0


def test_integer_shift_exact_zero_padded(rng):
    x = rng.normal(size=1000)
    y = np.concatenate([np.zeros(37), x])
    r = l2.align(x, y)
    assert r.shift == 37.0
    assert r.loss[r.lags == 37][0] == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=25, deadline=None)
@given(k=st.integers(-40, 40), n=st.integers(100, 300), extra=st.integers(0, 50), seed=st.integers(0, 2**31))
def test_integer_shift_exact_property(k, n, extra, seed):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=n + extra + 200)
    x = s[100:100 + n]
    y = s[100 - k:100 - k + n + extra]  # different lengths; overlap >= 60 % of x
    assert l2.align(x, y).shift == float(k)


def test_loss_curve_matches_brute_force_and_scipy(rng):
    from scipy import signal

    x = rng.normal(size=40)
    y = rng.normal(size=55)
    r = l2.align(x, y)
    np.testing.assert_array_equal(r.lags, np.arange(-39, 55))
    np.testing.assert_allclose(r.loss, brute_force_loss(x, y, r.lags), rtol=1e-10, atol=1e-10)
    # scipy: correlate(y, x)[j] = sum_t y_{t+k} x_t at lag k = j - (len(x) - 1)
    np.testing.assert_allclose(r.correlation, signal.correlate(y, x, mode="full"), atol=1e-10)
    assert int(r.lags[np.argmin(r.loss)]) == r.integer_shift


def test_multichannel_common_shift(rng):
    s = rng.normal(size=(2000, 3)) * np.array([1.0, 10.0, 0.1])
    x, y = s[300:1800], s[289:1789]  # y lags x by 11
    r = l2.align(x, y)
    assert r.shift == 11.0
    ref = brute_force_loss(x[:50], y[:60], np.arange(-5, 6))
    sub = l2.align(x[:50], y[:60], max_shift=5)
    np.testing.assert_allclose(sub.loss, ref, rtol=1e-10)


def test_multichannel_equals_sum_of_channel_losses(rng):
    x = rng.normal(size=(300, 2))
    y = rng.normal(size=(310, 2))
    both = l2.align(x, y)
    a, b = l2.align(x[:, 0], y[:, 0]), l2.align(x[:, 1], y[:, 1])
    np.testing.assert_allclose(both.loss, a.loss + b.loss, rtol=1e-10)


def test_different_lengths_either_way(rng):
    s = rng.normal(size=5000)
    assert l2.align(s[1000:1500], s[990:3000]).shift == 10.0  # y much longer
    assert l2.align(s[1000:4000], s[1010:1400]).shift == -10.0  # y much shorter


# -- sub-sample accuracy ---------------------------------------------------
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("cutoff", [0.1, 0.4])
def test_fractional_delay_20db(seed, cutoff):
    rng = np.random.default_rng(seed)
    n, true = 8192, 123.37
    s = bandlimited(rng, n + 2000, cutoff)
    x, y = s[1000:1000 + n], delay(s, true)[1000:1000 + n]
    sigma = np.sqrt(np.mean(x ** 2)) / 10.0  # 20 dB SNR on both signals
    x = x + rng.normal(0, sigma, n)
    y = y + rng.normal(0, sigma, n)
    r = l2.align(x, y)
    assert abs(r.shift - true) < 0.05
    assert r.integer_shift == 123


def test_parabolic_interpolation_is_biased_but_align_is_not():
    # broadband signal, noiseless: parabolic peak interpolation misses by more than the 0.05 target
    rng = np.random.default_rng(3)
    n, true = 8192, 123.37
    s = bandlimited(rng, n + 2000, 0.45)
    x, y = s[1000:1000 + n], delay(s, true)[1000:1000 + n]
    r = l2.align(x, y)
    c = r.correlation
    i = int(np.argmax(c))
    parabolic = r.lags[i] + 0.5 * (c[i - 1] - c[i + 1]) / (c[i - 1] - 2 * c[i] + c[i + 1])
    assert abs(parabolic - true) > 0.05
    assert abs(r.shift - true) < 0.01


def test_fractional_negative_and_multichannel():
    rng = np.random.default_rng(11)
    n = 4096
    chans = np.stack([bandlimited(rng, n + 1000, 0.3) for _ in range(2)], axis=1)
    delayed = np.stack([delay(chans[:, j], -4.6) for j in range(2)], axis=1)
    r = l2.align(chans[500:500 + n], delayed[500:500 + n])
    assert abs(r.shift + 4.6) < 0.01


# -- window ----------------------------------------------------------------
def test_max_shift_window(rng):
    s = rng.normal(size=3000)
    x, y = s[1000:2000], s[960:1960]  # true shift 40
    wide = l2.align(x, y, max_shift=100)
    assert wide.shift == 40.0
    assert wide.lags[0] == -100 and wide.lags[-1] == 100
    narrow = l2.align(x, y, max_shift=12.5)
    assert narrow.lags[0] == -12 and narrow.lags[-1] == 12
    assert abs(narrow.shift) <= 12.5
    full = l2.align(x, y)
    sel = (full.lags >= -12) & (full.lags <= 12)
    np.testing.assert_allclose(narrow.loss, full.loss[sel])


def test_max_shift_zero(rng):
    x = rng.normal(size=200)
    r = l2.align(x, np.roll(x, 3), max_shift=0)
    assert r.shift == 0.0 and r.lags.tolist() == [0]


# -- validation ------------------------------------------------------------
@pytest.mark.parametrize("x, y, arg", [
    (np.ones((10, 2)), np.ones((10, 3)), "y"),
    (np.ones(10), np.ones((10, 1)), "y"),
    (np.r_[1.0, np.nan, 2.0], np.ones(3), "x"),
    (np.zeros(5), np.ones(5), "x"),
    (np.ones(5) + 1j, np.ones(5), "x"),
    (np.ones((2, 2, 2)), np.ones(5), "x"),
    (np.ones(1), np.ones(5), "x"),
])
def test_bad_input(x, y, arg):
    with pytest.raises(InputError) as exc:
        l2.align(x, y)
    assert exc.value.argument == arg
    assert "Fix:" in str(exc.value)


@pytest.mark.parametrize("ms", [-1, float("nan"), "10", True])
def test_bad_max_shift(ms):
    with pytest.raises(InputError, match="max_shift"):
        l2.align(np.arange(5.0), np.arange(5.0), max_shift=ms)


def test_result_is_immutable(rng):
    r = l2.align(rng.normal(size=50), rng.normal(size=50))
    with pytest.raises(ValueError):
        r.loss[0] = 1.0
    with pytest.raises(AttributeError):
        r.shift = 1.0
    assert r.seconds(10.0) == r.shift / 10.0
    with pytest.raises(InputError):
        r.seconds(0)


def test_torch_input():
    torch = pytest.importorskip("torch")
    s = torch.randn(500, dtype=torch.float64)
    assert l2.align(s[50:450], s[45:445]).shift == 5.0


# -- files -----------------------------------------------------------------
def test_read_signal_formats(tmp_path, rng):
    from scipy.io import wavfile

    s = rng.normal(size=(100, 2))
    np.save(tmp_path / "s.npy", s)
    np.testing.assert_array_equal(read_signal(str(tmp_path / "s.npy"))[0], s)
    (tmp_path / "h.csv").write_text("left,right\n" + "\n".join(f"{float(a)!r},{float(b)!r}" for a, b in s) + "\n")
    data, rate = read_signal(str(tmp_path / "h.csv"))
    np.testing.assert_array_equal(data, s)
    assert rate is None
    (tmp_path / "n.csv").write_text("\n".join(repr(float(v)) for v in s[:, 0]))
    np.testing.assert_array_equal(read_signal(str(tmp_path / "n.csv"))[0], s[:, 0])
    pcm = (s * 1000).astype(np.int16)
    wavfile.write(tmp_path / "s.wav", 22050, pcm)
    data, rate = read_signal(str(tmp_path / "s.wav"))
    assert rate == 22050.0 and data.shape == (100, 2)
    np.testing.assert_array_equal(data, pcm.astype(float))


@pytest.mark.parametrize("name, text, column, row", [
    ("bad.csv", "a,b\n1,2\n3,x\n", "b", 3),
    ("ragged.csv", "a,b\n1,2\n3\n", None, 3),
    ("nan.csv", "a\n1\nnan\n", "a", 3),
])
def test_read_signal_bad_csv(tmp_path, name, text, column, row):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(DataError) as exc:
        read_signal(str(p))
    assert exc.value.file == str(p) and exc.value.column == column and exc.value.row == row
    assert exc.value.fix


def test_read_signal_bad_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_signal(str(tmp_path / "missing.csv"))
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match="unknown file type"):
        read_signal(str(tmp_path / "x.json"))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        read_signal(str(tmp_path / "empty.csv"))
    (tmp_path / "junk.wav").write_bytes(b"not a wav")
    with pytest.raises(DataError, match="WAV"):
        read_signal(str(tmp_path / "junk.wav"))
    np.save(tmp_path / "nan.npy", np.array([1.0, np.nan, 3.0]))
    with pytest.raises(DataError) as exc:
        read_signal(str(tmp_path / "nan.npy"))
    assert exc.value.row == 1


# -- CLI -------------------------------------------------------------------
@pytest.fixture
def pair(tmp_path, rng):
    s = rng.normal(size=3000)
    a, b = tmp_path / "a.npy", tmp_path / "b.csv"
    np.save(a, s[500:2500])
    np.savetxt(b, s[480:2480], header="signal", comments="")  # b lags a by 20 samples
    return str(a), str(b)


def test_cli_align_text_and_json(pair, capsys):
    from l2kit.cli import main

    a, b = pair
    assert main(["align", a, b, "--rate", "1000"]) == 0
    out = capsys.readouterr().out
    assert "20.000000 samples" in out and "0.02 s" in out
    assert main(["align", a, b, "--json", "--max-shift", "50"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["shift_samples"] == 20.0 and data["shift_seconds"] is None
    assert data["lags_searched"] == [-50, 50]


def test_cli_align_wav_seconds(tmp_path, rng, capsys):
    from scipy.io import wavfile

    from l2kit.cli import main

    s = (rng.normal(size=3000) * 3000).astype(np.int16)
    wavfile.write(tmp_path / "a.wav", 8000, s[500:2500])
    wavfile.write(tmp_path / "b.wav", 8000, s[492:2492])
    assert main(["align", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["shift_samples"] == 8.0 and data["shift_seconds"] == pytest.approx(0.001)
    # a --rate contradicting the WAV header is refused
    assert main(["align", str(tmp_path / "a.wav"), str(tmp_path / "b.wav"), "--rate", "44100"]) == 2
    assert "WAV header" in capsys.readouterr().err


def test_cli_align_bad_input_exit_2(tmp_path, pair, capsys):
    from l2kit.cli import main

    a, _ = pair
    bad = tmp_path / "bad.csv"
    bad.write_text("signal\n1.0\n2.0\noops\n")
    assert main(["align", a, str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'signal'" in err and "row 4" in err and "Fix:" in err
    assert "Traceback" not in err
    two = tmp_path / "two.npy"
    np.save(two, np.ones((10, 2)))
    assert main(["align", a, str(two)]) == 2
    assert "channel" in capsys.readouterr().err
    assert main(["align", a, a, "--max-shift", "-3"]) == 2
    assert main(["align", a, a, "--rate", "0"]) == 2


def test_cli_subprocess(pair):
    import subprocess
    import sys

    a, b = pair
    out = subprocess.run([sys.executable, "-m", "l2kit.cli", "align", a, b], capture_output=True, text=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert out.returncode == 0 and "20.000000 samples" in out.stdout


@pytest.mark.parametrize("N", [64, 63])
def test_fractional_error_kernel_against_direct_interpolation(rng, N):
    """F(δ)/N differs from the directly computed band-limited L2 error by a constant; F', F'' match F."""
    from l2kit.signal import _FractionalError

    x, y = rng.normal(size=N), rng.normal(size=N)
    X, Y = np.fft.rfft(x), np.fft.rfft(y)
    f = _FractionalError(X, Y, N)
    w = 2 * np.pi * np.fft.rfftfreq(N)

    def direct(d):  # y advanced by d samples with band-limited (periodic sinc) interpolation
        return np.sum((x - np.fft.irfft(Y * np.exp(1j * w * d), N)) ** 2)

    base = direct(0.0) - f(0.0, derivatives=False) / N
    for d in (-0.9, -0.3, 0.25, 0.77):
        F, F1, F2 = f(d)
        assert F / N + base == pytest.approx(direct(d), rel=1e-10)
        h = 1e-5
        assert F1 == pytest.approx((f(d + h, False) - f(d - h, False)) / (2 * h), rel=1e-5, abs=1e-6)
        assert F2 == pytest.approx((f(d + h)[1] - f(d - h)[1]) / (2 * h), rel=1e-5, abs=1e-5)


def test_minimiser_fallback_paths(rng):
    """The bracketed fallback: Newton started at a bound, minima at the ends, and an empty bracket."""
    from l2kit.signal import _FractionalError, _minimise

    N = 256
    s = np.fft.irfft(np.where(np.fft.rfftfreq(N) < 0.2, np.fft.rfft(rng.normal(size=N)), 0), N)
    ys = np.fft.irfft(np.fft.rfft(s) * np.exp(-2j * np.pi * np.fft.rfftfreq(N) * 0.3), N)
    f = _FractionalError(np.fft.rfft(s), np.fft.rfft(ys), N)
    grid = np.linspace(-1, 1, 2001)
    best = grid[np.argmin([f(d, False) for d in grid])]
    for start in (-1.0, 0.0, 0.99):
        d, F = _minimise(f, -1.0, 1.0, start)
        assert d == pytest.approx(best, abs=1e-3) and F == pytest.approx(f(d, False), rel=1e-9)
    d, _ = _minimise(f, 0.5, 1.0, 0.9)  # true minimum outside: the nearest end
    assert d == 0.5
    d, _ = _minimise(f, -1.0, -0.5, -0.7)
    assert d == -0.5
    assert _minimise(f, 0.2, 0.2, 0.0)[0] == 0.2


@pytest.mark.parametrize("scale", [1e155, 1e200, 1e308])
def test_signals_whose_energy_overflows_are_refused_not_nan(scale):
    # near 1e308 the shift came back NaN (or a wrong lag) with no error
    t = np.arange(300.0)
    x = np.sin(t / 7.0)
    with pytest.raises(InputError, match="overflow") as exc:
        l2.align(x * scale, np.roll(x, 3) * scale)
    assert "the shift does not change" in exc.value.fix
    assert l2.align(x * 1e150, np.roll(x, 3) * 1e150).shift == pytest.approx(3.0, abs=1e-6)


def test_ragged_or_text_signals_are_refused_with_the_library_error():
    with pytest.raises(InputError, match="ragged"):
        l2.align([[1.0, 2.0], [3.0]], np.arange(5.0))
    with pytest.raises(InputError, match="numeric"):
        l2.align(np.array(["a", "b", "c"]), np.arange(5.0))


@pytest.mark.parametrize("data, match", [
    (b"a\n1\n2\n\xff3\n", "line 4 of the file holds bytes that are not UTF-8"),   # UnicodeDecodeError traceback
    (b"\x1f\x8b\x08\x00" + bytes(20), "gzip-compressed"),
])
def test_read_signal_names_unreadable_text(tmp_path, data, match):
    path = tmp_path / "s.csv"
    path.write_bytes(data)
    with pytest.raises(DataError, match=match):
        read_signal(str(path))
