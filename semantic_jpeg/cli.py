"""`semantic-jpeg`: the command line (absl flags).

  semantic-jpeg compress INPUT... (--output FILE | --output_dir DIR) [rate flags] [--json]
  semantic-jpeg saliency IMAGE... --output_dir DIR [--json]

Folders and globs are accepted. A bad file is reported on one line and skipped; the exit
status is 2 when anything failed (bad flags included), 0 otherwise.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Before TensorFlow is imported.

# pylint: disable=g-import-not-at-top,wrong-import-position
import json
import pathlib
import sys
import time
from typing import Callable, Iterable

from absl import app
from absl import flags
import numpy as np
import tqdm

from semantic_jpeg import encoder
from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg import plan
from semantic_jpeg import roi
from semantic_jpeg import saliency
from semantic_jpeg import serving_client
from semantic_jpeg import visualize

FLAGS = flags.FLAGS
_PROGRESS_MIN_FILES = 4

flags.DEFINE_string("output_dir", None, "Folder for the outputs (created if missing).")
flags.DEFINE_string("output", None, "compress: output JPEG file (one input only).")
flags.DEFINE_bool("overwrite", False, "compress: allow the output to replace the input file.")
flags.DEFINE_float("quality", None,
                   "compress: quality knob (1..100; fractional except for composite).",
                   lower_bound=1.0, upper_bound=100.0)
flags.DEFINE_integer("target_size", None, "compress: output size limit in bytes.",
                     lower_bound=1)
flags.DEFINE_integer("match_jpeg_quality", None,
                     "compress: target the size of OpenCV's JPEG at this quality.",
                     lower_bound=1, upper_bound=100)
flags.DEFINE_enum("encoder", "trellis", encoder.MODES,
                  "compress: 'trellis' (saliency-weighted trellis quantization), 'dct' (per-block "
                  "dead zone, fastest) or 'composite' (the paper's method).")
flags.DEFINE_float("strength", 1.0,
                   "compress, --encoder trellis: how strongly the map moves bits (0 ignores it).",
                   lower_bound=0.0, upper_bound=encoder.MAX_STRENGTH)
flags.DEFINE_bool("progressive", False,
                  "compress: progressive scans (smaller, so better at a size target) instead of "
                  "baseline.")
flags.DEFINE_enum("policy", "continuous", list(plan.POLICIES), "compress: map-to-quality policy.")
flags.DEFINE_multi_string("policy_param", [], "compress: policy parameter NAME=VALUE.")
flags.DEFINE_enum("subsampling", "420", ["420", "444"], "compress: chroma subsampling.")
flags.DEFINE_string("map", None, "compress: precomputed saliency map (grayscale image, one input).")
flags.DEFINE_multi_string("roi", [], "compress: salient box x,y,w,h in pixels (repeatable).")
flags.DEFINE_string("roi_mask", None, "compress: grayscale mask merged into the map (one input).")
flags.DEFINE_string("saliency_server", None,
                    "compress: get maps from TF Serving: http://HOST:PORT (REST) or HOST:PORT "
                    "(gRPC) instead of the local model.")
flags.DEFINE_string("saliency_model_name", serving_client.DEFAULT_MODEL_NAME,
                    "compress: model name on the saliency server.")
flags.DEFINE_float("saliency_timeout", serving_client.DEFAULT_TIMEOUT_S,
                   "compress: seconds to wait for the saliency server.", lower_bound=0.1)
flags.DEFINE_integer("saliency_batch", 8, "compress: images per saliency server request.",
                     lower_bound=1)
flags.DEFINE_bool("save_map", False, "compress: also write OUTPUT_map.png.")
flags.DEFINE_bool("save_overlay", False, "compress: also write OUTPUT_overlay.png.")
flags.DEFINE_bool("json", False, "Print one JSON object per image instead of text.")
flags.DEFINE_integer("max_pixels", image_io.DEFAULT_MAX_PIXELS,
                     "Refuse images with more pixels than this, before decoding.", lower_bound=1)
flags.DEFINE_integer("top_k", saliency.SaliencyOptions.top_k,
                     "Number of classes whose activation maps make the map.",
                     lower_bound=1, upper_bound=1000)
flags.DEFINE_enum("combine", "sum", saliency.COMBINE_MODES,
                  "How the top-k class maps are combined.")
flags.DEFINE_integer("max_side", saliency.SaliencyOptions.max_side,
                     "Long side (pixels) the image is scaled to for the model, at most.",
                     lower_bound=32)
flags.DEFINE_float("face_weight", saliency.SaliencyOptions.face_weight,
                   "Peak of the face prior in the map.", lower_bound=0.0, upper_bound=1.0)
flags.DEFINE_bool("faces", True, "Merge the face prior into the map.")
flags.DEFINE_string("weights", None,
                    "Weights written by tools/train.py (the .weights.h5 file or its folder) "
                    "instead of the ImageNet ones.")
flags.DEFINE_float("threshold", saliency.SaliencyOptions.threshold,
                   "Map value at and above which a block counts as salient.",
                   lower_bound=0.0, upper_bound=1.0)


class UsageError(errors.SemanticJpegError):
  """The command line itself is wrong."""


def saliency_options_from_flags() -> saliency.SaliencyOptions:
  return saliency.SaliencyOptions(
      top_k=FLAGS.top_k, max_side=FLAGS.max_side,
      face_weight=FLAGS.face_weight if FLAGS.faces else 0.0, threshold=FLAGS.threshold)


def _load_model() -> saliency.MSROIModel:
  try:
    return saliency.load_model(faces=FLAGS.faces, combine=FLAGS.combine, weights=FLAGS.weights)
  except errors.WeightsError as e:
    raise UsageError(str(e)) from None


def _progress(paths: list[pathlib.Path]) -> Iterable[pathlib.Path]:
  """A progress bar on stderr for more than a few files."""
  if len(paths) < _PROGRESS_MIN_FILES:
    return paths
  return tqdm.tqdm(paths, unit="image", file=sys.stderr, dynamic_ncols=True)


def _for_each_image(paths: list[pathlib.Path],
                    process: Callable[[pathlib.Path], None]) -> int:
  """Runs `process` on each path, reporting and counting failures; returns the count."""
  failures = 0
  for path in _progress(paths):
    try:
      process(path)
    except errors.SemanticJpegError as e:
      failures += 1
      tqdm.tqdm.write(f"error: {e}", file=sys.stderr)
  return failures


def _output_dir(missing: str = "--output_dir is required") -> pathlib.Path:
  if not FLAGS.output_dir:
    raise UsageError(missing)
  directory = pathlib.Path(FLAGS.output_dir)
  try:
    directory.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise UsageError(f"cannot create --output_dir {directory}: {e.strerror}") from None
  return directory


def _describe(path: pathlib.Path, image: image_io.DecodedImage, result: saliency.SaliencyResult,
              outputs: dict[str, str], class_names: tuple[str, ...]) -> dict:
  """The JSON record of one image's saliency."""
  return {
      "file": str(path),
      "width": image.width,
      "height": image.height,
      "top_classes": [
          {"id": int(c), "name": class_names[int(c)], "score": round(float(s), 4)}
          for c, s in zip(result.top_classes, result.top_scores)],
      "map": {"mean": round(float(result.block_map.mean()), 4),
              "max": round(float(result.block_map.max()), 4),
              "salient_fraction": round(result.salient_fraction, 4),
              "threshold": result.threshold},
      "faces": [{"box_xywh": [round(float(x), 1) for x in (b[1], b[0], b[3] - b[1], b[2] - b[0])],
                 "score": round(float(s), 3)}
                for b, s in zip(result.face_boxes, result.face_scores)],
      "outputs": outputs,
  }


def _print_text(record: dict) -> None:
  tqdm.tqdm.write(f"{record['file']} ({record['width']}x{record['height']}, "
                  f"{len(record['faces'])} face(s), "
                  f"{record['map']['salient_fraction']:.0%} of blocks salient)")
  for rank, entry in enumerate(record["top_classes"], 1):
    tqdm.tqdm.write(f"  {rank}. {entry['name']} ({entry['id']}): {entry['score']:.3f}")


def run_saliency(inputs: list[str]) -> int:
  """`semantic-jpeg saliency`: map and overlay PNGs, and the top classes, per image."""
  paths = image_io.list_images(inputs)
  if not paths:
    raise UsageError("no input images")
  output_dir = _output_dir()
  model, options = _load_model(), saliency_options_from_flags()

  def process(path: pathlib.Path) -> None:
    image = image_io.read_image(path, FLAGS.max_pixels)
    result = saliency.compute_map(model, image.rgb, options)
    outputs = {"map": str(output_dir / f"{path.stem}_map.png"),
               "overlay": str(output_dir / f"{path.stem}_overlay.png")}
    image_io.write_atomic(outputs["map"],
                          image_io.encode_png(visualize.map_to_gray(result.pixel_map)))
    image_io.write_atomic(outputs["overlay"], image_io.encode_png(
        visualize.overlay(image.rgb, result.pixel_map)))
    record = _describe(path, image, result, outputs, model.class_names)
    if FLAGS.json:
      tqdm.tqdm.write(json.dumps(record))
    else:
      _print_text(record)

  return _for_each_image(paths, process)


def encoder_options_from_flags() -> encoder.EncoderOptions:
  """EncoderOptions from the compress flags; a bad combination is a UsageError."""
  params = dict(_policy_param(text) for text in FLAGS.policy_param)
  try:
    return encoder.EncoderOptions(
        mode=FLAGS.encoder, policy=FLAGS.policy, policy_params=params,
        subsampling=FLAGS.subsampling, quality=FLAGS.quality, target_size=FLAGS.target_size,
        match_jpeg_quality=FLAGS.match_jpeg_quality, progressive=FLAGS.progressive,
        strength=FLAGS.strength)
  except errors.EncodeError as e:
    raise UsageError(str(e)) from None


def _policy_param(text: str) -> tuple[str, float]:
  name, _, value = text.partition("=")
  try:
    return name, float(value)
  except ValueError:
    raise UsageError(f"--policy_param {text!r} is not NAME=NUMBER") from None


def _roi_boxes() -> list[tuple[int, int, int, int]]:
  try:
    return [roi.parse_box(text) for text in FLAGS.roi]
  except errors.EncodeError as e:
    raise UsageError(str(e)) from None


def _output_paths(inputs: list[pathlib.Path]) -> list[pathlib.Path]:
  """One output JPEG per input, from --output or --output_dir."""
  if FLAGS.output and FLAGS.output_dir:
    raise UsageError("set only one of --output and --output_dir")
  single = [name for name, value in (("--output", FLAGS.output), ("--map", FLAGS.map),
                                     ("--roi_mask", FLAGS.roi_mask)) if value]
  if single and len(inputs) != 1:
    raise UsageError(f"{', '.join(single)} take(s) exactly one input, got {len(inputs)}")
  if FLAGS.output:
    output = pathlib.Path(FLAGS.output)
    if not output.parent.is_dir():
      raise UsageError(f"--output folder {output.parent} does not exist")
    return [output]
  directory = _output_dir("--output or --output_dir is required")
  outputs = [directory / f"{path.stem}.jpg" for path in inputs]
  if len(set(outputs)) != len(outputs):
    raise UsageError("inputs with the same name would share an output in --output_dir")
  return outputs


def _check_not_input(path: pathlib.Path, output: pathlib.Path) -> None:
  if output.exists() and output.resolve() == path.resolve() and not FLAGS.overwrite:
    raise errors.SemanticJpegError(
        f"{output}: is the input file; pass --overwrite to replace it")


def _side_outputs(output: pathlib.Path, image: image_io.DecodedImage,
                  pixel_map: np.ndarray) -> dict[str, str]:
  """Writes the map and overlay PNGs that --save_map / --save_overlay ask for."""
  written = {}
  if FLAGS.save_map:
    written["map"] = str(output.with_name(f"{output.stem}_map.png"))
    image_io.write_atomic(written["map"], image_io.encode_png(visualize.map_to_gray(pixel_map)))
  if FLAGS.save_overlay:
    written["overlay"] = str(output.with_name(f"{output.stem}_overlay.png"))
    image_io.write_atomic(written["overlay"],
                          image_io.encode_png(visualize.overlay(image.rgb, pixel_map)))
  return written


def _compress_record(path: pathlib.Path, output: pathlib.Path, image: image_io.DecodedImage,
                     report: encoder.EncodeReport, saliency_ms: float) -> dict:
  """The JSON record of one compressed file."""
  bytes_in = path.stat().st_size
  return {
      "file": str(path), "output": str(output), "width": image.width, "height": image.height,
      "bytes_in": bytes_in, "bytes_out": report.size,
      "ratio": round(bytes_in / report.size, 3), "target_size": report.target_size,
      "target_met": report.target_met, "quality": round(report.quality, 3),
      "quality_shares": {str(q): round(share, 4) for q, share in report.quality_shares.items()},
      "encoder": FLAGS.encoder, "policy": FLAGS.policy, "steps": report.steps,
      "timings_ms": {"saliency": round(saliency_ms, 1),
                     **{k: round(v, 1) for k, v in report.timings_ms.items()}},
  }


MapMaker = Callable[[list[image_io.DecodedImage]], list[np.ndarray]]


class MapSource:
  """Decoded images and their pixel maps, made in batches (one server request per batch).

  `make_maps` turns a list of decoded images into their maps; a failure to decode one file,
  or of a whole batch's request, is raised when that file's turn comes.
  """

  def __init__(self, paths: list[pathlib.Path], batch: int, make_maps: MapMaker):
    self._paths, self._batch, self._make_maps = paths, batch, make_maps
    self._index = {path: i for i, path in enumerate(paths)}
    self._ready: dict[pathlib.Path, tuple | errors.SemanticJpegError] = {}

  def get(self, path: pathlib.Path) -> tuple[image_io.DecodedImage, np.ndarray, float]:
    """(image, pixel map, milliseconds spent on its map)."""
    if path not in self._ready:
      self._fill(self._paths[self._index[path]:self._index[path] + self._batch])
    result = self._ready.pop(path)
    if isinstance(result, errors.SemanticJpegError):
      raise result
    return result

  def _fill(self, batch: list[pathlib.Path]) -> None:
    images = {}
    for path in batch:
      try:
        images[path] = image_io.read_image(path, FLAGS.max_pixels)
      except errors.ImageError as e:
        self._ready[path] = e
    start = time.perf_counter()
    try:
      maps = self._make_maps(list(images.values())) if images else []
    except errors.SemanticJpegError as e:
      self._ready.update((path, e) for path in images)
      return
    milliseconds = 1e3 * (time.perf_counter() - start) / max(len(images), 1)
    for (path, image), pixel_map in zip(images.items(), maps):
      self._ready[path] = (image, pixel_map, milliseconds)


def _read_gray_flag(path: str) -> np.ndarray:
  """A --map or --roi_mask file; a bad one is a UsageError."""
  try:
    return image_io.read_gray(path, FLAGS.max_pixels)
  except errors.ImageError as e:
    raise UsageError(str(e)) from None


def _map_maker() -> tuple[MapMaker, int]:
  """How compress gets pixel maps (--map, a saliency server or the local model), batch size.

  Model and server maps are block maps spread over the pixels, so that both give the
  encoder exactly the same input.
  """
  if FLAGS.map:
    values = _read_gray_flag(FLAGS.map)
    return (lambda images: [roi.fit_map(values, image.height, image.width)
                            for image in images]), 1
  if FLAGS.saliency_server:
    try:
      client = serving_client.connect(FLAGS.saliency_server, FLAGS.saliency_model_name,
                                      FLAGS.saliency_timeout)
    except errors.ServingError as e:
      raise UsageError(str(e)) from None

    def from_server(images: list[image_io.DecodedImage]) -> list[np.ndarray]:
      answers = client.maps([image.rgb for image in images])
      return [plan.pixel_saliency(answer.block_map, image.height, image.width)
              for image, answer in zip(images, answers)]

    return from_server, FLAGS.saliency_batch
  model, options = _load_model(), saliency_options_from_flags()

  def from_model(images: list[image_io.DecodedImage]) -> list[np.ndarray]:
    return [plan.pixel_saliency(saliency.compute_map(model, image.rgb, options).block_map,
                                image.height, image.width) for image in images]

  return from_model, 1


def run_compress(inputs: list[str]) -> int:
  """`semantic-jpeg compress`: one semantic JPEG per input image."""
  paths = image_io.list_images(inputs)
  if not paths:
    raise UsageError("no input images")
  options, boxes = encoder_options_from_flags(), _roi_boxes()
  outputs = dict(zip(paths, _output_paths(paths)))
  make_maps, batch = _map_maker()
  maps = MapSource(paths, batch, make_maps)
  mask = _read_gray_flag(FLAGS.roi_mask) if FLAGS.roi_mask else None
  records = []

  def process(path: pathlib.Path) -> None:
    output = outputs[path]
    _check_not_input(path, output)
    image, pixel_map, saliency_ms = maps.get(path)
    if mask is not None:
      pixel_map = roi.merge_mask(pixel_map, mask)
    pixel_map = roi.merge_boxes(pixel_map, boxes)
    data, report = encoder.compress_decoded(image, pixel_map, options)
    image_io.write_atomic(output, data)
    record = _compress_record(path, output, image, report, saliency_ms)
    record["outputs"] = _side_outputs(output, image, pixel_map)
    records.append(record)
    tqdm.tqdm.write(json.dumps(record) if FLAGS.json else
                    f"{path} -> {output}: {report.size} bytes ({record['ratio']:.2f}x), "
                    f"quality {report.quality:.1f}" +
                    ("" if report.target_met else f" (target {report.target_size} not met)"))

  failures = _for_each_image(paths, process)
  _print_summary(records, failures)
  return failures


def _print_summary(records: list[dict], failures: int) -> None:
  bytes_in = sum(r["bytes_in"] for r in records)
  bytes_out = sum(r["bytes_out"] for r in records)
  ratio = np.mean([r["ratio"] for r in records]) if records else 0.0
  print(f"compressed {len(records)} file(s), {failures} failed: {bytes_in} bytes in, "
        f"{bytes_out} bytes out, mean ratio {ratio:.2f}",
        file=sys.stderr if FLAGS.json else sys.stdout)


COMMANDS = {"compress": run_compress, "saliency": run_saliency}


def main(argv: list[str]) -> int:
  try:
    if len(argv) < 2 or argv[1] not in COMMANDS:
      raise UsageError(f"usage: semantic-jpeg {{{','.join(COMMANDS)}}} IMAGE... [flags]")
    failures = COMMANDS[argv[1]](argv[2:])
  except UsageError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 2 if failures else 0


def _parse_flags(argv: list[str]) -> list[str]:
  """absl flag parsing that reports a bad flag on one line and exits with status 2."""
  try:
    return FLAGS(argv)
  except flags.Error as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)


def run() -> None:
  """Console-script entry point."""
  app.run(lambda argv: sys.exit(main(argv)), flags_parser=_parse_flags)


if __name__ == "__main__":
  run()
