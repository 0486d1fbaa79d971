"""Quantized coefficients to baseline JFIF bytes, with optional EXIF and ICC.

Entropy coding is libjpeg-turbo's (through jpeglib's `write_dct`) with
optimized Huffman tables; `progressive` rewrites a file as progressive scans
(mozjpeg's jpegtran, lossless).
"""

from collections.abc import Sequence
import pathlib

import jpeglib
import mozjpeg_lossless_optimization
import numpy as np

from semantic_jpeg import errors
from semantic_jpeg import libjpeg

_SOI = b"\xff\xd8"
_APP0 = b"\xff\xe0"
_APP1 = b"\xff\xe1"
_APP2 = b"\xff\xe2"
_EXIF_HEADER = b"Exif\x00\x00"
_ICC_HEADER = b"ICC_PROFILE\x00"
_MAX_PAYLOAD = 65533  # A segment length field counts itself (2 bytes).
ICC_CHUNK = _MAX_PAYLOAD - len(_ICC_HEADER) - 2  # 65519 bytes.
_MAX_ICC_CHUNKS = 255


def encode(
  components: Sequence[np.ndarray],
  tables: Sequence[np.ndarray],
  height: int,
  width: int,
  sampling: Sequence[tuple[int, int]],
) -> bytes:
  """Entropy-codes quantized coefficients as one baseline JPEG (no metadata).

  Args:
    components: int16 levels per component, (rows, cols, 8, 8) natural
      order: Y alone (grayscale) or Y, Cb, Cr. Block counts must be those
      libjpeg gives the sampling factors (`colour.block_grid`).
    tables: quantization tables (8, 8), 1..255: luma, then chroma if any
      (one for both), or one per component.
    height: image height in pixels.
    width: image width in pixels.
    sampling: (vertical, horizontal) sampling factors per component. Block
      counts alone do not tell them apart where a side is 8 pixels or less.

  Returns:
    The JPEG file's bytes; `insert_segments` adds EXIF and ICC segments.
  """
  arrays = [np.ascontiguousarray(c, dtype=np.int16) for c in components]
  jpeg = jpeglib.from_dct(*arrays, qt=np.stack(tables).astype(np.uint16))
  jpeg.height, jpeg.width = height, width
  jpeg.samp_factor = np.array(sampling, np.int32)
  with libjpeg.jpeglib_file(libjpeg.TURBO) as path:
    jpeg.write_dct(path, flags=["+OPTIMIZE_CODING"])
    return pathlib.Path(path).read_bytes()


def progressive(jpeg: bytes) -> bytes:
  """The same coefficients as progressive scans chosen for size, markers kept (lossless)."""
  try:
    return mozjpeg_lossless_optimization.optimize(
      jpeg, copy=mozjpeg_lossless_optimization.COPY_MARKERS.ALL
    )
  except ValueError as e:
    raise errors.EncodeError(f"progressive rewrite failed: {e}") from None


def exif_segments(exif: bytes | None) -> list[bytes]:
  """Returns the APP1 segment carrying `exif` ([] for None)."""
  if exif is None:
    return []
  payload = exif if exif.startswith(_EXIF_HEADER) else _EXIF_HEADER + exif
  if len(payload) > _MAX_PAYLOAD:
    raise errors.EncodeError(
      f"EXIF data of {len(payload)} bytes exceeds one APP1 segment ({_MAX_PAYLOAD} bytes)"
    )
  return [_segment(_APP1, payload)]


def icc_segments(icc_profile: bytes | None) -> list[bytes]:
  """Splits an ICC profile into numbered APP2 ICC_PROFILE segments."""
  if not icc_profile:
    return []
  chunks = [icc_profile[i : i + ICC_CHUNK] for i in range(0, len(icc_profile), ICC_CHUNK)]
  if len(chunks) > _MAX_ICC_CHUNKS:
    raise errors.EncodeError(
      f"ICC profile of {len(icc_profile)} bytes needs more than {_MAX_ICC_CHUNKS} APP2 segments"
    )
  return [
    _segment(_APP2, _ICC_HEADER + bytes([i + 1, len(chunks)]) + chunk)
    for i, chunk in enumerate(chunks)
  ]


def insert_segments(jpeg: bytes, segments: Sequence[bytes]) -> bytes:
  """Inserts marker segments right after SOI and the JFIF APP0 segment."""
  if not jpeg.startswith(_SOI):
    raise errors.EncodeError("not a JPEG stream: SOI marker missing")
  position = len(_SOI)
  if jpeg[position : position + 2] == _APP0:
    position += 2 + int.from_bytes(jpeg[position + 2 : position + 4], "big")
  return jpeg[:position] + b"".join(segments) + jpeg[position:]


def _segment(marker: bytes, payload: bytes) -> bytes:
  """Returns a marker segment: marker, big-endian length, payload."""
  return marker + (len(payload) + 2).to_bytes(2, "big") + payload
