"""The map: where people look in a photo, per pixel and per 8x8 block.

The model and its `tf.function` live in `model`; importing this package does not import
TensorFlow, so that `options` and `sources` stay light. The names below load on first use.
"""

import importlib

_MODEL_NAMES = ("MSROIModel", "SaliencyResult", "compute_block_map", "compute_map", "load_model")
_OPTION_NAMES = ("COMBINE_MODES", "SaliencyOptions")


def __getattr__(name: str):
  if name in _MODEL_NAMES:
    return getattr(importlib.import_module("semantic_jpeg.saliency.model"), name)
  if name in _OPTION_NAMES:
    return getattr(importlib.import_module("semantic_jpeg.saliency.options"), name)
  raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
