"""Benchmark: time and peak memory of whole processes on large photos, beside mozjpeg's.

  python benchmarks/large_photos.py --output results/large_photos.md

The photos are a Kodak image scaled up (bicubic) to 24 and 100 megapixels and stored as JPEG
(quality 92: the compressor requantizes a JPEG's coefficients) or PNG (it encodes the pixels);
each process compresses one at a fixed quality. Peak memory is each process's
own maximum resident set (`wait4`). `semantic-jpeg` runs with its map from the model, on LiteRT
(the default on a CPU) and on TensorFlow (both cached: one untimed run of each first), and with
a map file (--map); mozjpeg runs through jpeglib in a Python process that decodes the same file.
Runs are interleaved.
"""

import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import cv2

import report  # benchmarks/report.py

_REPO = pathlib.Path(__file__).resolve().parent.parent
_SOURCE = flags.DEFINE_string("source", str(_REPO / "testdata" / "kodim23.png"), "Image to scale.")
_PHOTOS = flags.DEFINE_list(
  "photos", ["6000x4000.jpg", "6000x4000.png", "12240x8160.jpg"], "WIDTHxHEIGHT.FORMAT photos."
)
_REPEATS = flags.DEFINE_integer("repeats", 2, "Runs of each command.")
_QUALITY = flags.DEFINE_integer("quality", 75, "Fixed quality of every encoder.")
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")

_MOZJPEG = """
import sys
from semantic_jpeg import files, image_io
from semantic_jpeg.evaluation import baselines
rgb = image_io.read_image(sys.argv[1]).rgb
files.write_atomic(sys.argv[2], baselines.mozjpeg(rgb, float(sys.argv[3])))
"""


def _run(command: list[str]) -> tuple[float, float]:
  """(seconds, peak resident GB) of one process."""
  start = time.perf_counter()
  process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
  _, status, usage = os.wait4(process.pid, 0)
  seconds = time.perf_counter() - start
  process.returncode = os.waitstatus_to_exitcode(status)
  if process.returncode:
    raise RuntimeError(f"{command} failed: {process.stderr.read().decode()[-2000:]}")
  return seconds, usage.ru_maxrss / 1e6


def _photo(folder: str, photo: str) -> str:
  width, height = (int(side) for side in photo.split(".")[0].split("x"))
  path = f"{folder}/photo_{photo}"
  scaled = cv2.resize(cv2.imread(_SOURCE.value), (width, height), interpolation=cv2.INTER_CUBIC)
  cv2.imwrite(path, scaled, [cv2.IMWRITE_JPEG_QUALITY, 92, cv2.IMWRITE_PNG_COMPRESSION, 1])
  return path


def _commands(photo: str, out: str) -> dict[str, list[str]]:
  cli = [sys.executable, "-m", "semantic_jpeg.cli", "compress", photo, "--quality"]
  quality = str(_QUALITY.value)
  return {
    "semantic-jpeg (map from the model, LiteRT)": [
      *cli, quality, "--output", f"{out}/model.jpg",
    ],
    "semantic-jpeg --map_runtime tensorflow": [
      *cli, quality, "--output", f"{out}/model_tf.jpg", "--map_runtime", "tensorflow",
    ],
    "semantic-jpeg --map FILE (no TensorFlow)": [
      *cli, quality, "--output", f"{out}/map.jpg", "--map", _SOURCE.value,
    ],
    "mozjpeg (Python + jpeglib)": [
      sys.executable, "-c", _MOZJPEG, photo, f"{out}/moz.jpg", quality,
    ],
  }  # fmt: skip


def _measure(folder: str) -> dict[str, dict[str, list[tuple[float, float]]]]:
  results = {}
  for photo in _PHOTOS.value:
    commands = _commands(_photo(folder, photo), folder)
    for command in list(commands.values())[:2]:
      _run(command)  # Fills the map's caches (LiteRT export, TensorFlow trace).
    runs = {name: [] for name in commands}
    for _ in range(_REPEATS.value):
      for name, command in commands.items():
        runs[name].append(_run(command))
    results[photo] = runs
  return results


def _lines(results: dict, loads: tuple) -> list[str]:
  lines = [
    "# Large photos: time and peak memory",
    "",
    f"Command: `python {' '.join(sys.argv)}`",
    "",
    f"{report.machine()}; {_REPEATS.value} runs of each command, interleaved; quality "
    f"{_QUALITY.value}; load average (1, 5, 15 min) {loads[0]} before and {loads[1]} after.",
    "",
    "| photo | process | median s | peak RSS GB (max) | time / mozjpeg's |",
    "|---|---|---|---|---|",
  ]
  for photo, runs in results.items():
    moz = statistics.median(s for s, _ in runs["mozjpeg (Python + jpeglib)"])
    width, height = (int(side) for side in photo.split(".")[0].split("x"))
    megapixels = width * height / 1e6
    for name, values in runs.items():
      seconds = statistics.median(s for s, _ in values)
      peak = max(gb for _, gb in values)
      lines.append(
        f"| {photo} ({megapixels:.0f} MP) | {name} | {seconds:.1f} | {peak:.2f} | "
        f"{seconds / moz:.1f}x |"
      )
  return lines


def main(argv):
  del argv
  before = tuple(round(x, 2) for x in os.getloadavg())
  with tempfile.TemporaryDirectory() as folder:
    results = _measure(folder)
  after = tuple(round(x, 2) for x in os.getloadavg())
  report.publish(_lines(results, (before, after)), _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
