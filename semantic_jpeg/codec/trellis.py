"""Rate-distortion (trellis) quantization of DCT blocks with a lambda per block.

For each 8x8 block, a dynamic program over the zigzag positions picks the AC levels that minimise

    sum_k w_k ((c_k - q_k v_k) / q_k)^2  +  lambda_b * bits(v),

where bits(v) counts the Huffman code of each (run, size) symbol, its magnitude bits, ZRL and
end-of-block codes, and the weights w_k are 1 unless given (the transcoder measures error in steps
of the table it aimed at, where the table it writes had to differ). As in mozjpeg, a position
only gets a state when its rounded level is at least 1 (|c| / q >= 0.5; a block's threshold may be
higher, which zeroes more: the map's background, `plan.zeroing_thresholds`), and the candidates
there are the largest level of each smaller magnitude category (1, 3, 7, ...) plus the rounded
level and the one below it; end-of-block is placed by cost. Code lengths start from a generic
estimate; between passes they are the Huffman code lengths of the chosen symbols.

The kernel runs compiled by numba: the dynamic program has a data-dependent number of states per
block, which numpy could only vectorise by padding every block to 63 states.
"""

import math

import numba
import numpy as np

from semantic_jpeg.codec import huffman
from semantic_jpeg.codec import quantize

ZIGZAG = quantize.ZIGZAG
_AC_LIMIT = 1023  # Baseline magnitude category 10.
_DC_RANGE = (-1024, 1023)


@numba.njit(cache=True, nogil=True, inline="always")
def candidate_level(candidate: int, top: int, rounded: int) -> int:
  """mozjpeg's candidate levels at a position whose rounded level is `rounded`, of magnitude
  category `top`: for candidate 0 .. top - 2 the largest level of each smaller category (1, 3,
  7, ...), then the level below the rounded one and the rounded one; 0 where that repeats one."""
  if candidate < top - 1:
    return (1 << (candidate + 1)) - 1
  level = rounded - top + candidate
  if level < 1 or (candidate == top - 1 and top > 1 and level == (1 << (top - 1)) - 1):
    return 0
  return level


@numba.njit(cache=True, nogil=True)
def _quantize_block(
  scaled,
  weights,
  lam,
  threshold,
  symbol_bits,
  levels_out,
  prefix,
  positions,
  costs,
  parents,
  chosen,
):
  """Trellis over one block: `scaled` holds |c| / q and `weights` the distortion weights, in
  zigzag order; a coefficient below `threshold` steps is zeroed (0.5: mozjpeg's rule, a state
  wherever the rounded level is at least 1); signs are applied later."""
  prefix[0] = 0.0
  for k in range(1, 64):
    prefix[k] = prefix[k - 1] + weights[k] * scaled[k] * scaled[k]
  states = 1
  positions[0] = 0
  costs[0] = 0.0
  zrl = symbol_bits[huffman.ZRL]
  for k in range(1, 64):
    if scaled[k] < threshold:
      continue
    rounded = min(max(int(math.floor(scaled[k] + 0.5)), 1), _AC_LIMIT)
    best_cost = 1e300
    best_parent = 0
    best_level = 0
    top = huffman.magnitude_category(rounded)
    for candidate in range(top + 1):
      level = candidate_level(candidate, top, rounded)
      if level == 0:
        continue
      size = huffman.magnitude_category(level)
      error = scaled[k] - level
      distortion = weights[k] * error * error
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
      cost += lam * symbol_bits[huffman.EOB]
    if cost < end_cost:
      end_cost, end_state = cost, state
  for k in range(64):
    levels_out[k] = 0
  state = end_state
  while state > 0:
    levels_out[positions[state]] = chosen[state]
    state = parents[state]


@numba.njit(cache=True, nogil=True)
def quantize_blocks(
  coefficients: np.ndarray,
  table: np.ndarray,
  lambdas: np.ndarray,
  symbol_bits: np.ndarray,
  weights: np.ndarray,
  thresholds: np.ndarray,
) -> np.ndarray:
  """Trellis-quantizes blocks.

  Args:
    coefficients: (B, 64) float64 DCT coefficients, natural order.
    table: (64,) float64 quantization steps, natural order.
    lambdas: (B,) rate weight per block (distortion is in units of q^2).
    symbol_bits: (256,) code length per (run << 4 | size) symbol.
    weights: (64,) float64 distortion weights, natural order.
    thresholds: (B,) AC coefficients below this many steps are zeroed (0.5: none forced).

  Returns:
    (B, 64) int16 levels, natural order; DC is rounded.
  """
  count = coefficients.shape[0]
  levels = np.zeros((count, 64), np.int16)
  scaled = np.zeros(64)
  zigzag_weights = weights[ZIGZAG]
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
    _quantize_block(
      scaled,
      zigzag_weights,
      lambdas[block],
      thresholds[block],
      symbol_bits,
      zigzag_levels,
      prefix,
      positions,
      costs,
      parents,
      chosen,
    )
    for k in range(1, 64):
      index = ZIGZAG[k]
      sign = 1 if coefficients[block, index] >= 0 else -1
      levels[block, index] = sign * zigzag_levels[k]
  return levels


def quantize(
  coefficients: np.ndarray,
  table: np.ndarray,
  lambdas: np.ndarray,
  *,
  passes: int = 2,
  symbol_bits: np.ndarray | None = None,
  weights: np.ndarray | None = None,
  thresholds: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
  """Trellis-quantizes a component, re-estimating code lengths between passes.

  Args:
    coefficients: (M, N, 8, 8) DCT coefficients.
    table: (8, 8) quantization table.
    lambdas: (M, N) rate weight per block.
    passes: number of trellis passes (code lengths are re-estimated after each).
    symbol_bits: starting code lengths (default: `huffman.generic_code_lengths()`).
    weights: (8, 8) distortion weight per coefficient (default: all 1).
    thresholds: (M, N) per block, AC coefficients below this many steps are zeroed (default:
      0.5, mozjpeg's rule).

  Returns:
    (M, N, 8, 8) int16 levels and the code lengths the last pass produced.
  """
  flat = np.ascontiguousarray(coefficients, np.float64).reshape(-1, 64)  # No copy if float64.
  steps = np.asarray(table, np.float64).reshape(64)
  weights = np.ones(64) if weights is None else np.asarray(weights, np.float64).reshape(64)
  block_lambdas = np.ascontiguousarray(lambdas, np.float64).ravel()
  block_thresholds = (
    np.full(len(flat), 0.5)
    if thresholds is None
    else np.ascontiguousarray(thresholds, np.float64).ravel()
  )
  bits = huffman.generic_code_lengths() if symbol_bits is None else symbol_bits
  for _ in range(passes):
    levels = quantize_blocks(flat, steps, block_lambdas, bits, weights, block_thresholds)
    bits = huffman.code_lengths(huffman.symbol_counts(levels))
  return levels.reshape(coefficients.shape), bits


def quantize_components(
  coefficients: list[np.ndarray],
  tables: list[np.ndarray],
  lambdas: list[np.ndarray],
  code_lengths: list[np.ndarray | None],
  weights: list[np.ndarray | None] | None = None,
  thresholds: list[np.ndarray | None] | None = None,
) -> list[np.ndarray]:
  """Trellis-quantizes each component with its own table, lambdas, distortion weights and
  zeroing thresholds (None, or components past the end of the list: mozjpeg's rule).

  `code_lengths` holds each component's code length estimates from the last call, None before
  the first (which then runs two passes); it is updated in place, so that when the tables move
  a little (rate control), one pass suffices.
  """
  weights = weights or [None] * len(coefficients)
  thresholds = [*(thresholds or []), *[None] * len(coefficients)]
  components = []
  for index, (component, table, lam) in enumerate(zip(coefficients, tables, lambdas)):
    passes = 2 if code_lengths[index] is None else 1
    levels, code_lengths[index] = quantize(
      component.astype(np.float64, copy=False),  # One component at a time: callers keep float32.
      table,
      lam,
      passes=passes,
      symbol_bits=code_lengths[index],
      weights=weights[index],
      thresholds=thresholds[index],
    )
    components.append(levels)
  return components
