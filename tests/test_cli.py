"""End-to-end runs of the `semantic-jpeg` command line, as a user runs it."""

import json
import pathlib
import subprocess
import sys

import cv2
import numpy as np
from PIL import Image
import pytest

import bad_inputs
from conftest import read_rgb

TESTDATA = bad_inputs.TESTDATA


def run_cli(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run(
    [sys.executable, "-m", "semantic_jpeg.cli", *args],
    capture_output=True,
    text=True,
    timeout=600,
    check=False,
  )


def _error_lines(stderr: str) -> list[str]:
  return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.slow
def test_saliency_writes_maps_and_prints_classes(tmp_path):
  result = run_cli(
    "saliency",
    str(TESTDATA / "kodim23.png"),
    str(TESTDATA / "kodim04.png"),
    "--output_dir",
    str(tmp_path),
    "--json",
  )
  assert result.returncode == 0, result.stderr
  records = [json.loads(line) for line in result.stdout.splitlines()]
  assert [r["top_classes"][0]["name"] for r in records] == ["macaw", "cowboy hat"]
  assert len(records[1]["faces"]) >= 1 and not records[0]["faces"]
  for record in records:
    gray = cv2.imread(record["outputs"]["map"], cv2.IMREAD_UNCHANGED)
    assert gray.shape == (record["height"], record["width"])
    overlay = Image.open(record["outputs"]["overlay"])
    assert overlay.size == (record["width"], record["height"]) and overlay.mode == "RGB"


@pytest.mark.slow
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


@pytest.mark.parametrize(
  "flag", ["--top_k=0", "--face_weight=2", "--max_side=abc", "--combine=median", "--no_such_flag=1"]
)
def test_bad_flag_values_exit_2_with_one_line(tmp_path, flag):
  result = run_cli("saliency", str(TESTDATA / "kodim23.png"), "--output_dir", str(tmp_path), flag)
  assert result.returncode == 2
  assert len(_error_lines(result.stderr)) == 1 and "Traceback" not in result.stderr
  assert not list(tmp_path.iterdir())


def test_unknown_command_and_missing_output_dir_exit_2(tmp_path):
  assert run_cli("sharpen", str(TESTDATA / "kodim23.png")).returncode == 2
  result = run_cli("saliency", str(TESTDATA / "kodim23.png"))
  assert result.returncode == 2 and "--output_dir" in result.stderr


def _opencv_size(path, quality: int) -> int:
  ok, data = cv2.imencode(".jpg", cv2.imread(str(path)), [cv2.IMWRITE_JPEG_QUALITY, quality])
  return data.size


@pytest.mark.slow
def test_compress_matches_the_size_of_opencv_q50(tmp_path):
  output = tmp_path / "out.jpg"
  result = run_cli(
    "compress", str(TESTDATA / "kodim23.png"), "--output", str(output), "--match_jpeg_quality", "50"
  )
  assert result.returncode == 0, result.stderr
  target = _opencv_size(TESTDATA / "kodim23.png", 50)
  assert 0.99 * target <= output.stat().st_size <= target
  by_opencv = cv2.cvtColor(cv2.imread(str(output)), cv2.COLOR_BGR2RGB)
  np.testing.assert_array_equal(by_opencv, np.asarray(Image.open(output)))
  assert "compressed 1 file(s), 0 failed" in result.stdout


@pytest.mark.slow
def test_compress_folder_json_map_file_and_roi(tmp_path):
  inputs = tmp_path / "in"
  inputs.mkdir()
  for name in ("kodim21.png", "kodim23.png"):
    (inputs / name).write_bytes((TESTDATA / name).read_bytes())
  result = run_cli(
    "compress",
    str(inputs),
    "--output_dir",
    str(tmp_path / "out"),
    "--json",
    "--target_size",
    "20000",
    "--save_map",
    "--save_overlay",
  )
  assert result.returncode == 0, result.stderr
  records = [json.loads(line) for line in result.stdout.splitlines()]
  assert [pathlib.Path(r["output"]).name for r in records] == ["kodim21.jpg", "kodim23.jpg"]
  for record in records:
    assert 19800 <= record["bytes_out"] == pathlib.Path(record["output"]).stat().st_size <= 20000
    assert record["target_met"] and abs(sum(record["quality_shares"].values()) - 1) < 1e-3
    assert {"saliency", "quantize", "write", "total"} <= set(record["timings_ms"])
    assert Image.open(record["outputs"]["overlay"]).size == (768, 512)

  # An ROI box over the sky improves it (in the dct mode, whose per-block qualities respond most).
  saved_map = records[1]["outputs"]["map"]
  again = tmp_path / "again.jpg"
  assert (
    run_cli(
      "compress",
      str(inputs / "kodim23.png"),
      "--map",
      saved_map,
      "--output",
      str(again),
      "--target_size",
      "20000",
      "--encoder",
      "dct",
    ).returncode
    == 0
  )
  with_roi = tmp_path / "roi.jpg"
  assert (
    run_cli(
      "compress",
      str(inputs / "kodim23.png"),
      "--map",
      saved_map,
      "--output",
      str(with_roi),
      "--target_size",
      "20000",
      "--roi",
      "0,0,200,120",
      "--encoder",
      "dct",
    ).returncode
    == 0
  )
  original = read_rgb("kodim23.png")
  box = (slice(0, 120), slice(0, 200))
  errors = {
    path.name: np.mean(
      (cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)[box].astype(float) - original[box])
      ** 2
    )
    for path in (again, with_roi)
  }
  assert errors["roi.jpg"] < 0.7 * errors["again.jpg"]


@pytest.mark.slow
def test_compress_keeps_exif_and_applies_orientation(tmp_path):
  source = Image.fromarray(read_rgb("kodim23.png")[:128, :192])
  exif = Image.Exif()
  exif[0x0112] = 6  # Rotate 90 degrees clockwise to view.
  exif[0x010F] = "semantic_jpeg test camera"
  source.save(tmp_path / "in.jpg", exif=exif, quality=95)
  result = run_cli("compress", str(tmp_path / "in.jpg"), "--output", str(tmp_path / "out.jpg"))
  assert result.returncode == 0, result.stderr
  output = Image.open(tmp_path / "out.jpg")
  assert output.size == (128, 192)
  assert output.getexif()[0x010F] == "semantic_jpeg test camera"
  assert output.getexif().get(0x0112, 1) == 1


@pytest.mark.slow
def test_compress_reports_bad_files_and_goes_on(tmp_path):
  broken = bad_inputs.make_broken(tmp_path)
  awkward = bad_inputs.make_awkward(tmp_path)
  out_dir = tmp_path / "out"
  result = run_cli(
    "compress",
    *(str(p) for p in (*broken.values(), *awkward.values())),
    "--output_dir",
    str(out_dir),
    "--quality",
    "70",
  )
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert len(_error_lines(result.stderr)) == len(broken)
  written = sorted(p.stem for p in out_dir.iterdir())
  assert written == sorted(awkward)
  for path in out_dir.iterdir():
    decoded = np.asarray(Image.open(path))
    assert decoded.shape[:2] == cv2.imread(str(path), cv2.IMREAD_UNCHANGED).shape[:2]
  assert Image.open(out_dir / "gray.jpg").mode == "L"


@pytest.mark.parametrize(
  "flags",
  [
    ["--quality", "0"],
    ["--quality", "101"],
    ["--target_size", "-100"],
    ["--target_size", "10"],
    ["--quality", "50", "--target_size", "20000"],
    ["--output", "{tmp}/missing/out.jpg"],
    ["--output", "{input}"],
    ["--roi", "1,2,3"],
    ["--policy", "median"],
    ["--policy_param", "span=wide"],
    ["--strength", "-0.5"],
  ],
)
def test_compress_bad_flags_exit_2_and_write_nothing(tmp_path, flags):
  source = tmp_path / "in.png"
  source.write_bytes((TESTDATA / "kodim23.png").read_bytes())
  flags = [f.format(tmp=tmp_path, input=source) for f in flags]
  if "--output" not in flags:
    flags += ["--output", str(tmp_path / "out.jpg")]
  result = run_cli("compress", str(source), *flags)
  assert result.returncode == 2, result.stdout
  assert len(_error_lines(result.stderr)) == 1 and "Traceback" not in result.stderr
  assert sorted(p.name for p in tmp_path.rglob("*")) == ["in.png"]
  assert source.read_bytes() == (TESTDATA / "kodim23.png").read_bytes()
