"""JPEG inputs recompressed in the coefficient domain: the file's own levels requantized.

A JPEG's quantized coefficients (`jpeg_source`) are dequantized (levels x the file's steps: what
every decoder inverts) and trellis-quantized again, block by block, on the file's own 8x8 grid and
chroma subsampling: no inverse DCT, colour conversion, chroma resampling or re-blocking adds error,
and distortion is measured against what the input decodes to. The knob's scaling, lambdas and
saliency weighting are the trellis mode's (`modes.TrellisEncoder`, `plan.trellis_lambdas`), with
five differences:

- the basic tables are jpegli's flat luma table for all components, with the trellis mode's DC
  steps (`basic_tables`): SSIMULACRA 2, the score JPEG inputs are recompressed to, and
  Butteraugli prefer it to mozjpeg's steep table by far;
- each written step is the whole multiple of the file's own nearest to the desired step (the
  basic table's at the knob; never finer: a finer step holds nothing the file has), so that
  requantizing adds no rounding of its own where the trellis keeps a level (`aligned_table`);
- where the written step is coarser than the desired one (the file's own step, or a multiple
  rounded up), distortion is weighted by (written / desired step)^2, i.e. measured in desired
  steps: the knob keeps raising quality up to the input itself (at 100, its own levels);
- the lambdas are `LAMBDA_FACTOR` times mozjpeg's at every knob (the trellis mode's are mozjpeg's
  or half of them, `tuning.Tuning.luma_lambda`);
- the map weighs them with the path's own strength, cap and damping
  (`tuning.Tuning.for_coefficients`): on lambdas this small, the pixel path's moved nothing.
"""

import dataclasses

import numpy as np

from semantic_jpeg import image_io
from semantic_jpeg import jpeg_source
from semantic_jpeg.codec import bitstream
from semantic_jpeg.codec import modes
from semantic_jpeg.codec import options as options_lib
from semantic_jpeg.codec import plan
from semantic_jpeg.codec import policies
from semantic_jpeg.codec import quantize
from semantic_jpeg.codec import trellis
from semantic_jpeg.codec import tuning

# mozjpeg's lambdas times this. Fitted on the tuning half of scene_fixations (Q75 JPEGs) at the
# size of libjpeg-turbo's quality 50 of the decoded pixels: first with the trellis mode's tables
# before issue 14 (60 images of at most 0.6 MP; 0.2 to 0.4 times mozjpeg's scored alike, more
# scored lower, results/transcode/README.md), then again with its new tables (mozjpeg's with finer
# DC steps, `modes.basic_tables`) on the first 40: 0.15 / 0.3 / 0.5 / 0.8 times mozjpeg's gave
# +1.65 / +1.60 / +1.44 / +1.07 SSIMULACRA 2 over mozjpeg. 0.3 leaves the map more to move.
LAMBDA_FACTOR = 0.3
# The searches' first knobs, fitted on the median knobs reached with `basic_tables` on the tuning
# half of scene_fixations (Q75 JPEGs; 60 images of at most 0.6 megapixels): the knob for the size
# of libjpeg-turbo's quality Q is about -4 + 1.46 Q (Q 30 and 50; at 70 the median is the top of
# the knob), and the knob for a SSIMULACRA 2 target S about 57.6 + 1.35 (S - 80) (S 60 to 90).
# From other sources the knobs differ; the searches correct the guess in a step or two.
SIZE_GUESS = (-4.0, 1.46)
SCORE_GUESS = (80.0, 57.6, 1.35)
# Luma (vertical, horizontal) sampling factors the writer keeps, with chroma at (1, 1), by name.
SUBSAMPLINGS = {(2, 2): "420", (1, 1): "444", (1, 2): "422", (2, 1): "440"}
_MAX_STEP = 255  # Baseline tables hold 8-bit steps.


def obstacle(image: image_io.DecodedImage, options: options_lib.EncoderOptions) -> str | None:
  """Why a JPEG input has to be re-encoded from its pixels, or None if its grid can be kept."""
  source = image.jpeg
  if options.mode != "trellis":
    return f"encoder mode {options.mode!r} works on pixels"
  if source.orientation != 1:
    return f"EXIF orientation {source.orientation} turns the stored picture"
  stored = source.coefficients
  if stored is None:
    return "libjpeg-turbo could not read its coefficients"
  if stored.colour_space not in ("ycbcr", "gray"):
    return f"{stored.colour_space.upper()} colour is written as YCbCr from pixels"
  if max(int(table.max()) for table in stored.tables) > _MAX_STEP:
    return "16-bit quantization tables"
  if stored.zero_steps:
    return "a quantization table with zero steps (a damaged file)"
  if (stored.height, stored.width) != (image.height, image.width):
    return f"stored {stored.width}x{stored.height}, decoded {image.width}x{image.height}"
  subsampling = source_subsampling(stored)
  if subsampling is None:
    return f"sampling factors {stored.sampling} (vertical, horizontal)"
  if options.subsampling not in (None, subsampling):
    return f"subsampling {options.subsampling} asked for, the input has {subsampling}"
  return None


def source_subsampling(stored: jpeg_source.Coefficients) -> str | None:
  """'gray', '420', '444', '422' or '440', or None for a layout the writer does not keep."""
  if len(stored.components) == 1:
    return "gray"
  luma, *chroma = stored.sampling
  if any(factors != (1, 1) for factors in chroma):
    return None
  return SUBSAMPLINGS.get(luma)


def basic_tables(params: tuning.Tuning) -> tuple[np.ndarray, np.ndarray]:
  """The transcoder's (luma, chroma) basic tables: jpegli's luma table, DC the trellis mode's.

  Fitted on the tuning half of scene_fixations (its first 40 images; Q75 JPEGs) against the
  trellis mode's tables (mozjpeg's): at the size of libjpeg-turbo's quality 50 of the decoded
  pixels SSIMULACRA 2 +5.7 (higher on 38 of 40), at SSIMULACRA 2 80 median size 0.887 times;
  λ x 0.15 / 0.6 and DC steps x 0.75 changed neither by more than 0.04 and 0.005. The pixel
  path writes the same shape by default (`tuning.Tuning.table_flatness`), but can be set
  otherwise; this path always writes it.
  """
  return modes.basic_tables(dataclasses.replace(params, table_flatness=1.0))


def aligned_table(desired: np.ndarray, step: np.ndarray) -> np.ndarray:
  """Each entry the whole multiple of the file's step nearest the desired step (1x at least)."""
  multiple = np.clip(np.rint(desired / step), 1, np.maximum(_MAX_STEP // step, 1))
  return (step * multiple).astype(np.int32)


class CoefficientEncoder:
  """The transcoding mode: requantizes a JPEG's own coefficients per knob (see the module)."""

  KNOB_RANGE = modes.TrellisEncoder.KNOB_RANGE
  RESOLUTION = modes.TrellisEncoder.RESOLUTION

  def __init__(
    self,
    stored: jpeg_source.Coefficients,
    saliency: np.ndarray,
    options: options_lib.EncoderOptions,
    segments: list[bytes],
    clock: modes.Clock,
  ):
    self._stored = stored
    self._segments = segments
    self._clock = clock
    self._policy = options.policy
    self._params = options.policy_params
    self._basic = basic_tables(options.tuning)
    self._saliency = saliency
    self._coefficients = stored.dequantized()
    self._sampling = stored.sampling if len(stored.components) > 1 else ((1, 1),)
    qualities = self.block_qualities(policies.PAPER_QUALITY)
    lambdas = plan.trellis_lambdas(
      self._coefficients, qualities, options.strength, options.tuning.for_coefficients()
    )
    self._thresholds = [plan.zeroing_thresholds(qualities, options.strength, options.tuning)]
    scale = LAMBDA_FACTOR * tuning.MOZJPEG_LAMBDA_SCALE
    self._lambdas = [lam * scale for lam in lambdas]
    self._code_lengths = [None] * len(self._coefficients)
    clock.lap("coefficients")

  def block_qualities(self, quality: float) -> np.ndarray:
    """Luma block qualities of the policy at the knob (they set the lambdas)."""
    return policies.block_qualities(self._policy, self._saliency, quality, self._params)

  def guess(self, reference: int | None) -> float:
    """First knob for the size of libjpeg-turbo's file (of the decoded pixels) at quality
    `reference` (see `SIZE_GUESS`)."""
    offset, slope = SIZE_GUESS
    return offset + slope * float(reference or policies.PAPER_QUALITY)

  def score_start(self, target: float) -> tuple[float, float]:
    """First knob for a SSIMULACRA 2 target, and d score / d knob there (see `SCORE_GUESS`)."""
    score, knob, knobs_per_point = SCORE_GUESS
    return knob + knobs_per_point * (target - score), 1.0 / knobs_per_point

  def __call__(self, quality: float) -> bytes:
    self._clock.lap("search")
    desired = [
      quantize.staggered_table(self._basic[min(i, 1)], quality)
      for i in range(len(self._stored.tables))
    ]
    tables = [aligned_table(d, step) for d, step in zip(desired, self._stored.tables)]
    weights = [np.maximum(t / d, 1.0) ** 2 for t, d in zip(tables, desired)]
    components = trellis.quantize_components(
      self._coefficients, tables, self._lambdas, self._code_lengths, weights, self._thresholds
    )
    self._clock.lap("quantize")
    unique = tables if len(tables) == 3 and (tables[1] != tables[2]).any() else tables[:2]
    data = bitstream.insert_segments(
      bitstream.encode(components, unique, self._stored.height, self._stored.width, self._sampling),
      self._segments,
    )
    self._clock.lap("write")
    return data
