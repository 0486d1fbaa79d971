"""Resizing inside the map's graph, with ops that LiteRT has too (gathers, sums, a loop).

`antialiased` is `tf.image.resize(..., "bilinear", antialias=True)` (TensorFlow's
ScaleAndTranslate with its triangle kernel) and `box_reduce` averages integer blocks; both
gather their sources one kernel tap at a time, so that the graph converts to LiteRT
(`litert`) and a large photo is never copied whole as floats.
"""

from collections.abc import Callable

import tensorflow as tf


def box_reduce(images: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
  """Means of [N, H, W, C] images over factor x factor blocks, as float32.

  Partial blocks at the bottom and right are dropped. The sums of uint8 samples are exact in
  float32 for factors up to 256.
  """
  height, width = tf.shape(images)[1] // factor, tf.shape(images)[2] // factor
  rows = _accumulate(factor, lambda t: _take(images, t + factor * tf.range(height), axis=1))
  x = _accumulate(factor, lambda t: _take(rows, t + factor * tf.range(width), axis=2))
  return x / tf.cast(factor * factor, tf.float32)


def antialiased(images: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
  """[N, H, W, C] (any real dtype) -> float32 [N, size[0], size[1], C], bilinear with the
  kernel widened by the shrink factor, as `tf.image.resize(antialias=True)`."""
  return _along(_along(images, size[0], axis=1), size[1], axis=2)


def _along(images: tf.Tensor, out_size: tf.Tensor, axis: int) -> tf.Tensor:
  """Resizes one spatial axis (1 or 2): each output sample is a weighted sum of its sources."""
  sources, weights = _triangle_taps(tf.shape(images)[axis], out_size)
  for _ in range(3 - axis):  # Broadcast over the axes after `axis`.
    weights = tf.expand_dims(weights, -1)
  return _accumulate(
    tf.shape(sources)[1], lambda t: _take(images, sources[:, t], axis) * weights[:, t]
  )


def _take(images: tf.Tensor, indices: tf.Tensor, axis: int) -> tf.Tensor:
  return tf.cast(tf.gather(images, indices, axis=axis), tf.float32)


def _accumulate(count: tf.Tensor, term: Callable[[tf.Tensor], tf.Tensor]) -> tf.Tensor:
  """term(0) + ... + term(count - 1), for count >= 1, one term in memory at a time."""
  first = term(tf.constant(0))
  _, total = tf.while_loop(
    lambda t, _: t < count, lambda t, total: (t + 1, total + term(t)), (tf.constant(1), first)
  )
  return total


def _triangle_taps(in_size: tf.Tensor, out_size: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
  """Source indices and weights [out, taps] of TensorFlow's antialiased triangle kernel: output
  sample x sits at (x + 0.5) / scale in the input; the kernel's half-width is max(1 / scale, 1)."""
  inv_scale = 1.0 / (tf.cast(out_size, tf.float32) / tf.cast(in_size, tf.float32))
  half_width = tf.maximum(inv_scale, 1.0)
  centres = (tf.range(out_size, dtype=tf.float32) + 0.5) * inv_scale
  first = tf.cast(tf.math.ceil(centres - half_width - 0.5), tf.int32)
  taps = tf.cast(tf.math.ceil(2.0 * half_width), tf.int32) + 1
  sources = first[:, None] + tf.range(taps)[None, :]
  offsets = (tf.cast(sources, tf.float32) + 0.5 - centres[:, None]) / half_width
  inside = (sources >= 0) & (sources < in_size)
  weights = tf.where(inside, tf.maximum(1.0 - tf.abs(offsets), 0.0), 0.0)
  weights /= tf.reduce_sum(weights, axis=1, keepdims=True)
  return tf.clip_by_value(sources, 0, in_size - 1), weights
