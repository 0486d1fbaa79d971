"""Size and score targets: bracketed searches over one quality knob.

File size grows (almost) monotonically with the knob. The size search aims
at the middle of the window [(1 - tolerance) * target, target]: secant steps
on log(size) until the target is bracketed, then safeguarded regula falsi
inside the bracket (bisection where the bracket stops halving, as at a jump
in size), so a few encodes suffice. The score search (`search_score`) finds
the smallest file whose perceptual score reaches a target the same way, on
the score instead of the size.
"""

from collections.abc import Callable
import dataclasses
import math

from semantic_jpeg import errors

MIN_QUALITY = 1.0
MAX_QUALITY = 100.0
DEFAULT_TOLERANCE = 0.01
_SLOPE = 0.03  # Typical d log(size) / d quality near quality 50.
_MAX_STEPS = 24


@dataclasses.dataclass(frozen=True)
class SearchResult:
  """Outcome of a size search.

  Attributes:
    quality: knob value of `data`.
    data: the encoded file, at most the target size.
    steps: number of encodes the search ran.
    met: whether the size lies in [(1 - tolerance) * target, target] (for a
      score target: whether the score reaches it).
    score: the file's score, in a score search.
  """

  quality: float
  data: bytes
  steps: int
  met: bool
  score: float | None = None


def search(
  encode: Callable[[float], bytes],
  target: int,
  *,
  guess: float,
  tolerance: float = DEFAULT_TOLERANCE,
  integer: bool = False,
  bounds: tuple[float, float] = (MIN_QUALITY, MAX_QUALITY),
  resolution: float = 1e-3,
) -> SearchResult:
  """Finds the knob whose file is at most `target` bytes and closest to it.

  Args:
    encode: knob to file bytes; deterministic, size non-decreasing in the knob.
    target: size limit in bytes.
    guess: first knob to try.
    tolerance: relative width of the acceptable window below the target.
    integer: restrict the knob to integers (e.g. for OpenCV's quality).
    bounds: the knob's range (default: quality 1..100).
    resolution: the search stops when the bracket is this narrow (1 for
      integer knobs): sizes that jump there cannot be split any finer.

  Returns:
    The largest file found that does not exceed the target; `met` tells
    whether it lies in the window. When even the highest knob stays below
    the window, that file is returned with met=False.

  Raises:
    EncodeError: the file at the lowest knob already exceeds the target.
  """
  state = _Bracket(
    target, tolerance, integer, max(resolution, 1.0) if integer else resolution, bounds
  )
  quality = state.snap(guess)
  while True:
    state.add(quality, encode(quality))
    if state.done():
      break
    quality = state.next_quality()
  if state.below is None:
    raise errors.EncodeError(
      f"target of {target} bytes is below the smallest possible file ({len(state.above[1])} bytes)"
    )
  best_quality, best = state.below
  return SearchResult(best_quality, best, state.steps, state.met())


class _Bracket:
  """Search state: the closest encodes below and above the target."""

  def __init__(
    self,
    target: int,
    tolerance: float,
    integer: bool,
    resolution: float,
    bounds: tuple[float, float],
  ):
    self.target = target
    self.low, self.high = bounds
    self.floor = (1.0 - tolerance) * target
    self.aim = (1.0 - tolerance / 2.0) * target
    self.integer = integer
    self.resolution = resolution
    self.below: tuple[float, bytes] | None = None
    self.above: tuple[float, bytes] | None = None
    self.last: tuple[float, float] | None = None  # (quality, log size)
    self.slope = _SLOPE
    self.steps = 0
    self.previous_width: float | None = None

  def snap(self, quality: float) -> float:
    """Clamps to the knob range, rounding when the knob is an integer."""
    quality = min(max(quality, self.low), self.high)
    return float(round(quality)) if self.integer else quality

  def add(self, quality: float, data: bytes) -> None:
    """Records one encode."""
    self.steps += 1
    log_size = math.log(len(data))
    if self.last is not None and quality != self.last[0]:
      slope = (log_size - self.last[1]) / (quality - self.last[0])
      if slope > 0:
        self.slope = slope
    self.last = (quality, log_size)
    if len(data) <= self.target:
      if self.below is None or quality > self.below[0]:
        self.below = (quality, data)
    elif self.above is None or quality < self.above[0]:
      self.above = (quality, data)

  def met(self) -> bool:
    return self.below is not None and len(self.below[1]) >= self.floor

  def done(self) -> bool:
    """Whether the window is hit or nothing better can be found."""
    if self.met() or self.steps >= _MAX_STEPS:
      return True
    if self.below is None:
      return self.above[0] <= self.low
    if self.above is None:
      return self.below[0] >= self.high
    return self.above[0] - self.below[0] <= self.resolution

  def next_quality(self) -> float:
    """Secant step toward the aim, kept strictly inside the bracket.

    Where the bracket did not halve since the last step (a jump in size,
    which secants cannot cross), the step bisects instead.
    """
    quality, log_size = self.last
    step = (math.log(self.aim) - log_size) / self.slope
    candidate = quality + step
    if self.below is not None and self.above is not None:
      low, high = self.below[0], self.above[0]
      width = high - low
      if self.previous_width is not None and width > self.previous_width / 2:
        candidate = (low + high) / 2
      self.previous_width = width
      margin = 0.1 * width
      candidate = min(max(candidate, low + margin), high - margin)
      if self.integer:
        candidate = min(max(round(candidate), low + 1), high - 1)
      return candidate
    return self._unbracketed(quality, candidate)

  def _unbracketed(self, quality: float, candidate: float) -> float:
    """Moves at least one knob unit, toward the missing side."""
    if self.below is None:
      candidate = min(candidate, quality - 1.0)
    else:
      candidate = max(candidate, quality + 1.0)
    return self.snap(candidate)


# Score search: aim this far above the target, so that a step lands on the passing side.
_SCORE_MARGIN = 0.1
_MAX_SCORE_STEPS = 8


def search_score(
  encode: Callable[[float], bytes],
  score: Callable[[bytes], float],
  target: float,
  *,
  guess: float,
  slope: float,
  tolerance: float = DEFAULT_TOLERANCE,
  bounds: tuple[float, float] = (MIN_QUALITY, MAX_QUALITY),
  resolution: float = 1e-3,
) -> SearchResult:
  """Finds the smallest file whose score is at least `target`.

  Args:
    encode: knob to file bytes; deterministic.
    score: file bytes to a score that grows (almost) monotonically with the knob.
    target: the least score.
    guess: first knob to try.
    slope: typical d score / d knob there, for the first secant step.
    tolerance: stop when a passing file is within this (relative) of the
      size of the largest failing one: no smaller passing file is worth
      another encode.
    bounds: the knob's range.
    resolution: stop when the bracket is this narrow.

  Returns:
    The smallest passing file found, with its score; when even the highest
    knob fails, that file with met=False.
  """
  state = _ScoreBracket(target, slope, bounds)
  quality = min(max(guess, state.low), state.high)
  while True:
    data = encode(quality)
    state.add(quality, data, score(data))
    if state.done(tolerance, resolution) or state.steps >= _MAX_SCORE_STEPS:
      break
    quality = state.next_quality()
  return state.result()


class _ScoreBracket:
  """Score search state: every encode so far, and the bracket they make."""

  def __init__(self, target: float, slope: float, bounds: tuple[float, float]):
    self.target, self.slope = target, slope
    self.low, self.high = bounds
    self.tries: list[tuple[float, bytes, float]] = []  # (quality, data, score)

  @property
  def steps(self) -> int:
    return len(self.tries)

  def add(self, quality: float, data: bytes, value: float) -> None:
    if self.tries and quality != self.tries[-1][0]:
      slope = (value - self.tries[-1][2]) / (quality - self.tries[-1][0])
      if slope > 0:
        self.slope = slope
    self.tries.append((quality, data, value))

  def _passing(self) -> list[tuple[float, bytes, float]]:
    return [entry for entry in self.tries if entry[2] >= self.target]

  def _bracket(self) -> tuple[tuple | None, tuple | None]:
    """The lowest passing try, and the highest failing one below it."""
    passing = self._passing()
    top = min(passing, key=lambda entry: entry[0]) if passing else None
    failing = [e for e in self.tries if e[2] < self.target and (top is None or e[0] < top[0])]
    return top, max(failing, key=lambda entry: entry[0]) if failing else None

  def done(self, tolerance: float, resolution: float) -> bool:
    """Whether the target is out of reach, or no smaller passing file is worth an encode."""
    top, floor = self._bracket()
    if top is None:
      return floor[0] >= self.high
    if floor is None:
      return top[0] <= self.low
    return top[0] - floor[0] <= resolution or self._saving(top, floor) <= tolerance

  def _crossing(self, top: tuple, floor: tuple, aim: float) -> float:
    """The knob where the score reaches `aim`, interpolated between the bracket's ends."""
    fraction = (aim - floor[2]) / (top[2] - floor[2])
    return floor[0] + min(max(fraction, 0.0), 1.0) * (top[0] - floor[0])

  def _saving(self, top: tuple, floor: tuple) -> float:
    """The size the lowest passing file would lose at the interpolated crossing (relative)."""
    log_slope = math.log(len(top[1]) / len(floor[1])) / (top[0] - floor[0])
    return math.expm1(log_slope * (top[0] - self._crossing(top, floor, self.target)))

  def next_quality(self) -> float:
    """A secant step past the target until it is bracketed, then regula falsi inside."""
    top, floor = self._bracket()
    if top is None or floor is None:
      quality, _, value = self.tries[-1]
      candidate = quality + (self.target + _SCORE_MARGIN - value) / self.slope
      if top is None:
        candidate = max(candidate, quality + 1.0)
      else:
        candidate = min(candidate, top[0] - 1.0)
      return min(max(candidate, self.low), self.high)
    width = top[0] - floor[0]
    if len({value >= self.target for _, _, value in self.tries[-2:]}) == 1:
      candidate = (floor[0] + top[0]) / 2  # Two in a row on one side: regula falsi stalls.
    else:
      candidate = self._crossing(top, floor, self.target + _SCORE_MARGIN)
    return min(max(candidate, floor[0] + 0.1 * width), top[0] - 0.1 * width)

  def result(self) -> SearchResult:
    passing = self._passing()
    if not passing:
      quality, data, value = max(self.tries, key=lambda entry: entry[0])
      return SearchResult(quality, data, self.steps, False, value)
    quality, data, value = min(passing, key=lambda entry: len(entry[1]))
    return SearchResult(quality, data, self.steps, True, value)
