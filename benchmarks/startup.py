"""Benchmark: whole processes as a user runs them, beside mozjpeg's, and where start-up goes.

  python benchmarks/startup.py --images ../shared/datasets/kodak --output results/startup.md

Each command runs --repeats times, the commands interleaved so that the machine's load falls on
all alike; medians are reported with the load average. `semantic-jpeg` runs with its map's
LiteRT export and TensorFlow trace cached (one untimed run of each first fills the cache); the
peer is mozjpeg through jpeglib, rate-matched to the same size by the same search, in a Python
process of its own.
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

from semantic_jpeg import arguments
from semantic_jpeg import files

import report  # benchmarks/report.py

_REPO = pathlib.Path(__file__).resolve().parent.parent
_IMAGES = flags.DEFINE_string("images", str(_REPO / "testdata"), "Folder of images.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Runs of each command.")
_QUALITY = flags.DEFINE_integer("match_jpeg_quality", 50, "Size target: OpenCV at this quality.")
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")

_MOZJPEG = """
import sys
from semantic_jpeg import files, image_io
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines
rgb = image_io.read_image(sys.argv[1]).rgb
result = baselines.rate_matched("mozjpeg", rgb, turbo.jpeg_size(rgb, int(sys.argv[3])))
files.write_atomic(sys.argv[2], result.data)
"""

_STAGES = """
import sys, time
start = time.perf_counter()
def lap(name):
  global start
  now = time.perf_counter()
  print(f"{name}\\t{1e3 * (now - start):.0f}")
  start = now
import numpy, cv2
from semantic_jpeg import image_io
lap("import numpy, cv2, image_io")
if sys.argv[2] == "litert":
  from semantic_jpeg.saliency import litert, options
  lap("import our map modules (no TensorFlow)")
  loaded = litert.load({})
  lap("load the exported stages (LiteRT)")
  block_map = lambda rgb: loaded.block_map(rgb, options.SaliencyOptions())
else:
  import tensorflow
  lap("import tensorflow (with Keras)")
  from semantic_jpeg.saliency import compiled, model
  lap("import our map modules")
  if sys.argv[2] == "cached":
    loaded = compiled.load({})
    lap("load the cached SavedModel")
  else:
    loaded = model.load_model()
    lap("build the Keras model (load_model)")
  block_map = lambda rgb: model.compute_block_map(loaded, rgb)
rgb = image_io.read_image(sys.argv[1]).rgb
block_map(rgb)
lap("first map (set-up; Keras: + trace)")
block_map(rgb)
lap("second map")
from semantic_jpeg.codec import encoder
lap("import the encoder")
encoder.compress(rgb, block_map(rgb))
lap("first encode (numba's cache loads)")
encoder.compress(rgb, block_map(rgb))
lap("second map + encode")
"""
_KINDS = {
  "litert": "LiteRT export (default on a CPU)",
  "cached": "TensorFlow, cached trace",
  "keras": "TensorFlow, Keras model traced",
}


def _seconds(command: list[str]) -> float:
  start = time.perf_counter()
  subprocess.run(command, check=True, capture_output=True)
  return time.perf_counter() - start


def _commands(paths: list[pathlib.Path], out: str) -> dict[str, list[str]]:
  cli = [sys.executable, "-m", "semantic_jpeg.cli"]
  rate = ["--match_jpeg_quality", str(_QUALITY.value)]
  first = str(paths[0])
  return {
    "semantic-jpeg --help": [*cli, "--help"],
    "semantic-jpeg compress --help": [*cli, "compress", "--help"],
    "semantic-jpeg compress, 1 image, rate-matched": [
      *cli, "compress", first, "--output", f"{out}/one.jpg", *rate,
    ],
    "same, --map_runtime tensorflow": [
      *cli, "compress", first, "--output", f"{out}/one_tf.jpg", *rate,
      "--map_runtime", "tensorflow",
    ],
    "mozjpeg, 1 image, rate-matched (Python + jpeglib)": [
      sys.executable, "-c", _MOZJPEG, first, f"{out}/moz.jpg", str(_QUALITY.value),
    ],
    _many(paths): [*cli, "compress", *map(str, paths), "--output_dir", f"{out}/all", *rate],
    _MANY_ONE_JOB: [
      *cli, "compress", *map(str, paths), "--output_dir", f"{out}/one_job", *rate, "--jobs", "1",
    ],
  }  # fmt: skip


def _many(paths: list[pathlib.Path]) -> str:
  return f"semantic-jpeg compress, {len(paths)} images, rate-matched (--jobs default)"


_MANY_ONE_JOB = "same, --jobs 1"


def _stages(path: pathlib.Path, kind: str) -> dict[str, float]:
  """Milliseconds per start-up stage of one process (`kind`: a key of _KINDS)."""
  lines = subprocess.run(
    [sys.executable, "-c", _STAGES, str(path), kind], check=True, capture_output=True, text=True
  ).stdout.splitlines()
  return {name: float(ms) for name, ms in (line.split("\t") for line in lines)}


def _measure(paths: list[pathlib.Path]) -> tuple[dict, dict, tuple, tuple]:
  loads = os.getloadavg()
  with tempfile.TemporaryDirectory() as out:
    commands = _commands(paths, out)
    _seconds(commands["semantic-jpeg compress, 1 image, rate-matched"])  # Fill the caches.
    _seconds(commands["same, --map_runtime tensorflow"])
    runs = {name: [] for name in commands}
    stages = {kind: [] for kind in _KINDS}
    for _ in range(_REPEATS.value):
      for name, command in commands.items():
        runs[name].append(_seconds(command))
      for kind in stages:
        stages[kind].append(_stages(paths[0], kind))
  return runs, stages, loads, os.getloadavg()


def _lines(paths: list[pathlib.Path], runs: dict, stages: dict, loads: tuple) -> list[str]:
  med = {name: statistics.median(times) for name, times in runs.items()}
  one = med["semantic-jpeg compress, 1 image, rate-matched"]
  many, many_one_job = med[_many(paths)], med[_MANY_ONE_JOB]
  moz = med["mozjpeg, 1 image, rate-matched (Python + jpeglib)"]
  lines = [
    "# Start-up and whole processes",
    "",
    f"Command: `python {' '.join(sys.argv)}`",
    "",
    f"{report.machine()}; {_REPEATS.value} runs of each command, interleaved; load average "
    f"(1, 5, 15 min) {loads[0]} before and {loads[1]} after. First image: {paths[0].name}, "
    f"size target OpenCV JPEG at quality {_QUALITY.value}.",
    "",
    "| whole process | median s | min | max |",
    "|---|---|---|---|",
  ]
  for name, times in runs.items():
    lines.append(f"| {name} | {med[name]:.2f} | {min(times):.2f} | {max(times):.2f} |")
  lines += [
    "",
    f"- semantic-jpeg / mozjpeg, one image: **{one / moz:.2f}x**",
    f"- {len(paths)} images in one command, after start-up: "
    f"**{(len(paths) - 1) / (many - one):.2f} images/s** ({arguments.default_jobs()} jobs; "
    f"{(len(paths) - 1) / (many_one_job - one):.2f} images/s with --jobs 1)",
    "",
    "## Where one process's time goes (ms, median over runs)",
    "",
    f"| stage | {' | '.join(_KINDS.values())} |",
    "|---|---|---|---|",
  ]
  names = list(dict.fromkeys(name for kind in _KINDS for name in stages[kind][0]))
  for name in names:
    cells = [
      f"{statistics.median(run[name] for run in stages[kind]):.0f}" if name in stages[kind][0]
      else "" for kind in _KINDS
    ]  # fmt: skip
    lines.append(f"| {name} | {' | '.join(cells)} |")
  return lines


def main(argv):
  del argv
  paths = files.list_images([_IMAGES.value])
  runs, stages, before, after = _measure(paths)
  load = (tuple(round(x, 2) for x in before), tuple(round(x, 2) for x in after))
  report.publish(_lines(paths, runs, stages, load), _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
