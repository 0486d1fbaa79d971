"""`semantic-jpeg`: the command line, one subcommand per job.

  semantic-jpeg compress INPUT... (--output FILE | --output_dir DIR) [rate flags] [--json]
  semantic-jpeg saliency IMAGE... --output_dir DIR [--json]

Folders and globs are accepted. A bad file is reported on one line and skipped; the exit
status is 2 when anything failed (bad flags included), 0 otherwise. The encoder and the map
model are imported only by the commands that use them.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Before TensorFlow is imported.

# pylint: disable=g-import-not-at-top,wrong-import-position
import argparse
from collections.abc import Callable
from collections.abc import Iterable
import json
import pathlib
import sys

from absl import app
import numpy as np
import tqdm

from semantic_jpeg import arguments
from semantic_jpeg import errors
from semantic_jpeg import files
from semantic_jpeg import image_io
from semantic_jpeg.arguments import UsageError
from semantic_jpeg.evaluation import visualize
from semantic_jpeg.saliency import roi
from semantic_jpeg.saliency import sources

_PROGRESS_MIN_FILES = 4


def _progress(paths: list[pathlib.Path]) -> Iterable[pathlib.Path]:
  """A progress bar on stderr for more than a few files."""
  if len(paths) < _PROGRESS_MIN_FILES:
    return paths
  return tqdm.tqdm(paths, unit="image", file=sys.stderr, dynamic_ncols=True)


def _for_each_image(paths: list[pathlib.Path], process: Callable[[pathlib.Path], None]) -> int:
  """Runs `process` on each path, reporting and counting failures; returns the count."""
  failures = 0
  for path in _progress(paths):
    try:
      process(path)
    except errors.SemanticJpegError as e:
      failures += 1
      tqdm.tqdm.write(f"error: {e}", file=sys.stderr)
  return failures


def _output_dir(directory: str) -> pathlib.Path:
  path = pathlib.Path(directory)
  try:
    path.mkdir(parents=True, exist_ok=True)
  except OSError as e:
    raise UsageError(f"cannot create --output_dir {path}: {e.strerror}") from None
  return path


def _inputs(inputs: list[str]) -> list[pathlib.Path]:
  paths = files.list_images(inputs)
  if not paths:
    raise UsageError("no input images")
  return paths


def _local_maps(args: argparse.Namespace) -> sources.MapMaker:
  try:
    return sources.from_model(arguments.model_arguments(args), arguments.saliency_options(args))
  except errors.WeightsError as e:
    raise UsageError(str(e)) from None


def _describe(
  path: pathlib.Path,
  image: image_io.DecodedImage,
  result,
  outputs: dict[str, str],
  class_names: tuple[str, ...],
) -> dict:
  """The JSON record of one image's saliency (`result` is a `model.SaliencyResult`)."""
  return {
    "file": str(path),
    "width": image.width,
    "height": image.height,
    "top_classes": [
      {"id": int(c), "name": class_names[int(c)], "score": round(float(s), 4)}
      for c, s in zip(result.top_classes, result.top_scores)
    ],
    "map": {
      "mean": round(float(result.block_map.mean()), 4),
      "max": round(float(result.block_map.max()), 4),
      "salient_fraction": round(result.salient_fraction, 4),
      "threshold": result.threshold,
    },
    "faces": [
      {
        "box_xywh": [round(float(x), 1) for x in (b[1], b[0], b[3] - b[1], b[2] - b[0])],
        "score": round(float(s), 3),
      }
      for b, s in zip(result.face_boxes, result.face_scores)
    ],
    "outputs": outputs,
  }


def _print_text(record: dict) -> None:
  tqdm.tqdm.write(
    f"{record['file']} ({record['width']}x{record['height']}, "
    f"{len(record['faces'])} face(s), "
    f"{record['map']['salient_fraction']:.0%} of blocks salient)"
  )
  for rank, entry in enumerate(record["top_classes"], 1):
    tqdm.tqdm.write(f"  {rank}. {entry['name']} ({entry['id']}): {entry['score']:.3f}")


def run_saliency(args: argparse.Namespace) -> int:
  """`semantic-jpeg saliency`: map and overlay PNGs, and the top classes, per image."""
  from semantic_jpeg.saliency import model as model_lib

  paths = _inputs(args.inputs)
  output_dir = _output_dir(args.output_dir)
  try:
    model = model_lib.load_model(**arguments.model_arguments(args))
  except errors.WeightsError as e:
    raise UsageError(str(e)) from None
  options = arguments.saliency_options(args)

  def process(path: pathlib.Path) -> None:
    image = image_io.read_image(path, args.max_pixels)
    result = model_lib.compute_map(model, image.rgb, options)
    outputs = {
      "map": str(output_dir / f"{path.stem}_map.png"),
      "overlay": str(output_dir / f"{path.stem}_overlay.png"),
    }
    files.write_atomic(outputs["map"], image_io.encode_png(visualize.map_to_gray(result.pixel_map)))
    files.write_atomic(
      outputs["overlay"], image_io.encode_png(visualize.overlay(image.rgb, result.pixel_map))
    )
    record = _describe(path, image, result, outputs, model.class_names)
    if args.json:
      tqdm.tqdm.write(json.dumps(record))
    else:
      _print_text(record)

  return _for_each_image(paths, process)


def _roi_boxes(args: argparse.Namespace) -> list[tuple[int, int, int, int]]:
  try:
    return [roi.parse_box(text) for text in args.roi]
  except errors.EncodeError as e:
    raise UsageError(str(e)) from None


def _output_paths(args: argparse.Namespace, inputs: list[pathlib.Path]) -> list[pathlib.Path]:
  """One output JPEG per input, from --output or --output_dir."""
  if args.output and args.output_dir:
    raise UsageError("set only one of --output and --output_dir")
  single = [
    name
    for name, value in (
      ("--output", args.output),
      ("--map", args.map),
      ("--roi_mask", args.roi_mask),
    )
    if value
  ]
  if single and len(inputs) != 1:
    raise UsageError(f"{', '.join(single)} take(s) exactly one input, got {len(inputs)}")
  if args.output:
    output = pathlib.Path(args.output)
    if not output.parent.is_dir():
      raise UsageError(f"--output folder {output.parent} does not exist")
    return [output]
  if not args.output_dir:
    raise UsageError("--output or --output_dir is required")
  directory = _output_dir(args.output_dir)
  outputs = [directory / f"{path.stem}.jpg" for path in inputs]
  if len(set(outputs)) != len(outputs):
    raise UsageError("inputs with the same name would share an output in --output_dir")
  return outputs


def _check_not_input(path: pathlib.Path, output: pathlib.Path, overwrite: bool) -> None:
  if output.exists() and output.resolve() == path.resolve() and not overwrite:
    raise errors.SemanticJpegError(f"{output}: is the input file; pass --overwrite to replace it")


def _side_outputs(
  args: argparse.Namespace,
  output: pathlib.Path,
  image: image_io.DecodedImage,
  pixel_map: np.ndarray,
) -> dict[str, str]:
  """Writes the map and overlay PNGs that --save_map / --save_overlay ask for."""
  written = {}
  if args.save_map:
    written["map"] = str(output.with_name(f"{output.stem}_map.png"))
    files.write_atomic(written["map"], image_io.encode_png(visualize.map_to_gray(pixel_map)))
  if args.save_overlay:
    written["overlay"] = str(output.with_name(f"{output.stem}_overlay.png"))
    files.write_atomic(
      written["overlay"], image_io.encode_png(visualize.overlay(image.rgb, pixel_map))
    )
  return written


def _compress_record(
  args: argparse.Namespace,
  path: pathlib.Path,
  output: pathlib.Path,
  image: image_io.DecodedImage,
  report,
  saliency_ms: float,
) -> dict:
  """The JSON record of one compressed file (`report` is an `encoder.EncodeReport`)."""
  bytes_in = path.stat().st_size
  return {
    "file": str(path),
    "output": str(output),
    "width": image.width,
    "height": image.height,
    "bytes_in": bytes_in,
    "bytes_out": report.size,
    "ratio": round(bytes_in / report.size, 3),
    "target_size": report.target_size,
    "target_met": report.target_met,
    "quality": round(report.quality, 3),
    "quality_shares": {str(q): round(share, 4) for q, share in report.quality_shares.items()},
    "encoder": args.encoder,
    "policy": args.policy,
    "steps": report.steps,
    "timings_ms": {
      "saliency": round(saliency_ms, 1),
      **{k: round(v, 1) for k, v in report.timings_ms.items()},
    },
  }


def _read_gray_argument(path: str, max_pixels: int) -> np.ndarray:
  """A --map or --roi_mask file; a bad one is a UsageError."""
  try:
    return image_io.read_gray(path, max_pixels)
  except errors.ImageError as e:
    raise UsageError(str(e)) from None


def _map_maker(args: argparse.Namespace) -> tuple[sources.MapMaker, int]:
  """How compress gets pixel maps (--map, a saliency server or the local model), batch size."""
  if args.map:
    return sources.from_file(_read_gray_argument(args.map, args.max_pixels)), 1
  if args.saliency_server:
    from semantic_jpeg.deploy import serving_client

    try:
      client = serving_client.connect(
        args.saliency_server, args.saliency_model_name, args.saliency_timeout
      )
    except errors.ServingError as e:
      raise UsageError(str(e)) from None
    return sources.from_server(client), args.saliency_batch
  return _local_maps(args), 1


def run_compress(args: argparse.Namespace) -> int:
  """`semantic-jpeg compress`: one semantic JPEG per input image."""
  from semantic_jpeg.codec import encoder

  paths = _inputs(args.inputs)
  options, boxes = arguments.encoder_options(args), _roi_boxes(args)
  outputs = dict(zip(paths, _output_paths(args, paths)))
  make_maps, batch = _map_maker(args)
  maps = sources.MapSource(paths, batch, make_maps, args.max_pixels)
  mask = _read_gray_argument(args.roi_mask, args.max_pixels) if args.roi_mask else None
  records = []

  def process(path: pathlib.Path) -> None:
    output = outputs[path]
    _check_not_input(path, output, args.overwrite)
    image, pixel_map, saliency_ms = maps.get(path)
    if mask is not None:
      pixel_map = roi.merge_mask(pixel_map, mask)
    pixel_map = roi.merge_boxes(pixel_map, boxes)
    data, report = encoder.compress_decoded(image, pixel_map, options)
    files.write_atomic(output, data)
    record = _compress_record(args, path, output, image, report, saliency_ms)
    record["outputs"] = _side_outputs(args, output, image, pixel_map)
    records.append(record)
    tqdm.tqdm.write(
      json.dumps(record)
      if args.json
      else f"{path} -> {output}: {report.size} bytes ({record['ratio']:.2f}x), "
      f"quality {report.quality:.1f}"
      + ("" if report.target_met else f" (target {report.target_size} not met)")
    )

  failures = _for_each_image(paths, process)
  _print_summary(records, failures, args.json)
  return failures


def _print_summary(records: list[dict], failures: int, as_json: bool) -> None:
  bytes_in = sum(r["bytes_in"] for r in records)
  bytes_out = sum(r["bytes_out"] for r in records)
  ratio = np.mean([r["ratio"] for r in records]) if records else 0.0
  print(
    f"compressed {len(records)} file(s), {failures} failed: {bytes_in} bytes in, "
    f"{bytes_out} bytes out, mean ratio {ratio:.2f}",
    file=sys.stderr if as_json else sys.stdout,
  )


def main(args: argparse.Namespace) -> int:
  try:
    failures = {"compress": run_compress, "saliency": run_saliency}[args.command](args)
  except UsageError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  return 2 if failures else 0


def run() -> None:
  """Console-script entry point."""
  app.run(main, flags_parser=arguments.parse_command_line)


if __name__ == "__main__":
  run()
