"""Exports the MS-ROI model as a SavedModel in the layout TF Serving watches: BASE/NAME/VERSION.

  python export/export_saved_model.py --export_base_dir /models --model_name semantic_jpeg \
      --version 1

The version directory is written beside its final place and renamed into it, so a server that
watches BASE/NAME never loads a half-written version. See semantic_jpeg/deploy/serving.py for the
signatures and README.md for serving it.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# pylint: disable=g-import-not-at-top,wrong-import-position
import argparse
import pathlib
import shutil
import tempfile
import time

from absl import app

from semantic_jpeg import arguments
from semantic_jpeg.deploy import serving
from semantic_jpeg.saliency import model as saliency


def parse_args(argv: list[str]) -> argparse.Namespace:
  parser = arguments.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--export_base_dir", required=True, help="Folder TF Serving watches.")
  parser.add_argument("--model_name", default="semantic_jpeg", help="Model name (a sub-folder).")
  parser.add_argument(
    "--version", type=arguments.bounded(int, 1), default=1, help="Version number (a sub-folder)."
  )
  arguments.add_switch(parser, "overwrite", False, "Replace an existing version.")
  arguments.add_saliency_arguments(parser)
  return parser.parse_args(argv[1:])


def main(args: argparse.Namespace) -> None:
  model_dir = pathlib.Path(args.export_base_dir) / args.model_name
  target = model_dir / str(args.version)
  if target.exists() and not args.overwrite:
    raise app.UsageError(f"{target} exists; pass --overwrite to replace it")
  model_dir.mkdir(parents=True, exist_ok=True)
  start = time.perf_counter()
  model = saliency.load_model(**arguments.model_arguments(args))
  tmp = tempfile.mkdtemp(prefix=f".{args.version}.", dir=model_dir)
  try:
    serving.export(model, tmp, arguments.saliency_options(args))
    os.chmod(tmp, 0o755)  # mkdtemp makes 0700; the server may run as another user.
    if target.exists():
      shutil.rmtree(target)
    os.replace(tmp, target)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
  print(f"exported {target} ({size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
  app.run(main, flags_parser=parse_args)
