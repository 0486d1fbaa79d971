"""Colour conversion and chroma subsampling, bit-exact with libjpeg, or fitted to the decoder.

An RGB image becomes JFIF YCbCr (full range) with libjpeg's fixed-point
arithmetic. Chroma is either box-filtered with libjpeg's alternating rounding
bias (`downsample_h2v2`), or fitted (`fit_h2v2`): the half-resolution plane
whose upsampling by the decoder (libjpeg's 'fancy' triangle filter, the
default of libjpeg-turbo, OpenCV, Pillow and browsers) is closest to the full
chroma in least squares. Planes are padded to whole blocks (whole MCUs for
4:2:0) by edge replication, as libjpeg does before its DCT.
"""

import math

import numba
import numpy as np

from semantic_jpeg import blocks

# (vertical, horizontal) sampling factors of each component.
SAMPLING_FACTORS = {"420": ((2, 2), (1, 1), (1, 1)), "444": ((1, 1),) * 3, "gray": ((1, 1),)}

# libjpeg's jccolor.c constants: FIX(x) = round(x * 2**16), with offsets.
_SCALE = 1.0 / 65536.0
_RGB_TO_YCC = np.array(
  [[19595, 38470, 7471], [-11059, -21709, 32768], [32768, -27439, -5329]], dtype=np.float32
)
_STRIPE_ROWS = 256  # Rows converted or fitted at a time.
_YCC_OFFSET = np.array([32768, (128 << 16) + 32767, (128 << 16) + 32767], dtype=np.float32)


def rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Converts (H, W, 3) uint8 RGB to integer-valued float32 Y, Cb and Cr planes (H, W).

  Every product and partial sum is an integer below 2**24, so float32 arithmetic reproduces
  libjpeg's integers exactly, in any order; stripes of rows keep the temporaries small, and
  three separate planes let each be freed on its own.
  """
  height, width = rgb.shape[:2]
  planes = tuple(np.empty((height, width), np.float32) for _ in range(3))
  for top in range(0, height, _STRIPE_ROWS):
    stripe = rgb[top : top + _STRIPE_ROWS].astype(np.float32)
    for plane, weights, offset in zip(planes, _RGB_TO_YCC, _YCC_OFFSET):
      value = stripe[..., 0] * weights[0] + stripe[..., 1] * weights[1]
      value += stripe[..., 2] * weights[2] + offset
      plane[top : top + _STRIPE_ROWS] = np.floor(value * _SCALE)
  return planes


def pad_plane(plane: np.ndarray, multiple: int) -> np.ndarray:
  """Pads a 2-D plane to a multiple of `multiple` by edge replication."""
  height, width = plane.shape
  pad_h = -height % multiple
  pad_w = -width % multiple
  if not pad_h and not pad_w:
    return plane
  return np.pad(plane, ((0, pad_h), (0, pad_w)), mode="edge")


def downsample_h2v2(plane: np.ndarray) -> np.ndarray:
  """Halves a plane with even dimensions like libjpeg's h2v2_downsample.

  Each output sample is (sum of its 2x2 inputs + bias) >> 2, where the
  bias alternates 1, 2, 1, 2, ... along a row.
  """
  height, width = plane.shape
  sums = plane.reshape(height // 2, 2, width // 2, 2).sum(axis=(1, 3))
  bias = np.tile(np.array([1.0, 2.0], np.float32), width // 4 + 1)
  return np.floor((sums + bias[: width // 2]) / 4.0)


def fancy_upsample_h2v2(plane: np.ndarray) -> np.ndarray:
  """Doubles a plane as libjpeg's h2v2_fancy_upsample does, without its rounding.

  Each output sample weighs its nearest input 9/16, the next ones across and down 3/16 each,
  and the diagonal one 1/16; edges replicate.
  """
  height, width = plane.shape
  padded = np.pad(plane, 1, mode="edge")
  out = np.empty((2 * height, 2 * width), np.float64)
  for row, dy in ((0, -1), (1, 1)):
    for col, dx in ((0, -1), (1, 1)):
      vertical = padded[1 + dy : 1 + dy + height, 1 : 1 + width]
      horizontal = padded[1 : 1 + height, 1 + dx : 1 + dx + width]
      diagonal = padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
      out[row::2, col::2] = (9.0 * plane + 3.0 * (vertical + horizontal) + diagonal) / 16.0
  return out


def fit_h2v2(plane: np.ndarray, iterations: int = 4) -> np.ndarray:
  """Halves a plane with even dimensions so that the decoder's upsampling matches it best.

  Starts from the 2x2 mean and corrects it by the 2x2 mean of the residual after
  `fancy_upsample_h2v2` (a Landweber iteration; 4 steps take the RMS error on Kodak's chroma
  from 0.96 to 0.75, within 0.1 % of convergence), clipped to 0..255, float32. Nothing of the
  plane's full size is made in float64.
  """
  fitted = _mean_2x2_float64(plane)
  for _ in range(iterations):
    fitted = np.clip(fitted + _residual_mean(plane, fitted), 0.0, 255.0)
  return fitted.astype(np.float32)


def _mean_2x2_float64(plane: np.ndarray) -> np.ndarray:
  rows = plane.shape[0] // 2
  out = np.empty((rows, plane.shape[1] // 2), np.float64)
  for top in range(0, rows, _STRIPE_ROWS // 2):
    stripe = plane[2 * top : 2 * (top + _STRIPE_ROWS // 2)].astype(np.float64)
    out[top : top + _STRIPE_ROWS // 2] = _mean_2x2(stripe)
  return out


@numba.njit(cache=True, nogil=True)
def _residual_mean(plane: np.ndarray, fitted: np.ndarray) -> np.ndarray:
  """The 2x2 mean of plane - fancy_upsample_h2v2(fitted), without temporaries: each sum in the
  order of the array form (`fancy_upsample_h2v2`, then `_mean_2x2`), so bit for bit the same."""
  rows, cols = fitted.shape
  out = np.empty_like(fitted)
  for i in range(rows):
    above, below = max(i - 1, 0), min(i + 1, rows - 1)
    for j in range(cols):
      left, right = max(j - 1, 0), min(j + 1, cols - 1)
      top = _residual(plane, fitted, i, j, above, left, 0, 0) + _residual(
        plane, fitted, i, j, above, right, 0, 1
      )
      bottom = _residual(plane, fitted, i, j, below, left, 1, 0) + _residual(
        plane, fitted, i, j, below, right, 1, 1
      )
      out[i, j] = (top + bottom) / 4
  return out


@numba.njit(cache=True, nogil=True, inline="always")
def _residual(plane, fitted, i: int, j: int, near_row: int, near_col: int, r: int, c: int):
  """plane - fancy_upsample_h2v2(fitted) at output (2i + r, 2j + c), its neighbours given."""
  across = fitted[near_row, j] + fitted[i, near_col]
  upsampled = (9.0 * fitted[i, j] + 3.0 * across + fitted[near_row, near_col]) / 16.0
  return np.float64(plane[2 * i + r, 2 * j + c]) - upsampled


def _mean_2x2(plane: np.ndarray) -> np.ndarray:
  """Means of 2x2 blocks: bit for bit numpy's reshape-and-mean, summed in its order, at about
  2.5x its speed."""
  return ((plane[0::2, 0::2] + plane[0::2, 1::2]) + (plane[1::2, 0::2] + plane[1::2, 1::2])) / 4


def mcu_size(subsampling: str) -> int:
  """Returns the luma MCU side in pixels for a subsampling mode."""
  return 16 if subsampling == "420" else 8


def block_grid(height: int, width: int, subsampling: str) -> list[tuple[int, int]]:
  """Returns (rows, cols) of 8x8 blocks per component, as libjpeg counts."""
  luma = blocks.grid_shape(height, width)
  if subsampling == "gray":
    return [luma]
  if subsampling == "420":
    chroma = (math.ceil(height / 16), math.ceil(width / 16))
  else:
    chroma = luma
  return [luma, chroma, chroma]


def to_planes(image: np.ndarray, subsampling: str, *, fit_chroma: bool = False) -> list[np.ndarray]:
  """Splits an image into float32 component planes padded to whole blocks.

  Args:
    image: (H, W, 3) RGB or (H, W) grayscale, uint8. A 2-D image always
      gives a single plane.
    subsampling: "420", "444" or "gray" (`options.SUBSAMPLINGS`).
    fit_chroma: 4:2:0 chroma by `fit_h2v2` instead of libjpeg's box filter.

  Returns:
    The component planes (Y or Y, Cb, Cr), each padded to the blocks of
    `block_grid`, with sample values 0..255.
  """
  if image.ndim == 2:
    return [pad_plane(image.astype(np.float32), 8)]
  mcu = mcu_size(subsampling)
  height, width = image.shape[:2]
  rgb = np.pad(image, ((0, -height % mcu), (0, -width % mcu), (0, 0)), mode="edge")
  y, cb, cr = rgb_to_ycbcr(rgb)
  grid = block_grid(height, width, subsampling)
  luma = y[: grid[0][0] * 8, : grid[0][1] * 8]
  if subsampling == "gray":
    return [luma]
  if subsampling == "420":
    halve = fit_h2v2 if fit_chroma else downsample_h2v2
    cb, cr = halve(cb), halve(cr)
  return [luma, cb, cr]
