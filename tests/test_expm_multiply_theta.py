"""The θ_m table of cc/core/expm_multiply_theta.h against an independent recomputation with mpmath
(tools/expm_multiply_theta.py's definition, fewer digits and terms), the paper's Table 3.1 and
SciPy's table (Al-Mohy & Higham 2011, §3)."""
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from expm_multiply_theta import taylor_theta  # noqa: E402


def _table():
    text = (ROOT / "cc/core/expm_multiply_theta.h").read_text()
    blocks = re.findall(r"expm_multiply_theta<(\w+)>\(int m\) \{\s*constexpr double theta\[55\] = \{([^}]*)\}", text)
    return {name: [float(x) for x in body.replace("\n", " ").split(",") if x.strip()] for name, body in blocks}


TABLE = _table()
U = {"double": 2.0 ** -53, "float": 2.0 ** -24}
# AH2011 Table 3.1 (m = 5, 10, ..., 55), 2 significant digits.
PAPER = {"float": [1.3e-1, 1.0e0, 2.2e0, 3.6e0, 4.9e0, 6.3e0, 7.7e0, 9.1e0, 1.1e1, 1.2e1, 1.3e1],
         "double": [2.4e-3, 1.4e-1, 6.4e-1, 1.4e0, 2.4e0, 3.5e0, 4.7e0, 6.0e0, 7.2e0, 8.5e0, 9.9e0]}


def test_table_shape_and_monotone():
    for name in ("double", "float"):
        theta = TABLE[name]
        assert len(theta) == 55
        assert all(x < y for x, y in zip(theta, theta[1:]))
    assert all(d < f for d, f in zip(TABLE["double"], TABLE["float"]))


@pytest.mark.parametrize("name,m", [("double", 1), ("double", 7), ("double", 30), ("double", 55), ("float", 3),
                                    ("float", 18), ("float", 55)])
def test_recomputed_with_mpmath(name, m):
    theta, tail = taylor_theta(m, U[name], extra_terms=220, dps=30)
    assert tail < 1e-12
    assert abs(float(theta) - TABLE[name][m - 1]) <= 1e-12 * TABLE[name][m - 1]


def test_against_paper_and_scipy():
    for name, values in PAPER.items():
        for i, v in enumerate(values):
            got = TABLE[name][5 * (i + 1) - 1]
            assert abs(got - v) <= 0.06 * v, (name, 5 * (i + 1), got, v)
    from scipy.sparse.linalg._expm_multiply import _theta as scipy_theta
    for m, v in scipy_theta.items():
        if m == 1:  # SciPy's 2.29e-16 is a misprint: θ_1 = 2u
            assert TABLE["double"][0] == pytest.approx(2 * U["double"], rel=1e-12)
            continue
        # 3 significant digits up to m = 30 (Higham's Table A.3), 2 beyond (AH2011 Table 3.1).
        half_unit = 0.005 * v if m <= 30 else 0.05
        assert abs(TABLE["double"][m - 1] - v) <= 1.2 * half_unit, (m, TABLE["double"][m - 1], v)
    # θ_18 in single is Bader–Blanes–Casas' T_18 threshold of expm_coefficients.h.
    assert TABLE["float"][17] == pytest.approx(3.010066362817634, rel=1e-15)
