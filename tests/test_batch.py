"""A run over many files with several workers: order, the pixel budget, errors and stops."""

import pathlib
import threading
import time

import pytest

from semantic_jpeg import batch
from semantic_jpeg import errors

PATHS = [pathlib.Path(f"{i}.png") for i in range(6)]


class Recorder:
  """A stand-in for the work on one image: records which images were under way at once."""

  def __init__(self, seconds: dict[pathlib.Path, float] | None = None):
    self.seconds = seconds or {}
    self.running: set[pathlib.Path] = set()
    self.overlaps: dict[pathlib.Path, set[pathlib.Path]] = {}
    self.lock = threading.Lock()

  def __call__(self, path: pathlib.Path) -> list[str]:
    with self.lock:
      self.overlaps[path] = set(self.running)
      for other in self.running:
        self.overlaps[other].add(path)
      self.running.add(path)
    time.sleep(self.seconds.get(path, 0.05))
    with self.lock:
      self.running.remove(path)
    return [f"done {path}"]


def test_lines_come_in_the_paths_order_and_images_overlap(capsys):
  slow_first = Recorder({PATHS[0]: 0.3})
  with batch.Run("made", len(PATHS), False) as run:
    run.each(PATHS, slow_first, workers=2)
  out = capsys.readouterr().out.splitlines()
  assert out[:-1] == [f"done {path}" for path in PATHS]
  assert out[-1] == "made 6 file(s), 0 failed, 0 skipped"
  assert PATHS[1] in slow_first.overlaps[PATHS[0]]


def test_an_image_above_the_pixel_budget_is_worked_on_alone():
  large = PATHS[2]
  recorder = Recorder()
  with batch.Run("made", len(PATHS), False) as run:
    run.each(
      PATHS,
      recorder,
      workers=2,
      pixels=lambda path: batch.PIXELS_AT_ONCE if path == large else 1000,
    )
  assert run.done == len(PATHS)
  assert recorder.overlaps[large] == set()
  assert any(recorder.overlaps[path] for path in PATHS if path != large)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_image_is_one_line_and_the_run_goes_on(capsys, workers):
  def process(path: pathlib.Path) -> list[str]:
    if path == PATHS[1]:
      raise errors.EncodeError(f"{path}: no good")
    return [f"done {path}"]

  with batch.Run("made", len(PATHS), False) as run:
    run.each(PATHS, process, workers)
  captured = capsys.readouterr()
  assert "error: 1.png: no good" in captured.err
  assert captured.out.splitlines()[-1] == "made 5 file(s), 1 failed, 0 skipped"


@pytest.mark.parametrize("workers", [1, 2])
def test_an_output_folder_error_stops_the_run_and_leaves_the_rest_untried(capsys, workers):
  started = []

  def process(path: pathlib.Path) -> list[str]:
    started.append(path)
    if path == PATHS[1]:
      raise errors.OutputFolderError("cannot write to out (Read-only file system)")
    time.sleep(0.2)
    return [f"done {path}"]

  with batch.Run("made", len(PATHS), False) as run:
    run.each(PATHS, process, workers)
  captured = capsys.readouterr()
  assert run.stopped and not run.ok
  assert len(started) <= 1 + 1 + workers  # Those under way when the error came, no more.
  assert run.done + run.failed + (len(PATHS) - len(started)) == len(PATHS)
  assert captured.err.count("error:") == 1
  assert "stopping" in captured.err
  assert f"{len(PATHS) - len(started)} not tried" in captured.out
