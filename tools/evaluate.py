"""Evaluates semantic_jpeg at equal file size against plain and state-of-the-art JPEG encoders.

  python tools/evaluate.py --images ../shared/datasets/kodak --set_name kodak \
      --corpus_split validation --qualities 50,75,90 --output_dir results/kodak

Inputs: a folder of images (--images), a TFDS dataset (--tfds NAME --split SPLIT; it must be
downloaded already or downloadable), or a local folder in TFDS's ImageFolder layout
(--image_folder ROOT, with ROOT/SPLIT/LABEL/*.jpg). For each target quality Q every encoder is
rate-matched to the size of libjpeg-turbo's file at Q (see semantic_jpeg/evaluation/equal_size.py).
--corpus_split picks the tuning or validation half of a tuned set (`evaluation.corpus`, by
--set_name, which defaults to the folder's name); --fixations adds, where people look (the
fixation density's top quarter of blocks; scene_fixations' fixations.csv), SSIMULACRA 2 of the
photo with only those blocks' errors, PSNR-HVS-M there and the gaze-weighted Butteraugli. By
default the photos' pixels are the input (the pixel path, PNG inputs); --source_quality Q makes
each a libjpeg-turbo JPEG at Q first, which our encoders requantize in its coefficients (the path
JPEG inputs take) and the peers decode and re-encode.

Writes to --output_dir: evaluation.csv (one row per image x encoder x quality), summary.md (means
in the paper's layout plus the extra metrics, size matching, wins per image),
rate_distortion.png (bits per pixel against each metric) and crop_NAME.png (the most salient
region: original, libjpeg-turbo, mozjpeg, semantic_jpeg, and the map).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
from collections.abc import Iterable
import csv
import functools
import pathlib
import statistics
import sys

from absl import app
from absl import flags
import matplotlib
import numpy as np
import tqdm

matplotlib.use("Agg")
from matplotlib import pyplot as plt

from semantic_jpeg import blocks
from semantic_jpeg import files
from semantic_jpeg.codec import encoder
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines
from semantic_jpeg.evaluation import corpus
from semantic_jpeg.evaluation import equal_size as evaluation
from semantic_jpeg.evaluation import metrics
from semantic_jpeg.evaluation import visualize

_IMAGES = flags.DEFINE_string("images", None, "Folder of images.")
_TFDS = flags.DEFINE_string("tfds", None, "TFDS dataset name, e.g. 'imagenette'.")
_IMAGE_FOLDER = flags.DEFINE_string(
  "image_folder", None, "Local data in TFDS ImageFolder layout: ROOT/SPLIT/LABEL/*."
)
_SPLIT = flags.DEFINE_string("split", "test", "TFDS split (with --tfds or --image_folder).")
_TFDS_DATA_DIR = flags.DEFINE_string("tfds_data_dir", None, "TFDS data_dir.")
_LIMIT = flags.DEFINE_integer("limit", None, "Evaluate at most this many images.", lower_bound=1)
_QUALITIES = flags.DEFINE_list(
  "qualities", ["50", "75", "90"], "libjpeg-turbo qualities whose file sizes are the targets."
)
_SET_NAME = flags.DEFINE_string(
  "set_name", None, "Set name for --corpus_split (default: the folder's name)."
)
_CORPUS_SPLIT = flags.DEFINE_enum(
  "corpus_split", "all", ("all",) + corpus.SPLITS, "--images of this split only (see corpus.py)."
)
_MAX_SIDE = flags.DEFINE_integer(
  "max_side", evaluation.MAX_SIDE, "Area-downscale larger photos first.", lower_bound=8
)
_FIXATIONS = flags.DEFINE_string(
  "fixations", None, "Fixations CSV (image, viewer, y, x, ...) for the fixation-density region."
)
_ENCODERS = flags.DEFINE_list("encoders", list(evaluation.ENCODERS), "Encoders to compare.")
_WORKERS = flags.DEFINE_integer("workers", os.cpu_count() or 1, "Worker processes.", lower_bound=1)
_SLOW_METRICS = flags.DEFINE_bool("slow_metrics", True, "Also compute VIFP and MS-SSIM.")
_WEIGHTS = flags.DEFINE_string("weights", None, "Map model weights from tools/train.py.")
_CROPS = flags.DEFINE_integer(
  "crops", 3, "Side-by-side crop figures to draw (the first images).", lower_bound=0
)
_CROP_IMAGES = flags.DEFINE_list("crop_images", [], "Images to draw crops of, instead of --crops.")
_SOURCE_QUALITY = flags.DEFINE_integer(
  "source_quality",
  None,
  "The coefficient path: each photo enters as libjpeg-turbo's JPEG of it at this quality (what it "
  "decodes to is the reference; ours requantize it, the peers re-encode it). Default: the pixels.",
  lower_bound=1,
  upper_bound=100,
)
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for the results.", required=True)

# Metrics of the summary and the figure, in the paper's order, then ours.
_REPORTED = metrics.PAPER_METRICS + (
  "ssimulacra2",
  "salient_psnr",
  "salient_psnr_hvsm",
  "salient_psnr_hvsm_top10",
  "salient_psnr_hvsm_top50",
  "salient_ssimulacra2",
  "fixation_psnr_hvsm",
  "fixation_ssimulacra2",
  "map_weighted_psnr",
  "butteraugli_pnorm3",
  "map_butteraugli",
  "gaze_butteraugli",
  "top1_same",
  "top5_overlap",
)
_CROP_ENCODERS = ("turbo", "mozjpeg", "semantic")
_DIFFERENCES = ("turbo", "mozjpeg")  # Columns: semantic_jpeg's mean minus theirs.
_LOWER_IS_BETTER = ("butteraugli_pnorm3", "map_butteraugli", "gaze_butteraugli")
_LABELS = {
  "turbo": "libjpeg-turbo",
  "uniform": "ours, uniform (control)",
  "composite": "paper (composite)",
  "dct": "ours, dct mode (fast)",
  "semantic": "semantic_jpeg",
  "baseline": "semantic_jpeg, baseline",
  "mozjpeg": "mozjpeg",
  "jpegli": "jpegli",
}


def _settings() -> evaluation.Settings:
  try:
    qualities = tuple(int(q) for q in _QUALITIES.value)
  except ValueError:
    raise app.UsageError(f"--qualities must be integers, got {_QUALITIES.value}") from None
  if not all(1 <= q <= 100 for q in qualities):
    raise app.UsageError("--qualities must lie in 1..100")
  unknown = set(_ENCODERS.value) - set(evaluation.ENCODERS)
  if unknown or "turbo" not in _ENCODERS.value:
    raise app.UsageError(f"--encoders must include turbo and come from {evaluation.ENCODERS}")
  return evaluation.Settings(
    qualities,
    tuple(_ENCODERS.value),
    _SLOW_METRICS.value,
    _WEIGHTS.value,
    _MAX_SIDE.value,
    _FIXATIONS.value,
    _SOURCE_QUALITY.value,
  )


def _dataset() -> tuple[str, list[evaluation.Image]]:
  """(dataset name, images) from the input flags."""
  chosen = [f for f in (_IMAGES, _TFDS, _IMAGE_FOLDER) if f.value]
  if len(chosen) != 1:
    raise app.UsageError("set exactly one of --images, --tfds, --image_folder")
  if _IMAGES.value:
    name = _SET_NAME.value or pathlib.Path(_IMAGES.value).resolve().name
    paths = corpus.select(
      name, [str(p) for p in files.list_images([_IMAGES.value])], _CORPUS_SPLIT.value
    )
    paths = paths[: _LIMIT.value]
    if not paths:
      raise app.UsageError(f"no images of split {_CORPUS_SPLIT.value} in {_IMAGES.value}")
    label = name if _CORPUS_SPLIT.value == "all" else f"{name} ({_CORPUS_SPLIT.value} split)"
    return label, [(pathlib.Path(p).stem, p) for p in paths]
  import tensorflow_datasets as tfds

  from semantic_jpeg.evaluation import datasets  # Imports TFDS: only for these inputs.

  try:
    dataset = datasets.split(
      datasets.builder(
        tfds_name=_TFDS.value, image_folder=_IMAGE_FOLDER.value, data_dir=_TFDS_DATA_DIR.value
      ),
      _SPLIT.value,
    )
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  name = _TFDS.value or pathlib.Path(_IMAGE_FOLDER.value).resolve().name
  return name, list(_tfds_images(tfds.as_numpy(dataset.take(_LIMIT.value or -1))))


def _tfds_images(examples: Iterable[dict]) -> Iterable[evaluation.Image]:
  for index, example in enumerate(examples):
    image = example["image"]
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
    filename = example.get("image/filename", b"")
    stem = pathlib.Path(filename.decode()).stem if filename else f"{index:05d}"
    yield f"{index:05d}_{stem}" if filename else stem, np.ascontiguousarray(rgb, np.uint8)


def _write_csv(path: pathlib.Path, rows: list[dict]) -> None:
  with files.atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)


def _mean(rows: list[dict], encoder_name: str, quality: int, key: str) -> float:
  values = [r[key] for r in rows if r["encoder"] == encoder_name and r["quality"] == quality]
  finite = [v for v in values if np.isfinite(v)]
  return statistics.fmean(finite) if finite else float("nan")


def _summary(dataset: str, rows: list[dict], settings: evaluation.Settings) -> str:
  """The Markdown summary: mean metrics per encoder and quality, size matching, wins."""
  names = settings.encoders
  images = sorted({r["image"] for r in rows})
  lines = [
    f"# {dataset}: semantic_jpeg against JPEG encoders at equal file size",
    "",
    f"Command: `python {' '.join(sys.argv)}`",
    "",
    f"{len(images)} images, {_path_words(settings)}. Targets: the size of libjpeg-turbo's file "
    "at each quality; every "
    "encoder gives its largest file not above the target. Salient metrics are over the "
    f"map's top {evaluation.SALIENT_SHARE:.0%} of 8x8 blocks (the map of the model on the "
    "original). Means over images; higher is better for every metric but Butteraugli's "
    "3-norm (butteraugli_pnorm3), where lower is better.",
    "",
    *_against_mozjpeg(rows, settings),
    *_where_people_look(rows, settings),
  ]
  for quality in settings.qualities:
    lines += [
      f"## Target: libjpeg-turbo quality {quality}",
      "",
      "| metric | "
      + " | ".join(_LABELS[n] for n in names)
      + " | "
      + " | ".join(f"semantic − {n}" for n in _DIFFERENCES)
      + " |",
      "|---|" + "---|" * (len(names) + len(_DIFFERENCES)),
    ]
    for key in ("bpp", "size_ratio") + tuple(k for k in _REPORTED if k in rows[0]):
      means = [_mean(rows, n, quality, key) for n in names]
      deltas = [
        _mean(rows, "semantic", quality, key) - _mean(rows, n, quality, key)
        if {"semantic", n} <= set(names)
        else float("nan")
        for n in _DIFFERENCES
      ]
      lines.append(
        f"| {key} | "
        + " | ".join(f"{m:.4f}" for m in means)
        + " | "
        + " | ".join(f"{d:+.4f}" for d in deltas)
        + " |"
      )
    lines += ["", _size_matching(rows, names, quality), ""]
    if "semantic" in names:
      lines += _wins(rows, names, quality, len(images))
  return "\n".join(lines) + "\n"


def _path_words(settings: evaluation.Settings) -> str:
  if settings.source_quality is None:
    return "the pixel path (each photo's pixels are the input, as a PNG's)"
  return (
    f"the coefficient path (each photo enters as libjpeg-turbo's JPEG at quality "
    f"{settings.source_quality}, which is the reference; ours requantize its coefficients, the "
    "others decode and re-encode it)"
  )


def _against_mozjpeg(rows: list[dict], settings: evaluation.Settings) -> list[str]:
  """The issue-14 summary: control and default against mozjpeg at each rate, means over images."""
  if not {"uniform", "semantic", "mozjpeg"} <= set(settings.encoders):
    return []
  by = {(r["image"], r["encoder"], r["quality"]): r for r in rows}
  images = sorted({r["image"] for r in rows})
  keys = [
    k
    for k in (
      "salient_psnr_hvsm",
      "fixation_psnr_hvsm",
      "salient_ssimulacra2",
      "fixation_ssimulacra2",
    )
    if k in rows[0]
  ]
  has_butteraugli = "butteraugli_pnorm3" in rows[0]
  header = (
    "| target | control − mozjpeg, SSIMULACRA 2 | default − mozjpeg, SSIMULACRA 2 | default "
    "within 1.0 of mozjpeg | "
    + ("Butteraugli 3-norm, default / mozjpeg | " if has_butteraugli else "")
    + "".join(f"{k} default − mozjpeg{' (dB)' * k.endswith('hvsm')} | " for k in keys)
  )
  lines = [
    "## Against mozjpeg",
    "",
    header,
    "|" + "---|" * (header.count("|") - 1),
  ]
  for quality in settings.qualities:
    ours, control, theirs = (
      np.array([by[i, n, quality]["ssimulacra2"] for i in images])
      for n in ("semantic", "uniform", "mozjpeg")
    )
    cells = [
      f"Q{quality}",
      f"{np.mean(control - theirs):+.2f}",
      f"{np.mean(ours - theirs):+.2f}",
      f"{int(np.sum(ours >= theirs - 1.0))} of {len(images)}",
    ]
    if has_butteraugli:
      cells.append(
        f"{_mean(rows, 'semantic', quality, 'butteraugli_pnorm3'):.3f} / "
        f"{_mean(rows, 'mozjpeg', quality, 'butteraugli_pnorm3'):.3f}"
      )
    cells += [
      f"{_mean(rows, 'semantic', quality, k) - _mean(rows, 'mozjpeg', quality, k):+.2f}"
      for k in keys
    ]
    lines.append("| " + " | ".join(cells) + " |")
  return lines + [""]


def _where_people_look(rows: list[dict], settings: evaluation.Settings) -> list[str]:
  """The default against its control and the peers where people look (the fixation density's
  top quarter of blocks; without fixations, the map's) and on the whole image, per rate."""
  if not {"uniform", "semantic", "mozjpeg"} <= set(settings.encoders):
    return []
  fixated = "fixation_ssimulacra2" in rows[0]
  there, weighted = (
    ("fixation_ssimulacra2", "gaze_butteraugli")
    if fixated
    else ("salient_ssimulacra2", "map_butteraugli")
  )
  peers = [n for n in ("mozjpeg", "jpegli") if n in settings.encoders]
  by = {(r["image"], r["encoder"], r["quality"]): r for r in rows}
  images = sorted({r["image"] for r in rows})
  region = "where people look" if fixated else "in the map's top quarter"
  definition = " (the fixation density's top quarter)" if fixated else ""
  header = (
    "| target | SSIMULACRA 2 there, default − control | "
    + "".join(f"… − {p} | " for p in peers)
    + ("weighted Butteraugli there, default / control | " if weighted in rows[0] else "")
    + "whole SSIMULACRA 2, default − mozjpeg | at −2.0 or better | "
    + ("whole Butteraugli, default − mozjpeg | " if "butteraugli_pnorm3" in rows[0] else "")
  )
  lines = [
    f"## {region.capitalize()}",
    "",
    f"SSIMULACRA 2 of the photo carrying only the errors of the 8x8 blocks {region}"
    f"{definition}, and Butteraugli's distance map weighted by the "
    f"{'fixation density' if fixated else 'map'} "
    "(lower is better); the control is the default at --strength 0.",
    "",
    header,
    "|" + "---|" * (header.count("|") - 1),
  ]

  def values(name: str, key: str, quality: int) -> np.ndarray:
    return np.array([by[i, name, quality].get(key, np.nan) for i in images], np.float64)

  for quality in settings.qualities:
    values_at = functools.partial(values, quality=quality)
    whole = values_at("semantic", "ssimulacra2") - values_at("mozjpeg", "ssimulacra2")
    cells = [f"Q{quality}"]
    cells += [
      f"{np.mean(values_at('semantic', there) - values_at(n, there)):+.2f}"
      for n in ("uniform", *peers)
    ]
    if weighted in rows[0]:
      ratio = np.mean(values_at("semantic", weighted)) / np.mean(values_at("uniform", weighted))
      cells.append(f"{ratio:.3f}")
    cells += [f"{np.mean(whole):+.2f}", f"{int(np.sum(whole >= -2.0))} of {len(images)}"]
    if "butteraugli_pnorm3" in rows[0]:
      butteraugli = values_at("semantic", "butteraugli_pnorm3") - values_at(
        "mozjpeg", "butteraugli_pnorm3"
      )
      cells.append(f"{np.mean(butteraugli):+.3f}")
    lines.append("| " + " | ".join(cells) + " |")
  return lines + [""]


def _size_matching(rows: list[dict], names: tuple[str, ...], quality: int) -> str:
  parts = []
  for name in names:
    subset = [r for r in rows if r["encoder"] == name and r["quality"] == quality]
    ratios = [r["size_ratio"] for r in subset]
    matched = sum(bool(r["rate_matched"]) for r in subset)
    parts.append(
      f"{_LABELS[name]} {matched}/{len(subset)} within [0.99, 1] "
      f"(size/target {min(ratios):.3f}–{max(ratios):.3f})"
    )
  return "Size matching: " + "; ".join(parts) + "."


def _wins(rows: list[dict], names: tuple[str, ...], quality: int, count: int) -> list[str]:
  """How many images semantic_jpeg beats each other encoder on, per key metric."""
  keys = [
    k
    for k in ("salient_psnr_hvsm", "salient_psnr", "psnr_hvsm", "ssimulacra2", "psnr")
    if k in rows[0]
  ]
  by = {(r["image"], r["encoder"]): r for r in rows if r["quality"] == quality}
  images = sorted({r["image"] for r in rows})
  lines = [
    f"Images (of {count}) where semantic_jpeg scores higher:",
    "",
    "| against | " + " | ".join(keys) + " |",
    "|---|" + "---|" * len(keys),
  ]
  for other in (n for n in names if n != "semantic"):
    wins = [sum(by[i, "semantic"][k] > by[i, other][k] for i in images) for k in keys]
    lines.append(f"| {_LABELS[other]} | " + " | ".join(str(w) for w in wins) + " |")
  if "mozjpeg" in names and "ssimulacra2" in keys:
    close = sum(
      by[i, "semantic"]["ssimulacra2"] >= by[i, "mozjpeg"]["ssimulacra2"] - 1.0 for i in images
    )
    lines += [
      "",
      f"semantic_jpeg's SSIMULACRA 2 is within 1.0 of mozjpeg's (or above it) on "
      f"{close} of {count} images.",
    ]
  return lines + [""]


def _plot_rate_distortion(
  path: pathlib.Path, rows: list[dict], settings: evaluation.Settings
) -> None:
  keys = [k for k in _REPORTED if k in rows[0] and not k.startswith("top")]
  columns = 3
  fig, axes = plt.subplots(
    -(-len(keys) // columns), columns, figsize=(4.2 * columns, 3.2 * -(-len(keys) // columns))
  )
  for axis, key in zip(axes.ravel(), keys):
    for name in settings.encoders:
      bpp = [_mean(rows, name, q, "bpp") for q in settings.qualities]
      axis.plot(
        bpp, [_mean(rows, name, q, key) for q in settings.qualities], "o-", label=_LABELS[name]
      )
    axis.set_xlabel("bits per pixel")
    axis.set_title(key)
    axis.grid(alpha=0.3)
  for axis in axes.ravel()[len(keys) :]:
    axis.set_visible(False)
  axes.ravel()[0].legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def _plot_crop(
  path: pathlib.Path,
  image: evaluation.Image,
  result: evaluation.ImageResult,
  quality: int,
  settings: evaluation.Settings,
) -> None:
  """Original, three encoders and the map over the most salient region, at the same size."""
  name, source = image
  rgb = evaluation.load_image(source, settings.max_side)
  target = next(r["target_bytes"] for r in result.rows if r["quality"] == quality)
  side = max(8, min(rgb.shape[:2]) // 3 // 8 * 8)
  row, col = visualize.most_salient_window(result.block_map, side // 8)
  window = (slice(8 * row, 8 * row + side), slice(8 * col, 8 * col + side))
  panels = [("original", rgb)]
  for encoder_name in _CROP_ENCODERS:
    if encoder_name == "semantic":
      data, _ = encoder.compress(rgb, result.block_map, encoder.EncoderOptions(target_size=target))
    else:
      data = baselines.rate_matched(encoder_name, rgb, target, guess=quality).data
    decoded = turbo.decode(data)
    panels.append(
      (
        f"{_LABELS[encoder_name]}\n{len(data)} B, PSNR here "
        f"{metrics.psnr(rgb[window], decoded[window]):.2f} dB",
        decoded,
      )
    )
  pixel_map = blocks.to_pixels(result.block_map.astype(np.float32), *rgb.shape[:2])
  panels.append(("MS-ROI map", visualize.overlay(rgb, pixel_map)))
  fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.8))
  for axis, (title, pixels) in zip(axes, panels):
    axis.imshow(pixels[window], interpolation="nearest")
    axis.set_title(title, fontsize=8)
    axis.axis("off")
  fig.suptitle(
    f"{name}: most salient {side}x{side} region, target = libjpeg-turbo Q{quality} ({target} B)",
    fontsize=9,
  )
  fig.tight_layout(rect=(0, 0, 1, 0.9))
  fig.savefig(path, dpi=100)
  plt.close(fig)


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  settings = _settings()
  dataset, images = _dataset()
  output_dir = pathlib.Path(_OUTPUT_DIR.value)
  output_dir.mkdir(parents=True, exist_ok=True)
  results = list(
    tqdm.tqdm(
      evaluation.evaluate(images, settings, workers=_WORKERS.value),
      total=len(images),
      unit="image",
      file=sys.stderr,
    )
  )
  results.sort(key=lambda r: r.name)
  order = {n: i for i, n in enumerate(settings.encoders)}
  rows = sorted(
    (row for r in results for row in r.rows),
    key=lambda r: (r["image"], r["quality"], order[r["encoder"]]),
  )
  _write_csv(output_dir / "evaluation.csv", rows)
  summary = _summary(dataset, rows, settings)
  files.write_atomic(output_dir / "summary.md", summary.encode())
  _plot_rate_distortion(output_dir / "rate_distortion.png", rows, settings)
  by_name = dict(images)
  middle = settings.qualities[len(settings.qualities) // 2]
  cropped = (
    [r for r in results if r.name in _CROP_IMAGES.value]
    if _CROP_IMAGES.value
    else results[: _CROPS.value]
  )
  for result in cropped:
    _plot_crop(
      output_dir / f"crop_{result.name}.png",
      (result.name, by_name[result.name]),
      result,
      middle,
      settings,
    )
  print(summary)


if __name__ == "__main__":
  app.run(main)
