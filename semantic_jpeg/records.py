"""What the command line reports per file: the JSON records and the text lines of both commands."""

import argparse
import pathlib

import numpy as np

from semantic_jpeg import image_io


def saliency_record(
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
    "warnings": list(image.warnings),
  }


def saliency_lines(record: dict) -> list[str]:
  """The text lines of one image's saliency: size, faces, salient share, top classes."""
  lines = [
    f"{record['file']} ({record['width']}x{record['height']}, "
    f"{len(record['faces'])} face(s), "
    f"{record['map']['salient_fraction']:.0%} of blocks salient)"
  ]
  for rank, entry in enumerate(record["top_classes"], 1):
    lines.append(f"  {rank}. {entry['name']} ({entry['id']}): {entry['score']:.3f}")
  return lines


def compress_record(
  args: argparse.Namespace,
  path: pathlib.Path,
  output: pathlib.Path,
  image: image_io.DecodedImage,
  report,
  saliency_ms: float,
) -> dict:
  """The JSON record of one compressed file (`report` is an `encoder.EncodeReport`)."""
  bytes_in = image.encoded_size
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
    "path": report.path,
    "reason": report.reason,
    "written": report.written,
    "target_ssimulacra2": report.target_ssimulacra2,
    "ssimulacra2": None if report.ssimulacra2 is None else round(report.ssimulacra2, 2),
    "steps": report.steps,
    "timings_ms": {
      "saliency": round(saliency_ms, 1),
      **{k: round(v, 1) for k, v in report.timings_ms.items()},
    },
    "warnings": list(image.warnings),
  }


def compress_line(record: dict) -> str:
  """One text line per compressed file: sizes, knob, how it was made, the score reached."""
  notes = [f"quality {record['quality']:.1f}"]
  if record["reason"]:
    notes.append(f"from pixels: {record['reason']}")
  elif record["path"] == "coefficients":
    notes.append("from its coefficients")
  if record["written"] != "encoded":
    notes.append(_WRITTEN[record["written"]])
  if record["ssimulacra2"] is not None:
    notes.append(f"SSIMULACRA 2 {record['ssimulacra2']:.2f}")
  if not record["target_met"]:
    target = record["target_size"] or record["target_ssimulacra2"]
    notes.append(f"target {target} not met")
  return (
    f"{record['file']} -> {record['output']}: {record['bytes_out']} bytes "
    f"({record['ratio']:.2f}x), {', '.join(notes)}"
  )


_WRITTEN = {
  "input_optimized": "not smaller than the input: its coefficients re-optimized losslessly",
  "input": "not smaller than the input: the input as it is",
}


def byte_totals(records: list[dict]) -> str:
  """The summary's tail: bytes in and out, mean ratio."""
  bytes_in = sum(r["bytes_in"] for r in records)
  bytes_out = sum(r["bytes_out"] for r in records)
  ratio = np.mean([r["ratio"] for r in records]) if records else 0.0
  return f": {bytes_in} bytes in, {bytes_out} bytes out, mean ratio {ratio:.2f}"
