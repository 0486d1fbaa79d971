"""Benchmark: end-to-end compression time per image, where it goes, and folder throughput.

  python benchmarks/compress_speed.py --images ../shared/datasets/kodak \
      --output results/compress_speed.md

Per image: decode, MS-ROI map, then encode at the size of OpenCV's JPEG at --match_jpeg_quality
(plan, DCT, size search of quantize + write steps). Folder: the `semantic-jpeg compress` command
on the whole folder, timed as a user runs it, minus its start-up (a run on one image).
Falls back to the testdata images when --images is not given.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import collections
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags

from semantic_jpeg import files
from semantic_jpeg import image_io
from semantic_jpeg import saliency
from semantic_jpeg.codec import encoder

import report  # benchmarks/report.py

_REPO = pathlib.Path(__file__).resolve().parent.parent
_IMAGES = flags.DEFINE_string("images", str(_REPO / "testdata"), "Folder of images.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed runs per image (after one warm-up).")
_QUALITY = flags.DEFINE_integer("match_jpeg_quality", 50, "Size target: OpenCV at this quality.")
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")


def _time_one(model: saliency.MSROIModel, path: pathlib.Path) -> dict[str, float]:
  """Milliseconds per stage for one image, one run."""
  start = time.perf_counter()
  image = image_io.read_image(path)
  decoded = time.perf_counter()
  block_map = saliency.compute_map(model, image.rgb).block_map
  mapped = time.perf_counter()
  _, encoded = encoder.compress(
    image.rgb, block_map, encoder.EncoderOptions(match_jpeg_quality=_QUALITY.value)
  )
  done = time.perf_counter()
  stages = {
    "decode": decoded - start,
    "saliency": mapped - decoded,
    "encode": done - mapped,
    "total": done - start,
  }
  times = {k: 1e3 * v for k, v in stages.items()}
  times.update({f"encode: {k}": v for k, v in encoded.timings_ms.items() if k != "total"})
  times["encode steps"] = encoded.steps
  return times


def _per_image(paths: list[pathlib.Path]) -> dict[str, list[float]]:
  """Per stage, the median over repeats of each image."""
  model = saliency.load_model()
  medians = collections.defaultdict(list)
  for path in paths:
    _time_one(model, path)  # Warm-up (traces the tf.function for this size).
    runs = [_time_one(model, path) for _ in range(_REPEATS.value)]
    for stage in runs[0]:
      medians[stage].append(statistics.median(run[stage] for run in runs))
  return medians


def _cli_seconds(inputs: list[str]) -> float:
  with tempfile.TemporaryDirectory() as out:
    start = time.perf_counter()
    subprocess.run(
      [
        sys.executable,
        "-m",
        "semantic_jpeg.cli",
        "compress",
        *inputs,
        "--output_dir",
        out,
        "--match_jpeg_quality",
        str(_QUALITY.value),
      ],
      check=True,
      capture_output=True,
    )
    return time.perf_counter() - start


def _folder_rate(paths: list[pathlib.Path]) -> tuple[float, float, float]:
  """(images per second without start-up, folder seconds, start-up seconds), medians."""
  folder = [_cli_seconds([_IMAGES.value]) for _ in range(_REPEATS.value)]
  single = [_cli_seconds([str(paths[0])]) for _ in range(_REPEATS.value)]
  folder_s, single_s = statistics.median(folder), statistics.median(single)
  return (len(paths) - 1) / (folder_s - single_s), folder_s, single_s


def _lines(paths, medians, rate) -> list[str]:
  images_per_s, folder_s, single_s = rate
  lines = [
    "# Compression speed",
    "",
    f"Command: `python {' '.join(sys.argv)}`",
    "",
    f"{len(paths)} images from `{_IMAGES.value}`; size target: OpenCV JPEG at quality "
    f"{_QUALITY.value}; {_REPEATS.value} timed runs per image after a warm-up; {report.machine()}.",
    "",
    "## Per image (median over images of the per-image medians)",
    "",
    "| stage | median ms | min | max |",
    "|---|---|---|---|",
  ]
  for stage, values in medians.items():
    lines.append(
      f"| {stage} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |"
    )
  lines += [
    "",
    "## Folder (`semantic-jpeg compress FOLDER --output_dir DIR`)",
    "",
    f"- whole command on {len(paths)} images: {folder_s:.1f} s (median of {_REPEATS.value})",
    f"- start-up (Python, TensorFlow, model) measured as the command on one image: "
    f"{single_s:.1f} s",
    f"- throughput after start-up: **{images_per_s:.2f} images/s**",
  ]
  return lines


def main(argv):
  del argv
  paths = files.list_images([_IMAGES.value])
  report.publish(_lines(paths, _per_image(paths), _folder_rate(paths)), _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
