"""Benchmark: images per second of the Beam pipeline (DirectRunner, 1 and 2 workers) and the CLI.

  python benchmarks/beam_speed.py --images ../shared/datasets/kodak --output results/beam_speed.md

All three run in this one process's session, side by side, on the same folder and flags
(--match_jpeg_quality 50), each as a user runs it (a fresh process, start-up included), repeated
--repeats times; the table gives medians.
"""

import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

from semantic_jpeg import image_io

_REPO = pathlib.Path(__file__).resolve().parent.parent
_IMAGES = flags.DEFINE_string("images", str(_REPO / "testdata"), "Folder of images.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Runs of each command.")
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")
_RATE = ["--match_jpeg_quality", "50"]


def _commands(output_dir: str) -> dict[str, list[str]]:
  beam = [sys.executable, str(_REPO / "tools" / "beam_compress.py"), "--input_pattern",
          f"{_IMAGES.value}/*", "--output_dir", output_dir, *_RATE, "--runner=DirectRunner",
          "--direct_running_mode=multi_processing"]
  return {
      "`semantic-jpeg compress FOLDER` (one process)":
          [sys.executable, "-m", "semantic_jpeg.cli", "compress", _IMAGES.value, "--output_dir",
           output_dir, *_RATE],
      "Beam DirectRunner, 1 worker": beam + ["--direct_num_workers=1"],
      "Beam DirectRunner, 2 workers": beam + ["--direct_num_workers=2"],
  }


def _seconds(command: list[str]) -> float:
  start = time.perf_counter()
  subprocess.run(command, check=True, capture_output=True)
  return time.perf_counter() - start


def main(argv):
  del argv
  count = len(image_io.list_images([_IMAGES.value]))
  times = {}
  for _ in range(_REPEATS.value):
    for name, command in _commands("{out}").items():
      with tempfile.TemporaryDirectory() as out:  # Fresh outputs: nothing is skipped.
        times.setdefault(name, []).append(_seconds([c.format(out=out) for c in command]))
  lines = ["# Beam pipeline against the CLI", "", f"Command: `python {' '.join(sys.argv)}`", "",
           f"{count} images from `{_IMAGES.value}`, size target OpenCV Q50, "
           f"{platform.processor() or platform.machine()} with 2 cores; each command a fresh "
           f"process (start-up included), median of {_REPEATS.value} runs, interleaved.", "",
           "| command | seconds | images/s |", "|---|---|---|"]
  for name, values in times.items():
    median = statistics.median(values)
    lines.append(f"| {name} | {median:.1f} | {count / median:.2f} |")
  report = "\n".join(lines) + "\n"
  print(report)
  if _OUTPUT.value:
    image_io.write_atomic(_OUTPUT.value, report.encode())


if __name__ == "__main__":
  app.run(main)
