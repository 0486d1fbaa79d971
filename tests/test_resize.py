"""The map graph's resizing: TensorFlow's antialiased resize and exact block means, as gathers."""

import numpy as np
import pytest
import tensorflow as tf

from semantic_jpeg.saliency import resize


@pytest.mark.parametrize(
  "shape, size",
  [
    ((512, 768), (341, 512)),  # Kodak to the readout's working size.
    ((1000, 1501), (341, 512)),  # Shrinks about 3x: six taps.
    ((300, 200), (512, 341)),  # Grows: plain bilinear.
    ((100, 1000), (3, 512)),  # Shrinks 33x one way, grows the other.
    ((5, 3), (2, 1)),
    ((64, 64), (64, 64)),
  ],
)
def test_antialiased_is_tensorflows_antialiased_bilinear_resize(shape, size):
  images = np.random.default_rng(0).integers(0, 256, (2, *shape, 3), dtype=np.uint8)
  expected = tf.image.resize(images, size, "bilinear", antialias=True).numpy()
  got = resize.antialiased(tf.constant(images), tf.constant(size)).numpy()
  assert got.shape == expected.shape
  np.testing.assert_allclose(got, expected, atol=2e-4)


@pytest.mark.parametrize("shape, factor", [((100, 150), 3), ((1000, 1501), 7), ((64, 64), 1)])
def test_box_reduce_is_the_mean_of_each_whole_block(shape, factor):
  images = np.random.default_rng(1).integers(0, 256, (1, *shape, 3), dtype=np.uint8)
  rows, cols = shape[0] // factor, shape[1] // factor
  blocks = images[:, : rows * factor, : cols * factor].reshape(1, rows, factor, cols, factor, 3)
  got = resize.box_reduce(tf.constant(images), tf.constant(factor)).numpy()
  np.testing.assert_allclose(got, blocks.mean(axis=(2, 4)), atol=1e-4)
