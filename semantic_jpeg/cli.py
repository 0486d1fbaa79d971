"""`semantic-jpeg`: the command line, one subcommand per job.

  semantic-jpeg compress INPUT... (--output FILE | --output_dir DIR) [rate flags] [--json]
  semantic-jpeg saliency IMAGE... --output_dir DIR [--json]

Folders and globs are accepted. A bad file is reported on one line and skipped, and a
summary line ends the run; the exit status is 2 when anything failed (bad flags included), 130
on Ctrl-C, 0 otherwise. The encoder is imported only by the commands that use it, and
TensorFlow only when the local model makes the maps (not for --help, bad flags, --map or
--saliency_server). Native libraries' log lines (TensorFlow, absl, CUDA) are shown with
--verbose only.
"""

import argparse
import collections
from collections.abc import Callable
import json
import pathlib
import sys

from absl import app
import numpy as np
import threadpoolctl

from semantic_jpeg import arguments
from semantic_jpeg import batch
from semantic_jpeg import blocks
from semantic_jpeg import commands
from semantic_jpeg import errors
from semantic_jpeg import files
from semantic_jpeg import image_io
from semantic_jpeg import records
from semantic_jpeg.arguments import UsageError
from semantic_jpeg.evaluation import visualize
from semantic_jpeg.saliency import roi
from semantic_jpeg.saliency import sources


def _inputs(listing: files.Listing, run: batch.Run) -> list[pathlib.Path]:
  """The input images; what the listing passed over is reported as skipped."""
  for what, reason in listing.skipped:
    run.skip(what, reason)
  if not listing.paths:
    raise UsageError("no input images")
  return listing.paths


def _prepare_folder(folder: str | pathlib.Path) -> pathlib.Path:
  """An output folder that takes files, cleared of our stale temporary files."""
  folder = files.make_output_folder(folder)
  for path in files.remove_stale_temporaries(folder):
    batch.report("removed", f"{path}: stale temporary file of an interrupted run")
  return folder


def _unique_outputs(
  paths: list[pathlib.Path], output_of: Callable[[pathlib.Path], pathlib.Path], run: batch.Run
) -> dict[pathlib.Path, pathlib.Path]:
  """Each input's output; inputs whose outputs would clash fail, each naming the others."""
  sharing = collections.defaultdict(list)
  for path in paths:
    sharing[output_of(path)].append(path)
  for output, clashing in sharing.items():
    if len(clashing) > 1:
      for path in clashing:
        others = ", ".join(str(other) for other in clashing if other != path)
        run.fail(f"{path}: its output {output} would also be written from {others}; rename one")
  return {group[0]: output for output, group in sharing.items() if len(group) == 1}


def _warn(image: image_io.DecodedImage) -> None:
  for warning in image.warnings:
    batch.report("warning", warning)


def _local_maps(args: argparse.Namespace) -> sources.MapMaker:
  try:
    return sources.from_model(
      arguments.model_arguments(args), arguments.saliency_options(args), args.map_runtime
    )
  except errors.WeightsError as e:
    raise UsageError(str(e)) from None


def run_saliency(args: argparse.Namespace) -> batch.Run:
  """`semantic-jpeg saliency`: map and overlay PNGs, and the top classes, per image."""
  from semantic_jpeg.saliency import compiled
  from semantic_jpeg.saliency import model as model_lib

  listing = files.find_images(args.inputs)
  total = len(listing.paths) + len(listing.skipped)
  with batch.Run("mapped", total, args.json) as run:
    paths = _inputs(listing, run)
    folder = _prepare_folder(args.output_dir)
    maps = _unique_outputs(paths, lambda path: folder / f"{path.stem}_map.png", run)
    try:
      model = compiled.load(arguments.model_arguments(args))
    except errors.WeightsError as e:
      raise UsageError(str(e)) from None
    options = arguments.saliency_options(args)

    def process(path: pathlib.Path) -> list[str]:
      image = image_io.read_image(path, args.max_pixels, args.strict)
      _warn(image)
      result = model_lib.compute_map(model, image.rgb, options)
      outputs = {kind: str(folder / f"{path.stem}_{kind}.png") for kind in ("map", "overlay")}
      files.write_atomic(
        outputs["map"], image_io.encode_png(visualize.map_to_gray(result.pixel_map))
      )
      files.write_atomic(
        outputs["overlay"], image_io.encode_png(visualize.overlay(image.rgb, result.pixel_map))
      )
      record = records.saliency_record(path, image, result, outputs, model.class_names)
      return [json.dumps(record)] if args.json else records.saliency_lines(record)

    run.each(list(maps), process)
  return run


def _roi_boxes(args: argparse.Namespace) -> list[tuple[int, int, int, int]]:
  try:
    return [roi.parse_box(text) for text in args.roi]
  except errors.EncodeError as e:
    raise UsageError(str(e)) from None


def _output_paths(
  args: argparse.Namespace, inputs: list[pathlib.Path], run: batch.Run
) -> dict[pathlib.Path, pathlib.Path]:
  """One output JPEG per input, from --output or --output_dir; clashing inputs fail."""
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
    _prepare_folder(output.parent)
    return {inputs[0]: output}
  if not args.output_dir:
    raise UsageError("--output or --output_dir is required")
  folder = _prepare_folder(args.output_dir)
  return _unique_outputs(inputs, lambda path: folder / f"{path.stem}.jpg", run)


def _skip_existing(outputs: dict[pathlib.Path, pathlib.Path], run: batch.Run) -> None:
  """Drops (and reports) the inputs whose output exists already."""
  for path, output in list(outputs.items()):
    if output.exists():
      run.skip(str(path), f"{output} exists (--skip_existing)")
      del outputs[path]


def _check_not_input(path: pathlib.Path, output: pathlib.Path, overwrite: bool) -> None:
  if output.exists() and output.resolve() == path.resolve() and not overwrite:
    raise errors.SemanticJpegError(f"{output}: is the input file; pass --overwrite to replace it")


def _side_outputs(
  args: argparse.Namespace,
  output: pathlib.Path,
  image: image_io.DecodedImage,
  block_map: np.ndarray,
) -> dict[str, str]:
  """Writes the map and overlay PNGs that --save_map / --save_overlay ask for."""
  written = {}
  if args.save_map or args.save_overlay:
    pixel_map = blocks.to_pixels(block_map, image.height, image.width)
  if args.save_map:
    written["map"] = str(output.with_name(f"{output.stem}_map.png"))
    files.write_atomic(written["map"], image_io.encode_png(visualize.map_to_gray(pixel_map)))
  if args.save_overlay:
    written["overlay"] = str(output.with_name(f"{output.stem}_overlay.png"))
    files.write_atomic(
      written["overlay"], image_io.encode_png(visualize.overlay(image.rgb, pixel_map))
    )
  return written


def _read_gray_argument(path: str, max_pixels: int) -> np.ndarray:
  """A --map or --roi_mask file; a bad one is a UsageError."""
  try:
    return image_io.read_gray(path, max_pixels)
  except errors.ImageError as e:
    raise UsageError(str(e)) from None


def _map_maker(args: argparse.Namespace) -> tuple[sources.MapMaker, int]:
  """How compress gets block maps (--map, a saliency server or the local model), batch size."""
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


def run_compress(args: argparse.Namespace) -> batch.Run:
  """`semantic-jpeg compress`: one semantic JPEG per input image."""
  from semantic_jpeg.codec import encoder

  options, boxes = arguments.encoder_options(args), _roi_boxes(args)
  listing = files.find_images(args.inputs)
  done = []
  total = len(listing.paths) + len(listing.skipped)
  with batch.Run("compressed", total, args.json, lambda: records.byte_totals(done)) as run:
    outputs = _output_paths(args, _inputs(listing, run), run)
    if args.skip_existing:
      _skip_existing(outputs, run)
    make_maps, batch_size = _map_maker(args)
    maps = sources.MapSource(list(outputs), batch_size, make_maps, args.max_pixels, args.strict)
    mask = _read_gray_argument(args.roi_mask, args.max_pixels) if args.roi_mask else None

    def process(path: pathlib.Path) -> list[str]:
      output = outputs[path]
      _check_not_input(path, output, args.overwrite)
      image, block_map, saliency_ms = maps.get(path)
      _warn(image)
      block_map = sources.with_regions(block_map, image.height, image.width, boxes, mask)
      data, report = encoder.compress_decoded(image, block_map, options)
      files.write_atomic(output, data)
      record = records.compress_record(args, path, output, image, report, saliency_ms)
      record["outputs"] = _side_outputs(args, output, image, block_map)
      done.append(record)
      return [json.dumps(record) if args.json else records.compress_line(record)]

    jobs = min(args.jobs, len(outputs))  # Jobs share the cores: one BLAS thread (DCTs) each.
    with threadpoolctl.threadpool_limits(1 if jobs > 1 else None, user_api="blas"):
      run.each(list(outputs), process, jobs, image_io.pixel_count)
  return run


def main(args: argparse.Namespace) -> int:
  """Runs the command; exit status 0, 2 when anything failed, 130 on Ctrl-C."""
  if not args.verbose:
    batch.silence_native_stderr()
  try:
    run = {"compress": run_compress, "saliency": run_saliency}[args.command](args)
  except UsageError as e:
    print(f"error: {e}", file=sys.stderr)
    return 2
  except KeyboardInterrupt:
    print("interrupted: files finished so far are complete, none is half-written", file=sys.stderr)
    return 130
  return 0 if run.ok else 2


def run() -> None:
  """Console-script entry point."""
  app.run(main, flags_parser=commands.parse_command_line)


if __name__ == "__main__":
  run()
