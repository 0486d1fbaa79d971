"""Trellis quantization against an independent reference of its cost model, and deringing."""

import itertools

import numpy as np
import pytest

from semantic_jpeg.codec import dct
from semantic_jpeg.codec import dering
from semantic_jpeg.codec import huffman
from semantic_jpeg.codec import plan
from semantic_jpeg.codec import quantize
from semantic_jpeg.codec import trellis
from semantic_jpeg.codec import tuning

TABLE = quantize.scaled_table(quantize.ROBIDOUX_TABLE, 75).astype(np.float64)
BITS = huffman.generic_code_lengths()
ONES = np.ones(64)


def model_cost(
  coefficients: np.ndarray, levels: np.ndarray, lam: float, weights: np.ndarray = ONES
) -> float:
  """Sum of w ((c - q v) / q)^2 over AC plus lam * bits of the AC symbols, ZRLs and EOB."""
  zigzag_c = coefficients[trellis.ZIGZAG] / TABLE.ravel()[trellis.ZIGZAG]
  zigzag_v = levels[trellis.ZIGZAG].astype(np.float64)
  distortion = (weights[trellis.ZIGZAG][1:] * (zigzag_c[1:] - zigzag_v[1:]) ** 2).sum()
  nonzero = np.flatnonzero(zigzag_v[1:]) + 1
  bits, previous = 0.0, 0
  for k in nonzero:
    run, size = k - previous - 1, int(abs(zigzag_v[k])).bit_length()
    bits += (run // 16) * BITS[0xF0] + BITS[((run % 16) << 4) | size] + size
    previous = k
  if previous < 63:
    bits += BITS[0x00]
  return distortion + lam * bits


def random_blocks(count: int, seed: int = 0) -> np.ndarray:
  """DCT blocks of a natural-looking plane (smooth gradients plus texture)."""
  rng = np.random.default_rng(seed)
  plane = np.cumsum(rng.normal(0, 6, (8, 8 * count)), axis=1) + rng.normal(0, 10, (8, 8 * count))
  return dct.forward(np.clip(plane + 128, 0, 255)).reshape(-1, 64).astype(np.float64)


def test_zero_lambda_is_plain_rounding():
  blocks = random_blocks(50)
  levels = trellis.quantize_blocks(
    blocks, TABLE.ravel(), np.zeros(50), BITS, ONES, np.full(50, 0.5)
  )
  expected = quantize.quantize(blocks.reshape(50, 1, 8, 8), TABLE.reshape(8, 8)).reshape(50, 64)
  np.testing.assert_array_equal(levels, expected)


def test_huge_lambda_keeps_only_dc():
  blocks = random_blocks(20)
  levels = trellis.quantize_blocks(
    blocks, TABLE.ravel(), np.full(20, 1e9), BITS, ONES, np.full(20, 0.5)
  )
  assert not levels[:, 1:].any()
  np.testing.assert_array_equal(
    levels[:, 0], np.sign(blocks[:, 0]) * np.floor(np.abs(blocks[:, 0]) / TABLE[0, 0] + 0.5)
  )


@pytest.mark.parametrize("lam", [0.5, 2.0, 8.0])
def test_the_search_beats_rounding_and_zeroing_under_its_cost(lam):
  blocks = random_blocks(100, seed=1)
  levels = trellis.quantize_blocks(
    blocks, TABLE.ravel(), np.full(100, lam), BITS, ONES, np.full(100, 0.5)
  )
  rounded = quantize.quantize(blocks.reshape(100, 1, 8, 8), TABLE.reshape(8, 8)).reshape(100, 64)
  zeroed = rounded.copy()
  zeroed[:, 1:] = 0
  for block, ours, plain, empty in zip(blocks, levels, rounded, zeroed):
    cost = model_cost(block, ours, lam)
    assert cost <= model_cost(block, plain, lam) + 1e-9
    assert cost <= model_cost(block, empty, lam) + 1e-9
  assert (np.abs(levels) <= np.abs(rounded)).all()  # Levels only shrink.
  assert np.abs(levels).sum() < np.abs(rounded).sum()


@pytest.mark.parametrize("weighted", [False, True])
def test_the_search_is_optimal_on_small_blocks(weighted):
  """Brute force over every choice of the candidate levels agrees with the dynamic program."""
  rng = np.random.default_rng(3)
  for _ in range(30):
    block = np.zeros(64)
    positions = rng.choice(np.arange(1, 20), size=4, replace=False)
    block[trellis.ZIGZAG[positions]] = (
      rng.uniform(0.6, 9.0, 4) * rng.choice([-1, 1], 4) * TABLE.ravel()[trellis.ZIGZAG[positions]]
    )
    lam = rng.uniform(0.2, 6.0)
    weights = rng.uniform(0.3, 4.0, 64) if weighted else ONES
    ours = trellis.quantize_blocks(
      block[None], TABLE.ravel(), np.array([lam]), BITS, weights, np.array([0.5])
    )[0]
    choices = []
    for position in positions:
      index = trellis.ZIGZAG[position]
      rounded = int(np.floor(abs(block[index]) / TABLE.ravel()[index] + 0.5))
      options = {0, rounded, rounded - 1} | {2**k - 1 for k in range(1, rounded.bit_length())}
      choices.append(sorted(v for v in options if v >= 0))
    best = min(
      model_cost(block, candidate_levels(block, positions, values), lam, weights)
      for values in itertools.product(*choices)
    )
    assert model_cost(block, ours, lam, weights) == pytest.approx(best, abs=1e-9)


def test_heavier_weights_keep_more():
  blocks = random_blocks(100, seed=4)
  light, heavy = (
    trellis.quantize_blocks(
      blocks, TABLE.ravel(), np.full(100, 4.0), BITS, np.full(64, w), np.full(100, 0.5)
    )
    for w in (1.0, 16.0)
  )
  assert np.count_nonzero(heavy) > np.count_nonzero(light)
  np.testing.assert_array_equal(  # Weight 16 at lambda 4 is weight 1 at lambda 1/4.
    heavy,
    trellis.quantize_blocks(
      blocks, TABLE.ravel(), np.full(100, 0.25), BITS, ONES, np.full(100, 0.5)
    ),
  )


def candidate_levels(
  block: np.ndarray, positions: np.ndarray, values: tuple[int, ...]
) -> np.ndarray:
  levels = np.zeros(64, np.int64)
  for position, value in zip(positions, values):
    index = trellis.ZIGZAG[position]
    levels[index] = value * np.sign(block[index])
  return levels


def test_a_higher_threshold_zeroes_what_lies_below_it_and_nothing_else():
  """Zeroing thresholds (jpegli's adaptive quantization's idea): below 0.5 steps nothing changes;
  at 0.9, every AC coefficient under 0.9 steps is 0, and with lambda 0 the rest round as before."""
  blocks = random_blocks(100, seed=3)
  plain = trellis.quantize_blocks(
    blocks, TABLE.ravel(), np.zeros(100), BITS, ONES, np.full(100, 0.5)
  )
  raised = np.where(np.arange(100) % 2 == 0, 0.9, 0.5)
  levels = trellis.quantize_blocks(blocks, TABLE.ravel(), np.zeros(100), BITS, ONES, raised)
  steps = np.abs(blocks) / TABLE.ravel()
  small = (steps < 0.9) & (raised[:, None] == 0.9)
  small[:, 0] = False  # DC is always rounded.
  assert small.sum() > 100 and not levels[small].any()
  np.testing.assert_array_equal(levels[~small], plain[~small])


def test_code_lengths_are_a_complete_prefix_code_of_at_most_16_bits():
  counts = np.zeros(256)
  counts[[0x00, 0x01, 0x02, 0x11]] = [8, 4, 2, 2]
  np.testing.assert_array_equal(
    huffman.code_lengths(counts)[[0x00, 0x01, 0x02, 0x11]], [1, 2, 3, 4]
  )
  assert huffman.code_lengths(counts)[0x03] == 17  # Unused: expensive.
  assert (huffman.code_lengths(np.zeros(256)) == 17).all()
  fibonacci = [1.0, 1.0]
  while len(fibonacci) < 30:
    fibonacci.append(fibonacci[-1] + fibonacci[-2])
  skewed = np.zeros(256)
  skewed[:30] = fibonacci  # Unlimited, the rarest codes would take 29 bits.
  lengths = huffman.code_lengths(skewed)[:30]
  assert lengths.max() == 16
  # With libjpeg's reserved all-ones code, the used codes fill all but one 16-bit leaf.
  assert (2.0**-lengths).sum() == pytest.approx(1 - 2.0**-16)


def test_code_lengths_follow_the_statistics():
  blocks = random_blocks(200, seed=2)
  lambdas = plan.texture_lambdas(blocks, tuning.MOZJPEG_LAMBDA_SCALE)
  levels, bits = trellis.quantize(blocks.reshape(200, 1, 8, 8), TABLE, lambdas.reshape(200, 1))
  counts = huffman.symbol_counts(levels.reshape(200, 64))
  assert counts.sum() > 200 and counts[0x00] <= 200  # At most one EOB per block.
  frequent, rare = np.argmax(counts), np.argmin(np.where(counts > 0, counts, np.inf))
  assert bits[frequent] < bits[rare]


def test_deringing_lifts_only_clipped_white_and_decodes_the_same():
  plane = np.full((16, 16), 255.0)
  plane[:, :5] = np.linspace(40, 250, 5)  # A dark-to-white edge inside the first blocks.
  plane[8:, 8:] = 100.0  # A block without white: untouched.
  lifted = dering.dering(plane, 16.0)
  white = plane == 255.0
  np.testing.assert_array_equal(lifted[~white], plane[~white])
  assert (lifted[white] >= 255).all() and lifted.max() <= 255 + 31 and lifted.max() > 255
  np.testing.assert_array_equal(lifted[:8, 8:], plane[:8, 8:])  # All white: untouched.
  np.testing.assert_array_equal(np.clip(lifted, 0, 255), plane)
  assert dering.dering(plane, 4.0).max() <= 255 + 8  # At most twice the DC step.
