"""Evaluates trellis constants (`codec.tuning.Tuning`) on a split, fast, against cached mozjpeg.

  python tools/tune.py --set kodak=../shared/datasets/kodak \
      --set scene_fixations=../shared/datasets/scene_fixations/images --split tune \
      --cache_dir /tmp/tune_cache --override 'luma_dc=0.7' --strengths 0,1

For each image of the split and each --qualities Q the target is libjpeg-turbo's file size at Q;
mozjpeg is rate-matched to it once and its scores cached (SSIMULACRA 2, PSNR-HVS-M over the map's
top quarter, Butteraugli 3-norm), with the reference pixels and the map (the default model's).
Our encoder runs with the Tuning given by --override (fields of `Tuning`, Python literals) at each
--strengths value.
Prints, per set and rate: the mean SSIMULACRA 2 difference to mozjpeg, the share of images within
1.0 of it, with --butteraugli the 3-norm difference (lower is better), PSNR-HVS-M over the map's
top quarter of blocks and, for photos with rows in --fixations, in the quarter of blocks with
the highest fixation density (where people look): PSNR-HVS-M, and SSIMULACRA 2 and (with
--butteraugli) Butteraugli of the photo with only those blocks' errors. Images larger than
--max_side are area-downscaled first (as tools/evaluate.py does with the same flag);
--min_short_side keeps only photos whose short side is at least that long.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import ast
import collections
import dataclasses
import json
import multiprocessing
import pathlib
import sys

from absl import app
from absl import flags
import numpy as np

from semantic_jpeg import errors
from semantic_jpeg import files
from semantic_jpeg import image_io
from semantic_jpeg.codec import encoder
from semantic_jpeg.codec import tuning
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines
from semantic_jpeg.evaluation import butteraugli
from semantic_jpeg.evaluation import corpus
from semantic_jpeg.evaluation import equal_size
from semantic_jpeg.evaluation import fixations
from semantic_jpeg.evaluation import metrics
from semantic_jpeg.saliency import model as saliency_model

_SETS = flags.DEFINE_multi_string("set", [], "NAME=FOLDER of a photo set (repeatable).")
_SPLIT = flags.DEFINE_enum("split", "tune", ("all",) + corpus.SPLITS, "Which split to run.")
_QUALITIES = flags.DEFINE_list("qualities", ["50", "75", "90"], "libjpeg-turbo target qualities.")
_OVERRIDES = flags.DEFINE_multi_string("override", [], "FIELD=VALUE on the default Tuning.")
_STRENGTHS = flags.DEFINE_list("strengths", ["0"], "Saliency strengths to run.")
_PROGRESSIVE = flags.DEFINE_bool("progressive", True, "Progressive output (the default's).")
_BUTTERAUGLI = flags.DEFINE_bool("butteraugli", False, "Also Butteraugli 3-norm (slower).")
_MAX_SIDE = flags.DEFINE_integer("max_side", equal_size.MAX_SIDE, "Downscale larger images.")
_MIN_SHORT_SIDE = flags.DEFINE_integer("min_short_side", 0, "Skip photos with a shorter side.")
_FIXATIONS = flags.DEFINE_string(
  "fixations", None, "Fixations CSV (scene_fixations' format): also score where people look."
)
_CACHE = flags.DEFINE_string("cache_dir", None, "Folder for cached baselines.", required=True)
_WORKERS = flags.DEFINE_integer("workers", 2, "Worker processes.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Also write the rows here (JSON).")

Job = tuple[str, str, str, int, float]  # (set, name, path, quality, strength)


def _tuning() -> tuning.Tuning:
  values = {}
  for text in _OVERRIDES.value:
    field, _, value = text.partition("=")
    values[field] = ast.literal_eval(value)
  try:
    return dataclasses.replace(tuning.DEFAULT, **values)
  except TypeError as e:
    raise app.UsageError(f"bad --override: {e}") from None


def _prepare(set_name: str, name: str, path: str, model) -> None:
  """Caches the reference pixels, the map and mozjpeg's target, size and scores per quality."""
  folder = pathlib.Path(_CACHE.value, set_name)
  folder.mkdir(parents=True, exist_ok=True)
  pixels, block_map, record = (folder / f"{name}{end}" for end in (".npy", "_map.npy", ".json"))
  if not pixels.exists():
    np.save(pixels, equal_size.load_image(path, _MAX_SIDE.value))
  rgb = np.load(pixels)
  if not block_map.exists():
    np.save(block_map, saliency_model.compute_map(model, rgb).block_map)
  looked_at = _fixated_blocks(folder, name, path, rgb.shape[:2])
  known = json.loads(record.read_text()) if record.exists() else {}
  for quality in map(int, _QUALITIES.value):
    wanted = {"butteraugli"} if _BUTTERAUGLI.value else set()
    if looked_at is not None:
      wanted |= {"fixated_psnr_hvsm", "fixated_ssimulacra2"}
      wanted |= {"fixated_butteraugli"} if _BUTTERAUGLI.value else set()
    if str(quality) in known and wanted <= set(known[str(quality)]):
      continue
    target = turbo.jpeg_size(rgb, quality)
    data = baselines.rate_matched("mozjpeg", rgb, target, guess=quality).data
    scores = _scores(rgb, turbo.decode(data), np.load(block_map), looked_at)
    known[str(quality)] = {"target": target, **scores}
  files.write_atomic(record, json.dumps(known).encode())


def _fixated_blocks(
  folder: pathlib.Path, name: str, path: str, shape: tuple[int, int]
) -> np.ndarray | None:
  """The fixation density's top quarter of blocks on the (downscaled) photo, cached; None
  without --fixations or without rows for this photo."""
  if _FIXATIONS.value is None:
    return None
  cached = folder / f"{name}_fixated.npy"
  if cached.exists():
    return np.load(cached)
  height, width = image_io.image_size(path)
  try:
    looked_at = fixations.for_image(_FIXATIONS.value, name, height, width).scaled(*shape)
  except errors.FixationDataError:
    return None
  quarter = fixations.fixated_blocks(looked_at)
  np.save(cached, quarter)
  return quarter


def _scores(
  rgb: np.ndarray, decoded: np.ndarray, block_map: np.ndarray, looked_at: np.ndarray | None
) -> dict:
  prepared = metrics.prepare_ssimulacra2(rgb)  # Once for the whole photo and the quarter.
  scores = {
    "ssimulacra2": metrics.ssimulacra2(rgb, decoded, prepared),
    "salient_psnr_hvsm": metrics.salient_psnr_hvsm(
      rgb, decoded, equal_size.salient_blocks(block_map)
    ),
  }
  if looked_at is not None:
    only_there = metrics.salient_errors_only(rgb, decoded, looked_at)
    scores["fixated_psnr_hvsm"] = metrics.salient_psnr_hvsm(rgb, decoded, looked_at)
    scores["fixated_ssimulacra2"] = metrics.ssimulacra2(rgb, only_there, prepared)
  if _BUTTERAUGLI.value:
    scores["butteraugli"] = butteraugli.pnorm3(rgb, decoded)
    if looked_at is not None:
      scores["fixated_butteraugli"] = butteraugli.pnorm3(rgb, only_there)
  return scores


def _run(job: Job) -> dict:
  set_name, name, path, quality, strength = job
  folder = pathlib.Path(_CACHE.value, set_name)
  rgb, block_map = (np.load(folder / f"{name}{end}") for end in (".npy", "_map.npy"))
  looked_at = _fixated_blocks(folder, name, path, rgb.shape[:2])
  theirs = json.loads((folder / f"{name}.json").read_text())[str(quality)]
  data, report = encoder.compress(
    rgb,
    block_map,
    encoder.EncoderOptions(
      target_size=theirs["target"],
      strength=strength,
      progressive=_PROGRESSIVE.value,
      tuning=_tuning(),
    ),
  )
  ours = _scores(rgb, turbo.decode(data), block_map, looked_at)
  return {
    "set": set_name,
    "image": name,
    "quality": quality,
    "strength": strength,
    "bytes": len(data),
    "target": theirs["target"],
    "knob": report.quality,
    **{f"ours_{k}": v for k, v in ours.items()},
    **{f"mozjpeg_{k}": theirs[k] for k in ours},
  }


def _jobs() -> list[Job]:
  jobs = []
  for spec in _SETS.value:
    set_name, _, folder = spec.partition("=")
    paths = [str(p) for p in files.list_images([folder])]
    for path in corpus.select(set_name, paths, _SPLIT.value):
      if _MIN_SHORT_SIDE.value and min(image_io.image_size(path)) < _MIN_SHORT_SIDE.value:
        continue
      for quality in map(int, _QUALITIES.value):
        for strength in map(float, _STRENGTHS.value):
          jobs.append((set_name, pathlib.Path(path).stem, path, quality, strength))
  return jobs


_COLUMNS = (
  "ssimulacra2",
  "butteraugli",
  "salient_psnr_hvsm",
  "fixated_psnr_hvsm",
  "fixated_ssimulacra2",
  "fixated_butteraugli",
)


def _table(rows: list[dict]) -> str:
  groups = collections.defaultdict(list)
  for row in rows:
    groups[row["set"], row["strength"], row["quality"]].append(row)
  lines = [
    "| set | strength | Q | images | SSIMULACRA 2 − mozjpeg | within 1.0 | Butteraugli − mozjpeg "
    "| salient PSNR-HVS-M − mozjpeg | where people look − mozjpeg: PSNR-HVS-M "
    "| SSIMULACRA 2 | Butteraugli |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ]
  for (set_name, strength, quality), group in sorted(groups.items()):
    cells = []
    for key in _COLUMNS:
      deltas = np.array(
        [r.get(f"ours_{key}", np.nan) - r.get(f"mozjpeg_{key}", np.nan) for r in group]
      )
      known = deltas[~np.isnan(deltas)]
      if key == "ssimulacra2":
        cells += [f"{np.mean(deltas):+.2f}", f"{np.mean(deltas >= -1.0):.0%}"]
      elif not len(known):
        cells.append("")
      elif key.endswith("psnr_hvsm"):
        cells.append(f"{np.mean(known):+.2f} dB ({len(known)})")
      else:
        cells.append(f"{np.mean(known):+.3f}" if "butteraugli" in key else f"{np.mean(known):+.2f}")
    lines.append(
      f"| {set_name} | {strength:g} | {quality} | {len(group)} | " + " | ".join(cells) + " |"
    )
  return "\n".join(lines)


def _init_worker(argv: list[str]) -> None:
  flags.FLAGS(argv)
  os.nice(5)


def main(argv: list[str]) -> None:
  del argv
  jobs = _jobs()
  if not jobs:
    raise app.UsageError("no images: give --set NAME=FOLDER with images of the split")
  _tuning()  # Bad overrides fail before any work.
  model = saliency_model.load_model()
  for set_name, name, path in dict.fromkeys(job[:3] for job in jobs):
    _prepare(set_name, name, path, model)
  context = multiprocessing.get_context("spawn")
  with context.Pool(_WORKERS.value, initializer=_init_worker, initargs=(sys.argv,)) as pool:
    rows = pool.map(_run, jobs, chunksize=4)
  if _OUTPUT.value:
    files.write_atomic(pathlib.Path(_OUTPUT.value), json.dumps(rows).encode())
  print(_table(rows))


if __name__ == "__main__":
  app.run(main)
