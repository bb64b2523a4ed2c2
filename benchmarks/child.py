"""Benchmark work in a child process that stays up between calls (a small JSON-lines server).

The parent sends one JSON object per line (`{"op": ..., ...}`) and reads one JSON reply per line.
Because the child stays up, its imports and warm-up happen once, each timed call measures only its
work (the child times it and reports `seconds`), and the child's memory (its own process tree) is
measured apart from the runner's. Replies go to a duplicate of the original stdout; the child's
fd 1 is pointed at stderr, so a library printing to stdout cannot corrupt the protocol.

    with ChildServer("benchmarks.sweep_child", "ours") as child:
        child.call("start", workers=2)
        reply = child.call("sweep", n=100_000, grid="issue4")   # {"seconds": ..., "peak_rss_mb": ...}

Child side: `serve(handlers)` with a dict op -> function(**args) -> dict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from typing import Any

from benchmarks.machine import REPO_ROOT


class ChildError(RuntimeError):
    pass


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class ChildServer:
    """`python -m MODULE ROLE` answering `call(op, **args)`; stop it with close() (or use `with`)."""

    def __init__(self, module: str, role: str, timeout_s: float = 1800.0) -> None:
        self.label = f"{module} {role}"
        self.timeout_s = timeout_s
        self._stderr = tempfile.TemporaryFile(mode="w+b")
        self.proc = subprocess.Popen([sys.executable, "-m", module, role], cwd=REPO_ROOT, env=_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     text=True, bufsize=1)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        self.send(op, **args)
        return self.receive(op)

    def send(self, op: str, **args: Any) -> None:
        """Send a command without waiting (e.g. to start several children's slow setup at once)."""
        if self.proc.poll() is not None:
            raise ChildError(f"{self.label}: child exited (code {self.proc.returncode}): {self.stderr_tail()}")
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()

    def receive(self, op: str = "") -> dict[str, Any]:
        """The reply to the oldest command sent and not yet answered."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            raise ChildError(f"{self.label}: child died during {op!r} (code {self.proc.returncode}): "
                             f"{self.stderr_tail()}")
        reply = json.loads(line)
        if "error" in reply:
            raise ChildError(f"{self.label}: {op!r} failed: {reply['error']}")
        return reply

    def stderr_tail(self, lines: int = 6) -> str:
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip().splitlines()
        return " | ".join(x.strip() for x in text[-lines:]) or "(no stderr)"

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"op": "exit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()

    def __enter__(self) -> ChildServer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve(handlers: dict[str, Callable[..., dict[str, Any]]]) -> None:
    """The child's loop: read a command per line from stdin, reply with one JSON line, until "exit"."""
    reply_fd = os.dup(1)
    os.dup2(2, 1)  # anything printed by libraries goes to stderr
    sys.stdout = sys.stderr
    out = os.fdopen(reply_fd, "w", buffering=1)
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        op = msg.pop("op")
        if op == "exit":
            break
        try:
            reply = handlers[op](**msg)
        except Exception as exc:
            traceback.print_exc()
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
    out.close()
