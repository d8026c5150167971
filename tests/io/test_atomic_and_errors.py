"""Atomic writes leave nothing behind on failure; DataError names file, column, row and fix."""

import os

import pytest

from l2kit.io import DataError, atomic_write


def test_atomic_write_failure_leaves_nothing(tmp_path):
    target = tmp_path / "out.html"
    with pytest.raises(RuntimeError):
        with atomic_write(target) as fh:
            fh.write("partial")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_existing(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_write(target) as fh:
        fh.write("new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["out.txt"]


def test_data_error_message_parts():
    e = DataError("cell 'x' is not a number", file="d.csv", column="y", row=3, fix="clean it")
    assert str(e) == "d.csv, column 'y', row 3: cell 'x' is not a number. Fix: clean it."
