"""``import l2kit`` stays light: optional heavy libraries load only on use."""

import subprocess
import sys

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
