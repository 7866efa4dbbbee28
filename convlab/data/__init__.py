"""Headless data for convlab: MNIST, images and filter presets (no Qt here).

- :mod:`convlab.data.mnist`: ``load_mnist``, ``read_idx``, ``fetch_mnist``.
- :mod:`convlab.data.images`: ``load_image``, ``image_from_array``, ``SAMPLES``.
- :mod:`convlab.data.filters`: ``PRESETS``, ``default_bank``,
  ``save_bank``/``load_bank``.
"""
