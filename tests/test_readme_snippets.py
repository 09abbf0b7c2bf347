"""Runs every ```python block of README.md (each in a fresh namespace), so the README stays true.
The blocks assert their results against NumPy/SciPy themselves."""
import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
BLOCKS = re.findall(r"^```python\n(.*?)^```", open(README, encoding="utf-8").read(), flags=re.S | re.M)


def test_readme_has_snippets():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_snippet_runs(code):
    exec(compile(code, f"README.md python block", "exec"), {"__name__": "__readme__"})
