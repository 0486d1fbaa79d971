"""Benchmark: what PSNR-HVS-M rewards where people look, beside SSIMULACRA 2 and Butteraugli.

  python benchmarks/psnr_hvsm_masking.py --images ../shared/datasets/scene_fixations/images \
      --fixations ../shared/datasets/scene_fixations/fixations.csv \
      --output results/psnr_hvsm_masking.md

Issues 13 and 14 judge the quarter of blocks people look at by PSNR-HVS-M. This measures how far
an encoder can raise that figure by aiming at the metric itself: a variant of the trellis (only
here, not in the package) counts a luma error no larger than the block's contrast-masking
threshold as free and a larger one by its excess, as PSNR-HVS-M does (psnr-hvsm's `masking` of
the original block over each coefficient's mask weight; weights and lambdas as the default's).
For each photo of the --split with a short side of at least --min_short_side (area-downscaled to
--max_side) the target is libjpeg-turbo's size at --quality; mozjpeg is rate-matched to it, and
the default encoder, the variant in every luma block and the variant at half the threshold in
the map's top quarter only are compared with it: in the fixation density's top quarter of
blocks, PSNR-HVS-M and SSIMULACRA 2 and Butteraugli 3-norm of the photo with only that quarter's
errors (`metrics.salient_errors_only`), and both over the whole image.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import collections
import contextlib
import math
import multiprocessing
import pathlib
import sys

from absl import app
from absl import flags
import numba
import numpy as np

from semantic_jpeg import errors
from semantic_jpeg import files
from semantic_jpeg import image_io
from semantic_jpeg import saliency
from semantic_jpeg.codec import dct
from semantic_jpeg.codec import encoder
from semantic_jpeg.codec import huffman
from semantic_jpeg.codec import quantize
from semantic_jpeg.codec import ssimulacra2
from semantic_jpeg.codec import trellis
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines
from semantic_jpeg.evaluation import butteraugli
from semantic_jpeg.evaluation import corpus
from semantic_jpeg.evaluation import equal_size
from semantic_jpeg.evaluation import fixations
from semantic_jpeg.evaluation import metrics

import report  # benchmarks/report.py

_IMAGES = flags.DEFINE_string("images", None, "Folder of scene_fixations' photos.", required=True)
_FIXATIONS = flags.DEFINE_string("fixations", None, "Their fixations CSV.", required=True)
_SPLIT = flags.DEFINE_enum("split", "tune", ("all",) + corpus.SPLITS, "Which split to run.")
_QUALITY = flags.DEFINE_integer("quality", 50, "Size target: libjpeg-turbo at this quality.")
_MIN_SHORT_SIDE = flags.DEFINE_integer("min_short_side", 400, "Skip photos with a shorter side.")
_MAX_SIDE = flags.DEFINE_integer("max_side", equal_size.MAX_SIDE, "Downscale larger photos.")
_WORKERS = flags.DEFINE_integer("workers", 2, "Worker processes.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")

# psnr-hvsm's MASK_COEFF: each coefficient's weight in a block's masking energy, natural order.
_MASK_WEIGHTS = np.array(
  [
    [0.390625, 0.826446, 1.000000, 0.390625, 0.173611, 0.062500, 0.038447, 0.026874],
    [0.694444, 0.694444, 0.510204, 0.277008, 0.147929, 0.029727, 0.027778, 0.033058],
    [0.510204, 0.591716, 0.390625, 0.173611, 0.062500, 0.030779, 0.021004, 0.031888],
    [0.510204, 0.346021, 0.206612, 0.118906, 0.038447, 0.013212, 0.015625, 0.026015],
    [0.308642, 0.206612, 0.073046, 0.031888, 0.021626, 0.008417, 0.009426, 0.016866],
    [0.173611, 0.081633, 0.033058, 0.024414, 0.015242, 0.009246, 0.007831, 0.011815],
    [0.041649, 0.024414, 0.016437, 0.013212, 0.009426, 0.006830, 0.006944, 0.009803],
    [0.019290, 0.011815, 0.011080, 0.010412, 0.007972, 0.010000, 0.009426, 0.010203],
  ]
).ravel()
_ENCODERS = ("mozjpeg", "default", "masking, every block", "masking / 2, the map's quarter")


def masking_thresholds(coefficients: np.ndarray) -> np.ndarray:
  """psnr-hvsm's masking value of each block of (B, 64) orthonormal DCT coefficients: an error
  in coefficient k below it / _MASK_WEIGHTS[k] does not count."""
  flat = coefficients.reshape(-1, 64).astype(np.float64)
  energy = (flat[:, 1:] ** 2 * _MASK_WEIGHTS[1:]).sum(axis=1)
  pixels = (flat @ dct._DCT_2D.astype(np.float64)).reshape(-1, 2, 4, 2, 4)  # pylint: disable=protected-access
  quarters = pixels.transpose(0, 1, 3, 2, 4).reshape(-1, 4, 16).var(axis=2, ddof=1).mean(axis=1)
  total = pixels.reshape(-1, 64).var(axis=1, ddof=1)
  ratio = np.divide(quarters, total, out=np.zeros_like(total), where=total > 0)
  return np.sqrt(energy * ratio) / 32.0


@numba.njit(cache=True, nogil=True)
def _masked_block(
  scaled, free, lam, symbol_bits, levels_out, prefix, positions, costs, parents, chosen
):
  """`trellis._quantize_block` with errors below `free` (in steps) not counted, and the level at
  the edge of that zone among the candidates; the last five arrays are its work space."""
  for k in range(1, 64):
    excess = max(0.0, scaled[k] - free[k])
    prefix[k] = prefix[k - 1] + excess * excess
  states = 1
  for k in range(1, 64):
    rounded = min(int(math.floor(scaled[k] + 0.5)), 1023)
    if rounded < 1:
      continue
    top = huffman.magnitude_category(rounded)
    edge = int(math.ceil(scaled[k] - free[k]))
    best_cost, best_parent, best_level = 1e300, 0, 0
    for candidate in range(top + 2):
      if candidate == top + 1:  # The level at the edge of the free zone, if not among the others.
        level = edge if 1 <= edge < rounded - 1 else 0
      else:
        level = trellis.candidate_level(candidate, top, rounded)
      if level == 0:
        continue
      size = huffman.magnitude_category(level)
      excess = max(0.0, abs(scaled[k] - level) - free[k])
      for state in range(states):
        run = k - positions[state] - 1
        bits = (run >> 4) * symbol_bits[huffman.ZRL] + symbol_bits[((run & 15) << 4) | size] + size
        cost = costs[state] + prefix[k - 1] - prefix[positions[state]] + excess * excess
        cost += lam * bits
        if cost < best_cost:
          best_cost, best_parent, best_level = cost, state, level
    positions[states], costs[states] = k, best_cost
    parents[states], chosen[states] = best_parent, best_level
    states += 1
  end_cost, end_state = 1e300, 0
  for state in range(states):
    cost = costs[state] + prefix[63] - prefix[positions[state]]
    cost += lam * symbol_bits[huffman.EOB] if positions[state] < 63 else 0.0
    if cost < end_cost:
      end_cost, end_state = cost, state
  levels_out[:] = 0
  state = end_state
  while state > 0:
    levels_out[positions[state]] = chosen[state]
    state = parents[state]


@numba.njit(cache=True, nogil=True)
def _masked_blocks(coefficients, table, lambdas, symbol_bits, thresholds):
  """(B, 64) natural-order coefficients -> int16 levels; DC rounded."""
  zigzag = quantize.ZIGZAG
  levels = np.zeros((coefficients.shape[0], 64), np.int16)
  scaled, free, block_levels = np.zeros(64), np.zeros(64), np.zeros(64, np.int64)
  prefix, costs = np.zeros(64), np.zeros(64)
  positions, parents, chosen = (
    np.zeros(64, np.int64),
    np.zeros(64, np.int64),
    np.zeros(64, np.int64),
  )
  for block in range(coefficients.shape[0]):
    dc = coefficients[block, 0] / table[0]
    levels[block, 0] = int(min(max(math.floor(abs(dc) + 0.5) * np.sign(dc), -1024), 1023))
    for k in range(1, 64):
      scaled[k] = abs(coefficients[block, zigzag[k]]) / table[zigzag[k]]
      free[k] = thresholds[block] / _MASK_WEIGHTS[zigzag[k]] / table[zigzag[k]]
    _masked_block(
      scaled,
      free,
      lambdas[block],
      symbol_bits,
      block_levels,
      prefix,
      positions,
      costs,
      parents,
      chosen,
    )
    for k in range(1, 64):
      sign = 1 if coefficients[block, zigzag[k]] >= 0 else -1
      levels[block, zigzag[k]] = sign * block_levels[k]
  return levels


@contextlib.contextmanager
def _masking_trellis(scale: np.ndarray):
  """Luma quantized by `_masked_blocks` with the thresholds times `scale` (per block) while open."""
  plain = trellis.quantize_components

  def quantize_components(
    coefficients, tables, lambdas, code_lengths, weights=None, thresholds=None
  ):
    del thresholds  # The variant zeroes by its own masking thresholds.
    components = plain(coefficients[1:], tables[1:], lambdas[1:], code_lengths[1:], weights)
    flat = np.ascontiguousarray(coefficients[0], np.float64).reshape(-1, 64)
    steps = np.asarray(tables[0], np.float64).ravel()
    thresholds = masking_thresholds(flat) * scale.ravel()
    block_lambdas = np.ascontiguousarray(lambdas[0], np.float64).ravel()
    bits = huffman.generic_code_lengths() if code_lengths[0] is None else code_lengths[0]
    for _ in range(2 if code_lengths[0] is None else 1):
      levels = _masked_blocks(flat, steps, block_lambdas, bits, thresholds)
      bits = huffman.code_lengths(huffman.symbol_counts(levels))
    code_lengths[0] = bits
    return [levels.reshape(coefficients[0].shape), *components]

  trellis.quantize_components = quantize_components
  try:
    yield
  finally:
    trellis.quantize_components = plain


def _scores(
  prepared: ssimulacra2.Reference, rgb: np.ndarray, data: bytes, looked_at: np.ndarray
) -> list[float]:
  """[PSNR-HVS-M, SSIMULACRA 2, Butteraugli] where people look, then SSIMULACRA 2 and Butteraugli
  of the whole photo."""
  decoded = turbo.decode(data)
  only_there = metrics.salient_errors_only(rgb, decoded, looked_at)
  return [
    metrics.salient_psnr_hvsm(rgb, decoded, looked_at),
    metrics.ssimulacra2(rgb, only_there, prepared),
    butteraugli.pnorm3(rgb, only_there),
    metrics.ssimulacra2(rgb, decoded, prepared),
    butteraugli.pnorm3(rgb, decoded),
  ]


def _photo(job: tuple[str, np.ndarray, np.ndarray, np.ndarray]) -> dict[str, list[float]]:
  """Scores of every encoder on one photo."""
  name, rgb, block_map, looked_at = job
  target = turbo.jpeg_size(rgb, _QUALITY.value)
  options = encoder.EncoderOptions(target_size=target)
  files_written = {
    "mozjpeg": baselines.rate_matched("mozjpeg", rgb, target, guess=_QUALITY.value).data,
    "default": encoder.compress(rgb, block_map, options)[0],
  }
  scales = {
    "masking, every block": np.ones(block_map.shape),
    "masking / 2, the map's quarter": 0.5 * equal_size.salient_blocks(block_map),
  }
  for label, scale in scales.items():
    with _masking_trellis(scale):
      files_written[label] = encoder.compress(rgb, block_map, options)[0]
  print(name, flush=True)
  prepared = metrics.prepare_ssimulacra2(rgb)
  return {label: _scores(prepared, rgb, data, looked_at) for label, data in files_written.items()}


def _jobs() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
  model = saliency.load_model()
  paths = [str(path) for path in files.list_images([_IMAGES.value])]
  paths = corpus.select("scene_fixations", paths, _SPLIT.value)
  jobs = []
  for path in paths:
    height, width = image_io.image_size(path)
    if min(height, width) < _MIN_SHORT_SIDE.value:
      continue
    name = pathlib.Path(path).stem
    rgb = equal_size.load_image(path, _MAX_SIDE.value)
    try:
      looked = fixations.for_image(_FIXATIONS.value, name, height, width).scaled(*rgb.shape[:2])
    except errors.FixationDataError as e:
      print(f"skipped {name}: {e}")
      continue
    block_map = saliency.compute_map(model, rgb).block_map
    jobs.append((name, rgb, block_map, fixations.fixated_blocks(looked)))
  return jobs


def _init_worker(argv: list[str]) -> None:
  flags.FLAGS(argv)


def main(argv: list[str]) -> None:
  del argv
  jobs = _jobs()
  if not jobs:
    raise app.UsageError("no photo of the split has fixations and a long enough short side")
  context = multiprocessing.get_context("spawn")
  with context.Pool(_WORKERS.value, initializer=_init_worker, initargs=(sys.argv,)) as pool:
    rows = pool.map(_photo, jobs)
  differences = collections.defaultdict(list)
  for row in rows:
    for label in _ENCODERS[1:]:
      differences[label].append(np.subtract(row[label], row["mozjpeg"]))
  command = " ".join(["python benchmarks/psnr_hvsm_masking.py", *sys.argv[1:]])
  lines = [
    "# What PSNR-HVS-M rewards where people look",
    "",
    f"Command: `{command}`",
    "",
    f"{len(jobs)} scene_fixations photos ({_SPLIT.value} split, short side at least "
    f"{_MIN_SHORT_SIDE.value} px, at most {_MAX_SIDE.value} px after downscaling); target: "
    f"libjpeg-turbo's size at quality {_QUALITY.value}; means over photos of each encoder minus "
    "mozjpeg rate-matched to it. Where people look: the fixation density's top quarter of "
    "blocks, PSNR-HVS-M there and SSIMULACRA 2 and Butteraugli 3-norm (lower is better) of the "
    "photo with only those blocks' errors. The masking trellis exists only in this benchmark.",
    "",
    "| encoder | where people look: PSNR-HVS-M | SSIMULACRA 2 | Butteraugli "
    "| whole image: SSIMULACRA 2 | Butteraugli |",
    "|---|---:|---:|---:|---:|---:|",
  ]
  for label, rows_of in differences.items():
    mean = np.mean(rows_of, axis=0)
    lines.append(
      f"| {label} | {mean[0]:+.2f} dB | {mean[1]:+.2f} | {mean[2]:+.3f} | {mean[3]:+.2f} "
      f"| {mean[4]:+.3f} |"
    )
  lines += ["", f"Machine: {report.machine()}."]
  report.publish(lines, _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
