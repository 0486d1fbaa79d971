"""The encoder facade: image + saliency map + options -> JPEG bytes + report.

image -> map -> plan -> coefficients -> bytes: the map enters at block resolution (`plan`), a
mode (`modes`) transforms once and quantizes and writes per knob, and rate control
(`ratecontrol`) moves the knob to a size target.
"""

import dataclasses

import numpy as np

from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg.codec import bitstream
from semantic_jpeg.codec import modes
from semantic_jpeg.codec import plan
from semantic_jpeg.codec import ratecontrol
from semantic_jpeg.codec import turbo
from semantic_jpeg.codec.options import DEFAULT_QUALITY
from semantic_jpeg.codec.options import EncoderOptions

MAX_SIDE = 65500  # Largest JPEG dimension libjpeg accepts.
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
    target_met: size in [1 - tolerance, 1] x target (True with no target).
  """

  size: int
  target_size: int | None
  quality: float
  quality_shares: dict[int, float]
  steps: int
  timings_ms: dict[str, float]
  target_met: bool


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
  segments = bitstream.exif_segments(exif) + bitstream.icc_segments(icc_profile)
  target = _target_size(image, options)
  clock.lap("reference")
  encode = _MODES[options.mode](image, saliency, options, segments, clock)
  write = modes.progressive(encode, clock) if options.progressive else encode
  if target is None:
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
  )
  return result.data, report


def compress_decoded(
  image: image_io.DecodedImage, saliency_map: np.ndarray, options: EncoderOptions | None = None
) -> tuple[bytes, EncodeReport]:
  """`compress` for a decoded file: grayscale sources stay gray, EXIF and ICC carry over.

  The one path from a decoded file to JPEG bytes that the CLI and batch jobs share.
  """
  pixels = image.rgb[..., 0] if image.grayscale else image.rgb
  return compress(pixels, saliency_map, options, exif=image.exif, icc_profile=image.icc_profile)


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
