"""The face prior: detected faces as Gaussian bumps on a grid."""

import tensorflow as tf


def face_prior_map(
  boxes: tf.Tensor,
  counts: tf.Tensor,
  height: int | tf.Tensor,
  width: int | tf.Tensor,
  pixels_per_cell: float | tf.Tensor = 1.0,
) -> tf.Tensor:
  """Renders faces as Gaussian bumps of peak 1 on a grid, max-combined.

  A face above the detection threshold is a face: its bump peaks at 1 (the
  caller scales it by the face weight), centred on the box, with a standard
  deviation of half the box side per axis (0.61 at the middle of each box
  edge). Grid cell (i, j) is evaluated at image pixel ((i + 0.5) * cell_h,
  (j + 0.5) * cell_w); the deviation is widened by half a cell so that faces
  smaller than a cell still show.

  Measured on kodim04 against a flatter head-ellipse bump: a flat top makes
  the whole face one plateau level with the class maps' hot spots, whereas
  the Gaussian keeps the face centre the hottest region of the map.

  Args:
    boxes: [N, F, 4] float32 (ymin, xmin, ymax, xmax) in image pixels.
    counts: [N] int32 number of faces, first in `boxes`.
    height: grid rows.
    width: grid columns.
    pixels_per_cell: positive cell size in pixels, a scalar or (rows, cols).

  Returns:
    [N, height, width] float32 in [0, 1].
  """
  cell = tf.broadcast_to(tf.cast(pixels_per_cell, tf.float32), (2,))
  size = boxes[..., 2:] - boxes[..., :2]  # [N, F, 2] (h, w).
  center = (boxes[..., :2] + boxes[..., 2:]) / 2.0
  sigma = tf.sqrt(tf.square(size / 2.0) + tf.square(cell / 2.0))
  valid = tf.range(tf.shape(boxes)[1]) < counts[:, None]

  def distance2(axis: int, steps: int | tf.Tensor) -> tf.Tensor:
    """Squared normalised distance along one axis: [N, F, steps]."""
    at = (tf.range(steps, dtype=tf.float32) + 0.5) * cell[axis]
    return tf.square((at - center[..., axis, None]) / sigma[..., axis, None])

  d2 = tf.expand_dims(distance2(0, height), -1) + tf.expand_dims(distance2(1, width), -2)
  bumps = tf.where(valid[..., None, None], tf.exp(-0.5 * d2), 0.0)
  return tf.reduce_max(bumps, axis=1)
