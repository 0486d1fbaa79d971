"""The map's `tf.function`, saved once traced, so that later processes need not trace it again.

Building the Keras model and tracing `MSROIModel.saliency` costs every process seconds (see
benchmarks/startup.py). The first process with a given model saves those same concrete functions
and their variables as a SavedModel in a user cache folder; later ones load it
(`tf.saved_model.load`): the same graph and weights, so the same maps (tests/test_compiled.py).
The folder is named by `cache.cache_key`. A cache that does not load is rebuilt; one that cannot
be written costs only time.
"""

import json
import pathlib

import tensorflow as tf

from semantic_jpeg.saliency import cache
from semantic_jpeg.saliency import model as model_lib

_CLASSES_FILE = "class_names.json"


class LoadedModel:
  """A map model loaded from the cache: its `saliency` and `block_saliency` tf.functions and
  class names."""

  def __init__(self, directory: pathlib.Path):
    self._module = tf.saved_model.load(str(directory))
    self.saliency = self._module.saliency
    self.block_saliency = self._module.block_saliency
    self.class_names = tuple(json.loads((directory / _CLASSES_FILE).read_text()))


def load(model_kwargs: dict) -> "model_lib.MSROIModel | LoadedModel":
  """The map model of `model.load_model(**model_kwargs)`: from the cache, or built and cached.

  Raises:
    WeightsError: as `model.load_model`.
  """
  directory = cache.cache_root() / cache.cache_key(model_kwargs, "map")
  loaded = cache.open_folder(directory, LoadedModel, (OSError, ValueError, tf.errors.OpError))
  if loaded is not None:
    return loaded
  model = model_lib.load_model(**model_kwargs)
  try:
    save(model, directory)
  except (OSError, ValueError, tf.errors.OpError):
    pass  # An unwritable cache: this process uses the model as built, the next builds it again.
  return model


def save(model: model_lib.MSROIModel, directory: pathlib.Path) -> None:
  """Writes the model's `saliency` functions and class names as `directory`."""
  module = tf.Module()
  module.model_variables = list(model.variables)
  module.face_detector = model.face_detector  # A tf.Module: its variables are not Keras'.
  module.saliency = model.saliency
  module.block_saliency = model.block_saliency

  def write(folder: pathlib.Path) -> None:
    tf.saved_model.save(module, str(folder))
    (folder / _CLASSES_FILE).write_text(json.dumps(list(model.class_names)))

  cache.write_folder(directory, write)
