"""Marks for the items pytest collects outside tests/: the notebooks' cells."""

import pytest


def pytest_collection_modifyitems(items):
    # nbval's cells (--nbval-lax) carry no marker of their own; the notebooks run for minutes, so they
    # go with the slow tests: `-m "not slow"` leaves them out and `-m slow` runs them.
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
