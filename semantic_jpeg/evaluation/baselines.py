"""The JPEG encoders semantic_jpeg is measured against, each rate-matched to a size target.

- `turbo`: libjpeg-turbo through OpenCV with default settings (4:2:0, standard Huffman tables),
  the encoder most software uses; its size at a quality is the usual target.
- `mozjpeg`: mozjpeg 4.0.3 through jpeglib, with mozjpeg's defaults (trellis quantization,
  progressive scans, N. Robidoux's tables). Fractional qualities scale its base table as
  `jpeg_set_quality` does, so integer qualities give mozjpeg's own tables.
- `jpegli`: libjxl's jpegli through `pyjpegli` (an optional package), integer qualities only:
  rate matching takes the largest file not above the target.
"""

from collections.abc import Callable
import importlib

import jpeglib
import numpy as np

from semantic_jpeg import errors
from semantic_jpeg import libjpeg
from semantic_jpeg.codec import quantize
from semantic_jpeg.codec import ratecontrol
from semantic_jpeg.codec import turbo

MOZJPEG = "mozjpeg403"
_MAX_TABLE_ENTRY = 32767  # mozjpeg's defaults allow 16-bit tables (not baseline).


def mozjpeg_tables(quality: float) -> np.ndarray:
  """mozjpeg's (luma, chroma) tables at a possibly fractional quality: [2, 8, 8] uint16."""
  scale = quantize.quality_scale(quality)
  table = np.clip(np.floor((quantize.ROBIDOUX_TABLE * scale + 50.0) / 100.0), 1, _MAX_TABLE_ENTRY)
  return np.stack([table, table]).astype(np.uint16)


def mozjpeg(rgb: np.ndarray, quality: float) -> bytes:
  """mozjpeg with its default settings and the tables of `mozjpeg_tables`."""
  image = jpeglib.from_spatial(np.ascontiguousarray(rgb))
  with libjpeg.jpeglib_file(MOZJPEG) as path:
    image.write_spatial(path, qt=mozjpeg_tables(quality))
    with open(path, "rb") as f:
      return f.read()


def jpegli(rgb: np.ndarray, quality: float) -> bytes:
  """jpegli at an integer quality (needs the `pyjpegli` package)."""
  try:
    pyjpegli = importlib.import_module("pyjpegli")
  except ImportError:
    raise errors.EncodeError("jpegli needs the pyjpegli package: pip install pyjpegli") from None
  height, width = rgb.shape[:2]
  return pyjpegli.encode(np.ascontiguousarray(rgb).tobytes(), width, height, int(quality))


ENCODERS: dict[str, tuple[Callable[[np.ndarray, float], bytes], bool]] = {
  "turbo": (turbo.encode, True),  # (encode, integer qualities only)
  "mozjpeg": (mozjpeg, False),
  "jpegli": (jpegli, True),
}


def rate_matched(
  name: str,
  rgb: np.ndarray,
  target: int,
  *,
  guess: float = 50.0,
  tolerance: float = ratecontrol.DEFAULT_TOLERANCE,
) -> ratecontrol.SearchResult:
  """The encoder's largest file at most `target` bytes (within tolerance where it can)."""
  encode, integer = ENCODERS[name]
  return ratecontrol.search(
    lambda q: encode(rgb, q), target, guess=guess, tolerance=tolerance, integer=integer
  )
