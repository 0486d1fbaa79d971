"""The encoder facade: image + saliency map + options -> JPEG bytes + report.

Mode 'trellis' (default) writes one JPEG with mozjpeg's (Robidoux) table,
tilted towards low frequencies, at the knob and chooses every block's
coefficients by rate-distortion trellis quantization, with a lambda per
block: the policy's block qualities lower it where the map is salient and
raise it elsewhere (see `trellis`).
Mode 'dct' (the fast option) uses the IJG tables at the plan's highest block
quality; every block keeps only the coefficients its own quality would keep
(a per-block dead zone). Mode 'composite' reproduces the paper's
stitch-and-re-encode method.
"""

import dataclasses
import time
from typing import Callable, Mapping

import numpy as np

from semantic_jpeg import bitstream
from semantic_jpeg import colour
from semantic_jpeg import composite
from semantic_jpeg import dct
from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg import plan
from semantic_jpeg import quantize
from semantic_jpeg import ratecontrol
from semantic_jpeg import trellis

MODES = ('trellis', 'dct', 'composite')
DEFAULT_QUALITY = 75.0
MAX_SIDE = 65500  # Largest JPEG dimension libjpeg accepts.
MAX_STRENGTH = 10.0


@dataclasses.dataclass(frozen=True)
class EncoderOptions:
  """How to encode.

  Attributes:
    mode: 'trellis' (per-block rate-distortion weighting), 'dct' (per-block
      dead zone) or 'composite' (the paper).
    policy: name of a policy in `plan.POLICIES`.
    policy_params: keyword parameters of that policy (mode 'trellis' has its
      own defaults for 'continuous': see `TRELLIS_POLICY_DEFAULTS`).
    subsampling: '420', '444' or 'gray' (a 2-D image is always gray).
    quality: rate knob in 1..100 (fractional except in mode 'composite'):
      the table quality in mode 'trellis', the policy's base quality in mode
      'dct', the final re-encode quality in mode 'composite'.
    target_size: file size limit in bytes; the knob is searched.
    match_jpeg_quality: target the size of OpenCV's JPEG at this quality.
    tolerance: a target counts as met within [1 - tolerance, 1] x target.
    progressive: write progressive scans (smaller; every size step pays a
      lossless rewrite) instead of baseline.
    strength: mode 'trellis': how much the map moves lambda, a multiplier on
      the image-adaptive strength (0 ignores the map, like policy 'uniform').

  At most one of quality, target_size and match_jpeg_quality may be set;
  with none, quality is DEFAULT_QUALITY.
  """
  mode: str = 'trellis'
  policy: str = 'continuous'
  policy_params: Mapping[str, float] = dataclasses.field(default_factory=dict)
  subsampling: str = '420'
  quality: float | None = None
  target_size: int | None = None
  match_jpeg_quality: int | None = None
  tolerance: float = ratecontrol.DEFAULT_TOLERANCE
  progressive: bool = False
  strength: float = 1.0

  def __post_init__(self):
    _check_choice('mode', self.mode, MODES)
    _check_choice('subsampling', self.subsampling, colour.SUBSAMPLINGS)
    plan.check_policy(self.policy, self.policy_params)
    rates = [r for r in (self.quality, self.target_size,
                         self.match_jpeg_quality) if r is not None]
    if len(rates) > 1:
      raise errors.EncodeError(
          'set at most one of quality, target_size, match_jpeg_quality')
    if self.quality is not None and not 1 <= self.quality <= 100:
      raise errors.EncodeError(f'quality {self.quality} is outside 1..100')
    if self.match_jpeg_quality is not None and (
        self.match_jpeg_quality != int(self.match_jpeg_quality)
        or not 1 <= self.match_jpeg_quality <= 100):
      raise errors.EncodeError(
          f'match_jpeg_quality {self.match_jpeg_quality} is not an integer '
          'in 1..100')
    if self.target_size is not None and self.target_size <= 0:
      raise errors.EncodeError(f'target_size {self.target_size} is not > 0')
    if not 0 <= self.strength <= MAX_STRENGTH:
      raise errors.EncodeError(f'strength {self.strength} is outside 0..{MAX_STRENGTH}')
    if not 0 < self.tolerance < 1:
      raise errors.EncodeError(f'tolerance {self.tolerance} is outside (0, 1)')


@dataclasses.dataclass(frozen=True)
class EncodeReport:
  """What `compress` did.

  Attributes:
    size: bytes written.
    target_size: the size target in bytes, or None for a fixed quality.
    quality: the knob used (see EncoderOptions.quality).
    quality_shares: share of luma blocks per quality, rounded to a multiple of 5.
    steps: number of encodes (rate-control steps; 1 for a fixed quality).
    timings_ms: milliseconds per stage, and 'total'.
    target_met: size in [1 - tolerance, 1] x target (True with no target).
  """
  size: int
  target_size: int | None
  quality: float
  quality_shares: dict[int, float]
  steps: int
  timings_ms: dict[str, float]
  target_met: bool


class _Clock:
  """Accumulates wall time per stage in milliseconds."""

  def __init__(self):
    self._start = self._last = time.perf_counter()
    self._laps: dict[str, float] = {}

  def lap(self, stage: str) -> None:
    now = time.perf_counter()
    self._laps[stage] = self._laps.get(stage, 0.0) + 1e3 * (now - self._last)
    self._last = now

  def timings(self) -> dict[str, float]:
    return {**self._laps, 'total': 1e3 * (self._last - self._start)}


def compress(image: np.ndarray, saliency_map: np.ndarray,
             options: EncoderOptions | None = None, *,
             exif: bytes | None = None,
             icc_profile: bytes | None = None) -> tuple[bytes, EncodeReport]:
  """Compresses an image into one JPEG guided by a saliency map.

  Args:
    image: (H, W, 3) RGB or (H, W) grayscale, uint8.
    saliency_map: floats in [0, 1], either per 8x8 block with shape
      (ceil(H/8), ceil(W/8)) or per pixel with shape (H, W).
    options: encoder options (default: EncoderOptions()).
    exif: optional EXIF block for an APP1 segment.
    icc_profile: optional ICC profile for APP2 segments.

  Returns:
    The JPEG bytes (size targets count the metadata too) and a report.
    Same inputs give the same bytes.

  Raises:
    EncodeError: invalid inputs, or an unreachable size target.
  """
  _check_image(image)
  _check_map(saliency_map)
  options = options or EncoderOptions()
  clock = _Clock()
  saliency = plan.block_saliency(saliency_map, *image.shape[:2])
  clock.lap('plan')
  segments = bitstream.exif_segments(exif) + bitstream.icc_segments(
      icc_profile)
  target = _target_size(image, options)
  clock.lap('reference')
  encoder = {'trellis': _TrellisEncoder, 'dct': _DCTEncoder,
             'composite': _CompositeEncoder}[options.mode]
  encode = encoder(image, saliency, options, segments, clock)
  write = _progressive(encode, clock) if options.progressive else encode
  if target is None:
    quality = DEFAULT_QUALITY if options.quality is None else options.quality
    result = ratecontrol.SearchResult(quality, write(quality), 1, True)
  else:
    result = ratecontrol.search(
        write, target, guess=encode.guess(options.match_jpeg_quality),
        tolerance=options.tolerance, integer=options.mode == 'composite',
        bounds=encode.KNOB_RANGE, resolution=encode.RESOLUTION)
  clock.lap('search')
  report = EncodeReport(
      size=len(result.data), target_size=target, quality=result.quality,
      quality_shares=_shares(encode.block_qualities(result.quality)),
      steps=result.steps, timings_ms=clock.timings(), target_met=result.met)
  return result.data, report


def compress_decoded(image: image_io.DecodedImage, saliency_map: np.ndarray,
                     options: EncoderOptions | None = None) -> tuple[bytes, EncodeReport]:
  """`compress` for a decoded file: grayscale sources stay gray, EXIF and ICC carry over.

  The one path from a decoded file to JPEG bytes that the CLI and batch jobs share.
  """
  pixels = image.rgb[..., 0] if image.grayscale else image.rgb
  return compress(pixels, saliency_map, options, exif=image.exif,
                  icc_profile=image.icc_profile)


TRELLIS_POLICY_DEFAULTS = {'continuous': {'coverage': 0.4, 'softness': 0.35}}
# Policy qualities to lambda: 38 quality points (the default span) are a factor e.
QUALITY_PER_LAMBDA_E_FOLD = 38.0


class _TrellisEncoder:
  """Mode 'trellis': transforms once, then trellis-quantizes per knob.

  The knob is the quality of mozjpeg's table, tilted towards low frequencies
  (`trellis.LUMA_TILT`, `trellis.CHROMA_TILT`) and scaled by
  `quantize.staggered_table`. Code length estimates carry over from one knob
  to the next, so after the first encode one trellis pass suffices.
  """

  KNOB_RANGE = (1.0, 100.0)
  RESOLUTION = 0.01  # Table entries are integers: sizes move in (small) steps.
  _BASIC_TABLES = (quantize.ROBIDOUX_TABLE * quantize.tilt(*trellis.LUMA_TILT),
                   quantize.ROBIDOUX_TABLE * quantize.tilt(*trellis.CHROMA_TILT))

  def __init__(self, image: np.ndarray, saliency: np.ndarray,
               options: EncoderOptions, segments: list[bytes],
               clock: _Clock):
    subsampling = 'gray' if image.ndim == 2 else options.subsampling
    self._size = image.shape[:2]
    self._segments = segments
    self._clock = clock
    self._policy = options.policy
    self._params = {**TRELLIS_POLICY_DEFAULTS.get(options.policy, {}),
                    **options.policy_params}
    self._saliency = saliency
    self._strength = options.strength
    planes = colour.to_planes(image, subsampling)
    self._luma = planes[0].astype(np.float64)  # Deringing works on it at every DC step.
    self._coefficients = [dct.forward(p) for p in planes]
    self._clipped = bool((self._luma >= 255).any())
    self._dering_step = None
    clock.lap('dct')
    self._lambdas = self._block_lambdas()
    # float64 once, so that the trellis does not convert them at every knob.
    self._coefficients = [c.astype(np.float64) for c in self._coefficients]
    self._code_lengths = [None] * len(planes)

  def _block_lambdas(self) -> list[np.ndarray]:
    """Per-block lambdas: texture-adaptive, luma weighted by the policy."""
    strength, scale = trellis.adaptive_strength(trellis.activity(self._coefficients[0]))
    qualities = self.block_qualities(plan.PAPER_QUALITY)
    centre = (qualities.max() + qualities.min()) / 2.0
    lambdas = []
    for index, coefficients in enumerate(self._coefficients):
      base = trellis.LUMA_SCALE if index == 0 else trellis.CHROMA_SCALE
      blocks = coefficients.reshape(-1, 64)
      lam = trellis.texture_lambdas(blocks, base * scale)
      if index == 0:
        weights = (-strength * self._strength * (qualities - centre).ravel() /
                   QUALITY_PER_LAMBDA_E_FOLD)
        lam = lam * trellis.saliency_multipliers(blocks, weights)
      lambdas.append(lam.reshape(coefficients.shape[:2]))
    return lambdas

  def block_qualities(self, quality: float) -> np.ndarray:
    """Luma block qualities of the policy at the knob (they set the lambdas)."""
    return plan.block_qualities(self._policy, self._saliency, quality, self._params)

  def guess(self, reference: int | None) -> float:
    """First knob for the size of IJG's file at Q: 50 + Q / 2, a little high (the knob ends
    near 55, 70 and 81 for Kodak at the sizes of Q30, Q50 and Q70)."""
    return 50.0 + float(reference or plan.PAPER_QUALITY) / 2.0

  def __call__(self, quality: float) -> bytes:
    self._clock.lap('search')
    tables = [quantize.staggered_table(basic, quality)
              for basic in self._BASIC_TABLES[:len(self._coefficients)]]
    self._dering(tables[0][0, 0])
    components = []
    for index, coefficients in enumerate(self._coefficients):
      passes = 2 if self._code_lengths[index] is None else 1
      levels, self._code_lengths[index] = trellis.quantize(
          coefficients, tables[min(index, 1)], self._lambdas[index], passes=passes,
          symbol_bits=self._code_lengths[index])
      components.append(levels)
    self._clock.lap('quantize')
    data = bitstream.insert_segments(
        bitstream.encode(components, tables, *self._size), self._segments)
    self._clock.lap('write')
    return data

  def _dering(self, dc_step: float) -> None:
    """Re-transforms the luma with overshoot deringing when white is clipped."""
    if self._clipped and dc_step != self._dering_step:
      self._dering_step = dc_step
      self._coefficients[0] = dct.forward(
          trellis.dering(self._luma, float(dc_step))).astype(np.float64)


def _progressive(encode: Callable[[float], bytes], clock: _Clock) -> Callable[[float], bytes]:
  """An encoder whose files are rewritten as progressive scans."""

  def write(quality: float) -> bytes:
    data = encode(quality)
    clock.lap('write')
    data = bitstream.progressive(data)
    clock.lap('progressive')
    return data

  return write


class _DCTEncoder:
  """Mode 'dct': transforms once, then quantizes and writes per knob."""

  # Size searches may move the knob past 1..100: block qualities are clamped
  # to 1..100 per block, so at the ends every policy reaches all-1 or all-100.
  KNOB_RANGE = (1.0 - 100.0, 100.0 + plan.PAPER_QUALITY)
  RESOLUTION = 1e-3

  def __init__(self, image: np.ndarray, saliency: np.ndarray,
               options: EncoderOptions, segments: list[bytes],
               clock: _Clock):
    self._subsampling = 'gray' if image.ndim == 2 else options.subsampling
    self._size = image.shape[:2]
    self._saliency = saliency
    self._options = options
    self._segments = segments
    self._clock = clock
    planes = colour.to_planes(image, self._subsampling)
    clock.lap('colour')
    self._coefficients = [dct.forward(p) for p in planes]
    clock.lap('dct')

  def block_qualities(self, quality: float) -> np.ndarray:
    """Luma block qualities at the knob."""
    return plan.block_qualities(self._options.policy, self._saliency, quality,
                                self._options.policy_params)

  def guess(self, reference: int | None) -> float:
    """Knob whose mean block quality equals the reference quality."""
    reference = float(reference or plan.PAPER_QUALITY)
    return 2.0 * reference - self.block_qualities(reference).mean()

  def __call__(self, quality: float) -> bytes:
    self._clock.lap('search')
    luma = self.block_qualities(quality)
    components, tables = [], []
    for index, coefficients in enumerate(self._coefficients):
      qualities = luma if index == 0 else plan.chroma_qualities(
          luma, self._subsampling)
      basic = quantize.LUMA_TABLE if index == 0 else quantize.CHROMA_TABLE
      base = quantize.scaled_table(basic, qualities.max())
      components.append(quantize.deadzone_quantize(
          coefficients, base, quantize.scaled_table(basic, qualities)))
      tables += [base] if index < 2 else []
    self._clock.lap('quantize')
    data = bitstream.insert_segments(
        bitstream.encode(components, tables, *self._size), self._segments)
    self._clock.lap('write')
    return data


class _CompositeEncoder:
  """Mode 'composite': stitches once, then re-encodes per knob."""

  KNOB_RANGE = (1.0, 100.0)  # OpenCV's quality.
  RESOLUTION = 1.0

  def __init__(self, image: np.ndarray, saliency: np.ndarray,
               options: EncoderOptions, segments: list[bytes],
               clock: _Clock):
    self._subsampling = 'gray' if image.ndim == 2 else options.subsampling
    qualities = plan.block_qualities(options.policy, saliency,
                                     plan.PAPER_QUALITY, options.policy_params)
    self._levels = composite.LEVELS[composite.level_indices(qualities)]
    self._stitched = composite.stitch(image, qualities, self._subsampling)
    self._segments = segments
    self._clock = clock
    clock.lap('stitch')

  def block_qualities(self, quality: float) -> np.ndarray:
    """Levels the blocks were taken from (independent of the knob)."""
    del quality
    return self._levels.astype(np.float64)

  def guess(self, reference: int | None) -> float:
    return float(reference or plan.PAPER_QUALITY)

  def __call__(self, quality: float) -> bytes:
    self._clock.lap('search')
    data = composite.encode(self._stitched, quality, self._subsampling)
    self._clock.lap('write')
    return bitstream.insert_segments(data, self._segments)


def _target_size(image: np.ndarray, options: EncoderOptions) -> int | None:
  """The size target in bytes, or None for a fixed quality."""
  if options.match_jpeg_quality is None:
    return options.target_size
  return ratecontrol.opencv_jpeg_size(image, int(options.match_jpeg_quality))


def _shares(qualities: np.ndarray) -> dict[int, float]:
  """Share of blocks per quality, rounded to a multiple of 5."""
  levels, counts = np.unique(5 * np.rint(qualities / 5).astype(int),
                             return_counts=True)
  return {int(l): c / qualities.size for l, c in zip(levels, counts)}


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
  if value not in choices:
    raise errors.EncodeError(
        f'{name} {value!r} is not one of {", ".join(choices)}')


def _check_image(image: np.ndarray) -> None:
  """Raises EncodeError unless image is (H, W) or (H, W, 3) uint8."""
  if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
    raise errors.EncodeError('image must be a uint8 numpy array')
  if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
    raise errors.EncodeError(
        f'image shape {image.shape} is neither (H, W) nor (H, W, 3)')
  if not 1 <= min(image.shape[:2]) or max(image.shape[:2]) > MAX_SIDE:
    raise errors.EncodeError(
        f'image sides {image.shape[:2]} must be within 1..{MAX_SIDE}')


def _check_map(saliency_map: np.ndarray) -> None:
  """Raises EncodeError unless the map is finite floats in [0, 1]."""
  if not isinstance(saliency_map, np.ndarray) or not np.issubdtype(
      saliency_map.dtype, np.floating):
    raise errors.EncodeError('saliency map must be a float numpy array')
  if saliency_map.size == 0 or not np.isfinite(saliency_map).all():
    raise errors.EncodeError('saliency map is empty or has NaN/inf values')
  if saliency_map.min() < 0 or saliency_map.max() > 1:
    raise errors.EncodeError('saliency map values must lie in [0, 1]')
