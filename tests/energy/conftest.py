from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def _codecarbon_warm() -> None:
    """codecarbon's first start in a process probes the CPU (~1.5 s) while the run goes on; start it
    once up front so that these tests' runs are tracked by it from their first moment, as in a server.
    The cold start itself is tested in a fresh process (test_tracker.py)."""
    from assay.energy.tracker import warm_up

    warm_up()
