"""Keep macOS from napping the app while a sweep runs.

App Nap throttles an app whose windows are hidden or occluded (timer coalescing, lower CPU and I/O
priority): a long sweep left running behind other windows would crawl. macOS lets an app declare that it
is doing work the user asked for:

    from app.macos_activity import sweep_activity

    with sweep_activity("Parameter sweep"):
        run_sweep(...)

On macOS this is `[[NSProcessInfo processInfo] beginActivityWithOptions:NSActivityUserInitiated reason:...]`
and `endActivity:` when the block ends (App Nap and idle system sleep are held off only for that long; the
display may still sleep). It talks to the Objective-C runtime through ctypes, so it needs no PyObjC. Off
macOS, or if the runtime cannot be loaded, it does nothing. The backend is injectable for tests.

Engine-free and Qt-free: importing this module loads nothing heavy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

# NSActivityOptions (Foundation/NSProcessInfo.h)
NS_ACTIVITY_IDLE_SYSTEM_SLEEP_DISABLED = 1 << 20
NS_ACTIVITY_USER_INITIATED = 0x00FFFFFF | NS_ACTIVITY_IDLE_SYSTEM_SLEEP_DISABLED

FOUNDATION = "/System/Library/Frameworks/Foundation.framework/Foundation"


class ActivityBackend(Protocol):
    def begin(self, reason: str) -> Any: ...

    def end(self, token: Any) -> None: ...


class NullBackend:
    """Everywhere but macOS: nothing to hold."""

    def begin(self, reason: str) -> None:
        return None

    def end(self, token: Any) -> None:
        pass


class ObjCBackend:
    """NSProcessInfo activities through libobjc (arm64: every objc_msgSend call gets its exact prototype)."""

    def __init__(self, objc: Any = None):
        self._objc = objc if objc is not None else ctypes.CDLL(ctypes.util.find_library("objc") or "libobjc.dylib")
        ctypes.CDLL(FOUNDATION)  # registers NSProcessInfo / NSString with the runtime
        self._objc.objc_getClass.restype = ctypes.c_void_p
        self._objc.objc_getClass.argtypes = [ctypes.c_char_p]
        self._objc.sel_registerName.restype = ctypes.c_void_p
        self._objc.sel_registerName.argtypes = [ctypes.c_char_p]
        addr = ctypes.cast(self._objc.objc_msgSend, ctypes.c_void_p).value
        if not addr:
            raise OSError("objc_msgSend not found")
        self._send_addr: int = addr

    def _send(self, restype: Any, obj: Any, selector: str, *args: tuple[Any, Any]) -> Any:
        proto = ctypes.CFUNCTYPE(restype, ctypes.c_void_p, ctypes.c_void_p, *(t for t, _ in args))
        fn = proto(self._send_addr)
        return fn(obj, self._objc.sel_registerName(selector.encode()), *(v for _, v in args))

    def _cls(self, name: str) -> int:
        cls = self._objc.objc_getClass(name.encode())
        if not cls:
            raise OSError(f"Objective-C class {name} not found")
        return cls

    def begin(self, reason: str) -> int:
        vp = ctypes.c_void_p
        text = self._send(vp, self._send(vp, self._cls("NSString"), "alloc"), "initWithUTF8String:",
                          (ctypes.c_char_p, reason.encode()))
        info = self._send(vp, self._cls("NSProcessInfo"), "processInfo")
        token = self._send(vp, info, "beginActivityWithOptions:reason:",
                           (ctypes.c_uint64, NS_ACTIVITY_USER_INITIATED), (vp, text))
        self._send(vp, token, "retain")  # returned autoreleased; we may be on a thread without a pool
        self._send(None, text, "release")
        return token

    def end(self, token: int) -> None:
        vp = ctypes.c_void_p
        info = self._send(vp, self._cls("NSProcessInfo"), "processInfo")
        self._send(None, info, "endActivity:", (vp, token))
        self._send(None, token, "release")


_default: ActivityBackend | None = None
_lock = threading.Lock()


def default_backend(platform: str = sys.platform) -> ActivityBackend:
    """ObjCBackend on macOS (NullBackend if the runtime cannot be loaded), NullBackend elsewhere."""
    if platform != "darwin":
        return NullBackend()
    try:
        return ObjCBackend()
    except (OSError, AttributeError):
        return NullBackend()


def _backend() -> ActivityBackend:
    global _default
    with _lock:
        if _default is None:
            _default = default_backend()
        return _default


@contextmanager
def sweep_activity(reason: str = "Backbench is running a parameter sweep",
                   backend: ActivityBackend | None = None) -> Iterator[None]:
    """Hold off App Nap (and idle system sleep) while the block runs; the activity ends even on errors.
    A backend that fails to begin is ignored: a sweep never fails for want of this hint."""
    backend = backend if backend is not None else _backend()
    try:
        token = backend.begin(reason)
    except OSError:
        token, backend = None, NullBackend()
    try:
        yield
    finally:
        if token is not None:
            backend.end(token)
