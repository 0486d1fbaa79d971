"""Benchmark: median map time per image after warm-up, the map models side by side in one run.

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
  models = {
    "fixation readout + face prior (default)": model,
    "CAM top-5 + face prior (the default before the readout)": saliency.MSROIModel(
      model.classifier, model.face_detector
    ),
    "fixation readout only": saliency.MSROIModel(model.classifier, None, readout=model.readout),
  }
  paths = files.list_images([_IMAGES.value])
  times = {name: [] for name in models}
  for path in paths:
    rgb = image_io.read_image(path).rgb
    for name, model_used in models.items():
      call = functools.partial(saliency.compute_map, model_used, rgb)
      times[name].append(report.median_ms(call, _REPEATS.value))
  default, cam = (times[name] for name in list(models)[:2])
  ratios = [a / b for a, b in zip(default, cam, strict=True)]
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
    *(
      f"| {name} | {statistics.median(t):.1f} | {min(t):.1f} | {max(t):.1f} |"
      for name, t in times.items()
    ),
    "",
    f"Default over the CAM map, per image: median ratio {statistics.median(ratios):.2f} "
    f"({min(ratios):.2f} to {max(ratios):.2f}); load average {os.getloadavg()[0]:.1f}.",
  ]
  report.publish(lines, _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
