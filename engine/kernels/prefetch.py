"""prefetch(a, i): ask the CPU to bring the cache line holding a[i] closer, without waiting for it.

A hint, not a read: it never faults (an index past the end is harmless) and changes no result. The simulate
kernel uses it for the arrays a coming signal bar will read, which the loops before it never touched: a read
that misses every cache waits ~100 ns on memory (docs/performance.md, "Quiet bars and cache misses"). Run as
Python (engine/kernels/jit.py) it does nothing.
"""

from __future__ import annotations

from typing import Any

from engine.kernels.jit import intrinsic


def _python_prefetch(a: Any, i: int) -> None:
    return None


@intrinsic(_python_prefetch)
def prefetch() -> Any:
    """numba's prefetch intrinsic: LLVM's llvm.prefetch on the address of a[i]."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic as numba_intrinsic

    @numba_intrinsic
    def prefetch(typingctx, a, i):  # pragma: no cover - compiled into numba code
        if not (isinstance(a, types.Array) and a.ndim == 1 and isinstance(i, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            array = context.make_array(signature.args[0])(context, builder, args[0])
            address = builder.bitcast(builder.gep(array.data, [args[1]]), ir.IntType(8).as_pointer())
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer(), i32, i32, i32])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
            builder.call(fn, [address, i32(0), i32(3), i32(1)])  # a read, kept in every cache level, data
            return context.get_dummy_value()

        return types.void(a, i), codegen

    return prefetch
