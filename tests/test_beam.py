"""The Beam pipeline on the DirectRunner with two worker processes, against the CLI's bytes."""

import json
import pathlib
import shutil
import subprocess
import sys

import cv2
import numpy as np
from PIL import Image
import pytest

pytestmark = pytest.mark.slow  # Fresh processes, exports or training.

REPO = pathlib.Path(__file__).resolve().parent.parent
NAMES = ("kodim04", "kodim21", "kodim23")
RATE = ("--match_jpeg_quality", "50")


def run_beam(
  inputs: pathlib.Path, output: pathlib.Path, rate: tuple[str, ...] = RATE
) -> subprocess.CompletedProcess:
  return subprocess.run(
    [
      sys.executable,
      str(REPO / "tools" / "beam_compress.py"),
      "--input_pattern",
      str(inputs / "*"),
      "--output_dir",
      str(output),
      *rate,
      "--runner=DirectRunner",
      "--direct_num_workers=2",
      "--direct_running_mode=multi_processing",
    ],
    capture_output=True,
    text=True,
    timeout=900,
    check=False,
  )


def run_cli(inputs: list[pathlib.Path], output: pathlib.Path, rate: tuple[str, ...] = RATE) -> None:
  subprocess.run(
    [
      sys.executable,
      "-m",
      "semantic_jpeg.cli",
      "compress",
      *(str(path) for path in inputs),
      "--output_dir",
      str(output),
      *rate,
    ],
    check=True,
    capture_output=True,
    timeout=600,
  )


def test_pipeline_matches_the_cli_dead_letters_and_is_idempotent(tmp_path):
  inputs = tmp_path / "in"
  inputs.mkdir()
  for name in NAMES:
    shutil.copy(REPO / "testdata" / f"{name}.png", inputs)
  (inputs / "corrupt.jpg").write_bytes((REPO / "testdata" / "kodim23.png").read_bytes()[:5000])
  out = tmp_path / "out"

  first = run_beam(inputs, out)
  assert first.returncode == 0, first.stderr[-3000:]
  cli_out = tmp_path / "cli"
  run_cli([inputs / f"{n}.png" for n in NAMES], cli_out)
  for name in NAMES:
    data = (out / f"{name}.jpg").read_bytes()
    assert data == (cli_out / f"{name}.jpg").read_bytes(), name
    by_opencv = cv2.cvtColor(cv2.imread(str(out / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(by_opencv, np.asarray(Image.open(out / f"{name}.jpg")))

  errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
  assert [e["file"] for e in errors] == [str(inputs / "corrupt.jpg")]
  assert "\n" not in errors[0]["error"] and "corrupt.jpg" in errors[0]["error"]
  summary = json.loads((out / "summary.json").read_text())
  sizes_in = sum((inputs / f"{n}.png").stat().st_size for n in NAMES)
  sizes_out = sum((out / f"{n}.jpg").stat().st_size for n in NAMES)
  assert (summary["images"], summary["failures"], summary["skipped"]) == (3, 1, 0)
  assert (summary["bytes_in"], summary["bytes_out"]) == (sizes_in, sizes_out)
  assert not list(out.glob("*.tmp-*"))

  written = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")}
  second = run_beam(inputs, out)
  assert second.returncode == 0, second.stderr[-3000:]
  assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.jpg")} == written
  summary = json.loads((out / "summary.json").read_text())
  assert (summary["images"], summary["skipped"], summary["failures"]) == (0, 3, 1)


def test_jpegs_to_a_score_target_match_the_cli(tmp_path):
  inputs = tmp_path / "in"
  inputs.mkdir()
  for name, options in (("kodim04", {"quality": 90}), ("kodim21", {"progressive": True})):
    Image.open(REPO / "testdata" / f"{name}.png").save(inputs / f"{name}.jpg", **options)
  rate = ("--target_ssimulacra2", "80")
  out = tmp_path / "out"
  result = run_beam(inputs, out, rate)
  assert result.returncode == 0, result.stderr[-3000:]
  cli_out = tmp_path / "cli"
  run_cli(sorted(inputs.iterdir()), cli_out, rate)
  for path in sorted(inputs.iterdir()):
    data = (out / path.name).read_bytes()
    assert data == (cli_out / path.name).read_bytes() and len(data) < path.stat().st_size
