"""Benchmark: what the saliency strength buys where people look and costs elsewhere, vs mozjpeg.

  python benchmarks/trellis_frontier.py --images ../shared/datasets/kodak \
      --output results/trellis_frontier.md

For each image the target is the size of OpenCV's (libjpeg-turbo's) JPEG at --match_jpeg_quality;
mozjpeg is rate-matched to it as in tools/evaluate.py, and semantic_jpeg's trellis encoder runs at
each --strengths value (baseline output; the default strength 1 also progressive). The table gives
the means over images of the differences to mozjpeg: PSNR-HVS-M over the map's top 10 %, 25 % and
50 % of blocks, whole-image SSIMULACRA 2, and on how many images SSIMULACRA 2 stays within 1.0 of
mozjpeg's. Falls back to the testdata images when --images is not given.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import multiprocessing
import pathlib
import statistics

from absl import app
from absl import flags
import numpy as np

from semantic_jpeg import files
from semantic_jpeg import image_io
from semantic_jpeg import saliency
from semantic_jpeg.codec import encoder
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines
from semantic_jpeg.evaluation import equal_size as evaluation
from semantic_jpeg.evaluation import metrics

import report  # benchmarks/report.py

_REPO = pathlib.Path(__file__).resolve().parent.parent
_IMAGES = flags.DEFINE_string("images", str(_REPO / "testdata"), "Folder of images.")
_QUALITY = flags.DEFINE_integer("match_jpeg_quality", 50, "Size target: OpenCV at this quality.")
_STRENGTHS = flags.DEFINE_list(
  "strengths", ["0", "0.5", "0.75", "1", "1.25", "1.5"], "Saliency strengths to run."
)
_WORKERS = flags.DEFINE_integer("workers", os.cpu_count() or 1, "Worker processes.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Markdown file for the results.")

_CUTS = (0.1, 0.25, 0.5)
Setting = tuple[float, bool]  # (strength, progressive)


def _scores(rgb: np.ndarray, block_map: np.ndarray, data: bytes) -> np.ndarray:
  """[SSIMULACRA 2, PSNR-HVS-M over each cut of salient blocks]."""
  decoded = turbo.decode(data)
  return np.array(
    [metrics.ssimulacra2(rgb, decoded)]
    + [
      metrics.salient_psnr_hvsm(rgb, decoded, evaluation.salient_blocks(block_map, cut))
      for cut in _CUTS
    ]
  )


def _image_differences(job: tuple[np.ndarray, np.ndarray, list[Setting]]) -> np.ndarray:
  """Per setting, our scores minus mozjpeg's: [settings, 1 + cuts]."""
  rgb, block_map, settings = job
  target = turbo.jpeg_size(rgb, _QUALITY.value)
  theirs = _scores(
    rgb, block_map, baselines.rate_matched("mozjpeg", rgb, target, guess=_QUALITY.value).data
  )
  rows = []
  for strength, progressive in settings:
    data, _ = encoder.compress(
      rgb,
      block_map,
      encoder.EncoderOptions(target_size=target, strength=strength, progressive=progressive),
    )
    rows.append(_scores(rgb, block_map, data) - theirs)
  return np.array(rows)


def _init_worker(argv: list[str]) -> None:
  flags.FLAGS(argv)


def main(argv: list[str]) -> None:
  settings = [(float(s), False) for s in _STRENGTHS.value] + [(1.0, True)]
  model = saliency.load_model()
  jobs = []
  for path in files.list_images([_IMAGES.value]):
    rgb = image_io.read_image(path).rgb
    jobs.append((rgb, saliency.compute_map(model, rgb).block_map, settings))
  context = multiprocessing.get_context("spawn")
  with context.Pool(_WORKERS.value, initializer=_init_worker, initargs=(argv,)) as pool:
    differences = np.stack(pool.map(_image_differences, jobs))  # [images, settings, scores]
  lines = [
    "# Saliency strength: semantic_jpeg's trellis against mozjpeg at equal size",
    "",
    f"Command: `python benchmarks/trellis_frontier.py --images {_IMAGES.value}"
    f"{' --output ' + _OUTPUT.value if _OUTPUT.value else ''}`",
    "",
    f"{len(jobs)} images; target: OpenCV's JPEG at quality {_QUALITY.value}; means over images "
    "of semantic_jpeg minus mozjpeg (rate-matched to the same target). Strength 1 is the "
    "default; 0 ignores the map (the uniform control).",
    "",
    "| strength | output | salient PSNR-HVS-M, top 10 % | top 25 % | top 50 % | SSIMULACRA 2 "
    "| images within 1.0 SSIMULACRA 2 |",
    "|---|---|---|---|---|---|---|",
  ]
  for index, (strength, progressive) in enumerate(settings):
    mean = differences[:, index].mean(axis=0)
    close = int((differences[:, index, 0] >= -1.0).sum())
    lines.append(
      f"| {strength:g} | {'progressive' if progressive else 'baseline'} | "
      f"{mean[1]:+.2f} dB | {mean[2]:+.2f} dB | {mean[3]:+.2f} dB | {mean[0]:+.2f} | "
      f"{close} of {len(jobs)} |"
    )
  lines += [
    "",
    "Median SSIMULACRA 2 difference at the default strength: "
    f"{statistics.median(differences[:, settings.index((1.0, False)), 0]):+.2f}.",
  ]
  report.publish(lines, _OUTPUT.value)


if __name__ == "__main__":
  app.run(main)
