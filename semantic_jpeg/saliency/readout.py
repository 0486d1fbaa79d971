"""The fixation readout: where people look, learned from human eye fixations (DeepGaze II style).

The frozen EfficientNet-Lite0 runs once on the image resized so its long side is WORK_SIDE. Six
of its layers (TAPS, strides 8 to 32) each go through a 1x1 convolution to 8 channels and are
upsampled to stride 8 and summed; softplus, 1x1 to 8, softplus and 1x1 to 1 give a logit per
8x8 cell of the working image, which is blurred by a Gaussian of learned width, and to which a
learned centre bias (a 9x9 grid over normalised image coordinates) is added. A softmax over the
cells is the fixation density; training maximises the log-likelihood of human fixations
(`readout_training`). The class activation maps add nothing here: given them as a further input,
5-fold cross-validation on the 250 photos gave them a weight of -0.02 and no better likelihood.

The trained weights ship in `data/fixation_readout.npz` (about 70 kB).
"""

import json
import math
import os
import zipfile

import keras
import numpy as np
import tensorflow as tf

from semantic_jpeg import errors
from semantic_jpeg import files
from semantic_jpeg.saliency import options
from semantic_jpeg.saliency import resize

# (layer name, stride, channels) of the backbone layers the readout reads.
TAPS = (
  ("block4_add", 8, 40),
  ("block7_add", 16, 80),
  ("block10_add", 16, 112),
  ("block14_add", 32, 192),
  ("block15_project_bn", 32, 320),
  ("head_relu", 32, 1280),
)
GRID_STRIDE = 8
MAX_BLUR = 0.12  # Largest blur sigma, as a fraction of the long side.
DEFAULT_WEIGHTS = options.READOUT_WEIGHTS


class FixationReadout(keras.layers.Layer):
  """Backbone taps of a working image -> fixation logits on its stride-8 grid [N, h8, w8]."""

  def __init__(
    self,
    work_side: int = 512,
    hidden: int = 8,
    centre_grid: int = 9,
    dropout: float = 0.5,
    blur: float = 0.03,
    **kwargs,
  ):
    """`work_side`: long side of the working image; `blur`: initial blur sigma (of the side)."""
    super().__init__(**kwargs)
    self.work_side, self.hidden, self.centre_grid = work_side, hidden, centre_grid
    self.dropout = keras.layers.Dropout(dropout)
    self.tap_kernels = [
      self.add_weight(
        name=f"{name}_kernel",
        shape=(channels, hidden),
        initializer=keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(channels * len(TAPS))),
      )
      for name, _, channels in TAPS
    ]
    self.bias1 = self.add_weight(name="bias1", shape=(hidden,), initializer="zeros")
    self.kernel2 = self.add_weight(
      name="kernel2", shape=(hidden, hidden), initializer="glorot_normal"
    )
    self.bias2 = self.add_weight(name="bias2", shape=(hidden,), initializer="zeros")
    self.kernel3 = self.add_weight(name="kernel3", shape=(hidden, 1), initializer="glorot_normal")
    self.log_blur = self.add_weight(
      name="log_blur", shape=(), initializer=keras.initializers.Constant(math.log(blur))
    )
    self.centre = self.add_weight(
      name="centre",
      shape=(centre_grid, centre_grid),
      initializer=keras.initializers.Constant(_gaussian_centre(centre_grid)),
    )

  def call(self, taps: list[tf.Tensor], training: bool = False) -> tf.Tensor:
    """Logits z [N, h8, w8] of the working image whose TAPS outputs are `taps`."""
    grid = tf.shape(taps[0])[1:3]
    summed = 0.0
    for (_, stride, _), tap, kernel in zip(TAPS, taps, self.tap_kernels):
      x = self.dropout(tf.cast(tap, tf.float32), training=training)
      summed += _upsample(tf.einsum("nhwc,cd->nhwd", x, kernel), stride, grid)
    x = tf.nn.softplus(summed + self.bias1)
    x = tf.nn.softplus(tf.einsum("nhwc,cd->nhwd", x, self.kernel2) + self.bias2)
    z = tf.einsum("nhwc,cd->nhwd", x, self.kernel3)
    cells = tf.cast(tf.reduce_max(grid), tf.float32)  # Long side in cells (padded).
    z = _blur(z[..., 0], self.blur_sigma() * cells)
    return z + self._centre_bias(grid)[None]

  def blur_sigma(self) -> tf.Tensor:
    """Blur sigma as a fraction of the long side."""
    return tf.clip_by_value(tf.exp(self.log_blur), 1e-3, MAX_BLUR)

  def _centre_bias(self, grid: tf.Tensor) -> tf.Tensor:
    """[h8, w8] log-values of the centre grid, bilinear at the cells' normalised centres."""
    steps = self.centre_grid - 1
    cells = tf.cast(grid, tf.float32)

    def weights(count: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
      """[count, G] interpolation weights of cell centres (i + 0.5) / size on the grid."""
      at = tf.clip_by_value((tf.range(count, dtype=tf.float32) + 0.5) / size, 0.0, 1.0) * steps
      return tf.maximum(
        1.0 - tf.abs(at[:, None] - tf.range(self.centre_grid, dtype=tf.float32)), 0.0
      )

    rows, cols = weights(grid[0], cells[0]), weights(grid[1], cells[1])
    return rows @ self.centre @ tf.transpose(cols)

  def variables_by_name(self) -> dict[str, tf.Variable]:
    """The trained weights, by the names the weights file stores them under."""
    return {v.path.split("/")[-1]: v for v in self.weights}

  def config(self) -> dict:
    return {"work_side": self.work_side, "hidden": self.hidden, "centre_grid": self.centre_grid}


def _gaussian_centre(size: int) -> np.ndarray:
  """Initial centre bias: a centred Gaussian of sigma 1/4 of each side, in log space."""
  at = (np.linspace(0.0, 1.0, size) - 0.5) / 0.25
  return -0.5 * (at[:, None] ** 2 + at[None, :] ** 2)


def _upsample(x: tf.Tensor, stride: int, grid: tf.Tensor) -> tf.Tensor:
  """[N, h, w, C] at `stride` -> the stride-8 grid (bilinear by the exact factor, cropped)."""
  factor = stride // GRID_STRIDE
  if factor > 1:
    x = tf.image.resize(x, tf.shape(x)[1:3] * factor, "bilinear")
  return x[:, : grid[0], : grid[1]]


def _blur(z: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
  """Separable Gaussian blur of [N, h, w] (sigma in cells), edges replicated."""
  rows = _blur_matrix(tf.shape(z)[1], sigma)
  cols = _blur_matrix(tf.shape(z)[2], sigma)
  return tf.einsum("nhv,wv->nhw", tf.einsum("uh,nhw->nuw", rows, z), cols)


def _blur_matrix(size: tf.Tensor, sigma: tf.Tensor) -> tf.Tensor:
  """[size, size]: row i holds the Gaussian weights of the cells around i, those past an edge
  moved onto the edge cell (as a blur of the edge-replicated grid)."""
  radius = tf.cast(tf.math.ceil(3.0 * tf.stop_gradient(sigma)), tf.int32) + 1
  offsets = tf.range(-radius, radius + 1)
  kernel = tf.exp(-0.5 * tf.square(tf.cast(offsets, tf.float32) / sigma))
  kernel /= tf.reduce_sum(kernel)
  sources = tf.clip_by_value(tf.range(size)[:, None] + offsets[None, :], 0, size - 1)
  return tf.reduce_sum(tf.one_hot(sources, size) * kernel[None, :, None], axis=1)


def log_softmax_cells(z: tf.Tensor) -> tf.Tensor:
  """Logits [N, h, w] -> log-probabilities over each image's cells."""
  flat = tf.reshape(z, [tf.shape(z)[0], -1])
  return tf.reshape(flat - tf.reduce_logsumexp(flat, axis=1, keepdims=True), tf.shape(z))


def to_pixels(z: tf.Tensor, work_size: tf.Tensor, height: tf.Tensor, width: tf.Tensor) -> tf.Tensor:
  """Logits on the working image's grid -> per-pixel log-density [N, height, width] (sums to 1)."""
  padded = tf.shape(z)[1:3] * GRID_STRIDE
  x = tf.image.resize(tf.expand_dims(z, -1), padded, "bilinear")
  x = tf.image.resize(x[:, : work_size[0], : work_size[1]], tf.stack([height, width]), "bilinear")
  return log_softmax_cells(x[..., 0])


def working_image(images: tf.Tensor, work_side: int) -> tuple[tf.Tensor, tf.Tensor]:
  """Images [N, H, W, 3] scaled (up or down, antialiased) so their long side is `work_side`,
  as float32 pixel values, and that size [2]. uint8 images are resized as they are, one kernel
  tap at a time (`resize.antialiased`): no float copy of a large photo is made."""
  size = tf.cast(tf.shape(images)[1:3], tf.float32)
  size = tf.maximum(tf.cast(tf.round(size * (work_side / tf.reduce_max(size))), tf.int32), 1)
  return resize.antialiased(images, size), size


def save(layer: FixationReadout, path: str | os.PathLike, training: dict) -> None:
  """Writes the weights, the layer's configuration and how it was trained (an .npz)."""
  arrays = {name: v.numpy() for name, v in layer.variables_by_name().items()}
  meta = json.dumps({"config": layer.config(), "training": training})
  with files.atomic_path(path, suffix=".tmp.npz") as tmp:
    np.savez(tmp, meta=meta, **arrays)


def load(path: str | os.PathLike = DEFAULT_WEIGHTS) -> FixationReadout:
  """The readout with the weights `save` wrote (default: the ones that ship in the package).

  Raises:
    WeightsError: the file is missing, damaged or not a readout's.
  """
  try:
    with np.load(path) as stored:
      meta = json.loads(str(stored["meta"]))
      arrays = {name: stored[name] for name in stored.files if name != "meta"}
    layer = FixationReadout(**meta["config"], name="fixation_readout")
    layer([tf.zeros((1, 1, 1, channels)) for _, _, channels in TAPS])  # Creates the weights.
    for name, variable in layer.variables_by_name().items():
      variable.assign(arrays[name])
  except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as e:
    raise errors.WeightsError(f"{path}: not fixation readout weights ({e})") from None
  return layer
