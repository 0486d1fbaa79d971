"""A command's run over many files: a progress bar, one line per problem, a summary line.

Files may be worked on several at once (threads: the encoder's kernels, OpenCV, LiteRT and the
libjpeg calls release the GIL), their lines still printed in order. Each file is done, failed
or skipped. A file's failure is one `error:` line and the run goes
on; an output folder that takes no file at all (`errors.OutputFolderError`) stops it. The
summary line comes either way; other exceptions (usage errors, Ctrl-C) pass through.

Native libraries write start-up lines to file descriptor 2 (TensorFlow's C++ core and absl:
oneDNN, CUDA stubs, `failed call to cuInit` without a GPU), and no environment variable stops
them all: `silence_native_stderr` sends those to /dev/null and keeps Python's stderr.
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from concurrent import futures
import contextlib
import functools
import io
import logging
import os
import pathlib
import sys
import threading

import tqdm

from semantic_jpeg import errors

_PROGRESS_MIN_FILES = 4
# Pixels of the images worked on at once by several workers: a larger image is worked on alone,
# so that memory stays about that of one image.
PIXELS_AT_ONCE = 1 << 23

Process = Callable[[pathlib.Path], Iterable[str]]


def report(kind: str, message: str) -> None:
  """One `kind: message` line on stderr, above any progress bar."""
  tqdm.tqdm.write(f"{kind}: {message}", file=sys.stderr)


def silence_native_stderr() -> None:
  """Native writes to fd 2 go nowhere; Python's stderr (our lines, warnings) stays visible."""
  sys.stderr.flush()
  kept = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  os.close(devnull)
  sys.stderr = io.TextIOWrapper(
    os.fdopen(kept, "wb"),
    encoding=sys.stderr.encoding,
    errors="backslashreplace",
    line_buffering=True,
  )
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Before TensorFlow is imported.
  logging.getLogger("absl").setLevel(logging.ERROR)
  logging.getLogger("tensorflow").setLevel(logging.ERROR)


class Run:
  """The files of one command, counted; a context manager around its work.

  Leaving it normally, or on an `errors.OutputFolderError` (reported, not raised), prints
  `VERB N file(s), F failed, S skipped[, T not tried]DETAILS` on stdout (stderr when stdout
  carries JSON); `details` adds the command's own totals.
  """

  def __init__(
    self, verb: str, total: int, json_output: bool, details: Callable[[], str] = lambda: ""
  ):
    self._verb, self._total, self._json_output, self._details = verb, total, json_output, details
    self.done = self.failed = self.skipped = 0
    self.stopped = False

  @property
  def ok(self) -> bool:
    """Nothing failed and nothing was left untried."""
    return not (self.failed or self.stopped)

  def skip(self, what: str, reason: str) -> None:
    self.skipped += 1
    report("skipped", f"{what}: {reason}")

  def fail(self, message: str) -> None:
    self.failed += 1
    report("error", message)

  def each(
    self,
    paths: list[pathlib.Path],
    process: Process,
    workers: int = 1,
    pixels: Callable[[pathlib.Path], int] = lambda path: 0,
  ) -> None:
    """Runs `process` on each path, `workers` at a time, and prints the lines it returns in the
    paths' order. Its `errors.SemanticJpegError` is one line, and on; its
    `errors.OutputFolderError` stops the run once the images under way are done. Workers are
    threads: `pixels(path)`, the image's size, keeps those worked on at once within
    PIXELS_AT_ONCE.
    """
    stop = None
    with (
      tqdm.tqdm(
        total=len(paths),
        unit="image",
        file=sys.stderr,
        dynamic_ncols=True,
        disable=len(paths) < _PROGRESS_MIN_FILES,
      ) as progress,
      _Jobs(paths, process, workers, pixels) as jobs,
    ):
      for outcome in jobs.outcomes():
        try:
          lines = outcome()
        except futures.CancelledError:
          continue  # Not tried.
        except errors.OutputFolderError as e:
          self.failed += 1  # Reported once, with the stop, when the run is left.
          stop = stop or e
          jobs.cancel()
        except errors.SemanticJpegError as e:
          self.fail(str(e))
        else:
          self.done += 1
          for line in lines:
            tqdm.tqdm.write(line)
        progress.update()
    if stop is not None:
      raise stop

  def __enter__(self) -> "Run":
    return self

  def __exit__(self, kind, error, traceback) -> bool:
    if kind is not None and not isinstance(error, errors.OutputFolderError):
      return False
    if error is not None:
      self.stopped = True
      report("error", f"{error}; stopping")
    print(self._summary(), file=sys.stderr if self._json_output else sys.stdout)
    return True

  def _summary(self) -> str:
    untried = self._total - self.done - self.failed - self.skipped
    return (
      f"{self._verb} {self.done} file(s), {self.failed} failed, {self.skipped} skipped"
      + (f", {untried} not tried" if untried else "")
      + self._details()
    )


class _Jobs:
  """`process` over the paths, `workers` at a time (threads); leaving cancels what has not
  started and waits for what has (Ctrl-C included)."""

  def __init__(
    self,
    paths: list[pathlib.Path],
    process: Process,
    workers: int,
    pixels: Callable[[pathlib.Path], int],
  ):
    self._paths, self._process, self._pixels = paths, process, pixels
    self._budget = _PixelBudget(PIXELS_AT_ONCE)
    self._pool = futures.ThreadPoolExecutor(workers, "image") if workers > 1 else None
    self._futures: list[futures.Future] = []
    self._cancelled = False

  def outcomes(self) -> Iterator[Callable[[], Iterable[str]]]:
    """Per path, in order, a call that returns `process(path)` or raises what it raised
    (`futures.CancelledError` for a path left untried)."""
    if self._pool is None:
      for path in self._paths:
        if self._cancelled:
          return
        yield functools.partial(self._process, path)
      return
    self._futures = [self._pool.submit(self._admitted, *job) for job in enumerate(self._paths)]
    if self._cancelled:  # While submitting.
      self.cancel()
    for future in self._futures:
      yield future.result

  def cancel(self) -> None:
    """Leaves the paths not started untried."""
    self._cancelled = True
    for future in self._futures:
      future.cancel()

  def _admitted(self, index: int, path: pathlib.Path) -> Iterable[str]:
    with self._budget.hold(index, self._pixels(path)):
      try:
        return self._process(path)
      except errors.OutputFolderError:
        self.cancel()  # At once: the folder takes no file, whichever image found it.
        raise

  def __enter__(self) -> "_Jobs":
    return self

  def __exit__(self, *exception) -> None:
    if self._pool is not None:
      self._pool.shutdown(wait=True, cancel_futures=True)


class _PixelBudget:
  """Admits images in order while the pixels admitted stay within a limit (one always fits)."""

  def __init__(self, limit: int):
    self._limit, self._used, self._next = limit, 0, 0
    self._changed = threading.Condition()

  @contextlib.contextmanager
  def hold(self, index: int, pixels: int) -> Iterator[None]:
    """Waits until image `index` (0, 1, ...: each once) may start; holds its pixels till done."""
    with self._changed:
      self._changed.wait_for(
        lambda: self._next == index and (self._used == 0 or self._used + pixels <= self._limit)
      )
      self._next += 1
      self._used += pixels
      self._changed.notify_all()
    try:
      yield
    finally:
      with self._changed:
        self._used -= pixels
        self._changed.notify_all()
