"""Entry point of the frozen app (PyInstaller): `Backbench.app/Contents/MacOS/Backbench`, `dist/backbench/backbench`.

`multiprocessing.freeze_support()` comes first: sweep workers are `spawn`ed by running this same binary
with `--multiprocessing-fork ...` (and the resource tracker with `-c ...`); in those processes it runs the
worker (or tracker) and exits, so they never reach the command line parser.

NUMBA_CACHE_DIR is then set by `app.cli.main` (app/settings/model.py `Settings.numba_cache_dir`: the
`numba.cache_dir` setting, else `<user cache dir>/numba` when `sys.frozen`) before anything imports numba,
so compiled kernels go to the user's cache and nothing is written inside the bundle. Nothing above this
line may import numpy or numba.
"""

import multiprocessing

multiprocessing.freeze_support()

import sys  # noqa: E402

from app.cli import main  # noqa: E402  (after freeze_support: worker processes never get here)

if __name__ == "__main__":
    sys.exit(main())
