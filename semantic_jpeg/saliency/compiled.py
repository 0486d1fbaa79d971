"""The map's `tf.function`, saved once traced, so that later processes need not trace it again.

Building the Keras model and tracing `MSROIModel.saliency` costs every process seconds (see
benchmarks/startup.py). The first process with a given model saves those same concrete functions
and their variables as a SavedModel in a user cache folder; later ones load it
(`tf.saved_model.load`): the same graph and weights, so the same maps (tests/test_compiled.py).
The folder's name is a digest of everything the graph depends on: the package's and
TensorFlow's versions, the source of `semantic_jpeg.saliency`, the model's arguments and the
weight files. A cache that does not load is rebuilt; one that cannot be written costs only time.
"""

import hashlib
import json
import os
import pathlib
import shutil
import tempfile

import keras
import tensorflow as tf

import semantic_jpeg
from semantic_jpeg.saliency import model as model_lib
from semantic_jpeg.saliency import readout as readout_lib
from semantic_jpeg.saliency import weights as weights_lib

CACHE_ENV = "SEMANTIC_JPEG_CACHE"
_PACKAGE = pathlib.Path(__file__).parent
_CLASSES_FILE = "class_names.json"


class LoadedModel:
  """A map model loaded from the cache: its `saliency` and `block_saliency` tf.functions and
  class names."""

  def __init__(self, directory: pathlib.Path):
    self._module = tf.saved_model.load(str(directory))
    self.saliency = self._module.saliency
    self.block_saliency = self._module.block_saliency
    self.class_names = tuple(json.loads((directory / _CLASSES_FILE).read_text()))


def cache_root() -> pathlib.Path:
  """$SEMANTIC_JPEG_CACHE, else $XDG_CACHE_HOME/semantic_jpeg, else ~/.cache/semantic_jpeg."""
  if os.environ.get(CACHE_ENV):
    return pathlib.Path(os.environ[CACHE_ENV])
  if os.environ.get("XDG_CACHE_HOME"):
    return pathlib.Path(os.environ["XDG_CACHE_HOME"]) / "semantic_jpeg"
  try:
    return pathlib.Path.home() / ".cache" / "semantic_jpeg"
  except (RuntimeError, KeyError):  # No home directory: the temporary folder.
    return pathlib.Path(tempfile.gettempdir()) / f"semantic_jpeg-{os.getuid()}"


def cache_key(model_kwargs: dict) -> str:
  """A digest of what the traced graph depends on."""
  digest = hashlib.sha256()
  versions = (semantic_jpeg.__version__, tf.__version__, keras.__version__)
  digest.update(json.dumps([versions, sorted(model_kwargs.items())], default=str).encode())
  for path in sorted(_PACKAGE.rglob("*")):
    if path.suffix in (".py", ".npz", ".tsv"):
      digest.update(path.relative_to(_PACKAGE).as_posix().encode() + path.read_bytes())
  digest.update(weights_lib.TORCH_SHA256.encode())  # Checked against the file on every build.
  for path in _weight_files(model_kwargs):
    digest.update(weights_lib.sha256_of(path).encode())
  return f"map-{digest.hexdigest()[:24]}"


def _weight_files(model_kwargs: dict) -> list[pathlib.Path]:
  """The weight files that `model.load_model` reads besides the ImageNet ones."""
  found = []
  if model_kwargs.get("weights"):
    weights = pathlib.Path(model_kwargs["weights"])
    found += (
      [weights / "model.weights.h5", weights / "classes.json"]
      if weights.is_dir()
      else [
        weights,
        weights.parent / "classes.json",
      ]
    )
  if model_kwargs.get("map_model", "fixations") == "fixations":
    found.append(pathlib.Path(model_kwargs.get("readout_weights") or readout_lib.DEFAULT_WEIGHTS))
  return [path for path in found if path.is_file()]


def load(model_kwargs: dict) -> "model_lib.MSROIModel | LoadedModel":
  """The map model of `model.load_model(**model_kwargs)`: from the cache, or built and cached.

  Raises:
    WeightsError: as `model.load_model`.
  """
  directory = cache_root() / cache_key(model_kwargs)
  if directory.is_dir():
    try:
      return LoadedModel(directory)
    except (OSError, ValueError, tf.errors.OpError):
      shutil.rmtree(directory, ignore_errors=True)
  model = model_lib.load_model(**model_kwargs)
  try:
    save(model, directory)
  except (OSError, ValueError, tf.errors.OpError):
    pass  # An unwritable cache: this process uses the model as built, the next builds it again.
  return model


def save(model: model_lib.MSROIModel, directory: pathlib.Path) -> None:
  """Writes the model's `saliency` function and class names beside `directory`, renamed in."""
  module = tf.Module()
  module.model_variables = list(model.variables)
  module.face_detector = model.face_detector  # A tf.Module: its variables are not Keras'.
  module.saliency = model.saliency
  module.block_saliency = model.block_saliency
  directory.parent.mkdir(parents=True, exist_ok=True)
  staging = pathlib.Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
  try:
    tf.saved_model.save(module, str(staging / "model"))
    (staging / "model" / _CLASSES_FILE).write_text(json.dumps(list(model.class_names)))
    os.rename(staging / "model", directory)
  except OSError:
    if not directory.is_dir():  # Another process may have renamed its copy in first.
      raise
  finally:
    shutil.rmtree(staging, ignore_errors=True)
