"""Equal-size comparisons of semantic_jpeg with other JPEG encoders, image by image.

For each image and target quality Q, the target size is libjpeg-turbo's (OpenCV's) file at Q, and
every encoder is rate-matched to at most that size:

- `turbo`: libjpeg-turbo itself, the target.
- `uniform`: our default encoder with the `uniform` policy: the control that has our trellis,
  tables and optimized Huffman tables but ignores the map, so that their gain is not credited
  to saliency.
- `composite`: the paper's method (stitch qualities 10..100, re-encode), its default policy.
- `dct`: our fast mode (per-block dead zone, `continuous` policy).
- `semantic`: semantic_jpeg's default (`trellis` mode, `continuous` policy, progressive output).
- `baseline`: the same with baseline output.
- `mozjpeg`, `jpegli`: the best JPEG encoders in use (see `baselines`).

Every file is decoded by OpenCV and scored with `metrics.full_reference` against the original
(photos larger than `Settings.max_side` are area-downscaled first), with the salient blocks (the
map's top quarter) and the map from the model on the original; where `butteraugli_main` is
installed, Butteraugli's 3-norm and its distance map's 3-norm weighted by the map and, where a
fixations file is given, by the fixation density (the gaze-weighted Butteraugli); PSNR-HVS-M and
SSIMULACRA 2 over the fixation density's top quarter of blocks where a fixations file is given;
and for semantic consistency the model classifies the decoded image too. Images are evaluated in
parallel worker processes, each loading the model once.
"""

from collections.abc import Iterable
from collections.abc import Iterator
import dataclasses
import multiprocessing
import os
import time
from typing import Any

import cv2
import numpy as np

from semantic_jpeg import blocks
from semantic_jpeg import image_io
from semantic_jpeg.codec import encoder
from semantic_jpeg.codec import ssimulacra2
from semantic_jpeg.codec import turbo
from semantic_jpeg.evaluation import baselines
from semantic_jpeg.evaluation import butteraugli
from semantic_jpeg.evaluation import fixations as fixations_lib
from semantic_jpeg.evaluation import metrics
from semantic_jpeg.saliency import model as saliency
from semantic_jpeg.saliency.options import SaliencyOptions

MAX_SIDE = 1024  # Larger photos are area-downscaled to this long side first (scene_fixations).
ENCODERS = ("turbo", "uniform", "composite", "dct", "semantic", "baseline", "mozjpeg", "jpegli")
SALIENT_SHARE = 0.25  # The map's top quarter of blocks counts as salient.
PAPER_POLICY = "two_level_high_coverage"  # The paper's default mixing model.

Image = tuple[str, np.ndarray | str]  # (name, RGB pixels or a file path)


@dataclasses.dataclass(frozen=True)
class Settings:
  """What to evaluate.

  qualities: libjpeg-turbo qualities whose sizes are the targets.
  encoders: names from ENCODERS.
  slow_metrics: also compute VIFP and MS-SSIM (about 1 s per file).
  weights: weights from tools/train.py for the map model (default: ImageNet).
  max_side: larger photos are area-downscaled to this long side first.
  fixations: a fixations CSV (image, viewer, y, x, ...: scene_fixations' layout) for the
    fixation-density salient region, or None.
  source_quality: None: each photo's pixels are the input (the pixel path, as for PNG inputs);
    Q: the input is libjpeg-turbo's JPEG of them at quality Q, which our encoders requantize in
    the coefficient domain (the path JPEG inputs take) and the peers decode and re-encode; what it
    decodes to is the reference.
  """

  qualities: tuple[int, ...] = (50,)
  encoders: tuple[str, ...] = ENCODERS
  slow_metrics: bool = True
  weights: str | None = None
  max_side: int = MAX_SIDE
  fixations: str | None = None
  source_quality: int | None = None


@dataclasses.dataclass
class ImageResult:
  """One image's rows (one per encoder and quality) and the map they were scored with."""

  name: str
  rows: list[dict[str, Any]]
  block_map: np.ndarray


def load_image(source: np.ndarray | str, max_side: int = MAX_SIDE) -> np.ndarray:
  """RGB pixels of a file (decoded; a JPEG's decoded pixels are its reference) or an array,
  area-downscaled so that the long side is at most `max_side`."""
  rgb = image_io.read_image(source).rgb if isinstance(source, str) else source
  height, width = rgb.shape[:2]
  if max(height, width) <= max_side:
    return rgb
  scale = max_side / max(height, width)
  size = (max(1, round(width * scale)), max(1, round(height * scale)))
  return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def salient_blocks(block_map: np.ndarray, share: float = SALIENT_SHARE) -> np.ndarray:
  """The blocks in the map's top `share`, as a boolean grid."""
  return blocks.top_share(block_map, share)


def _encode(
  name: str,
  rgb: np.ndarray,
  block_map: np.ndarray,
  target: int,
  quality: int,
  source: image_io.DecodedImage | None,
) -> tuple[bytes, float, bool]:
  """(file, knob, target met) of one encoder at the target size; ours on `source`'s coefficients
  where it is a JPEG input (`Settings.source_quality`)."""
  if name in baselines.ENCODERS:
    result = baselines.rate_matched(name, rgb, target, guess=quality)
    return result.data, result.quality, result.met
  options = {
    "uniform": dict(policy="uniform"),
    "composite": dict(mode="composite", policy=PAPER_POLICY),
    "dct": dict(mode="dct"),
    "semantic": {},
    "baseline": dict(progressive=False),
  }[name]
  options = encoder.EncoderOptions(target_size=target, allow_larger=True, **options)
  if source is None:
    data, report = encoder.compress(rgb, block_map, options)
  else:
    data, report = encoder.compress_decoded(source, block_map, options)
  return data, report.quality, report.target_met


def _salient_cuts(rgb: np.ndarray, decoded: np.ndarray, block_map: np.ndarray) -> dict[str, float]:
  """PSNR-HVS-M over the map's top 10 % and top 50 % of blocks: a gain must not hinge on a cut."""
  return {
    f"salient_psnr_hvsm_top{round(100 * share)}": metrics.salient_psnr_hvsm(
      rgb, decoded, salient_blocks(block_map, share)
    )
    for share in (0.1, 0.5)
  }


def _semantic_consistency(
  model: saliency.MSROIModel, original: saliency.SaliencyResult, decoded: np.ndarray
) -> dict[str, float]:
  """Whether the model still sees the same classes in the decoded image."""
  classes = saliency.compute_map(model, decoded, SaliencyOptions(face_weight=0.0))
  return {
    "top1_same": float(classes.top_classes[0] == original.top_classes[0]),
    "top5_overlap": (
      len(set(classes.top_classes) & set(original.top_classes)) / len(original.top_classes)
    ),
  }


def _extra_scores(
  rgb: np.ndarray,
  decoded: np.ndarray,
  block_map: np.ndarray,
  density: np.ndarray | None,
  fixated: np.ndarray | None,
  prepared: ssimulacra2.Reference,
) -> dict[str, float]:
  """Butteraugli (where installed): the 3-norm, and its distance map's 3-norm weighted by the
  map (`map_butteraugli`) and by the fixation density (`gaze_butteraugli`, if known);
  PSNR-HVS-M and SSIMULACRA 2 where people looked (`fixated`: the density's top quarter of
  blocks)."""
  scores = {}
  if butteraugli.available():
    whole, mapped, gaze = butteraugli.region_norms(rgb, decoded, block_map, density)
    scores["butteraugli_pnorm3"], scores["map_butteraugli"] = whole, mapped
    if gaze is not None:
      scores["gaze_butteraugli"] = gaze
  if fixated is not None:
    scores["fixation_psnr_hvsm"] = metrics.salient_psnr_hvsm(rgb, decoded, fixated)
    scores["fixation_ssimulacra2"] = metrics.salient_ssimulacra2(rgb, decoded, fixated, prepared)
  return scores


def evaluate_image(model: saliency.MSROIModel, image: Image, settings: Settings) -> ImageResult:
  """All encoders at all target qualities on one image."""
  name, source = image
  original_rgb = image_io.read_image(source).rgb if isinstance(source, str) else source
  rgb = load_image(original_rgb, settings.max_side)
  source = None
  if settings.source_quality is not None:
    source = image_io.decode_image(turbo.encode(rgb, settings.source_quality, "420"), name)
    rgb = source.rgb
  original = saliency.compute_map(model, rgb)
  salient = salient_blocks(original.block_map)
  density = fixated = None
  if settings.fixations:
    fixations = fixations_lib.for_image(settings.fixations, name, *original_rgb.shape[:2])
    scaled = fixations.scaled(*rgb.shape[:2])
    density = fixations_lib.density_map(scaled.ys, scaled.xs, scaled.shape)
    fixated = fixations_lib.dense_blocks(density)
  prepared = metrics.prepare_ssimulacra2(rgb)  # Once for every encode's three scores.
  rows = []
  for quality in settings.qualities:
    target = turbo.jpeg_size(rgb, quality)
    for encoder_name in settings.encoders:
      start = time.perf_counter()
      data, knob, met = _encode(encoder_name, rgb, original.block_map, target, quality, source)
      encode_ms = 1e3 * (time.perf_counter() - start)
      decoded = turbo.decode(data)
      rows.append(
        {
          "image": name,
          "encoder": encoder_name,
          "quality": quality,
          "target_bytes": target,
          "bytes": len(data),
          "bpp": 8.0 * len(data) / (rgb.shape[0] * rgb.shape[1]),
          "size_ratio": len(data) / target,
          "rate_matched": met,
          "knob": knob,
          "encode_ms": encode_ms,
          **metrics.full_reference(
            rgb,
            decoded,
            salient_blocks=salient,
            block_map=original.block_map,
            slow=settings.slow_metrics,
            prepared=prepared,
          ),
          **_salient_cuts(rgb, decoded, original.block_map),
          **_extra_scores(rgb, decoded, original.block_map, density, fixated, prepared),
          **_semantic_consistency(model, original, decoded),
        }
      )
  return ImageResult(name, rows, original.block_map)


_worker_model: saliency.MSROIModel | None = None
_worker_settings: Settings | None = None


def _init_worker(settings: Settings) -> None:
  """Loads the model once per worker process, with one thread per process."""
  global _worker_model, _worker_settings
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  tf.config.threading.set_intra_op_parallelism_threads(1)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  _worker_model, _worker_settings = saliency.load_model(weights=settings.weights), settings


def _evaluate_in_worker(image: Image) -> ImageResult:
  return evaluate_image(_worker_model, image, _worker_settings)


def evaluate(
  images: Iterable[Image], settings: Settings, *, workers: int = 1
) -> Iterator[ImageResult]:
  """Evaluates images, in this process (workers=1) or in worker processes, as they finish."""
  if workers <= 1:
    model = saliency.load_model(weights=settings.weights)
    for image in images:
      yield evaluate_image(model, image, settings)
    return
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  context = multiprocessing.get_context("spawn")  # TensorFlow does not survive fork.
  with context.Pool(workers, initializer=_init_worker, initargs=(settings,)) as pool:
    yield from pool.imap_unordered(_evaluate_in_worker, images)
