"""Pictures: map rendering and the most salient window the crop figures use."""

import numpy as np

from semantic_jpeg.evaluation import visualize


def test_most_salient_window_finds_the_hot_square_and_stays_inside():
  block_map = np.zeros((20, 30))
  block_map[12:16, 21:25] = 1.0
  assert visualize.most_salient_window(block_map, 4) == (12, 21)
  block_map[:] = 0.0
  block_map[-1, -1] = 1.0  # At the corner: the window must not leave the grid.
  assert visualize.most_salient_window(block_map, 5) == (15, 25)
  assert visualize.most_salient_window(block_map, 50) == (0, 10)  # Clamped to 20 x 20.


def test_overlay_and_gray_keep_the_image_size():
  rgb = np.zeros((16, 24, 3), np.uint8)
  saliency_map = np.linspace(0, 1, 16 * 24).reshape(16, 24)
  assert visualize.overlay(rgb, saliency_map).shape == (16, 24, 3)
  gray = visualize.map_to_gray(saliency_map)
  assert gray.dtype == np.uint8 and gray.min() == 0 and gray.max() == 255
