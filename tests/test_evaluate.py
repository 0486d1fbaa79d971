"""tools/evaluate.py end to end on two tiny images: real encoders, real metrics, real model."""

import csv
import json
import pathlib
import subprocess
import sys

import cv2
from PIL import Image
import pytest

from semantic_jpeg.evaluation import butteraugli
from semantic_jpeg.evaluation import equal_size as evaluation

from conftest import read_rgb

pytestmark = pytest.mark.slow  # Fresh processes, exports or training.

REPO = pathlib.Path(__file__).resolve().parent.parent


def run_evaluate(*args: str) -> subprocess.CompletedProcess:
  return subprocess.run(
    [sys.executable, str(REPO / "tools" / "evaluate.py"), *args],
    capture_output=True,
    text=True,
    timeout=900,
    check=False,
  )


def _write_tiny(directory: pathlib.Path) -> None:
  directory.mkdir(parents=True)
  for name in ("kodim04", "kodim23"):
    crop = read_rgb(f"{name}.png")[200:296, 300:428]  # 96 x 128.
    cv2.imwrite(str(directory / f"{name}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))


def test_folder_of_two_tiny_images_in_two_workers(tmp_path):
  _write_tiny(tmp_path / "tiny")
  out = tmp_path / "results"
  result = run_evaluate(
    "--images",
    str(tmp_path / "tiny"),
    "--qualities",
    "40,70",
    "--output_dir",
    str(out),
    "--workers",
    "2",
    "--crops",
    "1",
  )
  assert result.returncode == 0, result.stderr[-3000:]
  with open(out / "evaluation.csv") as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 2 * 2 * len(evaluation.ENCODERS)
  assert {r["encoder"] for r in rows} == set(evaluation.ENCODERS)
  for row in rows:
    assert int(row["bytes"]) <= int(row["target_bytes"])
    for key in (
      "psnr",
      "ssim",
      "ms_ssim",
      "vifp",
      "psnr_hvsm",
      "ssimulacra2",
      "salient_psnr",
      "salient_psnr_hvsm",
      "salient_ssimulacra2",
      "map_weighted_psnr",
    ):
      assert float(row[key]) > 0, (row["encoder"], key)
  turbo = {(r["image"], r["quality"]): r for r in rows if r["encoder"] == "turbo"}
  assert all(r["size_ratio"] == "1.0" for r in turbo.values())
  summary = (out / "summary.md").read_text()
  assert "## Target: libjpeg-turbo quality 40" in summary and "| salient_psnr_hvsm |" in summary
  assert "--qualities 40,70" in summary  # The command that made it.
  for figure in ("rate_distortion.png", "crop_kodim04.png"):
    assert Image.open(out / figure).size[0] > 500


def test_tfds_image_folder_and_encoder_subset(tmp_path):
  _write_tiny(tmp_path / "data" / "test" / "photos")
  out = tmp_path / "results"
  result = run_evaluate(
    "--image_folder",
    str(tmp_path / "data"),
    "--split",
    "test",
    "--qualities",
    "50",
    "--encoders",
    "turbo,semantic",
    "--noslow_metrics",
    "--workers",
    "1",
    "--crops",
    "0",
    "--output_dir",
    str(out),
  )
  assert result.returncode == 0, result.stderr[-3000:]
  with open(out / "evaluation.csv") as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 4 and {r["encoder"] for r in rows} == {"turbo", "semantic"}
  assert "vifp" not in rows[0] and "ssimulacra2" in rows[0]
  assert len({r["image"] for r in rows}) == 2


def test_the_coefficient_path_scores_against_the_jpeg_input(tmp_path):
  """--source_quality: each photo enters as a JPEG, which is the reference; ours requantize it
  (here at the map's strength 0 and 1: the control and the default), the peers re-encode it;
  the summary compares them in the map's top quarter and on the whole image."""
  _write_tiny(tmp_path / "tiny")
  out = tmp_path / "results"
  result = run_evaluate(
    *("--images", str(tmp_path / "tiny"), "--qualities", "50", "--source_quality", "90"),
    *("--encoders", "turbo,uniform,semantic,mozjpeg", "--noslow_metrics", "--crops", "0"),
    *("--workers", "1", "--output_dir", str(out)),
  )
  assert result.returncode == 0, result.stderr[-3000:]
  with open(out / "evaluation.csv") as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 8 and all(int(r["bytes"]) <= int(r["target_bytes"]) for r in rows)
  ours = [r for r in rows if r["encoder"] == "semantic"]
  assert all(float(r["ssimulacra2"]) > 0 and float(r["salient_ssimulacra2"]) > 0 for r in ours)
  summary = (out / "summary.md").read_text()
  assert "the coefficient path" in summary and "quality 90" in summary
  assert "## In the map's top quarter" in summary and "| Q50 |" in summary


def test_bad_flags_are_usage_errors(tmp_path):
  result = run_evaluate(
    "--images", str(tmp_path), "--qualities", "0", "--output_dir", str(tmp_path / "out")
  )
  assert result.returncode != 0 and "qualities" in result.stderr
  assert not (tmp_path / "out").exists()


def test_corpus_split_fixations_and_the_tuning_tool(tmp_path):
  """--corpus_split keeps one split, --fixations scores where people looked; tools/tune.py runs,
  and tools/plot_tuning.py plots its rows."""
  folder = tmp_path / "scene"
  folder.mkdir()
  for number, name in (("001", "kodim04"), ("003", "kodim23")):
    crop = read_rgb(f"{name}.png")[200:296, 300:428]
    cv2.imwrite(str(folder / f"{number}.png"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
  fixations = tmp_path / "fixations.csv"
  fixations.write_text(
    "image,viewer,y,x,start_s,duration_s\n001.jpg,1,40,60,0.1,0.2\n003.jpg,1,50,70,0.1,0.2\n"
  )
  out = tmp_path / "results"
  result = run_evaluate(
    *("--images", str(folder), "--set_name", "scene_fixations", "--corpus_split", "validation"),
    *("--fixations", str(fixations), "--qualities", "50", "--noslow_metrics", "--crops", "0"),
    *("--encoders", "turbo,uniform,semantic,mozjpeg", "--workers", "1", "--output_dir", str(out)),
  )
  assert result.returncode == 0, result.stderr[-3000:]
  with open(out / "evaluation.csv") as f:
    rows = list(csv.DictReader(f))
  assert {r["image"] for r in rows} == {"003"} and len(rows) == 4
  assert all(float(r["fixation_psnr_hvsm"]) > 20 for r in rows)
  assert all(float(r["ssimulacra2"]) < float(r["fixation_ssimulacra2"]) < 100 for r in rows)
  summary = (out / "summary.md").read_text()
  assert "## Against mozjpeg" in summary and "| Q50 |" in summary

  def run_tune(min_short_side: int, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
      [sys.executable, str(REPO / "tools" / "tune.py"), f"--set=scene_fixations={folder}"]
      + ["--split", "tune", "--qualities", "50", "--strengths", "1", "--workers", "1"]
      + ["--fixations", str(fixations), "--min_short_side", str(min_short_side), *extra]
      + ["--cache_dir", str(tmp_path / "cache"), "--output", str(tmp_path / "rows.json")],
      capture_output=True,
      text=True,
      timeout=900,
      check=False,
    )

  tune = run_tune(96, "--butteraugli" if butteraugli.available() else "--nobutteraugli")
  assert tune.returncode == 0, tune.stderr[-3000:]
  rows = json.loads((tmp_path / "rows.json").read_text())
  # Both paths, each with its control (strength 0), and both peers at or under the target.
  assert {(r["path"], r["strength"]) for r in rows} == {
    (path, strength) for path in ("pixels", "coefficients") for strength in (0.0, 1.0)
  }
  assert all(r["bytes"] <= r["target"] and r["mozjpeg_ssimulacra2"] < 100 for r in rows)
  assert all(r["jpegli_fixated_ssimulacra2"] < 100 for r in rows)
  for path in ("pixels", "coefficients"):
    row = next(line for line in tune.stdout.splitlines() if f"| {path} | 1 | 50 | 1 |" in line)
    cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
    pair = [r for r in rows if r["path"] == path]
    there = {r["strength"]: r["ours_fixated_ssimulacra2"] for r in pair}
    assert float(cells[5]) == pytest.approx(there[1.0] - there[0.0], abs=0.006), row
    assert cells[12].endswith("dB"), row  # PSNR-HVS-M there, beside the perceptual metrics.
    assert (cells[6] != "") == butteraugli.available(), row  # Gaze-weighted Butteraugli.
  plot = subprocess.run(
    [sys.executable, str(REPO / "tools" / "plot_tuning.py"), f"--run=s={tmp_path / 'rows.json'}"]
    + ["--path", "coefficients", "--output", str(tmp_path / "frontier.png")],
    capture_output=True,
    text=True,
    timeout=300,
    check=False,
  )
  assert plot.returncode == 0, plot.stderr[-3000:]
  assert cv2.imread(str(tmp_path / "frontier.png")) is not None
  # Its means are tune.py's: SSIMULACRA 2 there minus the control, whole minus mozjpeg.
  tuned = next(r for r in tune.stdout.splitlines() if "| coefficients | 1 | 50 | 1 |" in r)
  plotted = next(r for r in plot.stdout.splitlines() if "| s | 1 | 1 |" in r)
  tuned, plotted = tuned.strip("|").split("|"), plotted.strip("|").split("|")
  assert plotted[3] == tuned[5] and plotted[7] == tuned[9]
  too_small = run_tune(97)
  assert too_small.returncode != 0 and "no images" in too_small.stderr
