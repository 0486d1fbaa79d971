"""Benchmark: median saliency time (model + face prior) per image after warm-up.

  python benchmarks/saliency_speed.py --images ../shared/datasets/kodak \
      --output results/saliency_speed.md

Falls back to the testdata images when --images is not given.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import functools
import pathlib
import statistics
import sys

from absl import app
from absl import flags

from semantic_jpeg import files
from semantic_jpeg import image_io
from semantic_jpeg import saliency

import report  # benchmarks/report.py

_REPO = pathlib.Path(__file__).resolve().parent.parent
_IMAGES = flags.DEFINE_string("images", str(_REPO / "testdata"), "Folder of images.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed runs per image (after one warm-up).")
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")


def main(argv):
  del argv
  model = saliency.load_model()
  no_faces = saliency.MSROIModel(model.classifier, None)
  paths = files.list_images([_IMAGES.value])
  full, cam = [], []
  for path in paths:
    rgb = image_io.read_image(path).rgb
    for model_used, times in ((model, full), (no_faces, cam)):
      times.append(
        report.median_ms(functools.partial(saliency.compute_map, model_used, rgb), _REPEATS.value)
      )
  lines = [
    "# Saliency speed",
    "",
    f"Command: `python {' '.join(sys.argv)}`",
    "",
    f"{len(paths)} images from `{_IMAGES.value}`, {_REPEATS.value} timed runs each after a "
    f"warm-up; {report.machine()}.",
    "",
    "| map | median ms per image | min | max |",
    "|---|---|---|---|",
    f"| CAM top-5 + face prior (default) | {statistics.median(full):.1f} | "
    f"{min(full):.1f} | {max(full):.1f} |",
    f"| CAM top-5 only | {statistics.median(cam):.1f} | {min(cam):.1f} | {max(cam):.1f} |",
  ]
  report.publish(lines, _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
