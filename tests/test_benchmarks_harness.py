"""BENCHMARKS.md keeps one block per module; ``--update`` reruns some modules and keeps the others."""

import benchmarks.__main__ as bench


def _result(module, measured, ok=True):
    return {"module": module, "quick": False, "date": "2026-12-06", "load": 0.5, "machine": "test",
            "sections": [[f"{module} section", f"body of {module}\n"]],
            "checks": [[f"{module} target", "<= 1x", measured, ok]]}


def test_update_reruns_named_modules_and_keeps_the_others(tmp_path, monkeypatch):
    out = tmp_path / "BENCH.md"
    out.write_text(bench.render([_result("bench_a", "0.5x"), _result("bench_b", "0.7x")]))
    monkeypatch.setattr(bench, "_run_module", lambda name, quick, root: _result(name, "2.0x", ok=False))
    monkeypatch.setattr(bench.pkgutil, "iter_modules", lambda paths: [
        type("M", (), {"name": n}) for n in ("bench_a", "bench_b")])
    assert bench.main(["--out", str(out), "--only", "bench_b", "--update"]) == 0
    text = out.read_text()
    assert "| bench_a | bench_a target | <= 1x | 0.5x | yes |" in text        # kept as it was
    assert "| bench_b | bench_b target | <= 1x | 2.0x | **no** |" in text     # rerun
    assert "0.7x" not in text
    assert text.count("<!-- bench-results ") == 2
    assert bench._previous(str(out)).keys() == {"bench_a", "bench_b"}


def test_without_update_the_file_holds_only_the_modules_run(tmp_path, monkeypatch):
    out = tmp_path / "BENCH.md"
    out.write_text(bench.render([_result("bench_a", "0.5x")]))
    monkeypatch.setattr(bench, "_run_module", lambda name, quick, root: _result(name, "1.0x"))
    monkeypatch.setattr(bench.pkgutil, "iter_modules", lambda paths: [
        type("M", (), {"name": n}) for n in ("bench_a", "bench_b")])
    bench.main(["--out", str(out), "--only", "bench_b"])
    assert "bench_a" not in out.read_text()


def test_an_unknown_module_is_refused(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        bench.main(["--out", str(tmp_path / "B.md"), "--only", "bench_nonexistent"])
    assert exc.value.code == 2 and "no benchmark module bench_nonexistent" in capsys.readouterr().err
