"""Compresses every image matching a pattern with an Apache Beam pipeline.

  python tools/beam_compress.py --input_pattern 'photos/*.png' --output_dir out \
      --match_jpeg_quality 50 --runner=DirectRunner --direct_num_workers=2 \
      --direct_running_mode=multi_processing

Takes the rate, policy and saliency flags of `semantic-jpeg compress`; every flag it does not know
is a Beam pipeline option (runner, project, region, temp_location, ...). Writes OUTPUT_DIR/NAME.jpg
per image (the bytes `semantic-jpeg compress --output_dir` writes), errors.jsonl (one line per
failed file) and summary.json (the job's counters). Existing outputs are skipped unless
--overwrite. See semantic_jpeg/beam_pipeline.py for the steps.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import json
import sys
import time

from absl import app
from absl import flags
from absl import logging
import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from semantic_jpeg import beam_pipeline
from semantic_jpeg import cli  # The compressor's flags: one definition for both tools.

FLAGS = flags.FLAGS
_INPUT_PATTERN = flags.DEFINE_string("input_pattern", None,
                                     "Glob of input files (local or any Beam filesystem).")
_SAVED_MODEL = flags.DEFINE_string("saved_model", None,
                                   "An exported SavedModel version directory to use instead of "
                                   "building the model on each worker.")


def _job_options() -> beam_pipeline.JobOptions:
  if not _INPUT_PATTERN.value or not FLAGS.output_dir:
    raise app.UsageError("--input_pattern and --output_dir are required")
  try:
    encoder_options = cli.encoder_options_from_flags()
  except cli.UsageError as e:
    raise app.UsageError(str(e)) from None
  return beam_pipeline.JobOptions(
      output_dir=FLAGS.output_dir, encoder_options=encoder_options,
      saliency_options=cli.saliency_options_from_flags(), max_pixels=FLAGS.max_pixels,
      saved_model=_SAVED_MODEL.value, overwrite=FLAGS.overwrite,
      model={"faces": FLAGS.faces, "combine": FLAGS.combine, "weights": FLAGS.weights})


def main(argv: list[str]) -> None:
  logging.set_verbosity(logging.WARNING)  # Beam's workers log every bundle at INFO.
  options = _job_options()
  if not FileSystems.exists(options.output_dir):
    FileSystems.mkdirs(options.output_dir)
  start = time.perf_counter()
  pipeline = beam.Pipeline(options=PipelineOptions(argv[1:]))
  beam_pipeline.build(pipeline, _INPUT_PATTERN.value, options)
  result = pipeline.run()
  result.wait_until_finish()
  seconds = time.perf_counter() - start
  summary = {**beam_pipeline.counters(result), "seconds": round(seconds, 2),
             "input_pattern": _INPUT_PATTERN.value, "output_dir": options.output_dir}
  with FileSystems.create(FileSystems.join(options.output_dir, "summary.json")) as f:
    f.write(json.dumps(summary, indent=2).encode())
  print(json.dumps(summary))


def _parse_known_flags(argv: list[str]) -> list[str]:
  """Our flags for absl; everything else stays in argv for Beam's PipelineOptions."""
  try:
    return FLAGS(argv, known_only=True)
  except flags.Error as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
  app.run(main, flags_parser=_parse_known_flags)
