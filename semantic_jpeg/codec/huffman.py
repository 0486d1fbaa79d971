"""The Huffman model of the trellis: AC symbol counts and the code lengths libjpeg gives them.

Symbols are JPEG's (run << 4 | size), ZRL (0xF0) and end-of-block (0x00). Code lengths are
those of libjpeg's optimized tables (`jpeg_gen_optimal_table`), so the trellis prices symbols
as the file will code them.
"""

import numba
import numpy as np

from semantic_jpeg.codec import quantize

ZIGZAG = quantize.ZIGZAG
EOB = 0x00
ZRL = 0xF0
MAX_CODE_BITS = 16


@numba.njit(cache=True, nogil=True)
def magnitude_category(value: int) -> int:
  """Number of bits of |value| (JPEG's SSSS)."""
  bits = 0
  while value:
    bits += 1
    value >>= 1
  return bits


@numba.njit(cache=True, nogil=True)
def symbol_counts(levels: np.ndarray) -> np.ndarray:
  """Counts of each AC Huffman symbol (run << 4 | size, ZRL, EOB) over (B, 64) natural levels."""
  counts = np.zeros(256, np.int64)
  for block in range(levels.shape[0]):
    last = 0
    for k in range(63, 0, -1):
      if levels[block, ZIGZAG[k]] != 0:
        last = k
        break
    run = 0
    for k in range(1, last + 1):
      magnitude = abs(levels[block, ZIGZAG[k]])
      if magnitude == 0:
        run += 1
        continue
      while run > 15:
        counts[ZRL] += 1
        run -= 16
      counts[(run << 4) | magnitude_category(magnitude)] += 1
      run = 0
    if last < 63:
      counts[EOB] += 1
  return counts


@numba.njit(cache=True, nogil=True)
def _libjpeg_code_sizes(counts: np.ndarray) -> np.ndarray:
  """Huffman code sizes as libjpeg's jpeg_gen_optimal_table assigns them (jchuff.c): the
  reserved symbol 256 keeps any code from being all ones, then lengths are limited to 16."""
  freq = np.zeros(257)
  freq[:256] = counts
  freq[256] = 1.0
  sizes = np.zeros(257, np.int64)
  others = np.full(257, -1, np.int64)
  while True:
    c1, c2 = -1, -1
    v = 1e300
    for i in range(257):
      if freq[i] > 0 and freq[i] <= v:
        v, c1 = freq[i], i
    v = 1e300
    for i in range(257):
      if freq[i] > 0 and freq[i] <= v and i != c1:
        v, c2 = freq[i], i
    if c2 < 0:
      break
    freq[c1] += freq[c2]
    freq[c2] = 0.0
    sizes[c1] += 1
    while others[c1] >= 0:
      c1 = others[c1]
      sizes[c1] += 1
    others[c1] = c2
    sizes[c2] += 1
    while others[c2] >= 0:
      c2 = others[c2]
      sizes[c2] += 1
  bits = np.zeros(258, np.int64)  # A code size is at most 256.
  for i in range(257):
    if sizes[i]:
      bits[sizes[i]] += 1
  for i in range(257, 16, -1):
    while bits[i] > 0:
      j = i - 2
      while bits[j] == 0:
        j -= 1
      bits[i] -= 2
      bits[i - 1] += 1
      bits[j + 1] += 2
      bits[j] -= 1
  i = 16
  while bits[i] == 0:
    i -= 1
  bits[i] -= 1  # The reserved symbol takes the longest code.
  # Lengths go to symbols in order of their unlimited sizes, ties by symbol value.
  order = np.argsort(sizes[:256], kind="mergesort")
  result = np.zeros(256, np.int64)
  length = 1
  for symbol in order:
    if sizes[symbol] == 0:
      continue
    while length <= 16 and bits[length] == 0:
      length += 1
    result[symbol] = length
    bits[length] -= 1
  return result


def code_lengths(counts: np.ndarray) -> np.ndarray:
  """Code length in bits per symbol that libjpeg's optimized Huffman table gives these counts.

  Symbols that never occur get 17 bits: choosing one must look expensive.
  """
  if not np.any(counts):
    return np.full(256, MAX_CODE_BITS + 1.0)
  sizes = _libjpeg_code_sizes(np.asarray(counts, np.float64))
  return np.where(sizes > 0, sizes, MAX_CODE_BITS + 1).astype(np.float64)


def generic_code_lengths() -> np.ndarray:
  """A starting estimate: code lengths of a typical photo's AC symbol statistics."""
  counts = np.ones(256)
  for run in range(16):
    for size in range(1, 11):
      counts[(run << 4) | size] = 40.0 * 2.0 ** (-size - run / 2.0)
  counts[EOB] = 50.0
  counts[ZRL] = 1.0
  return code_lengths(counts)
