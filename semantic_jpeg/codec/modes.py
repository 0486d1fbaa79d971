"""The encoding modes behind `encoder.compress`: each transforms the image once, then turns a
knob value into JPEG bytes, so that rate control re-runs only quantization and writing.

Mode 'trellis' (default) writes one JPEG with the basic tables of `tuning.Tuning` (jpegli's flat
luma shape by default, mozjpeg's DC steps made finer) at the knob and chooses every block's
coefficients by rate-distortion trellis quantization with a lambda per block
(`plan.trellis_lambdas`). Mode 'dct' (the fast option) uses
the IJG tables at the plan's highest block quality; every block keeps only the coefficients its
own quality would keep (a per-block dead zone). Mode 'composite' reproduces the paper's
stitch-and-re-encode method.
"""

from collections.abc import Callable
import time
from typing import Protocol

import numpy as np

from semantic_jpeg.codec import bitstream
from semantic_jpeg.codec import colour
from semantic_jpeg.codec import composite
from semantic_jpeg.codec import dct
from semantic_jpeg.codec import dering
from semantic_jpeg.codec import options as options_lib
from semantic_jpeg.codec import plan
from semantic_jpeg.codec import policies
from semantic_jpeg.codec import quantize
from semantic_jpeg.codec import trellis
from semantic_jpeg.codec import tuning
from semantic_jpeg.codec import turbo


class Clock:
  """Accumulates wall time per stage in milliseconds."""

  def __init__(self):
    self._start = self._last = time.perf_counter()
    self._laps: dict[str, float] = {}

  def lap(self, stage: str) -> None:
    now = time.perf_counter()
    self._laps[stage] = self._laps.get(stage, 0.0) + 1e3 * (now - self._last)
    self._last = now

  def timings(self) -> dict[str, float]:
    return {**self._laps, "total": 1e3 * (self._last - self._start)}


class ModeEncoder(Protocol):
  """What rate control needs of a mode: the knob's range and step, a first guess, and bytes."""

  KNOB_RANGE: tuple[float, float]
  RESOLUTION: float  # Sizes cannot be split finer than this knob step.

  def block_qualities(self, quality: float) -> np.ndarray:
    """Luma block qualities at the knob (for the report)."""

  def guess(self, reference: int | None) -> float:
    """First knob for the size of libjpeg-turbo's file at quality `reference`."""

  def __call__(self, quality: float) -> bytes:
    """The JPEG file at the knob."""


class TrellisEncoder:
  """Mode 'trellis': transforms once, then trellis-quantizes per knob.

  The knob is the quality of the basic tables (`basic_tables`), scaled by
  `quantize.staggered_table`. Code length estimates carry over from one knob
  to the next, so after the first encode one trellis pass suffices.
  """

  KNOB_RANGE = (1.0, 100.0)
  RESOLUTION = 0.01  # Table entries are integers: sizes move in (small) steps.

  def __init__(
    self,
    image: np.ndarray,
    saliency: np.ndarray,
    options: options_lib.EncoderOptions,
    segments: list[bytes],
    clock: Clock,
  ):
    subsampling = "gray" if image.ndim == 2 else options.subsampling
    self._size = image.shape[:2]
    self._sampling = colour.SAMPLING_FACTORS[subsampling]
    self._segments = segments
    self._clock = clock
    self._policy = options.policy
    self._params = options.policy_params
    self._tuning = options.tuning
    self._basic = basic_tables(options.tuning)
    self._saliency = saliency
    planes = colour.to_planes(image, subsampling, fit_chroma=True)
    self._luma = planes[0]  # float32 integers; deringing works on it at every DC step.
    self._coefficients = [dct.forward(p) for p in planes]
    self._clipped = bool((self._luma >= 255).any())
    self._dering_step = None
    clock.lap("dct")
    qualities = self.block_qualities(policies.PAPER_QUALITY)
    self._lambdas = plan.trellis_lambdas(
      self._coefficients, qualities, options.strength, options.tuning
    )
    self._thresholds = [plan.zeroing_thresholds(qualities, options.strength, options.tuning)]
    self._code_lengths = [None] * len(planes)

  def block_qualities(self, quality: float) -> np.ndarray:
    """Luma block qualities of the policy at the knob (they set the lambdas)."""
    return policies.block_qualities(self._policy, self._saliency, quality, self._params)

  def guess(self, reference: int | None) -> float:
    """First knob for the size of IJG's file at Q: 50 + Q / 2, a little high (the knob ends
    near 55, 70 and 81 for Kodak at the sizes of Q30, Q50 and Q70)."""
    return 50.0 + float(reference or policies.PAPER_QUALITY) / 2.0

  def __call__(self, quality: float) -> bytes:
    self._clock.lap("search")
    tables = [
      quantize.staggered_table(basic, quality) for basic in self._basic[: len(self._coefficients)]
    ]
    self._dering(tables[0][0, 0])
    scales = (
      self._tuning.luma_scale(quality, self._size[0] * self._size[1] / 1e6),
      self._tuning.chroma_lambda,
      self._tuning.chroma_lambda,
    )
    lambdas = [lam * scale for lam, scale in zip(self._lambdas, scales)]
    components = trellis.quantize_components(
      self._coefficients,
      [*tables, *tables[1:]],
      lambdas,
      self._code_lengths,
      thresholds=self._thresholds,
    )
    self._clock.lap("quantize")
    data = bitstream.insert_segments(
      bitstream.encode(components, tables, *self._size, self._sampling), self._segments
    )
    self._clock.lap("write")
    return data

  def _dering(self, dc_step: float) -> None:
    """Re-transforms the luma with overshoot deringing when white is clipped."""
    if self._clipped and dc_step != self._dering_step:
      self._dering_step = dc_step
      luma = self._luma.astype(np.float64)
      self._coefficients[0] = dct.forward(dering.dering(luma, float(dc_step)))


def basic_tables(params: tuning.Tuning) -> tuple[np.ndarray, np.ndarray]:
  """The trellis mode's (luma, chroma) basic tables: `params.table_flatness`'s shape for both,
  with the DC steps of mozjpeg's table scaled by `params.luma_dc` and `params.chroma_dc`."""
  tables = []
  for dc in (params.luma_dc, params.chroma_dc):
    table = tuning.table_shape(params.table_flatness)
    table[0, 0] = quantize.ROBIDOUX_TABLE[0, 0] * dc
    tables.append(table)
  return tables[0], tables[1]


class DCTEncoder:
  """Mode 'dct': transforms once, then quantizes and writes per knob."""

  # Size searches may move the knob past 1..100: block qualities are clamped
  # to 1..100 per block, so at the ends every policy reaches all-1 or all-100.
  KNOB_RANGE = (1.0 - 100.0, 100.0 + policies.PAPER_QUALITY)
  RESOLUTION = 1e-3

  def __init__(
    self,
    image: np.ndarray,
    saliency: np.ndarray,
    options: options_lib.EncoderOptions,
    segments: list[bytes],
    clock: Clock,
  ):
    self._subsampling = "gray" if image.ndim == 2 else options.subsampling
    self._size = image.shape[:2]
    self._saliency = saliency
    self._options = options
    self._segments = segments
    self._clock = clock
    planes = colour.to_planes(image, self._subsampling)
    clock.lap("colour")
    self._coefficients = [dct.forward(p) for p in planes]
    clock.lap("dct")

  def block_qualities(self, quality: float) -> np.ndarray:
    """Luma block qualities at the knob."""
    return policies.block_qualities(
      self._options.policy, self._saliency, quality, self._options.policy_params
    )

  def guess(self, reference: int | None) -> float:
    """Knob whose mean block quality equals the reference quality."""
    reference = float(reference or policies.PAPER_QUALITY)
    return 2.0 * reference - self.block_qualities(reference).mean()

  def __call__(self, quality: float) -> bytes:
    self._clock.lap("search")
    luma = self.block_qualities(quality)
    components, tables = [], []
    for index, coefficients in enumerate(self._coefficients):
      qualities = luma if index == 0 else plan.chroma_qualities(luma, self._subsampling)
      basic = quantize.LUMA_TABLE if index == 0 else quantize.CHROMA_TABLE
      base = quantize.scaled_table(basic, qualities.max())
      components.append(
        quantize.deadzone_quantize(coefficients, base, quantize.scaled_table(basic, qualities))
      )
      tables += [base] if index < 2 else []
    self._clock.lap("quantize")
    data = bitstream.insert_segments(
      bitstream.encode(components, tables, *self._size, colour.SAMPLING_FACTORS[self._subsampling]),
      self._segments,
    )
    self._clock.lap("write")
    return data


class CompositeEncoder:
  """Mode 'composite': stitches once, then re-encodes per knob."""

  KNOB_RANGE = (1.0, 100.0)  # OpenCV's quality.
  RESOLUTION = 1.0

  def __init__(
    self,
    image: np.ndarray,
    saliency: np.ndarray,
    options: options_lib.EncoderOptions,
    segments: list[bytes],
    clock: Clock,
  ):
    self._subsampling = "gray" if image.ndim == 2 else options.subsampling
    qualities = policies.block_qualities(
      options.policy, saliency, policies.PAPER_QUALITY, options.policy_params
    )
    self._levels = composite.LEVELS[composite.level_indices(qualities)]
    self._stitched = composite.stitch(image, qualities, self._subsampling)
    self._segments = segments
    self._clock = clock
    clock.lap("stitch")

  def block_qualities(self, quality: float) -> np.ndarray:
    """Levels the blocks were taken from (independent of the knob)."""
    del quality
    return self._levels.astype(np.float64)

  def guess(self, reference: int | None) -> float:
    return float(reference or policies.PAPER_QUALITY)

  def __call__(self, quality: float) -> bytes:
    self._clock.lap("search")
    data = turbo.encode(self._stitched, quality, self._subsampling)
    self._clock.lap("write")
    return bitstream.insert_segments(data, self._segments)


def progressive(encode: Callable[[float], bytes], clock: Clock) -> Callable[[float], bytes]:
  """An encoder whose files are rewritten as progressive scans."""

  def write(quality: float) -> bytes:
    data = encode(quality)
    clock.lap("write")
    data = bitstream.progressive(data)
    clock.lap("progressive")
    return data

  return write
