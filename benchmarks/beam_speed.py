"""Benchmark: images per second of the Beam pipeline (DirectRunner, 1 and 2 workers) and the CLI.

  python benchmarks/beam_speed.py --images ../shared/datasets/kodak --output results/beam_speed.md

The CLI and the pipeline at 1 and 2 workers run side by side, interleaved, on the same folder
and flags (--match_jpeg_quality 50), each as a user runs it (a fresh process, start-up
included), on the whole folder and on its first image alone; medians of --repeats runs.
"""

import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

from semantic_jpeg import files

import report  # benchmarks/report.py

_REPO = pathlib.Path(__file__).resolve().parent.parent
_IMAGES = flags.DEFINE_string("images", str(_REPO / "testdata"), "Folder of images.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Runs of each command.")
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")
_RATE = ["--match_jpeg_quality", "50"]


def _commands(inputs: str, output_dir: str) -> dict[str, list[str]]:
  beam = [
    sys.executable,
    str(_REPO / "tools" / "beam_compress.py"),
    "--input_pattern",
    inputs if "*" in inputs else f"{inputs}/*",
    "--output_dir",
    output_dir,
    *_RATE,
    "--runner=DirectRunner",
    "--direct_running_mode=multi_processing",
  ]
  return {
    "`semantic-jpeg compress` (one process)": [
      sys.executable,
      "-m",
      "semantic_jpeg.cli",
      "compress",
      inputs,
      "--output_dir",
      output_dir,
      *_RATE,
    ],
    "Beam DirectRunner, 1 worker": beam + ["--direct_num_workers=1"],
    "Beam DirectRunner, 2 workers": beam + ["--direct_num_workers=2"],
  }


def _seconds(command: list[str]) -> float:
  start = time.perf_counter()
  subprocess.run(command, check=True, capture_output=True)
  return time.perf_counter() - start


def main(argv):
  del argv
  paths = files.list_images([_IMAGES.value])
  inputs = {"all": _IMAGES.value, "one": str(paths[0])}
  times = {}
  for _ in range(_REPEATS.value):
    for which, source in inputs.items():
      for name, command in _commands(source, "{out}").items():
        with tempfile.TemporaryDirectory() as out:  # Fresh outputs: nothing is skipped.
          seconds = _seconds([c.format(out=out) for c in command])
        times.setdefault((name, which), []).append(seconds)
  count = len(paths)
  lines = [
    "# Beam pipeline against the CLI",
    "",
    f"Command: `python {' '.join(sys.argv)}`",
    "",
    f"{count} images from `{_IMAGES.value}`, size target OpenCV Q50; "
    f"{report.machine()}; each command a fresh process (start-up included), median of "
    f"{_REPEATS.value} interleaved runs. The run on one image ({paths[0].name}) measures "
    "the fixed cost (Python, TensorFlow and model start-up; for Beam also the pipeline "
    "and its worker processes); the difference spread over the other images is the "
    "cost per image once running.",
    "",
    f"| command | {count} images (s) | images/s | 1 image (s) | per extra image (ms) | "
    "images/s once running |",
    "|---|---|---|---|---|---|",
  ]
  for name in _commands("", ""):
    full = statistics.median(times[name, "all"])
    one = statistics.median(times[name, "one"])
    marginal = (full - one) / (count - 1)
    lines.append(
      f"| {name} | {full:.1f} | {count / full:.2f} | {one:.1f} | "
      f"{1e3 * marginal:.0f} | {1 / marginal:.2f} |"
    )
  report.publish(lines, _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
