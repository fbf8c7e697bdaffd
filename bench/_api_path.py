"""Imported first by bench/api.py, whose name would otherwise shadow the project's `api` package.

Python puts the script's folder (bench/) first on sys.path, so `import api` would find bench/api.py itself. This
moves bench/ to the end of sys.path, imports the project's package, and leaves bench/'s helpers importable.
"""

from __future__ import annotations

import os
import sys

_HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [entry for entry in sys.path if os.path.realpath(entry or ".") != _HERE]
import api.app  # noqa: E402,F401  (the project's package)

sys.path.append(_HERE)
