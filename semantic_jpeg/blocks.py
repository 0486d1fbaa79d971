"""The 8x8 block grid: its size, and maps moved between pixels and blocks.

Every map the encoder uses has one value per 8x8 luma block, ceil(H / 8) x ceil(W / 8); the
right and bottom blocks may hold fewer pixels than 64.
"""

import math

import numpy as np

BLOCK = 8


def grid_shape(height: int, width: int) -> tuple[int, int]:
  """(rows, cols) of 8x8 blocks covering a height x width image."""
  return math.ceil(height / BLOCK), math.ceil(width / BLOCK)


def to_pixels(grid: np.ndarray, height: int, width: int) -> np.ndarray:
  """Each block's value spread over its pixels, (H, W); `from_pixels` gives the grid back."""
  return np.repeat(np.repeat(grid, BLOCK, axis=0), BLOCK, axis=1)[:height, :width]


def from_pixels(pixel_map: np.ndarray) -> np.ndarray:
  """The mean of a pixel map over each block (edge blocks over their pixels inside), float64."""
  height, width = pixel_map.shape
  pad = ((0, -height % BLOCK), (0, -width % BLOCK))
  sums = _block_sums(np.pad(pixel_map.astype(np.float64), pad))
  counts = _block_sums(np.pad(np.ones((height, width)), pad))
  return sums / counts


def top_share(grid: np.ndarray, share: float) -> np.ndarray:
  """The cells in the top `share` of a grid's values (ties at the threshold included), bool."""
  return grid >= np.quantile(grid, 1.0 - share)


def _block_sums(plane: np.ndarray) -> np.ndarray:
  """Sums a plane of whole 8x8 blocks over each block."""
  rows, cols = plane.shape[0] // BLOCK, plane.shape[1] // BLOCK
  return plane.reshape(rows, BLOCK, cols, BLOCK).sum(axis=(1, 3))
