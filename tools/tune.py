"""Evaluates the encoder's constants on a split, on both paths, against its control and the peers.

  python tools/tune.py --set scene_fixations=../shared/datasets/scene_fixations/images \
      --fixations ../shared/datasets/scene_fixations/fixations.csv --split tune \
      --min_short_side 400 --cache_dir /tmp/tune_cache --butteraugli \
      --override 'background_cap=4.0' --strengths 1,2

For each photo of the split (area-downscaled to --max_side), each path and each --qualities Q:
- the pixel path (PNG inputs) encodes the photo's pixels;
- the coefficient path (JPEG inputs) requantizes a JPEG of them (libjpeg-turbo at
  --source_quality), scored against what that JPEG decodes to;
the target is libjpeg-turbo's file size at Q of the path's reference pixels. mozjpeg and jpegli are
rate-matched to it (at or under it) once and cached with their scores and the map (the default
model's, of each path's reference). Our encoder runs with the `Tuning` given by --override (fields,
Python literals) and the policy parameters of --policy_param at each --strengths value and at
strength 0 (its own control).

Scores: whole-image SSIMULACRA 2 and (with --butteraugli) Butteraugli 3-norm; where people look
(photos with rows in --fixations): SSIMULACRA 2 of the photo with only the errors of the fixation
density's top quarter of blocks, the gaze-weighted Butteraugli (3-norm of the distance map weighted
by the fixation density) and PSNR-HVS-M in that quarter; the same three for the map's top quarter
(the map-weighted Butteraugli), which stand in where no fixations are known.
Prints per set, path, strength and Q (`evaluation.frontier`): the default minus its control
(SSIMULACRA 2 there, the ratio of gaze-weighted Butteraugli), minus mozjpeg and jpegli there, and
the whole image against mozjpeg (mean, share of photos at -2.0 or better, Butteraugli). --output
keeps every row for `tools/plot_tuning.py`. --cache_dir keeps each photo's downscaled pixels, JPEG
input, maps and peers: use a new folder when --max_side or --source_quality change.
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
from semantic_jpeg.evaluation import frontier
from semantic_jpeg.evaluation import metrics
from semantic_jpeg.saliency import model as saliency_model

PATHS = ("pixels", "coefficients")
PEERS = ("mozjpeg", "jpegli")

_SETS = flags.DEFINE_multi_string("set", [], "NAME=FOLDER of a photo set (repeatable).")
_SPLIT = flags.DEFINE_enum("split", "tune", ("all",) + corpus.SPLITS, "Which split to run.")
_QUALITIES = flags.DEFINE_list("qualities", ["30", "50", "75"], "libjpeg-turbo target qualities.")
_PATHS = flags.DEFINE_list("paths", list(PATHS), "Paths to run: pixels, coefficients.")
_SOURCE_QUALITY = flags.DEFINE_integer(
  "source_quality", 90, "libjpeg-turbo quality of the coefficient path's JPEG inputs."
)
_OVERRIDES = flags.DEFINE_multi_string("override", [], "FIELD=VALUE on the default Tuning.")
_POLICY_PARAMS = flags.DEFINE_multi_string("policy_param", [], "NAME=VALUE of the policy.")
_STRENGTHS = flags.DEFINE_list("strengths", ["1"], "Saliency strengths (0, the control, always).")
_BUTTERAUGLI = flags.DEFINE_bool("butteraugli", False, "Also Butteraugli (slower).")
_MAX_SIDE = flags.DEFINE_integer("max_side", equal_size.MAX_SIDE, "Downscale larger images.")
_MIN_SHORT_SIDE = flags.DEFINE_integer("min_short_side", 0, "Skip photos with a shorter side.")
_FIXATIONS = flags.DEFINE_string(
  "fixations", None, "Fixations CSV (scene_fixations' format): also score where people look."
)
_CACHE = flags.DEFINE_string("cache_dir", None, "Folder for cached baselines.", required=True)
_WORKERS = flags.DEFINE_integer("workers", 2, "Worker processes.", lower_bound=1)
_OUTPUT = flags.DEFINE_string("output", None, "Also write the rows here (JSON).")

Job = tuple[str, str, str, str, int, float]  # (set, name, photo path, path, quality, strength)


def _literals(texts: list[str], flag: str) -> dict:
  values = {}
  for text in texts:
    field, sep, value = text.partition("=")
    try:
      values[field] = ast.literal_eval(value)
    except (ValueError, SyntaxError):
      raise app.UsageError(f"bad --{flag} {text!r}: VALUE must be a Python literal") from None
    if not sep:
      raise app.UsageError(f"bad --{flag} {text!r}: give NAME=VALUE")
  return values


def _options(target: int, strength: float) -> encoder.EncoderOptions:
  """Our encoder's options: the flags' Tuning and policy parameters at this strength."""
  try:
    return encoder.EncoderOptions(
      target_size=target,
      strength=strength,
      tuning=dataclasses.replace(tuning.DEFAULT, **_literals(_OVERRIDES.value, "override")),
      policy_params=_literals(_POLICY_PARAMS.value, "policy_param"),
      allow_larger=True,  # Scored as written, even where the CLI would keep the input.
    )
  except (TypeError, ValueError, errors.EncodeError) as e:
    raise app.UsageError(f"bad --override or --policy_param: {e}") from None


def _folder(set_name: str, name: str) -> pathlib.Path:
  return pathlib.Path(_CACHE.value, set_name, name)


def _prepare(set_name: str, name: str, photo: str, model) -> None:
  """Caches each path's reference and input, the map, where people look, and the peers' scores."""
  folder = _folder(set_name, name)
  folder.mkdir(parents=True, exist_ok=True)
  if not (folder / "pixels.npy").exists():
    rgb = equal_size.load_image(photo, _MAX_SIDE.value)
    source = turbo.encode(rgb, _SOURCE_QUALITY.value, "420")
    np.save(folder / "pixels.npy", rgb)
    files.write_atomic(folder / "source.jpg", source)
    np.save(folder / "coefficients.npy", turbo.decode(source))
  for path in _PATHS.value:
    reference = np.load(folder / f"{path}.npy")
    if not (folder / f"{path}_map.npy").exists():
      np.save(folder / f"{path}_map.npy", saliency_model.compute_map(model, reference).block_map)
  density = _density(folder, name, photo)
  record = folder / "peers.json"
  known = json.loads(record.read_text()) if record.exists() else {}
  for path in _PATHS.value:
    reference = np.load(folder / f"{path}.npy")
    block_map = np.load(folder / f"{path}_map.npy")
    for quality in _QUALITIES.value:
      key = f"{path}/{quality}"
      if key in known and _wanted(density) <= set(known[key]["mozjpeg"]):
        continue
      target = turbo.jpeg_size(reference, int(quality))
      known[key] = {"target": target}
      for peer in PEERS:
        data = baselines.rate_matched(peer, reference, target, guess=int(quality)).data
        scores = _scores(reference, turbo.decode(data), block_map, density)
        known[key][peer] = {**scores, "bytes": len(data)}
  files.write_atomic(record, json.dumps(known).encode())


def _wanted(density: np.ndarray | None) -> set[str]:
  wanted = {"ssimulacra2", "salient_psnr_hvsm", "salient_ssimulacra2"}
  wanted |= {"butteraugli", "map_butteraugli"} if _BUTTERAUGLI.value else set()
  if density is not None:
    wanted |= {"fixated_ssimulacra2", "fixated_psnr_hvsm"}
    wanted |= {"gaze_butteraugli"} if _BUTTERAUGLI.value else set()
  return wanted


def _density(folder: pathlib.Path, name: str, photo: str) -> np.ndarray | None:
  """The fixation density on the (downscaled) photo, cached; None without --fixations or
  without rows for this photo."""
  if _FIXATIONS.value is None:
    return None
  cached = folder / "density.npy"
  if cached.exists():
    return np.load(cached)
  shape = np.load(folder / "pixels.npy", mmap_mode="r").shape[:2]
  try:
    looked_at = fixations.for_image(_FIXATIONS.value, name, *image_io.image_size(photo))
  except errors.FixationDataError:
    return None
  scaled = looked_at.scaled(*shape)
  density = fixations.density_map(scaled.ys, scaled.xs, scaled.shape).astype(np.float32)
  np.save(cached, density)
  return density


def _scores(
  reference: np.ndarray, decoded: np.ndarray, block_map: np.ndarray, density: np.ndarray | None
) -> dict[str, float]:
  prepared = metrics.prepare_ssimulacra2(reference)  # Once for the whole photo and the quarters.
  salient = equal_size.salient_blocks(block_map)
  scores = {
    "ssimulacra2": metrics.ssimulacra2(reference, decoded, prepared),
    "salient_psnr_hvsm": metrics.salient_psnr_hvsm(reference, decoded, salient),
    "salient_ssimulacra2": metrics.salient_ssimulacra2(reference, decoded, salient, prepared),
  }
  if density is not None:
    quarter = fixations.dense_blocks(density)
    scores["fixated_psnr_hvsm"] = metrics.salient_psnr_hvsm(reference, decoded, quarter)
    scores["fixated_ssimulacra2"] = metrics.salient_ssimulacra2(
      reference, decoded, quarter, prepared
    )
  if _BUTTERAUGLI.value:
    whole, mapped, gaze = butteraugli.region_norms(reference, decoded, block_map, density)
    scores["butteraugli"], scores["map_butteraugli"] = whole, mapped
    if gaze is not None:
      scores["gaze_butteraugli"] = gaze
  return scores


def _run(job: Job) -> dict:
  set_name, name, photo, path, quality, strength = job
  folder = _folder(set_name, name)
  reference, block_map = (np.load(folder / f"{path}{end}.npy") for end in ("", "_map"))
  peers = json.loads((folder / "peers.json").read_text())[f"{path}/{quality}"]
  options = _options(peers["target"], strength)
  if path == "pixels":
    data, report = encoder.compress(reference, block_map, options)
  else:
    source = image_io.decode_image((folder / "source.jpg").read_bytes())
    data, report = encoder.compress_decoded(source, block_map, options)
  ours = _scores(reference, turbo.decode(data), block_map, _density(folder, name, photo))
  return {
    "set": set_name,
    "image": name,
    "path": path,
    "quality": int(quality),
    "strength": strength,
    "bytes": len(data),
    "target": peers["target"],
    "knob": report.quality,
    **{f"ours_{k}": v for k, v in ours.items()},
    **{f"{peer}_{k}": peers[peer].get(k, np.nan) for peer in PEERS for k in ours},
  }


def _jobs() -> list[Job]:
  strengths = sorted({0.0, *map(float, _STRENGTHS.value)})
  jobs = []
  for spec in _SETS.value:
    set_name, _, folder = spec.partition("=")
    photos = [str(p) for p in files.list_images([folder])]
    for photo in corpus.select(set_name, photos, _SPLIT.value):
      if _MIN_SHORT_SIDE.value and min(image_io.image_size(photo)) < _MIN_SHORT_SIDE.value:
        continue
      for path in _PATHS.value:
        for quality in _QUALITIES.value:
          for strength in strengths:
            jobs.append((set_name, pathlib.Path(photo).stem, photo, path, int(quality), strength))
  return jobs


def _table(rows: list[dict]) -> str:
  groups = collections.defaultdict(list)
  for row in frontier.with_controls(rows):
    groups[row["set"], row["path"], row["strength"], row["quality"]].append(row)
  lines = [
    "| set | path | strength | Q | photos | "
    + " | ".join(t for _, t, _ in frontier.COLUMNS)
    + " |",
    "|---|---|---|---|---|" + "---|" * len(frontier.COLUMNS),
  ]
  for (set_name, path, strength, quality), group in sorted(groups.items()):
    cells = " | ".join(frontier.cells(frontier.summary(group)))
    lines.append(f"| {set_name} | {path} | {strength:g} | {quality} | {len(group)} | {cells} |")
  return "\n".join(lines)


def _init_worker(argv: list[str]) -> None:
  flags.FLAGS(argv)
  os.nice(5)


def main(argv: list[str]) -> None:
  del argv
  unknown = set(_PATHS.value) - set(PATHS)
  if unknown:
    raise app.UsageError(f"--paths: unknown {', '.join(sorted(unknown))}; choose from {PATHS}")
  jobs = _jobs()
  if not jobs:
    raise app.UsageError("no images: give --set NAME=FOLDER with images of the split")
  _options(1, 1.0)  # Bad overrides fail before any work.
  model = saliency_model.load_model()
  for set_name, name, photo in dict.fromkeys(job[:3] for job in jobs):
    _prepare(set_name, name, photo, model)
  context = multiprocessing.get_context("spawn")
  with context.Pool(_WORKERS.value, initializer=_init_worker, initargs=(sys.argv,)) as pool:
    rows = pool.map(_run, jobs, chunksize=2)
  if _OUTPUT.value:
    files.write_atomic(pathlib.Path(_OUTPUT.value), json.dumps(rows).encode())
  print(_table(rows))


if __name__ == "__main__":
  app.run(main)
