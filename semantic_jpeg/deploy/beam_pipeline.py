"""Compressing buckets of images with Apache Beam: match, read, decode, RunInference, encode.

Needs the optional `apache-beam` package (`pip install 'semantic-jpeg[beam]'`). The steps use the
library's own pieces, so a file comes out byte for byte as `semantic-jpeg compress` writes it:
`image_io.decode_image`, the map from `saliency.sources` (the local model, traced once per
machine, or an exported SavedModel; loaded once per worker by a RunInference `ModelHandler`), and
`encoder.compress_decoded`. Outputs go through
Beam's `FileSystems` (local paths and object stores alike), written under a temporary name and
renamed. Files that fail go to a dead-letter output, `errors.jsonl`, and the pipeline goes on.
"""

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Sequence
import dataclasses
import json
import posixpath
from typing import Any
import uuid

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference import base as inference
import numpy as np

from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg.codec import encoder
from semantic_jpeg.saliency import sources
from semantic_jpeg.saliency.options import SaliencyOptions

NAMESPACE = "semantic_jpeg"
ERRORS = "errors"
COUNTERS = ("images", "bytes_in", "bytes_out", "failures", "skipped")


@dataclasses.dataclass(frozen=True)
class JobOptions:
  """What the pipeline does with each file (the compressor's own options)."""

  output_dir: str
  encoder_options: encoder.EncoderOptions
  saliency_options: SaliencyOptions = SaliencyOptions()
  max_pixels: int = image_io.DEFAULT_MAX_PIXELS
  strict: bool = False  # Damaged JPEGs are failures (else used as decoded).
  saved_model: str | None = None
  model: dict[str, Any] = dataclasses.field(default_factory=dict)  # model.load_model kwargs.
  overwrite: bool = False


def output_path(output_dir: str, source: str) -> str:
  """OUTPUT_DIR/STEM.jpg, as `semantic-jpeg compress --output_dir` names it."""
  stem = posixpath.splitext(posixpath.basename(source))[0]
  return FileSystems.join(output_dir, f"{stem}.jpg")


def _counter(name: str) -> beam.metrics.metricbase.Counter:
  return beam.metrics.Metrics.counter(NAMESPACE, name)


def _error(path: str, reason: str) -> beam.pvalue.TaggedOutput:
  _counter("failures").inc()
  return beam.pvalue.TaggedOutput(ERRORS, json.dumps({"file": path, "error": reason}))


class DecodeFn(beam.DoFn):
  """ReadableFile -> (path, DecodedImage); existing outputs are skipped, bad files dead-lettered."""

  def __init__(self, options: JobOptions):
    self._options = options

  def process(self, readable: fileio.ReadableFile) -> Iterator[Any]:
    path = readable.metadata.path
    if not self._options.overwrite and FileSystems.exists(
      output_path(self._options.output_dir, path)
    ):
      _counter("skipped").inc()
      return
    try:
      data = readable.read()
      image = image_io.decode_image(data, path, self._options.max_pixels, self._options.strict)
    except (errors.SemanticJpegError, OSError) as e:
      yield _error(path, str(e).splitlines()[0])
      return
    _counter("bytes_in").inc(len(data))
    yield path, image


class SaliencyModelHandler(inference.ModelHandler):
  """RunInference handler: DecodedImage -> block map, one model call per image.

  A batch may hold images of any sizes: each runs at its own size (the model's long-side cap
  bounds the cost), so the map is exactly the one the CLI computes.
  """

  def __init__(
    self,
    saliency_options: SaliencyOptions,
    saved_model: str | None = None,
    model_kwargs: dict[str, Any] | None = None,
    max_batch_size: int = 8,
  ):
    self._options = saliency_options
    self._saved_model = saved_model
    self._model_kwargs = model_kwargs or {}
    self._batching_kwargs = {"min_batch_size": 1, "max_batch_size": max_batch_size}

  def load_model(self) -> sources.MapMaker:
    if self._saved_model:
      return sources.from_saved_model(self._saved_model)
    return sources.from_model(self._model_kwargs, self._options)

  def run_inference(
    self,
    batch: Sequence[image_io.DecodedImage],
    model: sources.MapMaker,
    inference_args: dict[str, Any] | None = None,
  ) -> Iterable[inference.PredictionResult]:
    del inference_args
    for image, block_map in zip(batch, model(list(batch))):
      yield inference.PredictionResult(image, block_map)


class EncodeWriteFn(beam.DoFn):
  """(path, PredictionResult) -> the JPEG written atomically; a record of what was done."""

  def __init__(self, options: JobOptions):
    self._options = options

  def process(self, element: tuple[str, inference.PredictionResult]) -> Iterator[Any]:
    path, result = element
    target = output_path(self._options.output_dir, path)
    try:
      data, report = encoder.compress_decoded(
        result.example, np.asarray(result.inference), self._options.encoder_options
      )
      _write_atomic(target, data)
    except (errors.SemanticJpegError, OSError) as e:
      yield _error(path, str(e).splitlines()[0])
      return
    _counter("images").inc()
    _counter("bytes_out").inc(len(data))
    yield {
      "file": path,
      "output": target,
      "bytes": len(data),
      "quality": report.quality,
      "target_met": report.target_met,
      "path": report.path,
      "reason": report.reason,
      "written": report.written,
      "ssimulacra2": report.ssimulacra2,
    }


def _write_atomic(path: str, data: bytes) -> None:
  temporary = f"{path}.tmp-{uuid.uuid4().hex}"
  with FileSystems.create(temporary) as f:
    f.write(data)
  FileSystems.rename([temporary], [path])


def build(pipeline: beam.Pipeline, input_pattern: str, options: JobOptions) -> None:
  """Adds the compression steps to `pipeline`."""
  decoded = (
    pipeline
    | "Match" >> fileio.MatchFiles(input_pattern)
    | "Read" >> fileio.ReadMatches()
    | "Decode" >> beam.ParDo(DecodeFn(options)).with_outputs(ERRORS, main="images")
  )
  handler = inference.KeyedModelHandler(
    SaliencyModelHandler(options.saliency_options, options.saved_model, options.model)
  )
  encoded = (
    decoded.images
    | "Saliency" >> inference.RunInference(handler)
    | "EncodeWrite" >> beam.ParDo(EncodeWriteFn(options)).with_outputs(ERRORS, main="written")
  )
  _ = (
    (decoded[ERRORS], encoded[ERRORS])
    | "AllErrors" >> beam.Flatten()
    | "WriteErrors"
    >> beam.io.WriteToText(
      FileSystems.join(options.output_dir, ERRORS),
      file_name_suffix=".jsonl",
      num_shards=1,
      shard_name_template="",
    )
  )


def counters(result: beam.runners.runner.PipelineResult) -> dict[str, int]:
  """The job's counters (committed values where the runner has them)."""
  values = dict.fromkeys(COUNTERS, 0)
  for counter in result.metrics().query(beam.metrics.MetricsFilter().with_namespace(NAMESPACE))[
    "counters"
  ]:
    committed = counter.committed if counter.committed is not None else counter.attempted
    values[counter.key.metric.name] += committed
  return values
