"""IJG quantization tables, quality scaling and per-block dead-zone quantization.

The encoder writes one fine base table per component for the whole image;
each block then keeps only the coefficients that its own, coarser quality
would keep (a per-block dead zone). Standard decoders see an ordinary
baseline JPEG.
"""

import numpy as np

# ITU-T T.81 Annex K, tables K.1 and K.2, natural (row-major) order.
LUMA_TABLE = np.array(
    [[16, 11, 10, 16, 24, 40, 51, 61],
     [12, 12, 14, 19, 26, 58, 60, 55],
     [14, 13, 16, 24, 40, 57, 69, 56],
     [14, 17, 22, 29, 51, 87, 80, 62],
     [18, 22, 37, 56, 68, 109, 103, 77],
     [24, 35, 55, 64, 81, 104, 113, 92],
     [49, 64, 78, 87, 103, 121, 120, 101],
     [72, 92, 95, 98, 112, 100, 103, 99]], dtype=np.int32)
CHROMA_TABLE = np.full((8, 8), 99, dtype=np.int32)
CHROMA_TABLE[:4, :4] = [[17, 18, 24, 47],
                        [18, 21, 26, 66],
                        [24, 26, 56, 99],
                        [47, 66, 99, 99]]

MIN_QUALITY = 1.0
MAX_QUALITY = 100.0
_AC_LIMIT = 1023  # Baseline Huffman coding has AC magnitude categories <= 10.
_DC_RANGE = (-1024, 1023)


def quality_scale(quality: np.ndarray | float) -> np.ndarray:
  """IJG scale factor in percent for a (fractional) quality in 1..100.

  libjpeg uses 5000 // q below 50 (integer division) and 200 - 2q above;
  for fractional q the same formulas apply, so integer q match libjpeg.
  """
  quality = np.clip(np.asarray(quality, dtype=np.float64),
                    MIN_QUALITY, MAX_QUALITY)
  return np.where(quality < 50.0, np.floor(5000.0 / quality),
                  200.0 - 2.0 * quality)


def scaled_table(basic: np.ndarray, quality: np.ndarray | float) -> np.ndarray:
  """Scales a basic table like libjpeg's jpeg_add_quant_table (baseline).

  Args:
    basic: (8, 8) basic table (LUMA_TABLE or CHROMA_TABLE).
    quality: scalar or array of shape S of qualities in 1..100.

  Returns:
    int32 tables of shape S + (8, 8), entries clamped to 1..255.
  """
  scale = quality_scale(quality)[..., None, None]
  table = np.floor((basic * scale + 50.0) / 100.0)
  return np.clip(table, 1, 255).astype(np.int32)


def quantize(coefficients: np.ndarray, table: np.ndarray) -> np.ndarray:
  """Quantizes with rounding half away from zero (libjpeg's rule).

  Args:
    coefficients: (M, N, 8, 8) DCT coefficients.
    table: (8, 8) table, or (M, N, 8, 8) per-block tables.

  Returns:
    int16 levels clipped to the baseline range.
  """
  levels = np.sign(coefficients) * np.floor(
      np.abs(coefficients) / table + 0.5)
  return _clip_baseline(levels)


def deadzone_quantize(coefficients: np.ndarray, base_table: np.ndarray,
                      block_tables: np.ndarray) -> np.ndarray:
  """Quantizes with the base table, keeping only what block tables keep.

  A coefficient survives only if it is non-zero when quantized with its
  block's own table, i.e. |c| >= table / 2; survivors are quantized with
  the (finer) base table.

  Args:
    coefficients: (M, N, 8, 8) DCT coefficients.
    base_table: (8, 8) table written to the file.
    block_tables: (M, N, 8, 8) tables deciding which coefficients survive.

  Returns:
    int16 levels on the base table.
  """
  levels = quantize(coefficients, base_table)
  keep = 2.0 * np.abs(coefficients) >= block_tables
  return np.where(keep, levels, 0).astype(np.int16)


def _clip_baseline(levels: np.ndarray) -> np.ndarray:
  """Clips levels to the ranges that baseline Huffman coding can carry."""
  dc = np.clip(levels[..., 0, 0], *_DC_RANGE)
  levels = np.clip(levels, -_AC_LIMIT, _AC_LIMIT)
  levels[..., 0, 0] = dc
  return levels.astype(np.int16)
