"""A seeded corpus of mutated PNG, JPEG and WebP files: no traceback, no hang, no partial output.

Bit flips, truncations and header edits of small real images, through the decoder in this
process and, for a sample, through one `semantic-jpeg compress` run over a folder.
"""

import collections
import faulthandler
import io
import json
import pathlib
import subprocess
import sys
import time

import cv2
import numpy as np
from PIL import Image
import pytest

from semantic_jpeg import errors
from semantic_jpeg import image_io

from conftest import read_rgb

SEED = 16
COUNT = 300
CLI_SAMPLE = 60  # Every fifth file.
MAX_DECODE_S = 10.0  # A decode this slow is a hang; faulthandler ends the process at 6x.


def _encode(rgb: np.ndarray) -> dict[str, bytes]:
  """The same picture in each format and variant the corpus mutates."""
  bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
  files = {
    "png": cv2.imencode(".png", bgr)[1].tobytes(),
    "baseline.jpg": cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes(),
    "lossy.webp": cv2.imencode(".webp", bgr, [cv2.IMWRITE_WEBP_QUALITY, 80])[1].tobytes(),
  }
  for name, fmt, options in (
    ("progressive.jpg", "JPEG", {"progressive": True}),
    ("lossless.webp", "WEBP", {"lossless": True}),
  ):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    files[name] = buffer.getvalue()
  return files


def _mutate(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
  mutated = bytearray(data)
  if kind == "flips":
    for position in rng.integers(0, len(data), size=int(rng.integers(1, 9))):
      mutated[position] ^= 1 << int(rng.integers(8))
  elif kind == "cut":
    del mutated[int(rng.integers(1, len(data))) :]
  else:  # Header edit: a few bytes of the first 64 set at random.
    for position in rng.integers(0, min(64, len(data)), size=int(rng.integers(1, 5))):
      mutated[position] = int(rng.integers(256))
  return bytes(mutated)


def corpus(count: int = COUNT, seed: int = SEED) -> list[tuple[str, bytes]]:
  """`count` mutated files, (file name, bytes), the same for the same seed."""
  rng = np.random.default_rng(seed)
  sources = _encode(read_rgb("kodim23.png")[200:248, 300:364])
  names = sorted(sources)
  files = []
  for index in range(count):
    source = names[index % len(names)]
    kind = ("flips", "cut", "header")[int(rng.integers(3))]
    files.append((f"{index:03d}_{kind}_{source}", _mutate(sources[source], kind, rng)))
  return files


def test_the_decoder_refuses_or_decodes_every_mutated_file():
  outcomes = collections.Counter()
  faulthandler.dump_traceback_later(6 * MAX_DECODE_S, exit=True)
  try:
    for name, data in corpus():
      start = time.perf_counter()
      try:
        image = image_io.decode_image(data, name)
      except errors.ImageError as e:
        assert str(e).startswith(f"{name}: ") and "\n" not in str(e)
        outcomes["refused"] += 1
      else:
        assert image.rgb.dtype == np.uint8 and image.rgb.shape[2] == 3 and image.rgb.size
        outcomes["decoded"] += 1
      assert time.perf_counter() - start < MAX_DECODE_S, name
  finally:
    faulthandler.cancel_dump_traceback_later()
  assert outcomes["refused"] > COUNT // 10 and outcomes["decoded"] > COUNT // 10, outcomes


@pytest.mark.slow
def test_one_compress_run_over_mutated_files_leaves_only_whole_outputs(tmp_path):
  inputs, out = tmp_path / "in", tmp_path / "out"
  inputs.mkdir()
  sample = corpus()[::5]
  assert len(sample) == CLI_SAMPLE
  for name, data in sample:
    (inputs / name).write_bytes(data)
  result = subprocess.run(
    [sys.executable, "-m", "semantic_jpeg.cli", "compress", str(inputs), "--output_dir", str(out)]
    + ["--json"],
    capture_output=True,
    text=True,
    timeout=900,
    check=False,
  )
  assert result.returncode in (0, 2) and "Traceback" not in result.stderr
  records = [json.loads(line) for line in result.stdout.splitlines()]
  errors_ = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
  assert len(records) + len(errors_) == CLI_SAMPLE
  assert f"compressed {len(records)} file(s), {len(errors_)} failed" in result.stderr
  assert sorted(pathlib.Path(r["output"]).name for r in records) == sorted(
    p.name for p in out.iterdir()
  )
  for record in records:
    by_opencv = cv2.imread(record["output"], cv2.IMREAD_UNCHANGED)
    with Image.open(record["output"]) as image:
      image.load()
      assert by_opencv.shape[:2] == (image.height, image.width)
      assert image.size == (record["width"], record["height"])
