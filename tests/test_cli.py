"""End-to-end runs of the `semantic-jpeg` command line, as a user runs it."""

import json
import subprocess
import sys

import cv2
from PIL import Image
import pytest

import bad_inputs

TESTDATA = bad_inputs.TESTDATA


def run_cli(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run([sys.executable, "-m", "semantic_jpeg.cli", *args],
                        capture_output=True, text=True, timeout=600, check=False)


def _error_lines(stderr: str) -> list[str]:
  return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_saliency_writes_maps_and_prints_classes(tmp_path):
  result = run_cli("saliency", str(TESTDATA / "kodim23.png"), str(TESTDATA / "kodim04.png"),
                   "--output_dir", str(tmp_path), "--json")
  assert result.returncode == 0, result.stderr
  records = [json.loads(line) for line in result.stdout.splitlines()]
  assert [r["top_classes"][0]["name"] for r in records] == ["macaw", "cowboy hat"]
  assert len(records[1]["faces"]) >= 1 and not records[0]["faces"]
  for record in records:
    gray = cv2.imread(record["outputs"]["map"], cv2.IMREAD_UNCHANGED)
    assert gray.shape == (record["height"], record["width"])
    overlay = Image.open(record["outputs"]["overlay"])
    assert overlay.size == (record["width"], record["height"]) and overlay.mode == "RGB"


def test_bad_files_are_reported_and_skipped(tmp_path):
  broken = bad_inputs.make_broken(tmp_path)
  awkward = bad_inputs.make_awkward(tmp_path)
  paths = [str(p) for p in (*broken.values(), *awkward.values())]
  out_dir = tmp_path / "out"
  result = run_cli("saliency", *paths, "--output_dir", str(out_dir), "--json")
  assert result.returncode == 2
  assert "Traceback" not in result.stderr
  errors = _error_lines(result.stderr)
  assert len(errors) == len(broken)
  for path in broken.values():
    assert sum(str(path) in line for line in errors) == 1
  records = [json.loads(line) for line in result.stdout.splitlines()]
  assert sorted(r["file"] for r in records) == sorted(str(p) for p in awkward.values())
  assert len(list(out_dir.glob("*_map.png"))) == len(awkward)


@pytest.mark.parametrize("flag", ["--top_k=0", "--face_weight=2", "--max_side=abc",
                                  "--combine=median", "--no_such_flag=1"])
def test_bad_flag_values_exit_2_with_one_line(tmp_path, flag):
  result = run_cli("saliency", str(TESTDATA / "kodim23.png"), "--output_dir", str(tmp_path),
                   flag)
  assert result.returncode == 2
  assert len(_error_lines(result.stderr)) == 1 and "Traceback" not in result.stderr
  assert not list(tmp_path.iterdir())


def test_unknown_command_and_missing_output_dir_exit_2(tmp_path):
  assert run_cli("sharpen", str(TESTDATA / "kodim23.png")).returncode == 2
  result = run_cli("saliency", str(TESTDATA / "kodim23.png"))
  assert result.returncode == 2 and "--output_dir" in result.stderr
