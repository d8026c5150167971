"""NIST StRD linear-regression tables (``../shared/data/nist_strd``) and the log relative error they are scored by."""

import json
import os

import numpy as np

DATASETS = ["Norris", "Pontius", "NoInt1", "NoInt2", "Filip", "Longley",
            "Wampler1", "Wampler2", "Wampler3", "Wampler4", "Wampler5"]


def load(nist_dir, name):
    with open(os.path.join(nist_dir, f"{name}.json")) as fh:
        d = json.load(fh)
    y = np.array(d["y"], dtype=float)
    if "X" in d:
        X = np.array(d["X"], dtype=float)
    else:
        x = np.array(d["x"], dtype=float)
        X = np.column_stack([x**k for k in range(1, d["degree"] + 1)])
    return X, y, d["intercept"], np.array(d["certified_coef"]), d.get("certified_sd")


def lre(est, cert):
    est, cert = np.asarray(est, float), np.asarray(cert, float)
    with np.errstate(divide="ignore"):
        lre = -np.log10(np.abs(est - cert) / np.abs(cert))
    return float(np.minimum(lre, 15.0).min())
