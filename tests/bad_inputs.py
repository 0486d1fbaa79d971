"""Awkward and broken image files, made on the fly, for the input-handling tests."""

import io
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


def jpeg_bytes(rgb: np.ndarray, **pillow_options) -> bytes:
  """A JPEG of uint8 RGB pixels, written by Pillow."""
  buffer = io.BytesIO()
  Image.fromarray(rgb).save(buffer, "JPEG", **pillow_options)
  return buffer.getvalue()


def psnr(decoded: np.ndarray, reference: np.ndarray) -> float:
  error = np.mean((decoded.astype(np.float64) - reference) ** 2)
  return 10 * np.log10(255.0**2 / error) if error else float("inf")


def damaged_jpegs(count: int = 8, seed: int = 16) -> tuple[bytes, dict[str, bytes]]:
  """A clean JPEG, and visibly damaged copies that still decode.

  `count` copies have bits flipped in their entropy-coded data, chosen (seeded) among those
  that OpenCV decodes 6-15 dB PSNR away from the clean file; one more has its luma
  quantization table zeroed.
  """
  clean = jpeg_bytes(cv2.cvtColor(_photo(256, 384), cv2.COLOR_BGR2RGB), quality=90)
  reference = cv2.imdecode(np.frombuffer(clean, np.uint8), cv2.IMREAD_COLOR)
  scan = clean.index(b"\xff\xda") + 20
  rng = np.random.default_rng(seed)
  damaged = {}
  for attempt in range(2000):
    data = bytearray(clean)
    for position in rng.integers(scan, len(clean) - 2, size=int(rng.integers(1, 4))):
      data[position] ^= 1 << int(rng.integers(8))
    decoded = cv2.imdecode(np.frombuffer(bytes(data), np.uint8), cv2.IMREAD_COLOR)
    if decoded is not None and 6 <= psnr(decoded, reference) <= 15:
      damaged[f"flipped_{attempt}"] = bytes(data)
    if len(damaged) == count:
      break
  assert len(damaged) == count, "too few damaged files in 2000 attempts"
  table = clean.index(b"\xff\xdb") + 5  # Marker, length, table id: then 64 entries.
  damaged["zeroed_table"] = clean[:table] + bytes(64) + clean[table + 64 :]
  return clean, damaged
