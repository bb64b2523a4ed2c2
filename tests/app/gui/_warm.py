"""Compile, in the main thread, the numba kernels the app's background jobs run (docs/architecture.md).

The window's jobs run in worker threads; on a cold numba cache their first call compiles there while the
UI thread runs Python, and in a fresh CI clone that once crashed the interpreter (numba/llvmlite
compiling in one thread while the garbage collector runs in another). Compiled once here, before any
window, the jobs only load them from the disk cache."""

from __future__ import annotations


def warm_app_kernels() -> None:
    from engine.warm import compile_kernels

    compile_kernels()  # what `backbench compile` does at install: a no-op but for loading once that ran
