"""The encoder facade: image + saliency map + options -> JPEG bytes + report.

image -> map -> plan -> coefficients -> bytes: the map enters at block resolution (`plan`), a
mode (`modes`) transforms once and quantizes and writes per knob, and rate control
(`ratecontrol`) moves the knob to a size or SSIMULACRA 2 target. A decoded JPEG input
(`compress_decoded`) is requantized in the coefficient domain (`transcode`) where its grid can be
kept, and is never made larger: where the encoded file would not be smaller than the input, the
input's own coefficients are written losslessly re-optimized, or the input as it is.
"""

from collections.abc import Callable
import dataclasses

import numpy as np

from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg import jpeg_source
from semantic_jpeg.codec import bitstream
from semantic_jpeg.codec import modes
from semantic_jpeg.codec import plan
from semantic_jpeg.codec import ratecontrol
from semantic_jpeg.codec import ssimulacra2
from semantic_jpeg.codec import transcode
from semantic_jpeg.codec import turbo
from semantic_jpeg.codec.options import DEFAULT_QUALITY
from semantic_jpeg.codec.options import EncoderOptions

MAX_SIDE = 65500  # Largest JPEG dimension libjpeg accepts.
_SCORE_SLOPE = 0.5  # Typical d SSIMULACRA 2 / d knob, for the score search's first step.
# A score search stops at a bracket this narrow: where the score jumps over the target (table
# entries changing together), no knob between splits it.
_SCORE_RESOLUTION = 0.05
_MODES = {
  "trellis": modes.TrellisEncoder,
  "dct": modes.DCTEncoder,
  "composite": modes.CompositeEncoder,
}


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
    target_met: of the file written: size in [1 - tolerance, 1] x target, or
      score at least the target (True with no target).
    path: 'coefficients' (a JPEG input requantized) or 'pixels'.
    reason: for a JPEG input encoded from its pixels, why.
    written: 'encoded'; for a JPEG input whose encoded file would not have
      been smaller, 'input_optimized' (its own coefficients, losslessly
      re-optimized) or 'input' (the file as it was).
    target_ssimulacra2: the score target, or None.
    ssimulacra2: with a score target, the written file's SSIMULACRA 2
      against the input's pixels.
  """

  size: int
  target_size: int | None
  quality: float
  quality_shares: dict[int, float]
  steps: int
  timings_ms: dict[str, float]
  target_met: bool
  path: str = "pixels"
  reason: str | None = None
  written: str = "encoded"
  target_ssimulacra2: float | None = None
  ssimulacra2: float | None = None


def compress(
  image: np.ndarray,
  saliency_map: np.ndarray,
  options: EncoderOptions | None = None,
  *,
  exif: bytes | None = None,
  icc_profile: bytes | None = None,
) -> tuple[bytes, EncodeReport]:
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
  clock = modes.Clock()
  saliency = plan.block_saliency(saliency_map, *image.shape[:2])
  clock.lap("plan")
  pixel_options = dataclasses.replace(options, subsampling=options.subsampling or "420")
  encode = _MODES[options.mode](image, saliency, pixel_options, _segments(exif, icc_profile), clock)
  return _encode(encode, image, options, clock, lambda target: _score_start(encode, target))


def compress_decoded(
  image: image_io.DecodedImage, saliency_map: np.ndarray, options: EncoderOptions | None = None
) -> tuple[bytes, EncodeReport]:
  """`compress` for a decoded file: grayscale sources stay gray, EXIF and ICC carry over.

  A JPEG input is requantized in the coefficient domain where its grid can be kept (where not,
  `transcode.obstacle` says why, in the report's `reason`), and unless `options.allow_larger`,
  what is written is never larger than the input. The one path from a decoded file to JPEG
  bytes that the CLI and batch jobs share.
  """
  options = options or EncoderOptions()
  pixels = image.rgb[..., 0] if image.grayscale else image.rgb
  if image.jpeg is None:
    return compress(pixels, saliency_map, options, exif=image.exif, icc_profile=image.icc_profile)
  reason = transcode.obstacle(image, options)
  if reason is None:
    data, report = _transcode(image, pixels, saliency_map, options)
  else:
    data, report = compress(
      pixels, saliency_map, options, exif=image.exif, icc_profile=image.icc_profile
    )
    report = dataclasses.replace(report, reason=reason)
  if options.allow_larger or len(data) < len(image.jpeg.data):
    return data, report
  return _input_kept(image.jpeg, report, options.tolerance)


def _transcode(
  image: image_io.DecodedImage,
  pixels: np.ndarray,
  saliency_map: np.ndarray,
  options: EncoderOptions,
) -> tuple[bytes, EncodeReport]:
  """A JPEG input's coefficients requantized (`transcode`), at the options' rate."""
  _check_map(saliency_map)
  clock = modes.Clock()
  saliency = plan.block_saliency(saliency_map, *pixels.shape[:2])
  clock.lap("plan")
  encode = transcode.CoefficientEncoder(
    image.jpeg.coefficients, saliency, options, _segments(image.exif, image.icc_profile), clock
  )
  data, report = _encode(encode, pixels, options, clock, encode.score_start)
  return data, dataclasses.replace(report, path="coefficients")


def _encode(
  encode: modes.ModeEncoder,
  pixels: np.ndarray,
  options: EncoderOptions,
  clock: modes.Clock,
  score_start: Callable[[float], tuple[float, float]],
) -> tuple[bytes, EncodeReport]:
  """Runs a mode at the options' rate: a fixed knob, or a search for a size or score target
  (`score_start`: a score target's first knob, and d score / d knob there)."""
  target = _target_size(pixels, options)
  clock.lap("reference")
  write = modes.progressive(encode, clock) if options.progressive else encode
  if options.target_ssimulacra2 is not None:
    result = _search_score(encode, pixels, options, clock, *score_start(options.target_ssimulacra2))
    if options.progressive:  # The same pixels: only the winner needs rewriting.
      result = dataclasses.replace(result, data=bitstream.progressive(result.data))
      clock.lap("progressive")
  elif target is None:
    quality = DEFAULT_QUALITY if options.quality is None else options.quality
    result = ratecontrol.SearchResult(quality, write(quality), 1, True)
  else:
    result = ratecontrol.search(
      write,
      target,
      guess=encode.guess(options.match_jpeg_quality),
      tolerance=options.tolerance,
      integer=options.mode == "composite",
      bounds=encode.KNOB_RANGE,
      resolution=encode.RESOLUTION,
    )
  clock.lap("search")
  report = EncodeReport(
    size=len(result.data),
    target_size=target,
    quality=result.quality,
    quality_shares=_shares(encode.block_qualities(result.quality)),
    steps=result.steps,
    timings_ms=clock.timings(),
    target_met=result.met,
    target_ssimulacra2=options.target_ssimulacra2,
    ssimulacra2=result.score,
  )
  return result.data, report


def _search_score(
  encode: modes.ModeEncoder,
  pixels: np.ndarray,
  options: EncoderOptions,
  clock: modes.Clock,
  guess: float,
  slope: float,
) -> ratecontrol.SearchResult:
  """The smallest (baseline) file whose SSIMULACRA 2 against `pixels` reaches the target."""
  try:
    reference = ssimulacra2.Reference(pixels)
  except errors.ImageError as e:
    raise errors.EncodeError(f"target_ssimulacra2: {e}") from None
  clock.lap("reference")

  def score(data: bytes) -> float:
    clock.lap("search")
    value = reference.score(turbo.decode(data))
    clock.lap("score")
    return value

  return ratecontrol.search_score(
    encode,
    score,
    options.target_ssimulacra2,
    guess=guess,
    slope=slope,
    tolerance=options.tolerance,
    bounds=encode.KNOB_RANGE,
    resolution=max(encode.RESOLUTION, _SCORE_RESOLUTION),
  )


def _score_start(encode: modes.ModeEncoder, target: float) -> tuple[float, float]:
  """A pixel mode's first knob for a score target: its guess for the size of libjpeg-turbo's
  file at the quality that typically scores the target (a rough line: 80 at quality 80, 60 at
  quality 40), and a typical d score / d knob."""
  return encode.guess(int(np.clip(round(2.0 * target - 80.0), 1, 100))), _SCORE_SLOPE


def _input_kept(
  source: jpeg_source.JpegSource, report: EncodeReport, tolerance: float
) -> tuple[bytes, EncodeReport]:
  """The input's coefficients losslessly re-optimized (mozjpeg's jpegtran, progressive, every
  marker kept), or the input itself: the smaller. Both decode to the input's pixels."""
  try:
    optimized = bitstream.progressive(source.data)
  except errors.EncodeError:
    optimized = source.data
  if len(optimized) < len(source.data):
    data, written = optimized, "input_optimized"
  else:
    data, written = source.data, "input"
  target = report.target_size
  return data, dataclasses.replace(
    report,
    size=len(data),
    written=written,
    target_met=target is None or (1 - tolerance) * target <= len(data) <= target,
    ssimulacra2=None if report.target_ssimulacra2 is None else 100.0,
  )


def _segments(exif: bytes | None, icc_profile: bytes | None) -> list[bytes]:
  return bitstream.exif_segments(exif) + bitstream.icc_segments(icc_profile)


def _target_size(image: np.ndarray, options: EncoderOptions) -> int | None:
  """The size target in bytes, or None for a fixed quality."""
  if options.match_jpeg_quality is None:
    return options.target_size
  return turbo.jpeg_size(image, int(options.match_jpeg_quality))


def _shares(qualities: np.ndarray) -> dict[int, float]:
  """Share of blocks per quality, rounded to a multiple of 5."""
  levels, counts = np.unique(5 * np.rint(qualities / 5).astype(int), return_counts=True)
  return {int(level): c / qualities.size for level, c in zip(levels, counts)}


def _check_image(image: np.ndarray) -> None:
  """Raises EncodeError unless image is (H, W) or (H, W, 3) uint8."""
  if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
    raise errors.EncodeError("image must be a uint8 numpy array")
  if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
    raise errors.EncodeError(f"image shape {image.shape} is neither (H, W) nor (H, W, 3)")
  if not 1 <= min(image.shape[:2]) or max(image.shape[:2]) > MAX_SIDE:
    raise errors.EncodeError(f"image sides {image.shape[:2]} must be within 1..{MAX_SIDE}")


def _check_map(saliency_map: np.ndarray) -> None:
  """Raises EncodeError unless the map is finite floats in [0, 1]."""
  if not isinstance(saliency_map, np.ndarray) or not np.issubdtype(saliency_map.dtype, np.floating):
    raise errors.EncodeError("saliency map must be a float numpy array")
  if saliency_map.size == 0 or not np.isfinite(saliency_map).all():
    raise errors.EncodeError("saliency map is empty or has NaN/inf values")
  if saliency_map.min() < 0 or saliency_map.max() > 1:
    raise errors.EncodeError("saliency map values must lie in [0, 1]")
