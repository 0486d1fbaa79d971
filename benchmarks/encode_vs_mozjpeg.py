"""Benchmark: rate-matched encode time, semantic_jpeg against mozjpeg, side by side.

  python benchmarks/encode_vs_mozjpeg.py --images ../shared/datasets/kodak \
      --output results/encode_vs_mozjpeg.md

For each image the target is the size of OpenCV's (libjpeg-turbo's) JPEG at --match_jpeg_quality.
Timed, each in the same process and interleaved image by image: semantic_jpeg's encoder (the
default, progressive, and baseline) with exact rate control, given the saliency map; mozjpeg
(4.0.3 through jpeglib) rate-matched the way tools/evaluate.py does it; the MS-ROI map itself.
Every time is the median of --repeats runs after one warm-up; the table gives the median over
images and the per-image ratio.
Falls back to the testdata images when --images is not given.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import pathlib
import statistics

from absl import app
from absl import flags

from semantic_jpeg import files
from semantic_jpeg import image_io
from semantic_jpeg import saliency
from semantic_jpeg.codec import encoder
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines

import report  # benchmarks/report.py

_REPO = pathlib.Path(__file__).resolve().parent.parent
_IMAGES = flags.DEFINE_string("images", str(_REPO / "testdata"), "Folder of images.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed runs per image (after one warm-up).")
_QUALITY = flags.DEFINE_integer("match_jpeg_quality", 50, "Size target: OpenCV at this quality.")
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")

_COLUMNS = ("semantic_jpeg", "semantic_jpeg, baseline", "mozjpeg", "MS-ROI map")


def _time_image(model: saliency.MSROIModel, path: pathlib.Path) -> dict[str, float]:
  rgb = image_io.read_image(path).rgb
  block_map = saliency.compute_map(model, rgb).block_map
  target = turbo.jpeg_size(rgb, _QUALITY.value)
  ours = lambda **options: encoder.compress(  # noqa: E731
    rgb, block_map, encoder.EncoderOptions(target_size=target, **options)
  )
  return {
    "semantic_jpeg": report.median_ms(ours, _REPEATS.value),
    "semantic_jpeg, baseline": report.median_ms(lambda: ours(progressive=False), _REPEATS.value),
    "mozjpeg": report.median_ms(
      lambda: baselines.rate_matched("mozjpeg", rgb, target, guess=_QUALITY.value), _REPEATS.value
    ),
    "MS-ROI map": report.median_ms(lambda: saliency.compute_map(model, rgb), _REPEATS.value),
  }


def main(argv: list[str]) -> None:
  del argv
  paths = files.list_images([_IMAGES.value])
  model = saliency.load_model()
  rows = {path.name: _time_image(model, path) for path in paths}
  medians = {column: statistics.median(r[column] for r in rows.values()) for column in _COLUMNS}
  ratios = [r["semantic_jpeg"] / r["mozjpeg"] for r in rows.values()]
  faster = sum(ratio < 1 for ratio in ratios)
  lines = [
    "# Rate-matched encode time: semantic_jpeg against mozjpeg",
    "",
    f"Command: `python benchmarks/encode_vs_mozjpeg.py --images {_IMAGES.value} "
    f"--match_jpeg_quality {_QUALITY.value}"
    f"{' --output ' + _OUTPUT.value if _OUTPUT.value else ''}`",
    "",
    f"Machine: {report.machine()}. {len(paths)} images; target: OpenCV's JPEG at quality "
    f"{_QUALITY.value}; each time the median of {_REPEATS.value} runs after a warm-up, measured "
    "in one process, image by image.",
    "",
    "| | " + " | ".join(_COLUMNS) + " |",
    "|---|" + "---|" * len(_COLUMNS),
    "| median ms per image | " + " | ".join(f"{medians[c]:.0f}" for c in _COLUMNS) + " |",
    "",
    f"semantic_jpeg (the default, progressive, given the map) over mozjpeg: median ratio "
    f"{statistics.median(ratios):.2f}; faster on {faster} of {len(ratios)} images. "
    "Both include exact rate control; the map is a separate stage (last column).",
    "",
    "| image | " + " | ".join(_COLUMNS) + " |",
    "|---|" + "---|" * len(_COLUMNS),
  ]
  lines += [
    f"| {name} | " + " | ".join(f"{r[c]:.0f}" for c in _COLUMNS) + " |" for name, r in rows.items()
  ]
  report.publish(lines, _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
