"""Image formats in and out: decoding to RGB, EXIF orientation, metadata carry-over, PNG maps.

Pillow reads the header first, so oversized images are refused before any pixel is decoded,
and it reports truncated or corrupt data as errors instead of returning half an image. JPEGs
are read as libjpeg reads them: one missing only its end marker decodes, damage that decodes
(`jpeg_damage`) is a warning, or an error when strict; an MPO gives its primary picture. A JPEG's
coefficients are read once (`jpeg_source`), for the damage checks and the transcoder.
"""

import dataclasses
import io
import os
import pathlib
import re
import warnings

import cv2
import numpy as np
from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError

from semantic_jpeg import errors
from semantic_jpeg import jpeg_damage
from semantic_jpeg import jpeg_source

DEFAULT_MAX_PIXELS = 100_000_000
SUPPORTED_FORMATS = ("PNG", "JPEG", "MPO", "BMP", "TIFF", "WEBP", "PPM", "GIF")
_JPEG_FORMATS = ("JPEG", "MPO")
_WIDE_MODES = ("I", "I;16", "I;16B", "I;16L", "F")
_GRAY_MODES = ("1", "L", "LA") + _WIDE_MODES
_ORIENTATION = 0x0112  # EXIF tag.
_TRANSPOSING = range(2, 9)  # Orientations that flip or rotate the stored pixels.


@dataclasses.dataclass(frozen=True)
class DecodedImage:
  """An image as the rest of the package sees it.

  rgb: uint8 [H, W, 3], upright (EXIF orientation applied), alpha flattened over white.
  grayscale: the source had one colour channel (the encoder may write a grayscale JPEG).
  exif / icc_profile: metadata to carry into the output (orientation reset), or None.
  encoded_size: bytes of the encoded input, as read.
  warnings: one line each about what was read: JPEG damage, an MPO's other pictures left out.
  jpeg: for a JPEG input, the file and its coefficients (None for other formats).
  """

  rgb: np.ndarray
  grayscale: bool
  source_format: str
  exif: bytes | None = None
  icc_profile: bytes | None = None
  encoded_size: int = 0
  warnings: tuple[str, ...] = ()
  jpeg: jpeg_source.JpegSource | None = None

  @property
  def height(self) -> int:
    return self.rgb.shape[0]

  @property
  def width(self) -> int:
    return self.rgb.shape[1]


def read_image(
  path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS, strict: bool = False
) -> DecodedImage:
  """Reads and decodes an image file; raises `errors.ImageError` subclasses on bad input."""
  return decode_image(_read_bytes(path), str(path), max_pixels, strict)


def image_size(path: str | os.PathLike) -> tuple[int, int]:
  """(height, width) from the file's header, without decoding it; (0, 0) where it cannot be read
  (the reading proper reports why)."""
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      with Image.open(path) as image:
        return image.height, image.width
  except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
    return 0, 0


def pixel_count(path: str | os.PathLike) -> int:
  """Width x height from the file's header (`image_size`); 0 where it cannot be read."""
  height, width = image_size(path)
  return height * width


def _read_bytes(path: str | os.PathLike) -> bytes:
  path = pathlib.Path(path)
  try:
    return path.read_bytes()
  except FileNotFoundError:
    raise errors.ImageError(f"{path}: no such file") from None
  except IsADirectoryError:
    raise errors.ImageError(f"{path}: is a directory") from None
  except OSError as e:
    raise errors.ImageError(f"{path}: cannot read ({e.strerror})") from None


def decode_image(
  data: bytes, name: str = "<bytes>", max_pixels: int = DEFAULT_MAX_PIXELS, strict: bool = False
) -> DecodedImage:
  """Decodes encoded image bytes (see `read_image`); `strict` refuses damaged JPEGs."""
  image, warnings, jpeg = _decode(data, name, max_pixels, strict)
  try:
    orientation = image.getexif().get(_ORIENTATION, 1)
    upright = ImageOps.exif_transpose(image)
  except (OSError, ValueError, SyntaxError, KeyError) as e:
    raise errors.ImageError(f"{name}: unreadable EXIF orientation ({_first_line(e)})") from None
  if jpeg is not None and orientation in _TRANSPOSING:
    jpeg = dataclasses.replace(jpeg, orientation=orientation)
  return DecodedImage(
    rgb=_to_rgb(upright),
    grayscale=image.mode in _GRAY_MODES,
    source_format=image.format,
    exif=upright.info.get("exif") or None,
    icc_profile=image.info.get("icc_profile") or None,
    encoded_size=len(data),
    warnings=warnings,
    jpeg=jpeg,
  )


def _decode(
  data: bytes, name: str, max_pixels: int, strict: bool
) -> tuple[Image.Image, tuple[str, ...], jpeg_source.JpegSource | None]:
  """The decoded picture, warnings about it (JPEG damage is an error if `strict`), and for a
  JPEG the file as stored."""
  image = _open_checked(data, name, max_pixels)
  if image.format not in _JPEG_FORMATS:
    _load(image, name)
    return image, (), None
  try:
    _load(image, name)
  except errors.ImageError:
    complete = jpeg_damage.with_end_marker(data)
    if complete is None:
      raise
    data, image = complete, _open_checked(complete, name, max_pixels)
    _load(image, name)
  warnings = []
  coefficients = jpeg_source.read(data)
  found = jpeg_damage.damage(data, coefficients)
  if found and strict:
    raise errors.ImageError(f"{name}: corrupt JPEG data, refused as strict ({found})")
  if found:
    warnings.append(f"{name}: corrupt JPEG data, used as decoded ({found})")
  if image.format == "MPO":
    warnings.append(
      f"{name}: multi-picture (MPO) file of {image.n_frames} pictures: the first (primary) is used"
    )
  return image, tuple(warnings), jpeg_source.JpegSource(data, coefficients)


def read_gray(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
  """Reads a one-channel map or mask (8- or 16-bit) as float32 [H, W] in [0, 1].

  Colour files are converted to luma. Raises `errors.ImageError` on bad input.
  """
  image = _open_checked(_read_bytes(path), str(path), max_pixels)
  _load(image, str(path))
  if image.mode in _WIDE_MODES:
    scale = 1.0 if image.mode == "F" else 65535.0
    return np.clip(np.asarray(image, np.float32) / scale, 0.0, 1.0)
  return np.asarray(image.convert("L"), np.float32) / 255.0


def _open_checked(data: bytes, name: str, max_pixels: int) -> Image.Image:
  """Opens the header only, and checks format and size before decoding."""
  if not data:
    raise errors.ImageError(f"{name}: empty file")
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      image = Image.open(io.BytesIO(data))
  except Image.DecompressionBombError as e:  # Pillow's own limit, the lower one if raised.
    pixels = re.search(r"\((\d+) pixels\)", str(e))
    limit = min(max_pixels, 2 * Image.MAX_IMAGE_PIXELS)
    raise _too_large(name, int(pixels.group(1)) if pixels else None, limit) from None
  except UnidentifiedImageError:
    raise errors.ImageError(f"{name}: not a supported image (unrecognised data)") from None
  except (OSError, ValueError, SyntaxError) as e:
    raise errors.ImageError(f"{name}: not a supported image ({_first_line(e)})") from None
  if image.format not in SUPPORTED_FORMATS:
    raise errors.ImageError(f"{name}: unsupported format {image.format}")
  width, height = image.size
  if width < 1 or height < 1:
    raise errors.ImageError(f"{name}: image has no pixels ({width}x{height})")
  if width * height > max_pixels:
    raise _too_large(name, width * height, max_pixels)
  return image


def _load(image: Image.Image, name: str) -> None:
  """Decodes the pixels, turning truncated or corrupt data into an ImageError."""
  try:
    with warnings.catch_warnings():
      warnings.simplefilter("ignore")
      image.load()
  except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
    raise errors.ImageError(
      f"{name}: corrupt or truncated {image.format} data ({_first_line(e)})"
    ) from None


def _too_large(name: str, pixels: int | None, max_pixels: int) -> errors.ImageTooLargeError:
  size = f"{pixels:,} pixels" if pixels else "the image"
  return errors.ImageTooLargeError(
    f"{name}: {size}, above the limit of {max_pixels:,} pixels (see --max_pixels)"
  )


def _first_line(e: Exception) -> str:
  return str(e).splitlines()[0] if str(e) else type(e).__name__


def _to_rgb(image: Image.Image) -> np.ndarray:
  """Any Pillow mode to uint8 RGB: high bit depths scaled, alpha composited over white."""
  if image.mode in _WIDE_MODES:
    wide = np.asarray(image, dtype=np.float64)
    if image.mode != "F":
      wide = wide / 257.0  # 16-bit to 8-bit.
    gray = np.clip(np.rint(wide), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)
  if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
    alpha = rgba[..., 3:] / 255.0
    flat = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
    return np.rint(flat).astype(np.uint8)
  return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def encode_png(array: np.ndarray) -> bytes:
  """PNG bytes of a uint8 gray [H, W] or RGB [H, W, 3] array."""
  if array.ndim == 3:
    array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
  ok, buffer = cv2.imencode(".png", array)
  if not ok:
    raise errors.SemanticJpegError("PNG encoding failed")
  return buffer.tobytes()
