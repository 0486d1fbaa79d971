"""A JPEG file as stored: its quantized DCT coefficients, tables and layout, read once.

The reader reads them (through jpeglib's libjpeg-turbo) to check for damage, and the transcoder
requantizes them on the file's own grid instead of re-encoding decoded pixels.
"""

import dataclasses
import pathlib

import jpeglib
import numpy as np

from semantic_jpeg import libjpeg

# jpeglib's colour spaces, as the rest of the package spells them.
_COLOUR_SPACES = {
  "JCS_GRAYSCALE": "gray",
  "JCS_YCbCr": "ycbcr",
  "JCS_RGB": "rgb",
  "JCS_CMYK": "cmyk",
  "JCS_YCCK": "ycck",
}


@dataclasses.dataclass(frozen=True)
class Coefficients:
  """What a JPEG file's scans and tables hold.

  Attributes:
    components: int16 levels per component, (rows, cols, 8, 8) in natural order; rows and
      cols as libjpeg counts the component's blocks.
    tables: the (8, 8) quantization table of each component, int64.
    sampling: (vertical, horizontal) sampling factors of each component.
    colour_space: 'gray', 'ycbcr', 'rgb', 'cmyk', 'ycck' (or 'other').
    height: pixels.
    width: pixels.
    progressive: whether the file's scans are progressive.
  """

  components: tuple[np.ndarray, ...]
  tables: tuple[np.ndarray, ...]
  sampling: tuple[tuple[int, int], ...]
  colour_space: str
  height: int
  width: int
  progressive: bool

  @property
  def zero_steps(self) -> bool:
    """Whether a quantization table has zero entries (a damaged file: no decoder divides by
    them, but requantizing would)."""
    return any((table == 0).any() for table in self.tables)

  def dequantized(self) -> list[np.ndarray]:
    """The coefficients a decoder reconstructs: levels times steps, float64 per component."""
    return [c.astype(np.float64) * t for c, t in zip(self.components, self.tables)]


@dataclasses.dataclass(frozen=True)
class JpegSource:
  """A JPEG input besides its pixels: the file and what it stores.

  Attributes:
    data: the file's bytes (with the end marker added where only that was missing).
    coefficients: its coefficients, or None where libjpeg-turbo could not read them.
    orientation: its EXIF orientation (1: the pixels are stored upright).
  """

  data: bytes
  coefficients: Coefficients | None
  orientation: int = 1


def read(data: bytes) -> Coefficients | None:
  """The coefficients of a JPEG file, or None where libjpeg-turbo cannot read them."""
  with libjpeg.jpeglib_file(libjpeg.TURBO) as path:
    pathlib.Path(path).write_bytes(data)
    try:
      jpeg = jpeglib.read_dct(path)
      jpeg.load()
    except OSError:
      return None
  components = [c for c in (jpeg.Y, jpeg.Cb, jpeg.Cr, jpeg.K) if c is not None]
  return Coefficients(
    components=tuple(components),
    tables=tuple(jpeg.qt[number].astype(np.int64) for number in jpeg.quant_tbl_no),
    sampling=tuple((int(v), int(h)) for v, h in np.asarray(jpeg.samp_factor)[: len(components)]),
    colour_space=_COLOUR_SPACES.get(jpeg.jpeg_color_space.name, "other"),
    height=int(jpeg.height),
    width=int(jpeg.width),
    progressive=bool(jpeg.progressive_mode),
  )
