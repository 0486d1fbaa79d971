"""`semantic-jpeg`: the command line (absl flags).

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
from typing import Callable, Iterable

from absl import app
from absl import flags
import numpy as np
import tqdm

from semantic_jpeg import classes
from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg import saliency
from semantic_jpeg import visualize

FLAGS = flags.FLAGS
_PROGRESS_MIN_FILES = 4

flags.DEFINE_string("output_dir", None, "Folder for the outputs (created if missing).")
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
flags.DEFINE_float("threshold", saliency.SaliencyOptions.threshold,
                   "Map value at and above which a block counts as salient.",
                   lower_bound=0.0, upper_bound=1.0)


class UsageError(errors.SemanticJpegError):
  """The command line itself is wrong."""


def _saliency_options() -> saliency.SaliencyOptions:
  return saliency.SaliencyOptions(
      top_k=FLAGS.top_k, max_side=FLAGS.max_side,
      face_weight=FLAGS.face_weight if FLAGS.faces else 0.0, threshold=FLAGS.threshold)


def _load_model() -> saliency.MSROIModel:
  return saliency.load_model(faces=FLAGS.faces, combine=FLAGS.combine)


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


def _output_dir() -> pathlib.Path:
  if not FLAGS.output_dir:
    raise UsageError("--output_dir is required")
  directory = pathlib.Path(FLAGS.output_dir)
  try:
    directory.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise UsageError(f"cannot create --output_dir {directory}: {e.strerror}") from None
  return directory


def _describe(path: pathlib.Path, image: image_io.DecodedImage,
              result: saliency.SaliencyResult, outputs: dict[str, str]) -> dict:
  """The JSON record of one image's saliency."""
  return {
      "file": str(path),
      "width": image.width,
      "height": image.height,
      "top_classes": [
          {"id": int(c), "name": classes.class_name(int(c)), "score": round(float(s), 4)}
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
  model, options = _load_model(), _saliency_options()

  def process(path: pathlib.Path) -> None:
    image = image_io.read_image(path, FLAGS.max_pixels)
    result = saliency.compute_map(model, image.rgb, options)
    outputs = {"map": str(output_dir / f"{path.stem}_map.png"),
               "overlay": str(output_dir / f"{path.stem}_overlay.png")}
    image_io.write_atomic(outputs["map"],
                          image_io.encode_png(visualize.map_to_gray(result.pixel_map)))
    image_io.write_atomic(outputs["overlay"], image_io.encode_png(
        visualize.overlay(image.rgb, result.pixel_map)))
    record = _describe(path, image, result, outputs)
    if FLAGS.json:
      tqdm.tqdm.write(json.dumps(record))
    else:
      _print_text(record)

  return _for_each_image(paths, process)


COMMANDS = {"saliency": run_saliency}


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
