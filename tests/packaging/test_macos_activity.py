"""app/macos_activity.py: App Nap held off exactly while a sweep runs; a no-op off macOS."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app import macos_activity
from app.macos_activity import NullBackend, default_backend, sweep_activity


class Recorder:
    def __init__(self, fail_begin: bool = False):
        self.calls: list[tuple[str, object]] = []
        self.fail_begin = fail_begin

    def begin(self, reason: str) -> object:
        if self.fail_begin:
            raise OSError("no Objective-C runtime")
        token = object()
        self.calls.append(("begin", reason))
        self.calls.append(("token", token))
        return token

    def end(self, token: object) -> None:
        self.calls.append(("end", token))


def test_activity_spans_the_block_and_ends_on_errors():
    rec = Recorder()
    with sweep_activity("sweep n1 x n2", backend=rec):
        assert [c[0] for c in rec.calls] == ["begin", "token"]
    assert rec.calls[-1] == ("end", rec.calls[1][1])

    rec = Recorder()
    with pytest.raises(ZeroDivisionError), sweep_activity(backend=rec):
        raise ZeroDivisionError
    assert [c[0] for c in rec.calls] == ["begin", "token", "end"]


def test_a_backend_that_cannot_begin_never_fails_the_sweep():
    rec = Recorder(fail_begin=True)
    with sweep_activity(backend=rec):
        ran = True
    assert ran and rec.calls == []


@pytest.mark.skipif(sys.platform == "darwin", reason="off macOS only")
def test_off_macos_it_is_a_no_op():
    assert isinstance(default_backend(), NullBackend)
    assert isinstance(default_backend("darwin"), NullBackend)  # no libobjc/Foundation here: falls back
    with sweep_activity():  # the process-wide default backend
        pass
    assert isinstance(macos_activity._backend(), NullBackend)


def test_import_loads_neither_the_engine_nor_qt():
    code = ("import sys, app.macos_activity; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('engine', 'numba', 'numpy', 'PySide6')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.skipif(sys.platform != "darwin", reason="needs macOS's Objective-C runtime")
def test_real_activity_on_macos():
    backend = default_backend()
    assert type(backend).__name__ == "ObjCBackend"
    with sweep_activity("Backbench test", backend=backend):
        pass
