"""Class activation maps (Zhou et al. 2016) and the paper's multi-structure combination.

The CAM of class c is the classifier weights of c applied to the last feature map of a global-
average-pooling network. Prakash et al. (DCC 2017) normalise the CAMs of the top-k classes and
combine them into one multi-structure region-of-interest (MS-ROI) map in [0, 1].
"""

import tensorflow as tf

STRIDE = 32  # Output stride of the backbone's last feature map.


def class_activation_maps(features: tf.Tensor, kernel: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
  """[N, h, w, C] features and [C, classes] weights -> CAMs [N, h, w, k] of `classes`."""
  class_weights = tf.gather(tf.transpose(kernel), classes)  # [N, k, C]
  return tf.einsum("nhwc,nkc->nhwk", features, class_weights)


def normalise(maps: tf.Tensor) -> tf.Tensor:
  """Min-max normalises each [N, h, w, k] map to [0, 1] over its spatial extent."""
  low = tf.reduce_min(maps, axis=[1, 2], keepdims=True)
  high = tf.reduce_max(maps, axis=[1, 2], keepdims=True)
  return tf.math.divide_no_nan(maps - low, high - low)


def combine(cams: tf.Tensor, mode: str) -> tf.Tensor:
  """Normalised CAMs [N, h, w, k] -> one map [N, h, w, 1]: sum, or weights k, k-1, ..., 1."""
  cams = normalise(cams)
  if mode == "sum":
    return tf.reduce_sum(cams, axis=-1, keepdims=True)
  k = tf.shape(cams)[-1]
  rank_weights = tf.cast(tf.range(k, 0, -1), tf.float32)
  return tf.reduce_sum(cams * rank_weights, axis=-1, keepdims=True)


def to_pixels(
  grid_map: tf.Tensor, model_size: tf.Tensor, height: tf.Tensor, width: tf.Tensor
) -> tf.Tensor:
  """Stride-32 grid map [N, h, w, 1] -> [N, height, width] aligned with the input pixels.

  Grid cell i covers model-input pixels [32i, 32i + 32): upsample to the padded size,
  crop to the model input, then scale to the original image size if it was capped.
  """
  padded = tf.shape(grid_map)[1:3] * STRIDE
  pixels = tf.image.resize(grid_map, padded, "bilinear")[:, : model_size[0], : model_size[1]]
  pixels = tf.image.resize(pixels, tf.stack([height, width]), "bilinear")
  return tf.clip_by_value(pixels[..., 0], 0.0, 1.0)
