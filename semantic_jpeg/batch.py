"""A command's run over many files: a progress bar, one line per problem, a summary line.

Each file is done, failed or skipped. A file's failure is one `error:` line and the run goes
on; an output folder that takes no file at all (`errors.OutputFolderError`) stops it. The
summary line comes either way; other exceptions (usage errors, Ctrl-C) pass through.

Native libraries write start-up lines to file descriptor 2 (TensorFlow's C++ core and absl:
oneDNN, CUDA stubs, `failed call to cuInit` without a GPU), and no environment variable stops
them all: `silence_native_stderr` sends those to /dev/null and keeps Python's stderr.
"""

from collections.abc import Callable
import io
import logging
import os
import pathlib
import sys

import tqdm

from semantic_jpeg import errors

_PROGRESS_MIN_FILES = 4


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

  def each(self, paths: list[pathlib.Path], process: Callable[[pathlib.Path], None]) -> None:
    """Runs `process` on each path; its `errors.SemanticJpegError` is one line, and on."""
    with tqdm.tqdm(
      paths,
      unit="image",
      file=sys.stderr,
      dynamic_ncols=True,
      disable=len(paths) < _PROGRESS_MIN_FILES,
    ) as progress:
      for path in progress:
        try:
          process(path)
        except errors.OutputFolderError:
          self.failed += 1  # Reported once, with the stop, when the run is left.
          raise
        except errors.SemanticJpegError as e:
          self.fail(str(e))
        else:
          self.done += 1

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
