"""convlab: see and teach what convolutional networks do."""

__version__ = "0.1.0"
