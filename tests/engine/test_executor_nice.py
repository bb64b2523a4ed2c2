"""LocalExecutor(nice=N): workers run N below the parent's priority (the GUI keeps its UI thread ahead)."""

import os
import sys

import pytest

from engine.sweep.executors import LocalExecutor


@pytest.mark.skipif(not hasattr(os, "nice") or sys.platform == "darwin",
                    reason="niceness is applied on Linux/BSD; macOS workers use QoS classes instead")
def test_workers_run_at_the_requested_niceness():
    parent = os.nice(0)
    with LocalExecutor(1, nice=5) as ex:
        assert ex.run_in_worker(os.nice, 0) == min(19, parent + 5)
    with LocalExecutor(1) as ex:  # default: same priority as the parent (the CLI's sweeps)
        assert ex.run_in_worker(os.nice, 0) == parent
