"""A missing or mismatched op library gives an ImportError that says what to rebuild."""
import pytest

from detexp import _loader


def test_missing_library_says_what_to_rebuild(tmp_path):
    with pytest.raises(ImportError, match=r"does not exist.*pip install --no-build-isolation"):
        _loader.load_library(str(tmp_path / "_detexp_ops.so"))


def test_mismatched_library_says_what_to_rebuild(tmp_path):
    bogus = tmp_path / "_detexp_ops.so"
    bogus.write_bytes(b"\x7fELF not really a shared object")
    with pytest.raises(ImportError, match=r"(?s)could not load.*TensorFlow.*Rebuild"):
        _loader.load_library(str(bogus))
