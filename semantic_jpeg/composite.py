"""The paper's encoder (reproduction mode): stitch decoded qualities, re-encode.

Prakash et al. (DCC 2017) compress the image at qualities 10, 20, ..., 100,
take each region's pixels from the quality its saliency asks for, and
compress the stitched image once more as a standard JPEG. This double
compression is worse than plain JPEG at equal size; it is kept to
reproduce the paper. Stitching here is per 8x8 luma block.
"""

import cv2
import numpy as np

from semantic_jpeg import errors

LEVELS = np.arange(10, 101, 10)
_SAMPLING = {'420': cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
             '444': cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444}


def encode(image: np.ndarray, quality: float, subsampling: str) -> bytes:
  """Encodes RGB or grayscale uint8 pixels with OpenCV (libjpeg-turbo)."""
  params = [cv2.IMWRITE_JPEG_QUALITY, int(round(quality))]
  if image.ndim == 3:
    params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, _SAMPLING[subsampling]]
    image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
  ok, data = cv2.imencode('.jpg', image, params)
  if not ok:
    raise errors.EncodeError(f'OpenCV could not encode at quality {quality}')
  return data.tobytes()


def decode(data: bytes) -> np.ndarray:
  """Decodes a JPEG to RGB (or grayscale) uint8 pixels with OpenCV."""
  pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
  return pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


def level_indices(block_qualities: np.ndarray) -> np.ndarray:
  """Index into LEVELS of the level nearest to each block quality."""
  indices = np.rint(block_qualities / 10.0).astype(np.int64) - 1
  return np.clip(indices, 0, len(LEVELS) - 1)


def stitch(image: np.ndarray, block_qualities: np.ndarray,
           subsampling: str) -> np.ndarray:
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
  height, width = image.shape[:2]
  pixel_indices = np.repeat(np.repeat(indices, 8, axis=0), 8, axis=1)
  pixel_indices = pixel_indices[:height, :width]
  stitched = np.empty_like(image)
  for index in np.unique(indices):
    layer = decode(encode(image, LEVELS[index], subsampling))
    mask = pixel_indices == index
    stitched[mask] = layer[mask]
  return stitched
