"""Scores maps against human eye fixations, cross-validated for everything that is fitted.

  python tools/evaluate_saliency.py --fixations ../shared/datasets/scene_fixations/fixations.csv \
      --output_dir results/saliency --encode

Maps, side by side, on every image of the fixation data set (folds: images sorted by name,
index mod --folds):
- `centre`: a centred Gaussian, fitted by log-likelihood on the other folds (the baseline every
  map must beat, and the reference of information gain);
- `cam_sum`, `cam_rank`: the paper's class activation maps of the top 5 classes, summed or
  rank-weighted, without faces;
- `cam_faces`: the CAM sum with the face prior (the default map before the fixation readout);
- `fixations`: the fixation readout with the face prior (the default map), trained on the other
  folds with the epochs an inner fold chose.
Scores (`evaluation.fixations`): NSS, CC, AUC-Judd, shuffled AUC and information gain over the
centre Gaussian, at each image's resolution. Writes summary.md (tables for all images and for
those with a short side of 400 pixels or more), per_image.csv and maps.png (photos, fixation
density, maps). With --encode, it also compresses the large photos at the size of
libjpeg-turbo's file at each --encode_qualities Q (each with the map of the readout that never
saw it) and scores, where people look most (the quarter of 8x8 blocks with the highest fixation
density), SSIMULACRA 2, the gaze-weighted Butteraugli (where butteraugli_main is installed) and
PSNR-HVS-M, with the whole image's SSIMULACRA 2 and Butteraugli: the default encoder on the pixel
and on the coefficient path, each with its --strength 0 control, and rate-matched mozjpeg and
jpegli.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import collections
import csv
import pathlib
import statistics
import sys
import time

from absl import app
from absl import flags
import matplotlib
import numpy as np
import tqdm

matplotlib.use("Agg")
from matplotlib import pyplot as plt

from semantic_jpeg import files
from semantic_jpeg import image_io
from semantic_jpeg.codec import encoder
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines
from semantic_jpeg.evaluation import butteraugli
from semantic_jpeg.evaluation import fixation_metrics
from semantic_jpeg.evaluation import fixations as fixations_lib
from semantic_jpeg.evaluation import metrics
from semantic_jpeg.evaluation import readout_folds
from semantic_jpeg.evaluation import visualize
from semantic_jpeg.saliency import model as model_lib
from semantic_jpeg.saliency import readout as readout_lib
from semantic_jpeg.saliency import readout_training

_FIXATIONS = flags.DEFINE_string(
  "fixations", None, "Fixations CSV (images/ beside it).", required=True
)
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Folder for the results.", required=True)
_FOLDS = flags.DEFINE_integer("folds", 5, "Cross-validation folds.", lower_bound=2)
_ENCODE = flags.DEFINE_bool("encode", False, "Also compress the large photos (see above).")
_REUSE_READOUTS = flags.DEFINE_bool(
  "reuse_readouts",
  False,
  "Load readout_fold{k}.npz from --output_dir (an earlier run's, the same folds) instead of "
  "training them again.",
)
_ENCODE_QUALITIES = flags.DEFINE_list(
  "encode_qualities", ["50"], "With --encode: libjpeg-turbo qualities whose sizes are the targets."
)
_FIGURE_IMAGES = flags.DEFINE_integer("figure_images", 4, "Photos in maps.png.", lower_bound=1)

SOURCES = ("centre", "cam_sum", "cam_rank", "cam_faces", "fixations")
LABELS = {
  "centre": "centred Gaussian (fitted)",
  "cam_sum": "paper: CAM top-5, sum",
  "cam_rank": "paper: CAM top-5, rank-weighted",
  "cam_faces": "CAM sum + faces (the previous default)",
  "fixations": "fixation readout + faces (the default)",
}
SCORES = ("NSS", "CC", "AUC-Judd", "sAUC", "IG")
LARGE_SIDE = 400  # Photos whose short side is at least this are "large".


def _cam_models() -> dict[str, model_lib.MSROIModel]:
  return {
    "cam_sum": model_lib.load_model(map_model="cam", faces=False),
    "cam_rank": model_lib.load_model(map_model="cam", faces=False, combine="rank_weighted"),
    "cam_faces": model_lib.load_model(map_model="cam"),
  }


def _fold_models(examples, fold_of, folds: int, output_dir: pathlib.Path):
  """Per fold, the default model whose readout never saw that fold (weights kept on disk)."""
  options = readout_training.TrainOptions()
  models = {}
  for fold in range(folds):
    path = output_dir / f"readout_fold{fold}.npz"
    if not _REUSE_READOUTS.value:
      layer, epochs = readout_folds.fold_readout(examples, fold_of, fold, options)
      readout_lib.save(layer, path, {"test_fold": fold, "epochs": epochs})
      print(f"fold {fold}: readout trained for {epochs} epochs", flush=True)
    models[fold] = model_lib.load_model(readout_weights=str(path))
  return models


def _maps(
  rgb: np.ndarray, cam_models, fold_model
) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
  """(pixel map, log-density or None) of each model map source."""
  maps = {}
  for name, model in {**cam_models, "fixations": fold_model}.items():
    result = model_lib.compute_map(model, rgb)
    maps[name] = (result.pixel_map, result.log_density)
  return maps


def _score(data, maps_of, fold_of, centres, uniform) -> dict[str, dict[str, dict[str, float]]]:
  """Every source's scores on every image."""
  rows = {}
  for name, fix in data.items():
    fold = fold_of[name]
    others = fixations_lib.other_fixations(data, name)
    baseline = centres[fold].log_density(fix.shape)
    rows[name] = {
      "centre": fixation_metrics.all_metrics(np.exp(baseline), fix, *others, baseline, baseline)
    }
    for source, (pixel_map, log_density) in maps_of[name].items():
      if log_density is None:
        log_density = fixation_metrics.map_to_log_density(pixel_map, uniform[source][fold])
      rows[name][source] = fixation_metrics.all_metrics(
        pixel_map, fix, *others, log_density, baseline
      )
  return rows


def _uniform_weights(data, maps_of, fold_of, folds: int) -> dict[str, dict[int, float]]:
  """Per CAM source and fold: the uniform share fitted on the other folds."""
  weights = {}
  for source in ("cam_sum", "cam_rank", "cam_faces"):
    weights[source] = {
      fold: fixation_metrics.fit_uniform_weight(
        [(maps_of[n][source][0], data[n]) for n in data if fold_of[n] != fold]
      )
      for fold in range(folds)
    }
  return weights


def _means(rows, names) -> dict[str, dict[str, float]]:
  return {
    source: {s: statistics.fmean(rows[n][source][s] for n in names) for s in SCORES}
    for source in SOURCES
  }


def _table(title: str, means) -> list[str]:
  lines = [
    f"### {title}",
    "",
    "| map | " + " | ".join(SCORES) + " |",
    "|---|" + "---:|" * len(SCORES),
  ]
  for source in SOURCES:
    lines.append(
      f"| {LABELS[source]} | " + " | ".join(f"{means[source][s]:.3f}" for s in SCORES) + " |"
    )
  return lines + [""]


def _write_csv(path: pathlib.Path, rows) -> None:
  with files.atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["image", "map", *SCORES])
    for name, by_source in rows.items():
      for source in SOURCES:
        writer.writerow([name, source, *(f"{by_source[source][s]:.5f}" for s in SCORES)])


def _figure(path: pathlib.Path, data, maps_of, image_dir: pathlib.Path, count: int) -> None:
  """Photo, fixation density and each map, for the first `count` large photos."""
  names = [n for n, f in data.items() if min(f.shape) >= LARGE_SIDE][:count]
  columns = ["photo", "fixation density", "cam_faces", "fixations"]
  fig, axes = plt.subplots(len(names), len(columns), figsize=(3.2 * len(columns), 2.6 * len(names)))
  for row, name in zip(np.atleast_2d(axes), names):
    fix, rgb = data[name], image_io.read_image(image_dir / name).rgb
    density = fixations_lib.density_map(fix.ys, fix.xs, fix.shape)
    panels = [rgb, visualize.overlay(rgb, density / density.max())]
    panels += [visualize.overlay(rgb, maps_of[name][s][0]) for s in columns[2:]]
    for axis, title, panel in zip(row, columns, panels):
      axis.imshow(panel)
      axis.set_title(
        f"{name}: {LABELS.get(title, title)}" if title == "photo" else LABELS.get(title, title),
        fontsize=7,
      )
      axis.axis("off")
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)


def _encode(data, fold_models, fold_of, image_dir) -> list[str]:
  """Where people look most and the whole image, at the size of libjpeg-turbo's file at each
  --encode_qualities Q, on the large photos: the default on the pixel path (as for PNG inputs)
  and on the coefficient path (what the command line does with these JPEGs), each with its
  --strength 0 control, and rate-matched mozjpeg and jpegli."""
  large = [n for n, f in data.items() if min(f.shape) >= LARGE_SIDE]
  scores = collections.defaultdict(lambda: collections.defaultdict(list))  # (Q, key) -> metric.
  kept = collections.Counter()
  qualities = [int(q) for q in _ENCODE_QUALITIES.value]
  for name in tqdm.tqdm(large, desc="encoding", unit="image"):
    image = image_io.read_image(image_dir / name)
    block_map = model_lib.compute_map(fold_models[fold_of[name]], image.rgb).block_map
    density = fixations_lib.density_map(data[name].ys, data[name].xs, data[name].shape)
    looked_at = fixations_lib.dense_blocks(density)
    prepared = metrics.prepare_ssimulacra2(image.rgb)  # Once for the photo's scores.
    for quality in qualities:
      files_, input_kept = _encoded(image, block_map, quality)
      kept[quality] += input_kept
      for key, data_ in files_.items():
        decoded = turbo.decode(data_)
        row = scores[quality, key]
        row["hvsm"].append(metrics.salient_psnr_hvsm(image.rgb, decoded, looked_at))
        row["ss2"].append(metrics.salient_ssimulacra2(image.rgb, decoded, looked_at, prepared))
        row["whole"].append(metrics.ssimulacra2(image.rgb, decoded, prepared))
        if butteraugli.available():
          whole, _, gaze = butteraugli.region_norms(image.rgb, decoded, block_map, density)
          row["gaze_ba"].append(gaze)
          row["ba"].append(whole)
  lines = []
  for quality in qualities:
    lines += _encode_table(quality, len(large), {k: scores[quality, k] for k in _ENCODED})
    lines.append(
      f"\nThe coefficient path kept the input (smaller than the target) for {kept[quality]} "
      "photos.\n"
    )
  return lines


def _encode_table(quality: int, photos: int, scores) -> list[str]:
  """One target quality's means: each encoder, and each path's default minus its control."""
  mean = {k: {m: statistics.fmean(v) for m, v in by.items()} for k, by in scores.items()}
  lines = [
    f"### Where people look: compression at the libjpeg-turbo Q{quality} size ({photos} photos "
    f"with a short side of {LARGE_SIDE} px or more)",
    "",
    "Where people look: the quarter of 8x8 blocks with the highest fixation density; SSIMULACRA 2 "
    "of the photo with only those blocks' errors, the gaze-weighted Butteraugli (the distance "
    "map's 3-norm weighted by the fixation density; lower is better) and PSNR-HVS-M in those "
    "blocks. Each photo compressed with the map of the readout that was not trained on it, every "
    "encoder at or under the target. The photos are JPEGs: the command line requantizes them in "
    "the coefficient domain, a PNG input takes the pixel path.",
    "",
    "| encoder | SSIMULACRA 2 there | gaze-weighted Butteraugli | whole SSIMULACRA 2 "
    "| whole Butteraugli | PSNR-HVS-M there |",
    "|---|---:|---:|---:|---:|---:|",
  ]
  formats = {
    "ss2": "{:.2f}",
    "gaze_ba": "{:.3f}",
    "whole": "{:.2f}",
    "ba": "{:.3f}",
    "hvsm": "{:.2f}",
  }
  for key, by in mean.items():
    cells = [form.format(by[m]) if m in by else "" for m, form in formats.items()]
    lines.append(f"| {_ENCODED[key]} | " + " | ".join(cells) + " |")
  for path in ("pixels", "coefficients"):
    gains = [d - z for d, z in zip(scores[path]["ss2"], scores[f"{path} 0"]["ss2"])]
    ratio = (
      f", gaze-weighted Butteraugli {mean[path]['gaze_ba'] / mean[f'{path} 0']['gaze_ba']:.3f}x"
      if "gaze_ba" in mean[path]
      else ""
    )
    lines.append(
      f"\n{_ENCODED[path]}: SSIMULACRA 2 there {statistics.fmean(gains):+.2f} over its strength-0 "
      f"control (higher on {sum(g > 0 for g in gains)} of {len(gains)} photos){ratio}."
    )
  return lines


# Encoders of `_encode`, by key.
_ENCODED = {
  "pixels": "default, pixel path",
  "pixels 0": "strength 0, pixel path",
  "coefficients": "default, coefficient path",
  "coefficients 0": "strength 0, coefficient path",
  "mozjpeg": "mozjpeg",
  "jpegli": "jpegli",
}


def _encoded(
  image: image_io.DecodedImage, block_map: np.ndarray, quality: int
) -> tuple[dict[str, bytes], bool]:
  """Each of `_ENCODED`'s files at the size of libjpeg-turbo's at `quality`; whether the
  coefficient path kept the input."""
  target = turbo.jpeg_size(image.rgb, quality)
  files_ = {
    peer: baselines.rate_matched(peer, image.rgb, target, guess=quality).data
    for peer in ("mozjpeg", "jpegli")
  }
  input_kept = False
  for suffix, strength in (("", 1.0), (" 0", 0.0)):
    options = encoder.EncoderOptions(target_size=target, strength=strength)
    files_["pixels" + suffix] = encoder.compress(image.rgb, block_map, options)[0]
    files_["coefficients" + suffix], report = encoder.compress_decoded(image, block_map, options)
    input_kept |= report.written != "encoded"
  return {key: files_[key] for key in _ENCODED}, input_kept


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  start = time.perf_counter()
  csv_path = pathlib.Path(_FIXATIONS.value)
  image_dir = csv_path.parent / "images"
  output_dir = files.make_output_folder(_OUTPUT_DIR.value)
  data = fixations_lib.load_fixations(str(csv_path))
  fold_of = fixations_lib.folds(data, _FOLDS.value)
  examples = (
    None
    if _REUSE_READOUTS.value
    else readout_folds.load_examples(data, image_dir, readout_training.TrainOptions())
  )
  fold_models = _fold_models(examples, fold_of, _FOLDS.value, output_dir)
  del examples
  cam_models = _cam_models()
  maps_of = {
    name: _maps(image_io.read_image(image_dir / name).rgb, cam_models, fold_models[fold_of[name]])
    for name in tqdm.tqdm(data, desc="maps", unit="image")
  }
  centres = {
    fold: fixation_metrics.fit_centre_gaussian([f for n, f in data.items() if fold_of[n] != fold])
    for fold in range(_FOLDS.value)
  }
  uniform = _uniform_weights(data, maps_of, fold_of, _FOLDS.value)
  rows = _score(data, maps_of, fold_of, centres, uniform)
  large = [n for n, f in data.items() if min(f.shape) >= LARGE_SIDE]
  lines = [
    "# Where people look: maps against human eye fixations",
    "",
    f"Command: `python {' '.join(sys.argv)}`",
    "",
    f"{len(data)} photos, {sum(len(f) for f in data.values())} fixations, {_FOLDS.value}-fold "
    "cross-validation (folds: names sorted, index mod k); means over images; IG in bits per "
    "fixation over the fold's fitted centred Gaussian.",
    "",
    *_table(f"All {len(data)} photos", _means(rows, list(data))),
    *_table(
      f"The {len(large)} photos with a short side of {LARGE_SIDE} px or more", _means(rows, large)
    ),
  ]
  if _ENCODE.value:
    lines += _encode(data, fold_models, fold_of, image_dir)
  lines.append(f"Took {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.1f}.")
  files.write_atomic(output_dir / "summary.md", ("\n".join(lines) + "\n").encode())
  _write_csv(output_dir / "per_image.csv", rows)
  _figure(output_dir / "maps.png", data, maps_of, image_dir, _FIGURE_IMAGES.value)
  print("\n".join(lines))


if __name__ == "__main__":
  app.run(main)
