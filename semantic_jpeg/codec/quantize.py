"""Quantization tables (IJG, Robidoux, jpegli), quality scaling, per-block dead-zone quantization.

The encoder writes one fine base table per component for the whole image;
each block then keeps only the coefficients that its own, coarser quality
would keep (a per-block dead zone). Standard decoders see an ordinary
baseline JPEG.
"""

import numpy as np

# ITU-T T.81 Annex K, tables K.1 and K.2, natural (row-major) order.
LUMA_TABLE = np.array(
  [
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99],
  ],
  dtype=np.int32,
)
CHROMA_TABLE = np.full((8, 8), 99, dtype=np.int32)
CHROMA_TABLE[:4, :4] = [[17, 18, 24, 47], [18, 21, 26, 66], [24, 26, 56, 99], [47, 66, 99, 99]]

# mozjpeg's default base table (index 3, N. Robidoux), for luma and chroma alike.
ROBIDOUX_TABLE = np.array(
  [
    [16, 16, 16, 18, 25, 37, 56, 85],
    [16, 17, 20, 27, 34, 40, 53, 75],
    [16, 20, 24, 31, 43, 62, 91, 135],
    [18, 27, 31, 40, 53, 74, 106, 156],
    [25, 34, 43, 53, 69, 94, 131, 189],
    [37, 40, 62, 74, 94, 124, 169, 238],
    [56, 53, 91, 106, 131, 169, 226, 311],
    [85, 75, 135, 156, 189, 238, 311, 418],
  ],
  dtype=np.int32,
)

# jpegli's luma table at quality 50 (libjxl's jpegli, YCbCr output, as pyjpegli writes it): far
# flatter than Robidoux's (high frequencies 43 to 59 against 85 to 418), for an encoder that
# drops high frequencies block by block instead (jpegli's adaptive dead zone, our trellis).
JPEGLI_LUMA_TABLE = np.array(
  [
    [12, 10, 20, 21, 33, 34, 37, 38],
    [10, 14, 20, 23, 34, 31, 39, 39],
    [20, 20, 24, 27, 34, 38, 37, 41],
    [21, 23, 27, 33, 41, 42, 42, 45],
    [33, 34, 34, 41, 45, 48, 54, 54],
    [34, 31, 38, 42, 48, 53, 50, 59],
    [37, 39, 37, 42, 54, 50, 53, 53],
    [38, 39, 41, 45, 54, 59, 53, 43],
  ],
  dtype=np.int32,
)

# Natural (row-major) index of each zigzag position.
ZIGZAG = np.array(
  [
    0,
    1,
    8,
    16,
    9,
    2,
    3,
    10,
    17,
    24,
    32,
    25,
    18,
    11,
    4,
    5,
    12,
    19,
    26,
    33,
    40,
    48,
    41,
    34,
    27,
    20,
    13,
    6,
    7,
    14,
    21,
    28,
    35,
    42,
    49,
    56,
    57,
    50,
    43,
    36,
    29,
    22,
    15,
    23,
    30,
    37,
    44,
    51,
    58,
    59,
    52,
    45,
    38,
    31,
    39,
    46,
    53,
    60,
    61,
    54,
    47,
    55,
    62,
    63,
  ],
  dtype=np.int64,
)

MIN_QUALITY = 1.0
MAX_QUALITY = 100.0
_AC_LIMIT = 1023  # Baseline Huffman coding has AC magnitude categories <= 10.
_DC_RANGE = (-1024, 1023)


def quality_scale(quality: np.ndarray | float) -> np.ndarray:
  """IJG scale factor in percent for a (fractional) quality in 1..100.

  libjpeg uses 5000 // q below 50 (integer division) and 200 - 2q above;
  for fractional q the same formulas apply, so integer q match libjpeg.
  """
  scale = _continuous_scale(quality)
  return np.where(np.asarray(quality) < 50.0, np.floor(scale), scale)


def _continuous_scale(quality: np.ndarray | float) -> np.ndarray:
  """IJG's scale in percent without the integer division: 5000 / q below 50, 200 - 2q above."""
  quality = np.clip(np.asarray(quality, dtype=np.float64), MIN_QUALITY, MAX_QUALITY)
  return np.where(quality < 50.0, 5000.0 / quality, 200.0 - 2.0 * quality)


def scaled_table(basic: np.ndarray, quality: np.ndarray | float) -> np.ndarray:
  """Scales a basic table like libjpeg's jpeg_add_quant_table (baseline).

  Args:
    basic: (8, 8) basic table (LUMA_TABLE, CHROMA_TABLE or ROBIDOUX_TABLE).
    quality: scalar or array of shape S of qualities in 1..100.

  Returns:
    int32 tables of shape S + (8, 8), entries clamped to 1..255.
  """
  scale = quality_scale(quality)[..., None, None]
  table = np.floor((basic * scale + 50.0) / 100.0)
  return np.clip(table, 1, 255).astype(np.int32)


def _staggered_offsets() -> np.ndarray:
  """Rounding offsets in (0, 1), one per entry: the bit-reversed zigzag position, (8, 8)."""
  position = np.empty(64, np.int64)
  position[ZIGZAG] = np.arange(64)
  reversed_bits = np.array([int(f"{i:06b}"[::-1], 2) for i in range(64)])
  return ((reversed_bits[position] + 0.5) / 64.0).reshape(8, 8)


_STAGGER = _staggered_offsets()


def staggered_table(basic: np.ndarray, quality: float) -> np.ndarray:
  """`scaled_table` with a different rounding offset per entry, for smooth rate control.

  With one offset (libjpeg's 0.5), entries with equal basic values change at
  the same quality, and the file size jumps there; staggered offsets spread
  those changes over the quality axis. Below quality 50 the scale is 5000 / q
  without libjpeg's integer division, whose 1 % steps would move every entry
  at once. From quality 50 up, entries are within 1 of `scaled_table`'s.
  """
  table = np.floor(basic * _continuous_scale(quality) / 100.0 + _STAGGER)
  return np.clip(table, 1, 255).astype(np.int32)


def quantize(coefficients: np.ndarray, table: np.ndarray) -> np.ndarray:
  """Quantizes with rounding half away from zero (libjpeg's rule).

  Args:
    coefficients: (M, N, 8, 8) DCT coefficients.
    table: (8, 8) table, or (M, N, 8, 8) per-block tables.

  Returns:
    int16 levels clipped to the baseline range.
  """
  levels = np.sign(coefficients) * np.floor(np.abs(coefficients) / table + 0.5)
  return _clip_baseline(levels)


def deadzone_quantize(
  coefficients: np.ndarray, base_table: np.ndarray, block_tables: np.ndarray
) -> np.ndarray:
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
