"""Rate-distortion (trellis) quantization of DCT blocks with a lambda per block.

For each 8x8 block, a dynamic program over the zigzag positions picks the AC levels that minimise

    sum_k ((c_k - q_k v_k) / q_k)^2  +  lambda_b * bits(v),

where bits(v) counts the Huffman code of each (run, size) symbol, its magnitude bits, ZRL and
end-of-block codes. As in mozjpeg, a position only gets a state when its rounded level is at least
1, and the candidates there are the largest level of each smaller magnitude category (1, 3, 7, ...)
plus the rounded level and the one below it; end-of-block is placed by cost. Code lengths start
from a generic estimate; between passes they are the Huffman code lengths of the chosen symbols.

The kernel runs compiled by numba: the dynamic program has a data-dependent number of states per
block, which numpy could only vectorise by padding every block to 63 states.
"""

import math

import numba
import numpy as np

from semantic_jpeg import quantize

ZIGZAG = quantize.ZIGZAG
_EOB = 0x00
_ZRL = 0xF0
_MAX_CODE_BITS = 16
_AC_LIMIT = 1023  # Baseline magnitude category 10.
_DC_RANGE = (-1024, 1023)
# mozjpeg's texture-adaptive lambda: lambda ~ (2^16.5 + mean AC energy) / 2^14.75.
_LAMBDA_OFFSET = 2.0 ** 16.5
_LAMBDA_DIVISOR = 2.0 ** 14.75
# Lambda scales (mozjpeg's own is 1/64 in these units): a finer table with a firmer trellis.
LUMA_SCALE = 0.035
CHROMA_SCALE = 0.05
# Table tilts (multiplier at DC, at the highest frequency) on mozjpeg's table: finer low
# frequencies, where flat regions, chroma bleeding and the perceptual metrics are, and coarser
# high ones, which the trellis prunes anyway. Chroma's high frequencies are cheapest to lose.
LUMA_TILT = (0.8, 1.3)
CHROMA_TILT = (0.9, 1.7)
# adaptive_strength: saliency strength 1.12 at activity 4.4, 0.4 to 1.3 times that; lambda scale
# factor 1 up to activity 5.4, down to 0.45 above it.
_STRENGTH = 1.12
_STRENGTH_RAMP = (5.6, 1.2)  # (activity where the ramp reaches 0, its width)
_STRENGTH_LIMITS = (0.4, 1.3)
_SCALE_RAMP = (6.4, 1.0)
_MIN_SCALE_FACTOR = 0.45
_FLAT_ENERGY = 50.0  # saliency_multipliers: mean AC energy at which an increase is halved.


@numba.njit(cache=True)
def _magnitude_category(value: int) -> int:
  """Number of bits of |value| (JPEG's SSSS)."""
  bits = 0
  while value:
    bits += 1
    value >>= 1
  return bits


@numba.njit(cache=True)
def _quantize_block(scaled, lam, symbol_bits, levels_out, prefix, positions, costs, parents,
                    chosen):
  """Trellis over one block: `scaled` holds |c| / q in zigzag order; signs are applied later."""
  prefix[0] = 0.0
  for k in range(1, 64):
    prefix[k] = prefix[k - 1] + scaled[k] * scaled[k]
  states = 1
  positions[0] = 0
  costs[0] = 0.0
  zrl = symbol_bits[_ZRL]
  for k in range(1, 64):
    rounded = int(math.floor(scaled[k] + 0.5))
    if rounded < 1:
      continue
    rounded = min(rounded, _AC_LIMIT)
    best_cost = 1e300
    best_parent = 0
    best_level = 0
    top = _magnitude_category(rounded)
    for candidate in range(top + 1):
      # mozjpeg's candidates, the largest level of each smaller magnitude category (1, 3, 7, ...),
      # then the rounded level and the one below it.
      if candidate < top - 1:
        level = (1 << (candidate + 1)) - 1
      else:
        level = rounded - top + candidate
        if level < 1 or (candidate == top - 1 and top > 1 and level == (1 << (top - 1)) - 1):
          continue
      size = _magnitude_category(level)
      error = scaled[k] - level
      distortion = error * error
      for state in range(states):
        previous = positions[state]
        run = k - previous - 1
        bits = (run >> 4) * zrl + symbol_bits[((run & 15) << 4) | size] + size
        cost = costs[state] + (prefix[k - 1] - prefix[previous]) + distortion + lam * bits
        if cost < best_cost:
          best_cost, best_parent, best_level = cost, state, level
    positions[states] = k
    costs[states] = best_cost
    parents[states] = best_parent
    chosen[states] = best_level
    states += 1
  end_cost = 1e300
  end_state = 0
  for state in range(states):
    previous = positions[state]
    cost = costs[state] + prefix[63] - prefix[previous]
    if previous < 63:
      cost += lam * symbol_bits[_EOB]
    if cost < end_cost:
      end_cost, end_state = cost, state
  for k in range(64):
    levels_out[k] = 0
  state = end_state
  while state > 0:
    levels_out[positions[state]] = chosen[state]
    state = parents[state]


@numba.njit(cache=True)
def quantize_blocks(coefficients: np.ndarray, table: np.ndarray, lambdas: np.ndarray,
                    symbol_bits: np.ndarray) -> np.ndarray:
  """Trellis-quantizes blocks.

  Args:
    coefficients: (B, 64) float64 DCT coefficients, natural order.
    table: (64,) float64 quantization steps, natural order.
    lambdas: (B,) rate weight per block (distortion is in units of q^2).
    symbol_bits: (256,) code length per (run << 4 | size) symbol.

  Returns:
    (B, 64) int16 levels, natural order; DC is rounded.
  """
  count = coefficients.shape[0]
  levels = np.zeros((count, 64), np.int16)
  scaled = np.zeros(64)
  zigzag_levels = np.zeros(64, np.int64)
  prefix = np.zeros(64)
  positions = np.zeros(64, np.int64)
  costs = np.zeros(64)
  parents = np.zeros(64, np.int64)
  chosen = np.zeros(64, np.int64)
  for block in range(count):
    dc = coefficients[block, 0] / table[0]
    rounded_dc = math.floor(abs(dc) + 0.5) * (1.0 if dc >= 0 else -1.0)
    levels[block, 0] = int(min(max(rounded_dc, _DC_RANGE[0]), _DC_RANGE[1]))
    for k in range(1, 64):
      scaled[k] = abs(coefficients[block, ZIGZAG[k]]) / table[ZIGZAG[k]]
    _quantize_block(scaled, lambdas[block], symbol_bits, zigzag_levels, prefix, positions,
                    costs, parents, chosen)
    for k in range(1, 64):
      index = ZIGZAG[k]
      sign = 1 if coefficients[block, index] >= 0 else -1
      levels[block, index] = sign * zigzag_levels[k]
  return levels


@numba.njit(cache=True)
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
        counts[_ZRL] += 1
        run -= 16
      counts[(run << 4) | _magnitude_category(magnitude)] += 1
      run = 0
    if last < 63:
      counts[_EOB] += 1
  return counts


@numba.njit(cache=True)
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
  order = np.argsort(sizes[:256], kind='mergesort')
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
    return np.full(256, _MAX_CODE_BITS + 1.0)
  sizes = _libjpeg_code_sizes(np.asarray(counts, np.float64))
  return np.where(sizes > 0, sizes, _MAX_CODE_BITS + 1).astype(np.float64)


def generic_code_lengths() -> np.ndarray:
  """A starting estimate: code lengths of a typical photo's AC symbol statistics."""
  counts = np.ones(256)
  for run in range(16):
    for size in range(1, 11):
      counts[(run << 4) | size] = 40.0 * 2.0 ** (-size - run / 2.0)
  counts[_EOB] = 50.0
  counts[_ZRL] = 1.0
  return code_lengths(counts)


def _ac_energy(blocks: np.ndarray) -> np.ndarray:
  """Mean squared AC coefficient of each block, in the blocks' precision: (B, 64) -> (B,)."""
  return (blocks[:, 1:] ** 2).mean(axis=1)


def texture_lambdas(coefficients: np.ndarray, scale: float) -> np.ndarray:
  """mozjpeg's lambda per block, larger on textured blocks: (B, 64) -> (B,)."""
  return scale * (_LAMBDA_OFFSET + 64.0 * _ac_energy(coefficients)) / _LAMBDA_DIVISOR


def quantize(coefficients: np.ndarray, table: np.ndarray, lambdas: np.ndarray, *,
             passes: int = 2, symbol_bits: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
  """Trellis-quantizes a component, re-estimating code lengths between passes.

  Args:
    coefficients: (M, N, 8, 8) DCT coefficients.
    table: (8, 8) quantization table.
    lambdas: (M, N) rate weight per block.
    passes: number of trellis passes (code lengths are re-estimated after each).
    symbol_bits: starting code lengths (default: `generic_code_lengths()`).

  Returns:
    (M, N, 8, 8) int16 levels and the code lengths the last pass produced.
  """
  flat = np.ascontiguousarray(coefficients, np.float64).reshape(-1, 64)  # No copy if float64.
  steps = np.asarray(table, np.float64).reshape(64)
  block_lambdas = np.ascontiguousarray(lambdas, np.float64).ravel()
  bits = generic_code_lengths() if symbol_bits is None else symbol_bits
  for _ in range(passes):
    levels = quantize_blocks(flat, steps, block_lambdas, bits)
    bits = code_lengths(symbol_counts(levels))
  return levels.reshape(coefficients.shape), bits


@numba.njit(cache=True)
def _hermite(before: float, start: float, end: float, after: float, t: float, length: int) -> float:
  """Catmull-Rom segment from `start` to `end` at t in [0, 1], tangents scaled by `length`."""
  tangent_start = (end - before) * length
  tangent_end = (after - start) * length
  t2 = t * t
  t3 = t2 * t
  return (start * (2 * t3 - 3 * t2 + 1) + tangent_start * (t3 - 2 * t2 + t)
          + end * (-2 * t3 + 3 * t2) + tangent_end * (t3 - t2))


@numba.njit(cache=True)
def _dering_block(block: np.ndarray, dc_step: float) -> None:
  """mozjpeg's overshoot deringing of one block of 64 samples (0..255) in place."""
  total = 0.0
  clipped = 0
  for i in range(64):
    total += block[i]
    if block[i] >= 255.0:
      clipped += 1
  if clipped == 0 or clipped == 64:
    return
  headroom = (255.0 * 64 - total) / clipped
  ceiling = 255.0 + min(31.0, 2.0 * dc_step, headroom)
  n = 0
  while n < 64:
    if block[ZIGZAG[n]] < 255.0:
      n += 1
      continue
    start = n
    while n + 1 < 64 and block[ZIGZAG[n + 1]] >= 255.0:
      n += 1
    end = n + 1
    first1 = block[ZIGZAG[max(start - 1, 0)]]
    first2 = block[ZIGZAG[max(start - 2, 0)]]
    last1 = block[ZIGZAG[min(end, 63)]]
    last2 = block[ZIGZAG[min(end + 1, 63)]]
    slope_in = max(first1 - first2, 255.0 - first1)
    slope_out = max(last1 - last2, 255.0 - last1)
    if start == 0:
      slope_in = slope_out
    if end == 64:
      slope_out = slope_in
    length = end - start
    step = 1.0 / (length + 1)
    for i in range(start, end):
      value = math.ceil(_hermite(255.0 - slope_in, 255.0, 255.0, 255.0 - slope_out,
                                 (i - start + 1) * step, length))
      block[ZIGZAG[i]] = min(value, ceiling)
    n += 1


@numba.njit(cache=True)
def dering(plane: np.ndarray, dc_step: float) -> np.ndarray:
  """Lifts clipped white runs (255) of each 8x8 block above 255 along a smooth curve.

  Decoders clamp to 255, so the picture is unchanged, but the smoother waveform needs fewer
  coefficients and rings less (mozjpeg's overshoot deringing). `dc_step` is the DC table entry;
  the overshoot stays below twice it, 31 and the DC range.
  """
  out = plane.copy()
  block = np.zeros(64)
  for row in range(0, plane.shape[0], 8):
    for col in range(0, plane.shape[1], 8):
      for i in range(64):
        block[i] = out[row + i // 8, col + i % 8]
      _dering_block(block, dc_step)
      for i in range(64):
        out[row + i // 8, col + i % 8] = block[i]
  return out


def activity(luma: np.ndarray) -> float:
  """How detailed an image is: the mean over luma blocks of log(1 + mean AC energy).

  About 3 for smooth photos (Kodak's kodim23) and 6 for detailed ones (kodim13).
  """
  return float(np.log1p(_ac_energy(luma.reshape(-1, 64).astype(np.float64))).mean())


def adaptive_strength(image_activity: float) -> tuple[float, float]:
  """(saliency strength, lambda scale factor) for an image of the given activity.

  In detailed images the background holds most of the bits and most of what the eye (and
  SSIMULACRA 2) sees elsewhere, so taking bits from it costs more: above an activity of 4.4 the
  saliency weighting fades to 0.4 of its strength, and above 5.4 the trellis gets gentler (down
  to 0.45 of its lambda); smooth images get up to 1.3 times the strength. Fitted on Kodak at the
  size of libjpeg-turbo's quality 50 (results/kodak).
  """
  end, width = _STRENGTH_RAMP
  strength = _STRENGTH * float(np.clip((end - image_activity) / width, *_STRENGTH_LIMITS))
  end, width = _SCALE_RAMP
  return strength, float(np.clip((end - image_activity) / width, _MIN_SCALE_FACTOR, 1.0))


def saliency_multipliers(coefficients: np.ndarray, weights: np.ndarray) -> np.ndarray:
  """Lambda multipliers exp(w) per block, with the increases (w > 0) damped on flat blocks.

  Args:
    coefficients: (B, 64) DCT coefficients of the luma blocks.
    weights: (B,) log multipliers: negative where the map is salient, positive elsewhere.

  A flat background block has a few small coefficients whose loss shows as banding and
  blocking; a raised lambda there saves few bits and costs much, so an increase is scaled by
  e / (e + 50), e the block's mean AC energy.
  """
  energy = _ac_energy(coefficients.astype(np.float64))
  damping = np.where(weights > 0, energy / (energy + _FLAT_ENERGY), 1.0)
  return np.exp(weights * damping)
