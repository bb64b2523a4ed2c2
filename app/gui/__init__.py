"""The desktop app (PySide6 + pyqtgraph). Engine work runs off the UI thread; results arrive as signals.

pyqtgraph must use PySide6 whatever else is installed, so the binding is fixed before it is imported.
"""

import os

os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
