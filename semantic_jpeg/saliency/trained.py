"""Weights that `tools/train.py` fine-tuned: the classifier and what its outputs mean."""

import dataclasses
import json
import os
import pathlib

import keras

from semantic_jpeg import errors
from semantic_jpeg import files
from semantic_jpeg.saliency import backbone

TRAINED_WEIGHTS = "model.weights.h5"
TRAINED_CLASSES = "classes.json"


@dataclasses.dataclass(frozen=True)
class Trained:
  """A classifier fine-tuned by tools/train.py, with what its outputs mean."""

  classifier: keras.Model
  class_names: tuple[str, ...]
  multi_label: bool


def save_trained(
  classifier: keras.Model, class_names: list[str], multi_label: bool, directory: str | os.PathLike
) -> pathlib.Path:
  """Writes DIR/model.weights.h5 and DIR/classes.json; returns the weights path."""
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  weights_file = directory / TRAINED_WEIGHTS
  with files.atomic_path(weights_file, suffix=".tmp.weights.h5") as staged:
    classifier.save_weights(staged)
  meta = {"classes": list(class_names), "multi_label": multi_label}
  files.write_atomic(directory / TRAINED_CLASSES, json.dumps(meta, indent=2).encode())
  return weights_file


def load_trained(path: str | os.PathLike) -> Trained:
  """Loads what `save_trained` wrote (the weights file or its folder)."""
  path = pathlib.Path(path)
  weights_file = path / TRAINED_WEIGHTS if path.is_dir() else path
  try:
    meta = json.loads((weights_file.parent / TRAINED_CLASSES).read_text())
    class_names = tuple(str(name) for name in meta["classes"])
    multi_label = bool(meta.get("multi_label", False))
  except (OSError, ValueError, KeyError, TypeError) as e:
    raise errors.WeightsError(
      f"{weights_file.parent / TRAINED_CLASSES}: cannot read the class list ({e})"
    ) from None
  classifier = backbone.efficientnet_lite0(num_classes=len(class_names))
  try:
    classifier.load_weights(weights_file)
  except (OSError, ValueError) as e:
    raise errors.WeightsError(
      f"{weights_file}: not weights for {len(class_names)} classes ({str(e).splitlines()[0]})"
    ) from None
  return Trained(classifier, class_names, multi_label)
