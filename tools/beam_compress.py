"""Compresses every image matching a pattern with an Apache Beam pipeline.

  python tools/beam_compress.py --input_pattern 'photos/*.png' --output_dir out \
      --match_jpeg_quality 50 --runner=DirectRunner --direct_num_workers=2 \
      --direct_running_mode=multi_processing

Takes the rate, policy and saliency flags of `semantic-jpeg compress`; every flag it does not know
is a Beam pipeline option (runner, project, region, temp_location, ...). Writes OUTPUT_DIR/NAME.jpg
per image (the bytes `semantic-jpeg compress --output_dir` writes), errors.jsonl (one line per
failed file) and summary.json (the job's counters). Existing outputs are skipped unless
--overwrite. See semantic_jpeg/deploy/beam_pipeline.py for the steps.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import argparse
import json
import logging
import sys
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from semantic_jpeg import arguments
from semantic_jpeg.deploy import beam_pipeline


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
  """Our arguments, and the rest for Beam's PipelineOptions (a bad one of ours exits 2)."""
  parser = arguments.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument(
    "--input_pattern", required=True, help="Glob of input files (local or any Beam filesystem)."
  )
  parser.add_argument("--output_dir", required=True, help="Folder for the outputs.")
  parser.add_argument(
    "--saved_model",
    help="An exported SavedModel version directory to use instead of building "
    "the model on each worker.",
  )
  arguments.add_switch(
    parser, "overwrite", False, "Recompress images whose output exists (default: skip them)."
  )
  arguments.add_encoder_arguments(parser)
  arguments.add_input_arguments(parser)
  arguments.add_saliency_arguments(parser)
  return parser.parse_known_args(argv[1:])


def _job_options(args: argparse.Namespace) -> beam_pipeline.JobOptions:
  try:
    encoder_options = arguments.encoder_options(args)
  except arguments.UsageError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  return beam_pipeline.JobOptions(
    output_dir=args.output_dir,
    encoder_options=encoder_options,
    saliency_options=arguments.saliency_options(args),
    max_pixels=args.max_pixels,
    strict=args.strict,
    saved_model=args.saved_model,
    overwrite=args.overwrite,
    model=arguments.model_arguments(args),
  )


def main(argv: list[str]) -> None:
  args, pipeline_args = parse_args(argv)
  logging.getLogger("apache_beam").setLevel(logging.WARNING)  # Workers log every bundle.
  options = _job_options(args)
  if not FileSystems.exists(options.output_dir):
    FileSystems.mkdirs(options.output_dir)
  start = time.perf_counter()
  pipeline = beam.Pipeline(options=PipelineOptions(pipeline_args))
  beam_pipeline.build(pipeline, args.input_pattern, options)
  result = pipeline.run()
  result.wait_until_finish()
  seconds = time.perf_counter() - start
  summary = {
    **beam_pipeline.counters(result),
    "seconds": round(seconds, 2),
    "input_pattern": args.input_pattern,
    "output_dir": options.output_dir,
  }
  with FileSystems.create(FileSystems.join(options.output_dir, "summary.json")) as f:
    f.write(json.dumps(summary, indent=2).encode())
  print(json.dumps(summary))


if __name__ == "__main__":
  main(sys.argv)
