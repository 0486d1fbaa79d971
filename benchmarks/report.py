"""What every benchmark report shares: the machine it ran on, and printing and saving it."""

from collections.abc import Callable
import os
import platform
import statistics
import time

from semantic_jpeg import files


def machine() -> str:
  """'CPU (2 cores), x86_64, TensorFlow 2.21.0' or the GPU equivalent."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top

  device = "GPU" if tf.config.list_physical_devices("GPU") else f"CPU ({os.cpu_count()} cores)"
  load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
  return (
    f"{device}, {platform.processor() or platform.machine()}, TensorFlow {tf.__version__}, "
    f"load average {load} when the report was written (the machine is shared)"
  )


def publish(lines: list[str], output: str | None) -> None:
  """Prints the Markdown report and writes it to `output` (atomically) if given."""
  report = "\n".join(lines) + "\n"
  print(report)
  if output:
    files.write_atomic(output, report.encode())


def median_ms(call: Callable[[], object], repeats: int) -> float:
  """Median wall time of `call` in milliseconds over `repeats` runs, after one warm-up run."""
  call()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    call()
    times.append(1e3 * (time.perf_counter() - start))
  return statistics.median(times)
