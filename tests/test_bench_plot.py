"""python -m detexp.bench --plot: the speedup series are taken from the right table columns and
drawn to a PNG; without matplotlib a clear message, before any benchmark runs."""
import sys

import pytest

from detexp.bench import _plot

SLOGDET_ROWS = [[4, 100, 1.0, 3.0, 2.0, 3.0, 2.0, 10.0, 5.0], [8, 50, 1.0, 2.0, 2.0, 2.0, 1.0, 4.0, 4.0]]
EXPM_ROWS = ([[4, 10, "float32", 1.0, 2.0, 5.0, 2.0, 5.0], [4, 10, "float64", 1.0, 3.0, 5.0, 3.0, 5.0]],
             [[4, 10, "float32", 2.0, 8.0, 2.0, 4.0], [4, 10, "float64", 2.0, 12.0, 2.0, 6.0]])


def test_speedup_series_columns():
    panels = _plot.speedup_series({"slogdet": SLOGDET_ROWS, "expm": EXPM_ROWS})
    # speedup = tf time / dx time, recomputed here from the tables' time columns.
    assert panels["slogdet (float32)"]["forward"] == [(r[0], r[3] / r[2]) for r in SLOGDET_ROWS]
    assert panels["slogdet (float32)"]["forward+backward"] == [(r[0], r[7] / r[6]) for r in SLOGDET_ROWS]
    assert panels["expm (float64)"] == {"forward": [(4, 3.0)], "forward+backward": [(4, 6.0)]}


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "s.png"
    _plot.plot({"slogdet": SLOGDET_ROWS, "expm": EXPM_ROWS}, str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_matplotlib_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib -> ImportError
    with pytest.raises(SystemExit, match="needs matplotlib"):
        _plot.require_matplotlib()
