"""Training the map model on image-level labels only: the paper's point, no boxes needed.

The classifier is the library's EfficientNet-Lite0 with ImageNet weights and a new class head;
fine-tune the head alone or the whole network, with softmax (exclusive classes) or the paper's
multi-label sigmoid. Its class activation maps are then the MS-ROI maps for the new classes.
"""

from collections.abc import Iterable
import dataclasses
import os
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from semantic_jpeg.saliency import backbone
from semantic_jpeg.saliency import model as saliency
from semantic_jpeg.saliency import weights
from semantic_jpeg.saliency.options import SaliencyOptions

FINE_TUNE_MODES = ("head", "all")


@dataclasses.dataclass(frozen=True)
class TrainOptions:
  """How to train.

  image_size: side of the square crops the network sees in training.
  fine_tune: 'head' (only the class layer learns) or 'all' (batch-norm statistics stay fixed).
  multi_label: sigmoid per class (non-exclusive) instead of softmax.
  seed: seeds the head's initialisation, shuffling and augmentation; runs then differ only
    by the rounding of multi-threaded kernels.
  """

  image_size: int = 224
  batch_size: int = 32
  epochs: int = 10
  learning_rate: float = 1e-3
  fine_tune: str = "head"
  multi_label: bool = False
  augment: bool = True
  seed: int = 0

  def __post_init__(self):
    if self.fine_tune not in FINE_TUNE_MODES:
      raise ValueError(f"fine_tune must be one of {FINE_TUNE_MODES}, got {self.fine_tune!r}")
    if min(self.image_size, self.batch_size, self.epochs) < 1 or self.learning_rate <= 0:
      raise ValueError("image_size, batch_size, epochs and learning_rate must be positive")


def input_pipeline(
  dataset: tf.data.Dataset, num_classes: int, options: TrainOptions, training: bool
) -> tf.data.Dataset:
  """(uint8 image [H, W, C], int label) pairs -> batched, augmented, prefetched model input."""
  size = options.image_size

  def prepare(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    image = tf.image.grayscale_to_rgb(image) if image.shape[-1] == 1 else image
    if training and options.augment:
      image = tf.image.resize(image, (size * 8 // 7, size * 8 // 7))
      image = tf.image.random_crop(image, (size, size, 3))
      image = tf.image.random_flip_left_right(image)
    else:
      image = tf.image.resize(image, (size, size))
    image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
    target = tf.one_hot(label, num_classes) if options.multi_label else label
    return image, target

  if training:
    dataset = dataset.shuffle(1024, seed=options.seed, reshuffle_each_iteration=True)
  return (
    dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    .batch(options.batch_size)
    .prefetch(tf.data.AUTOTUNE)
  )


def new_classifier(num_classes: int) -> keras.Model:
  """EfficientNet-Lite0 with ImageNet weights everywhere but a fresh `num_classes` head."""
  imagenet = backbone.efficientnet_lite0()
  weights.load_imagenet_lite0(imagenet)
  classifier = backbone.efficientnet_lite0(num_classes=num_classes)
  for layer in classifier.layers:
    if layer.weights and layer.name != "predictions":
      layer.set_weights(imagenet.get_layer(layer.name).get_weights())
  return classifier


def trainable(classifier: keras.Model, options: TrainOptions) -> keras.Model:
  """uint8 images -> logits around `classifier`, compiled for the chosen loss."""
  for layer in classifier.layers:
    layer.trainable = options.fine_tune == "all" or layer.name == "predictions"
  images = keras.Input((None, None, 3), dtype="uint8", name="image")
  _, logits = classifier(images, training=False)  # Batch norm keeps ImageNet statistics.
  model = keras.Model(images, logits)
  if options.multi_label:
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    accuracy = keras.metrics.CategoricalAccuracy(name="accuracy")
  else:
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
  model.compile(keras.optimizers.Adam(options.learning_rate), loss, metrics=[accuracy])
  return model


def callbacks(output_dir: str) -> list[keras.callbacks.Callback]:
  """Per-epoch checkpoints, TensorBoard logs, and the backup that makes a rerun resume."""
  return [
    keras.callbacks.ModelCheckpoint(
      os.path.join(output_dir, "checkpoints", "epoch{epoch:03d}.weights.h5"), save_weights_only=True
    ),
    keras.callbacks.TensorBoard(os.path.join(output_dir, "logs")),
    keras.callbacks.BackupAndRestore(os.path.join(output_dir, "backup")),
  ]


def train(
  classifier: keras.Model,
  train_data: tf.data.Dataset,
  val_data: tf.data.Dataset,
  options: TrainOptions,
  output_dir: str,
) -> dict[str, list[float]]:
  """Fits the classifier in place; returns the Keras history (loss, accuracy, val_* per epoch)."""
  model = trainable(classifier, options)
  history = model.fit(
    train_data,
    validation_data=val_data,
    epochs=options.epochs,
    callbacks=callbacks(output_dir),
    verbose=2,
  )
  return history.history


def box_energy(pixel_map: np.ndarray, boxes: np.ndarray) -> float:
  """Share of the map's total inside the union of boxes (ymin, xmin, ymax, xmax in [0, 1])."""
  height, width = pixel_map.shape
  inside = np.zeros((height, width), dtype=bool)
  for ymin, xmin, ymax, xmax in boxes:
    inside[
      int(ymin * height) : int(np.ceil(ymax * height)),
      int(xmin * width) : int(np.ceil(xmax * width)),
    ] = True
  total = float(pixel_map.sum())
  return float(pixel_map[inside].sum()) / total if total > 0 else 0.0


def mean_box_energy(
  model: saliency.MSROIModel, examples: Iterable[tuple[np.ndarray, np.ndarray]]
) -> dict[str, Any]:
  """Mean box energy of the class-activation map (no face prior) over (image, boxes) pairs,
  and the share a uniform map would have (the boxes' mean area) for comparison."""
  options = SaliencyOptions(face_weight=0.0)
  energies, areas = [], []
  for image, boxes in examples:
    pixel_map = saliency.compute_map(model, image, options).pixel_map
    energies.append(box_energy(pixel_map, boxes))
    areas.append(box_energy(np.ones_like(pixel_map), boxes))
  return {
    "images": len(energies),
    "map_energy_in_boxes": float(np.mean(energies)),
    "box_area_share": float(np.mean(areas)),
  }
