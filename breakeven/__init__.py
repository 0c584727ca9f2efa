"""Shared base of llm-breakeven: version and the exception tree.

The four packages (``pricing``, ``traces``, ``costmodel``, ``reports``) all depend on this small
package and on nothing of each other except as DESIGN.md draws it (``costmodel`` uses ``pricing`` and
``traces``; ``reports`` renders ``costmodel`` results).
"""

from importlib.metadata import PackageNotFoundError, version

from breakeven.errors import (
    BreakevenError,
    InputError,
    MeasurementError,
    ModelError,
    UnknownNameError,
)

try:
    __version__ = version("llm-breakeven")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0+unknown"

__all__ = [
    "BreakevenError",
    "InputError",
    "MeasurementError",
    "ModelError",
    "UnknownNameError",
    "__version__",
]
