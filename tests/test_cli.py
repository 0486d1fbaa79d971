"""End-to-end runs of the `semantic-jpeg` command line, as a user runs it."""

import io
import json
import os
import pathlib
import re
import signal
import subprocess
import sys

import cv2
import numpy as np
from PIL import Image
from PIL import ImageOps
import pytest

from semantic_jpeg import arguments
from semantic_jpeg import commands
from semantic_jpeg.codec import bitstream

import bad_inputs
from conftest import leave_killed_writers_temporary
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
def test_two_jobs_write_the_same_files_and_lines_in_order_as_one(tmp_path):
  inputs = _testdata_folder(tmp_path / "in", "kodim21.png", "kodim23.png")
  _photo(inputs / "small.png")
  runs = {}
  for jobs in ("1", "2"):
    out = tmp_path / f"jobs{jobs}"
    result = run_cli("compress", str(inputs), "--output_dir", str(out), "--jobs", jobs, "--json")
    assert result.returncode == 0, result.stderr
    names = [pathlib.Path(json.loads(line)["output"]).name for line in result.stdout.splitlines()]
    assert names == ["kodim21.jpg", "kodim23.jpg", "small.jpg"]
    runs[jobs] = {name: (out / name).read_bytes() for name in names}
  assert runs["1"] == runs["2"]


@pytest.mark.slow
def test_compress_folder_json_map_file_and_roi(tmp_path):
  inputs = _testdata_folder(tmp_path / "in", "kodim21.png", "kodim23.png")
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
    ["--target_ssimulacra2", "80", "--quality", "50"],
    ["--target_ssimulacra2", "0.5"],
    ["--target_ssimulacra2", "high"],
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


# Faults around the files: full disks, read-only folders, clashing names, interrupts, camera
# files, skips and messages.


def _summary(output: str) -> str:
  [line] = [line for line in output.splitlines() if re.match(r"(compressed|mapped) \d+ file", line)]
  return line


def _lines(stderr: str, kind: str) -> list[str]:
  return [line for line in stderr.splitlines() if line.startswith(f"{kind}: ")]


def _testdata_folder(folder: pathlib.Path, *names: str) -> pathlib.Path:
  """A new folder holding copies of these testdata images."""
  folder.mkdir()
  for name in names:
    (folder / name).write_bytes((TESTDATA / name).read_bytes())
  return folder


def _photo(path: pathlib.Path, height: int = 64, width: int = 96, name: str = "kodim23.png"):
  """A real photo, scaled, written as `path` (its suffix picks the format)."""
  bgr = cv2.resize(cv2.imread(str(TESTDATA / name)), (width, height), interpolation=cv2.INTER_AREA)
  assert cv2.imwrite(str(path), bgr)
  return path


# The command with Ctrl-C's default handling, which a shell's background jobs (where the tests
# may run) ignore, and their children with them.
_AS_IN_A_TERMINAL = """
import runpy, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.argv[0] = "semantic-jpeg"
runpy.run_module("semantic_jpeg.cli", run_name="__main__")
"""
_COPIES = "abcdefgh"  # Of three photos: enough work left after the first, two jobs at a time.
_PHOTOS_IN_A_RUN = 3 * len(_COPIES)


def _compress_photos_after_the_first(
  tmp_path: pathlib.Path, output_dir: pathlib.Path
) -> subprocess.Popen:
  """Starts compressing _PHOTOS_IN_A_RUN full-size photos, rate-matched, and returns once the
  first is written."""
  inputs = tmp_path / "in"
  inputs.mkdir()
  for name in ("kodim04.png", "kodim21.png", "kodim23.png"):
    for copy in _COPIES:
      (inputs / f"{copy}_{name}").write_bytes((TESTDATA / name).read_bytes())
  command = ["compress", str(inputs), "--output_dir", str(output_dir), "--match_jpeg_quality", "50"]
  process = subprocess.Popen(
    [sys.executable, "-c", _AS_IN_A_TERMINAL, *command],
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
    env={**os.environ, "PYTHONUNBUFFERED": "1"},
  )
  assert " -> " in process.stdout.readline()
  return process


def _compress_one(tmp_path: pathlib.Path, source: pathlib.Path, *flags: str):
  """`compress SOURCE` with a map file (no model to load) and `flags`."""
  path = tmp_path / "map.png"
  cv2.imwrite(str(path), np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (16, 1)))
  return run_cli("compress", str(source), "--map", str(path), *flags)


def _decodes_whole(path: pathlib.Path) -> None:
  """OpenCV and Pillow both read the whole JPEG, to the same size."""
  by_opencv = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
  with Image.open(path) as image:
    image.load()
    assert by_opencv is not None and by_opencv.shape[:2] == (image.height, image.width)


def _no_temporaries(folder: pathlib.Path) -> None:
  assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_a_full_disk_fails_that_file_and_the_run_goes_on(tmp_path, tmpfs):
  inputs = tmp_path / "in"
  inputs.mkdir()
  (inputs / "big.png").write_bytes((TESTDATA / "kodim23.png").read_bytes())
  _photo(inputs / "small.png")
  full = tmpfs.mount("full", "20k")
  result = run_cli("compress", str(inputs), "--output_dir", str(full))
  assert result.returncode == 2 and "Traceback" not in result.stderr
  [error] = _error_lines(result.stderr)
  assert error == f"error: {full / 'big.jpg'}: cannot write (No space left on device)"
  assert _summary(result.stdout).startswith("compressed 1 file(s), 1 failed, 0 skipped:")
  assert sorted(p.name for p in full.iterdir()) == ["small.jpg"]
  _decodes_whole(full / "small.jpg")


def test_a_read_only_output_folder_stops_the_run_at_once(tmp_path, tmpfs):
  inputs = tmp_path / "in"
  inputs.mkdir()
  for name in ("a.png", "b.png", "c.png"):
    _photo(inputs / name)
  read_only = tmpfs.mount("ro", "64k")
  tmpfs.read_only(read_only)
  result = run_cli("compress", str(inputs), "--output_dir", str(read_only))
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert _error_lines(result.stderr) == [
    f"error: cannot write to {read_only} (Read-only file system); stopping"
  ]
  assert _summary(result.stdout) == (
    "compressed 0 file(s), 0 failed, 0 skipped, 3 not tried: 0 bytes in, 0 bytes out, "
    "mean ratio 0.00"
  )


@pytest.mark.slow
def test_an_output_folder_turning_read_only_stops_the_run(tmp_path, tmpfs):
  output = tmpfs.mount("out", "4m")
  process = _compress_photos_after_the_first(tmp_path, output)
  tmpfs.read_only(output)
  stdout, stderr = process.communicate(timeout=600)
  assert process.returncode == 2 and "Traceback" not in stderr
  [error] = _error_lines(stderr)
  assert error.endswith("(Read-only file system); stopping")
  done, failed, untried = map(
    int, re.search(r"(\d+) file\(s\), (\d+) failed, 0 skipped, (\d+) not tried", stdout).groups()
  )
  jobs = arguments.default_jobs()  # Each image under way when the folder turned may fail.
  assert done >= 1 and 1 <= failed <= jobs and untried >= 1
  assert done + failed + untried == _PHOTOS_IN_A_RUN
  written = sorted(output.iterdir())
  assert len(written) == done
  for path in written:
    _decodes_whole(path)


def test_an_output_that_is_a_folder_fails_that_file(tmp_path):
  (tmp_path / "out.jpg").mkdir()
  result = _compress_one(
    tmp_path, _photo(tmp_path / "in.png"), "--output", str(tmp_path / "out.jpg")
  )
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert _error_lines(result.stderr) == [
    f"error: {tmp_path / 'out.jpg'}: cannot write (Is a directory)"
  ]
  assert _summary(result.stdout).startswith("compressed 0 file(s), 1 failed")
  _no_temporaries(tmp_path)


@pytest.mark.slow
def test_clashing_names_and_skips_are_reported_and_the_rest_compressed(tmp_path):
  inputs = tmp_path / "in"
  inputs.mkdir()
  for name in ("photo.jpg", "photo.png", "other.png"):
    _photo(inputs / name)
  (inputs / "notes.txt").write_text("not a photo\n")
  (inputs / "folder.png").mkdir()
  (inputs / "dangling.png").symlink_to(inputs / "gone.png")
  out = tmp_path / "out"
  result = run_cli("compress", str(inputs), str(tmp_path / "none*.jpg"), "--output_dir", str(out))
  assert result.returncode == 2 and "Traceback" not in result.stderr
  jpg, png, output = inputs / "photo.jpg", inputs / "photo.png", out / "photo.jpg"
  assert _error_lines(result.stderr) == [
    f"error: {jpg}: its output {output} would also be written from {png}; rename one",
    f"error: {png}: its output {output} would also be written from {jpg}; rename one",
  ]
  assert _lines(result.stderr, "skipped") == [
    f"skipped: {inputs / 'dangling.png'}: not a file",
    f"skipped: {inputs / 'folder.png'}: not a file",
    f"skipped: {inputs / 'notes.txt'}: not an image",
    f"skipped: {tmp_path / 'none*.jpg'}: matched nothing",
  ]
  assert _summary(result.stdout).startswith("compressed 1 file(s), 2 failed, 4 skipped:")
  assert [p.name for p in out.iterdir()] == ["other.jpg"]
  _decodes_whole(out / "other.jpg")


@pytest.mark.slow
def test_saliency_reports_skips_and_ends_with_a_summary(tmp_path):
  inputs = tmp_path / "in"
  inputs.mkdir()
  for name in ("a.png", "b.jpg"):
    _photo(inputs / name)
  (inputs / "notes.txt").write_text("not a photo\n")
  result = run_cli("saliency", str(inputs), "--output_dir", str(tmp_path / "out"))
  assert result.returncode == 0 and "Traceback" not in result.stderr
  assert _lines(result.stderr, "skipped") == [f"skipped: {inputs / 'notes.txt'}: not an image"]
  assert _summary(result.stdout) == "mapped 2 file(s), 0 failed, 1 skipped"
  assert len(list((tmp_path / "out").glob("*_map.png"))) == 2


@pytest.mark.slow
def test_ctrl_c_ends_with_one_line_exit_130_and_no_partial_file(tmp_path):
  out = tmp_path / "out"
  process = _compress_photos_after_the_first(tmp_path, out)
  process.send_signal(signal.SIGINT)
  _, stderr = process.communicate(timeout=120)
  assert process.returncode == 130
  assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
  assert _lines(stderr, "interrupted") == [
    "interrupted: files finished so far are complete, none is half-written"
  ]
  _no_temporaries(out)
  for path in out.iterdir():
    _decodes_whole(path)


def test_the_next_run_removes_what_a_killed_run_left(tmp_path):
  out = tmp_path / "out"
  out.mkdir()
  leftover = leave_killed_writers_temporary(out / "photo.jpg")
  result = _compress_one(tmp_path, _photo(tmp_path / "in.png"), "--output_dir", str(out))
  assert result.returncode == 0, result.stderr
  assert _lines(result.stderr, "removed") == [
    f"removed: {leftover}: stale temporary file of an interrupted run"
  ]
  assert [p.name for p in out.iterdir()] == ["in.jpg"]


def test_bytes_in_is_the_input_as_read_when_it_is_overwritten(tmp_path):
  source = tmp_path / "a.jpg"
  source.write_bytes(bad_inputs.jpeg_bytes(read_rgb("kodim23.png")[:256, :384], quality=95))
  size_in = source.stat().st_size
  result = _compress_one(tmp_path, source, "--output_dir", str(tmp_path), "--overwrite", "--json")
  assert result.returncode == 0, result.stderr
  [record] = [json.loads(line) for line in result.stdout.splitlines()]
  assert record["bytes_in"] == size_in and record["bytes_out"] == source.stat().st_size < size_in
  assert record["ratio"] == round(size_in / record["bytes_out"], 3) > 1.0


@pytest.mark.slow
def test_camera_files_compress_and_damaged_jpegs_warn(tmp_path):
  inputs = tmp_path / "in"
  inputs.mkdir()
  photo = read_rgb("kodim23.png")[:256, :384]
  Image.fromarray(photo).save(
    inputs / "camera.mpo", "MPO", save_all=True, append_images=[Image.fromarray(photo[::-1])]
  )
  (inputs / "no_end_marker.jpg").write_bytes(bad_inputs.jpeg_bytes(photo)[:-2])
  _, damaged = bad_inputs.damaged_jpegs()
  for name, data in damaged.items():
    (inputs / f"{name}.jpg").write_bytes(data)
  out = tmp_path / "out"
  result = run_cli("compress", str(inputs), "--output_dir", str(out), "--json")
  assert result.returncode == 0 and "Traceback" not in result.stderr
  warnings = _lines(result.stderr, "warning")
  assert len(warnings) == len(damaged) + 1
  for name in damaged:
    assert sum(f"{inputs / name}.jpg: corrupt JPEG data" in w for w in warnings) == 1
  assert sum(f"{inputs / 'camera.mpo'}: multi-picture (MPO)" in w for w in warnings) == 1
  records = {pathlib.Path(r["file"]).name: r for r in map(json.loads, result.stdout.splitlines())}
  assert len(records) == len(damaged) + 2 and records["no_end_marker.jpg"]["warnings"] == []
  assert records["camera.mpo"]["width"] == 384 and len(records["camera.mpo"]["warnings"]) == 1
  for path in out.iterdir():
    _decodes_whole(path)


def test_strict_refuses_a_damaged_jpeg(tmp_path):
  source = tmp_path / "damaged.jpg"
  source.write_bytes(bad_inputs.damaged_jpegs(count=1)[1]["zeroed_table"])
  result = _compress_one(tmp_path, source, "--output_dir", str(tmp_path / "out"), "--strict")
  assert result.returncode == 2 and "Traceback" not in result.stderr
  assert _error_lines(result.stderr) == [
    f"error: {source}: corrupt JPEG data, refused as strict (a quantization table has zero entries)"
  ]
  assert not list((tmp_path / "out").iterdir())


def test_skip_existing_skips_and_reports_what_would_be_replaced(tmp_path):
  source, out = _photo(tmp_path / "in.png"), tmp_path / "out"
  assert _compress_one(tmp_path, source, "--output_dir", str(out)).returncode == 0
  written = (out / "in.jpg").stat()
  result = _compress_one(tmp_path, source, "--output_dir", str(out), "--skip_existing")
  assert result.returncode == 0, result.stderr
  assert _lines(result.stderr, "skipped") == [
    f"skipped: {source}: {out / 'in.jpg'} exists (--skip_existing)"
  ]
  assert _summary(result.stdout).startswith("compressed 0 file(s), 0 failed, 1 skipped")
  assert (out / "in.jpg").stat().st_mtime_ns == written.st_mtime_ns
  help_text = run_cli("compress", "--help").stdout
  assert "existing outputs are replaced" in help_text and "--skip_existing" in help_text


def test_encoder_option_messages_name_the_flags(tmp_path):
  result = run_cli(
    "compress",
    str(_photo(tmp_path / "in.png")),
    "--output",
    str(tmp_path / "out.jpg"),
    "--policy_param",
    "nonsense=1",
  )
  assert _error_lines(result.stderr) == [
    "error: --policy 'continuous' has no parameter(s) nonsense"
  ]
  args = commands.parse_command_line(["semantic-jpeg", "compress", "in.png", "--quality", "50"])
  args.target_size = 20000  # Set as a program (the Beam tool, a notebook) may set it.
  with pytest.raises(
    arguments.UsageError, match="set at most one of --quality, --target_size, --match_jpeg_quality"
  ):
    arguments.encoder_options(args)


_RUN_AND_LIST_MODULES = """
import atexit, sys
listing = sys.argv[1]
def _modules():
  with open(listing, "w") as f:
    f.write(" ".join(sorted(sys.modules)))
atexit.register(_modules)
sys.argv = ["semantic-jpeg", *sys.argv[2:]]
from semantic_jpeg import cli
cli.run()
"""


def _run_listing_modules(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
  """Runs the command line; returns the result and the modules imported by its end."""
  listing = tmp_path / "modules.txt"
  result = subprocess.run(
    [sys.executable, "-c", _RUN_AND_LIST_MODULES, str(listing), *args],
    capture_output=True,
    text=True,
    timeout=600,
    check=False,
  )
  return result, set(listing.read_text().split())


def test_help_lists_commands_and_flags_without_tensorflow(tmp_path):
  result, modules = _run_listing_modules(tmp_path, "--help")
  assert result.returncode == 0 and "tensorflow" not in modules
  assert "compress" in result.stdout and "saliency" in result.stdout
  result, modules = _run_listing_modules(tmp_path, "compress", "--help")
  assert result.returncode == 0 and "tensorflow" not in modules
  assert all(flag in result.stdout for flag in ("--target_size", "--map", "--verbose"))
  assert "--helpfull" in result.stdout and "--alsologtostderr" not in result.stdout
  result, modules = _run_listing_modules(tmp_path, "compress", "--quality=200", "x.png")
  assert result.returncode == 2 and "tensorflow" not in modules
  assert _error_lines(result.stderr) == result.stderr.splitlines()


def test_map_file_and_server_runs_do_not_import_tensorflow(tmp_path):
  output = tmp_path / "out.jpg"
  result, modules = _run_listing_modules(
    tmp_path,
    "compress",
    str(TESTDATA / "kodim23.png"),
    "--map",
    str(TESTDATA / "kodim21.png"),
    "--output",
    str(output),
    "--roi",
    "10,10,50,50",
  )
  assert result.returncode == 0, result.stderr
  assert output.stat().st_size > 1000 and "tensorflow" not in modules
  for server in ("http://127.0.0.1:9", "127.0.0.1:9"):  # REST, gRPC; nothing listens there.
    result, modules = _run_listing_modules(
      tmp_path,
      "compress",
      str(TESTDATA / "kodim23.png"),
      "--saliency_server",
      server,
      "--saliency_timeout",
      "2",
      "--output_dir",
      str(tmp_path / "served"),
    )
    assert result.returncode == 2 and len(_error_lines(result.stderr)) == 1, result.stderr
    assert "tensorflow" not in modules


# TensorFlow's, absl's and CUDA's log lines, and LiteRT's ("INFO: Created TensorFlow Lite ...").
_NATIVE_LOG_LINE = re.compile(
  r"^[IWEF]\d{4} |absl::|cuda|oneDNN|^INFO: ", re.MULTILINE | re.IGNORECASE
)


def test_a_model_run_shows_no_native_log_lines_unless_verbose(tmp_path):
  args = (str(TESTDATA / "kodim23.png"), "--output_dir", str(tmp_path), "--quality", "50")
  quiet = run_cli("compress", *args)
  assert quiet.returncode == 0, quiet.stderr
  assert quiet.stderr == "", quiet.stderr
  verbose = run_cli("compress", *args, "--verbose")
  assert verbose.returncode == 0 and _NATIVE_LOG_LINE.search(verbose.stderr), verbose.stderr


# JPEG inputs: the coefficient domain, never larger, a perceptual target.


def _package_score(reference: np.ndarray, path: pathlib.Path) -> float:
  """SSIMULACRA 2 by the `ssimulacra2` package, against pixels."""
  import ssimulacra2  # pylint: disable=g-import-not-at-top

  png = cv2.imencode(".png", cv2.cvtColor(reference, cv2.COLOR_RGB2BGR))[1].tobytes()
  return float(ssimulacra2.compute_ssimulacra2(io.BytesIO(png), path))


@pytest.mark.slow
def test_a_folder_of_jpegs_and_pngs_to_a_score_target_with_json(tmp_path):
  inputs = tmp_path / "in"
  inputs.mkdir()
  photo = read_rgb("kodim21.png")[:256, :384]
  (inputs / "baseline.jpg").write_bytes(bad_inputs.jpeg_bytes(photo, quality=85))
  (inputs / "progressive.jpg").write_bytes(
    bad_inputs.jpeg_bytes(photo[::-1], quality=90, progressive=True, subsampling=0)
  )
  exif = Image.Exif()
  exif[0x0112] = 3  # Upside down.
  Image.fromarray(photo).save(inputs / "rotated.jpg", exif=exif, quality=90)
  _photo(inputs / "pixels.png", 256, 384)
  out = tmp_path / "out"
  result = run_cli(
    "compress", str(inputs), "--output_dir", str(out), "--target_ssimulacra2", "80", "--json"
  )
  assert result.returncode == 0, result.stderr
  records = {pathlib.Path(r["file"]).name: r for r in map(json.loads, result.stdout.splitlines())}
  assert {name: r["path"] for name, r in records.items()} == {
    "baseline.jpg": "coefficients",
    "progressive.jpg": "coefficients",
    "rotated.jpg": "pixels",
    "pixels.png": "pixels",
  }
  assert records["rotated.jpg"]["reason"] == "EXIF orientation 3 turns the stored picture"
  assert records["pixels.png"]["reason"] is None
  for name, record in records.items():
    assert record["target_ssimulacra2"] == 80 and record["ssimulacra2"] >= 80, record
    assert record["target_met"] and record["bytes_out"] < record["bytes_in"]
    output = out / f"{pathlib.Path(name).stem}.jpg"
    _decodes_whole(output)
    reference = np.asarray(ImageOps.exif_transpose(Image.open(inputs / name)).convert("RGB"))
    assert _package_score(reference, output) >= 79.5


def test_quality_95_on_a_quality_50_jpeg_writes_nothing_larger(tmp_path):
  photo = read_rgb("kodim23.png")
  inputs = tmp_path / "in"
  inputs.mkdir()
  (inputs / "q50.jpg").write_bytes(bitstream.progressive(bad_inputs.jpeg_bytes(photo, quality=50)))
  exif = Image.Exif()
  exif[0x0112] = 8  # Through pixels, where quality 95 is far larger than the input.
  Image.fromarray(photo).save(inputs / "rotated_q50.jpg", exif=exif, quality=50)
  out = tmp_path / "out"
  for name in ("q50", "rotated_q50"):
    result = _compress_one(
      tmp_path, inputs / f"{name}.jpg", "--output_dir", str(out), "--quality", "95"
    )
    assert result.returncode == 0, result.stderr
    assert (out / f"{name}.jpg").stat().st_size <= (inputs / f"{name}.jpg").stat().st_size
  [line] = result.stdout.splitlines()[:1]
  assert "from pixels: EXIF orientation 8" in line and "not smaller than the input: " in line
  result = _compress_one(
    tmp_path,
    inputs / "rotated_q50.jpg",
    "--output",
    str(tmp_path / "larger.jpg"),
    "--quality",
    "95",
    "--allow_larger",
    "--json",
  )
  [record] = map(json.loads, result.stdout.splitlines())
  assert (record["written"], record["path"]) == ("encoded", "pixels")
  assert record["bytes_out"] == (tmp_path / "larger.jpg").stat().st_size > record["bytes_in"]
