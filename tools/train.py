"""Trains the map model on your own classes, from image-level labels only.

  # Local folders (TFDS ImageFolder layout: ROOT/train/CLASS/*.jpg, ROOT/test/CLASS/*.jpg):
  python tools/train.py --image_folder ROOT --val_split test --output_dir runs/mine --epochs 10
  # A TFDS dataset (downloaded on first use where the machine can reach its source):
  python tools/train.py --tfds imagenette --val_split validation --output_dir runs/imagenette

Writes OUTPUT_DIR/model.weights.h5 and classes.json (use them with `--weights` in
`semantic-jpeg`, tools/evaluate.py and export/export_saved_model.py), per-epoch checkpoints,
TensorBoard logs (OUTPUT_DIR/logs) and metrics.json. A rerun with the same OUTPUT_DIR resumes
where an interrupted run stopped.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import json
import pathlib

from absl import app
from absl import flags
import keras
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from semantic_jpeg.evaluation import datasets
from semantic_jpeg.saliency import model as saliency
from semantic_jpeg.saliency import trained
from semantic_jpeg.saliency import training

_TFDS = flags.DEFINE_string("tfds", None, "TFDS dataset name, e.g. imagenette, caltech101.")
_IMAGE_FOLDER = flags.DEFINE_string(
  "image_folder", None, "Local data: ROOT/SPLIT/CLASS/*.jpg (TFDS ImageFolder)."
)
_TFDS_DATA_DIR = flags.DEFINE_string("tfds_data_dir", None, "TFDS data_dir.")
_TRAIN_SPLIT = flags.DEFINE_string("train_split", "train", "Training split.")
_VAL_SPLIT = flags.DEFINE_string("val_split", "validation", "Validation split.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for weights and logs.", required=True)
_EPOCHS = flags.DEFINE_integer("epochs", 10, "Epochs.", lower_bound=1)
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 32, "Batch size.", lower_bound=1)
_IMAGE_SIZE = flags.DEFINE_integer("image_size", 224, "Training crop side.", lower_bound=32)
_LEARNING_RATE = flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.", lower_bound=0.0)
_FINE_TUNE = flags.DEFINE_enum(
  "fine_tune", "head", training.FINE_TUNE_MODES, "Train the class head only, or the whole network."
)
_MULTI_LABEL = flags.DEFINE_bool(
  "multi_label", False, "Sigmoid per class (the paper's non-exclusive classes)."
)
_AUGMENT = flags.DEFINE_bool("augment", True, "Random crops and flips in training.")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed for the head, shuffling and augmentation.")
_BOX_IMAGES = flags.DEFINE_integer(
  "box_images", 200, "Validation images for the map-in-box check (if boxes)."
)


def _load() -> tuple[tf.data.Dataset, tf.data.Dataset, list[str]]:
  """Train and validation datasets of feature dicts, and the class names."""
  try:
    builder = datasets.builder(
      tfds_name=_TFDS.value, image_folder=_IMAGE_FOLDER.value, data_dir=_TFDS_DATA_DIR.value
    )
    train, val = (datasets.split(builder, s) for s in (_TRAIN_SPLIT.value, _VAL_SPLIT.value))
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  return train, val, list(builder.info.features["label"].names)


def _supervised(dataset: tf.data.Dataset) -> tf.data.Dataset:
  return dataset.map(lambda example: (example["image"], example["label"]))


def _boxes(example: dict) -> np.ndarray | None:
  """Normalised boxes of an example, where the dataset has them (bbox or objects/bbox)."""
  if "bbox" in example:
    return np.reshape(example["bbox"], (-1, 4))
  if isinstance(example.get("objects"), dict) and "bbox" in example["objects"]:
    return np.reshape(example["objects"]["bbox"], (-1, 4))
  return None


def _box_check(val: tf.data.Dataset, output_dir: pathlib.Path) -> dict | None:
  examples = [(e["image"], _boxes(e)) for e in tfds.as_numpy(val.take(_BOX_IMAGES.value))]
  examples = [(image, boxes) for image, boxes in examples if boxes is not None and len(boxes)]
  if not examples:
    return None
  model = saliency.load_model(map_model="cam", faces=False, weights=str(output_dir))
  return training.mean_box_energy(model, examples)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  options = training.TrainOptions(
    image_size=_IMAGE_SIZE.value,
    batch_size=_BATCH_SIZE.value,
    epochs=_EPOCHS.value,
    learning_rate=_LEARNING_RATE.value,
    fine_tune=_FINE_TUNE.value,
    multi_label=_MULTI_LABEL.value,
    augment=_AUGMENT.value,
    seed=_SEED.value,
  )
  keras.utils.set_random_seed(options.seed)  # Before the new head is built.
  train, val, class_names = _load()
  output_dir = pathlib.Path(_OUTPUT_DIR.value)
  classifier = training.new_classifier(len(class_names))
  history = training.train(
    classifier,
    training.input_pipeline(_supervised(train), len(class_names), options, training=True),
    training.input_pipeline(_supervised(val), len(class_names), options, training=False),
    options,
    str(output_dir),
  )
  weights_file = trained.save_trained(classifier, class_names, options.multi_label, output_dir)
  report = {
    "classes": class_names,
    "history": history,
    "val_accuracy": history["val_accuracy"][-1],
    "weights": str(weights_file),
    "options": {k: getattr(options, k) for k in options.__dataclass_fields__},
  }
  box_check = _box_check(val, output_dir)
  if box_check:
    report["box_check"] = box_check
  (output_dir / "metrics.json").write_text(json.dumps(report, indent=2))
  print(
    f"validation accuracy {report['val_accuracy']:.3f} over {len(class_names)} classes; "
    f"weights: {weights_file}"
    + (
      f"; map energy in boxes {box_check['map_energy_in_boxes']:.2f} (boxes cover "
      f"{box_check['box_area_share']:.2f})"
      if box_check
      else ""
    )
  )


if __name__ == "__main__":
  app.run(main)
