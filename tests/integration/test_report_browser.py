"""Render the HTML report in headless chromium: the page is not blank and the plots have a real size."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytestmark = pytest.mark.browser

L2KIT = os.path.join(os.path.dirname(sys.executable), "l2kit")
CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome",
                                                        "google-chrome-stable")) if p), None)


def _chromium(*args, timeout=120):
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (.ci/run installs Debian's chromium; "
                    "apt-get install chromium to run this test)")
    profile = tempfile.mkdtemp(prefix="l2kit-chromium-")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}", *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module", params=["stackloss", "randhie"])
def report(request, tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("no chromium binary on PATH (.ci/run installs Debian's chromium; "
                    "apt-get install chromium to run this test)")
    folder = tmp_path_factory.mktemp("browser")
    out = folder / "report.html"
    p = subprocess.run([L2KIT, "report", request.param, "--out", str(out), "--folds", "3"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return out


def test_screenshot_is_not_blank(report, tmp_path):
    from PIL import Image

    png = tmp_path / "shot.png"
    p = _chromium(f"--screenshot={png}", "--window-size=1280,2000", report.as_uri())
    assert png.is_file(), p.stderr[-2000:]
    img = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert img.shape == (2000, 1280)
    assert img.std() > 20, f"screenshot looks blank (pixel std {img.std():.1f})"
    # not a single flat colour band: many rows of the page carry ink (text, tables, plots)
    inked_rows = np.mean(img.std(axis=1) > 5)
    assert inked_rows > 0.3, inked_rows
    # the plots region (lower part of the page) is drawn too
    assert img[1200:].std() > 15


def test_plots_have_a_real_size_in_the_rendered_dom(report):
    p = _chromium("--dump-dom", "--window-size=1280,2000", "--virtual-time-budget=3000", report.as_uri())
    dom = p.stdout
    assert "<svg" in dom, p.stderr[-2000:]
    figures = re.findall(r'<figure id="fig-([a-z]+)"', dom)
    assert {"residuals", "qq", "influence", "losses", "cv"} <= set(figures)
    # each inline SVG has a viewBox with a real size; CSS scales it to the figure's width
    for svg in re.findall(r"<svg\b[^>]*>", dom):
        box = re.search(r'viewBox="([\d.\s-]+)"', svg)
        assert box, svg
        w, h = map(float, box.group(1).split()[2:])
        assert w > 200 and h > 150, (w, h)


def test_rendered_layout_gives_plots_pixels(report, tmp_path):
    # inject a probe that writes each figure's rendered size into the title, then read the DOM back
    probe = tmp_path / "probe.html"
    html = report.read_text()
    script = ("<script>window.addEventListener('load',()=>{const s=[...document.querySelectorAll('svg.plot')]"
              ".map(e=>{const r=e.getBoundingClientRect();return Math.round(r.width)+'x'+Math.round(r.height)});"
              "document.body.setAttribute('data-sizes',s.join(' '));});</script>")
    probe.write_text(html.replace("</body>", script + "</body>"))
    p = _chromium("--dump-dom", "--window-size=1280,2000", "--virtual-time-budget=3000", probe.as_uri())
    m = re.search(r'data-sizes="([^"]*)"', p.stdout)
    assert m, p.stderr[-2000:]
    sizes = [tuple(map(int, s.split("x"))) for s in m.group(1).split()]
    assert len(sizes) >= 5
    for w, h in sizes:
        assert w >= 300 and h >= 150, sizes


def test_svgs_are_well_formed_xml(report):
    for svg in re.findall(r"<svg\b.*?</svg>", report.read_text(), flags=re.S):
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
