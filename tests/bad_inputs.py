"""Awkward and broken image files, made on the fly, for the input-handling tests."""

import pathlib
import struct
import zlib

import cv2
import numpy as np
from PIL import Image

TESTDATA = pathlib.Path(__file__).resolve().parent.parent / "testdata"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
  return (
    struct.pack(">I", len(data))
    + kind
    + data
    + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
  )


def huge_png_header(width: int, height: int) -> bytes:
  """A PNG that claims width x height pixels but carries almost no data."""
  header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
  return (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", header)
    + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    + _png_chunk(b"IEND", b"")
  )


def _photo(height: int, width: int) -> np.ndarray:
  bgr = cv2.imread(str(TESTDATA / "kodim23.png"))
  return cv2.resize(bgr, (width, height), interpolation=cv2.INTER_AREA)


def make_broken(directory: pathlib.Path) -> dict[str, pathlib.Path]:
  """Files that must be refused with a one-line error."""
  png = (TESTDATA / "kodim23.png").read_bytes()
  ok, jpeg = cv2.imencode(".jpg", _photo(256, 384))
  files = {
    "missing": None,
    "zero_bytes": b"",
    "truncated_png": png[: len(png) // 3],
    "truncated_jpeg": jpeg.tobytes()[: jpeg.size // 2],
    "text_as_png": b"this is not an image\n",
    "huge_header": huge_png_header(20000, 20000),
  }
  suffixes = {"truncated_jpeg": ".jpg"}
  paths = {}
  for name, data in files.items():
    path = directory / f"{name}{suffixes.get(name, '.png')}"
    if data is not None:
      path.write_bytes(data)
    paths[name] = path
  return paths


def make_awkward(directory: pathlib.Path) -> dict[str, pathlib.Path]:
  """Valid but unusual files that must give a correct result."""
  photo = _photo(96, 128)
  rgb = cv2.cvtColor(photo, cv2.COLOR_BGR2RGB)
  paths = {
    name: directory / f"{name}.png"
    for name in ("one_by_one", "three_by_two", "odd_size", "sixteen_bit", "gray", "rgba", "palette")
  }
  cv2.imwrite(str(paths["one_by_one"]), photo[:1, :1])
  cv2.imwrite(str(paths["three_by_two"]), photo[:2, :3])
  cv2.imwrite(str(paths["odd_size"]), _photo(77, 101))
  cv2.imwrite(str(paths["sixteen_bit"]), photo.astype(np.uint16) * 257)
  cv2.imwrite(str(paths["gray"]), cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY))
  alpha = np.full((*photo.shape[:2], 1), 255, np.uint8)
  alpha[:, : photo.shape[1] // 2] = 0
  cv2.imwrite(str(paths["rgba"]), np.concatenate([photo, alpha], axis=2))
  Image.fromarray(rgb).quantize(64).save(paths["palette"])
  return paths
