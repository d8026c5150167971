"""``import l2kit`` stays light: optional heavy libraries load only on use."""

import importlib
import subprocess
import sys

import pytest

HEAVY = ["torch", "jax", "dask", "pyarrow", "matplotlib", "sklearn", "statsmodels", "numba", "pandas", "scipy"]


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout
    return {m for m in out.split() if m.split(".")[0] in HEAVY}


def test_import_l2kit_loads_no_heavy_library():
    assert _loaded_after("import l2kit") == set()


def test_public_names_resolve():
    import l2kit

    for name in ("Squared", "get_loss", "fit", "Fit", "InputError"):
        assert getattr(l2kit, name) is not None
    assert _loaded_after("import l2kit; l2kit.__all__; dir(l2kit); l2kit.InputError") == set()


# every public name of the old hand-written map: none may disappear
OLD_NAMES = ["InputError", "Loss", "ResidualLoss", "get_loss", "available_losses", "Squared", "Absolute", "Huber",
             "PseudoHuber", "SmoothL1", "LogCosh", "Cauchy", "Tukey", "Quantile", "Mahalanobis", "whiten",
             "GaussianNLL", "PoissonNLL", "NegativeBinomialNLL", "ZINB", "Focal", "HeatmapFocal", "HeatmapMSE",
             "Geodesic", "mse", "rmse", "mae", "r2", "explained_variance", "fit", "Fit", "diagnose", "Diagnosis",
             "align", "Alignment", "LinearAutoencoder", "bias_variance"]


def test_old_public_names_and_submodules_resolve():
    import l2kit

    for name in OLD_NAMES:
        assert getattr(l2kit, name) is not None, name
    assert l2kit.InputError is importlib.import_module("l2kit._errors").InputError
    assert l2kit.diagnose is importlib.import_module("l2kit.diagnosis").diagnose
    from l2kit import sphere

    assert sphere is l2kit.sphere is importlib.import_module("l2kit.geometry.sphere")
    for sub in ("losses", "metrics", "linear", "diagnosis", "datasets", "signal", "geometry", "io", "workflows"):
        assert getattr(l2kit, sub) is importlib.import_module(f"l2kit.{sub}")
    assert set(OLD_NAMES) | {"losses", "sphere", "sklearn", "torch"} <= set(dir(l2kit))


def test_lazy_exports_are_exactly_the_modules_all():
    """The statically read map equals the modules' real ``__all__``: every name resolves, none is ambiguous."""
    import l2kit

    exports = l2kit._export_map()
    by_module: dict[str, set] = {}
    for name, modules in exports.items():
        for module in modules:
            by_module.setdefault(module, set()).add(name)
    assert {"l2kit._errors", "l2kit.losses", "l2kit.metrics", "l2kit.linear", "l2kit.diagnosis"} <= set(by_module)
    for module, names in by_module.items():
        mod = importlib.import_module(module)
        assert names == set(mod.__all__), module
        for name in names:
            assert getattr(l2kit, name) is getattr(mod, name), name
    assert not set(exports) & set(l2kit._SUBMODULES)
    assert len(l2kit.__all__) == len(set(l2kit.__all__))


def test_a_reexport_resolves_and_a_real_clash_is_refused(monkeypatch):
    import types

    import l2kit

    a, b = types.ModuleType("l2kit._fake_a"), types.ModuleType("l2kit._fake_b")
    a.same = b.same = object()   # one object exported twice (a re-export): fine
    a.clash, b.clash = object(), object()
    monkeypatch.setitem(sys.modules, a.__name__, a)
    monkeypatch.setitem(sys.modules, b.__name__, b)
    monkeypatch.setattr(l2kit, "_exports", {"same": (a.__name__, b.__name__), "clash": (a.__name__, b.__name__)})
    assert l2kit._resolve("same") is a.same
    with pytest.raises(RuntimeError, match="ambiguous"):
        l2kit._resolve("clash")


def test_an_export_shadowing_a_submodule_is_refused(monkeypatch):
    import l2kit

    monkeypatch.setattr(l2kit, "_exports", None)
    monkeypatch.setattr(l2kit, "_SUBMODULES", (*l2kit._SUBMODULES, "mse"))
    with pytest.raises(RuntimeError, match="also the submodule l2kit.mse"):
        l2kit._export_map()


@pytest.mark.parametrize("source", [
    '__all__ = ["a"]\n__all__ += ["b"]\n',
    '__all__ = ["a"]\n__all__.extend(["b"])\n',
    '__all__ = sorted(["b", "a"])\n',
    'names = ["a"]\n',
    'if True:\n    __all__ = ["a"]\n',
    '__all__ = ["a", 1]\n',
])
def test_non_literal_all_fails_loudly(tmp_path, source):
    import l2kit

    path = tmp_path / "mod.py"
    path.write_text(source)
    with pytest.raises(RuntimeError, match="literal list of strings"):
        l2kit._literal_all(str(path))


def test_literal_all_is_read_without_importing(tmp_path):
    import l2kit

    path = tmp_path / "mod.py"
    path.write_text('"""Doc."""\nimport not_a_module\n\n__all__ = ["b", "a"]\n\n\ndef f():\n    return __all__\n')
    assert l2kit._literal_all(str(path)) == ["b", "a"]
