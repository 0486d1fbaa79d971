"""The paper's encoder (reproduction mode): stitch decoded qualities, re-encode.

Prakash et al. (DCC 2017) compress the image at qualities 10, 20, ..., 100,
take each region's pixels from the quality its saliency asks for, and
compress the stitched image once more as a standard JPEG. This double
compression is worse than plain JPEG at equal size; it is kept to
reproduce the paper. Stitching here is per 8x8 luma block.
"""

import numpy as np

from semantic_jpeg import blocks
from semantic_jpeg.codec import turbo

LEVELS = np.arange(10, 101, 10)


def level_indices(block_qualities: np.ndarray) -> np.ndarray:
  """Index into LEVELS of the level nearest to each block quality."""
  indices = np.rint(block_qualities / 10.0).astype(np.int64) - 1
  return np.clip(indices, 0, len(LEVELS) - 1)


def stitch(image: np.ndarray, block_qualities: np.ndarray, subsampling: str) -> np.ndarray:
  """Takes each 8x8 block's pixels from the image decoded at its level.

  Only the levels in use are encoded and decoded.

  Args:
    image: (H, W, 3) RGB or (H, W) grayscale uint8.
    block_qualities: (ceil(H/8), ceil(W/8)) qualities.
    subsampling: chroma subsampling of the layer encodes.

  Returns:
    The stitched image, same shape and dtype as `image`.
  """
  indices = level_indices(block_qualities)
  pixel_indices = blocks.to_pixels(indices, *image.shape[:2])
  stitched = np.empty_like(image)
  for index in np.unique(indices):
    layer = turbo.decode(turbo.encode(image, LEVELS[index], subsampling))
    mask = pixel_indices == index
    stitched[mask] = layer[mask]
  return stitched
