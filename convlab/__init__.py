"""convlab: see and teach what convolutional networks do."""

from ._threads import configure_openmp

__version__ = "0.1.0"

configure_openmp()  # before numba's first parallel kernel starts OpenMP
