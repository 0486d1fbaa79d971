"""Benchmark: SavedModel export time and size, and in-process latency of its signatures.

  python benchmarks/serving_speed.py --images ../shared/datasets/kodak \
      --output results/serving_speed.md

Exports with export/export_saved_model.py (a fresh process, timed whole), loads the version
directory with tf.saved_model.load and times `serving_default` on a batch of 8 encoded images
and `saliency_image` on a batch of 8 same-size images: median of --repeats after a warm-up.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import pathlib
import subprocess
import sys
import tempfile
import time

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from semantic_jpeg import files
from semantic_jpeg import image_io

import report  # benchmarks/report.py

_REPO = pathlib.Path(__file__).resolve().parent.parent
_IMAGES = flags.DEFINE_string("images", str(_REPO / "testdata"), "Folder of images.")
_BATCH = flags.DEFINE_integer("batch", 8, "Images per request.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls after one warm-up.")
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")


def main(argv):
  del argv
  paths = files.list_images([_IMAGES.value])
  batch = [paths[i % len(paths)] for i in range(_BATCH.value)]
  with tempfile.TemporaryDirectory() as base:
    start = time.perf_counter()
    subprocess.run(
      [sys.executable, str(_REPO / "export" / "export_saved_model.py"), "--export_base_dir", base],
      check=True,
      capture_output=True,
    )
    export_s = time.perf_counter() - start
    version = pathlib.Path(base) / "semantic_jpeg" / "1"
    size_mb = sum(f.stat().st_size for f in version.rglob("*") if f.is_file()) / 1e6
    start = time.perf_counter()
    loaded = tf.saved_model.load(str(version))
    load_s = time.perf_counter() - start
    encoded = tf.constant([p.read_bytes() for p in batch])
    by_bytes = report.median_ms(
      lambda: loaded.signatures["serving_default"](image_bytes=encoded), _REPEATS.value
    )
    rgb = [image_io.read_image(p).rgb for p in batch]
    same = np.stack([image for image in rgb if image.shape == rgb[0].shape])
    by_image = report.median_ms(
      lambda: loaded.signatures["saliency_image"](images=same), _REPEATS.value
    )
    one_by_one = report.median_ms(
      lambda: [loaded.signatures["saliency_image"](images=image[None]) for image in same],
      _REPEATS.value,
    )
    load_average = os.getloadavg()
  lines = [
    "# Serving: export and in-process latency",
    "",
    f"Command: `python {' '.join(sys.argv)}`",
    "",
    f"{report.machine()}; median of {_REPEATS.value} calls after a warm-up; load average "
    f"(1, 5, 15 min) {tuple(round(x, 2) for x in load_average)}.",
    "",
    "| what | figure |",
    "|---|---|",
    f"| export (`export/export_saved_model.py`, whole process) | {export_s:.1f} s |",
    f"| SavedModel size | {size_mb:.1f} MB |",
    f"| `tf.saved_model.load` | {load_s:.1f} s |",
    f"| `serving_default`, {len(batch)} encoded files ({', '.join(p.name for p in batch)}) | "
    f"{by_bytes:.0f} ms ({by_bytes / len(batch):.0f} ms per image, decoding included) |",
    f"| `saliency_image`, {len(same)} images of {same.shape[2]}x{same.shape[1]} in one "
    f"tensor | {by_image:.0f} ms ({by_image / len(same):.0f} ms per image) |",
    f"| `saliency_image`, the same images one per call | {one_by_one:.0f} ms "
    f"({one_by_one / len(same):.0f} ms per image) |",
    "",
  ]
  report.publish(lines, _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
