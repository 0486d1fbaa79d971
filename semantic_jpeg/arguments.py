"""Command-line arguments that the `semantic-jpeg` commands share with the Beam tool and the
SavedModel export, and the options they build (the commands themselves: `commands`).

Parsers are `absl.flags.argparse_flags` parsers (as tensorflow/compression's command lines); a
bad argument is one `error:` line on stderr and exit status 2. Nothing here imports TensorFlow.
"""

import argparse
import re
import sys
from typing import NoReturn

from absl.flags import argparse_flags

from semantic_jpeg import errors
from semantic_jpeg import image_io
from semantic_jpeg import machine
from semantic_jpeg.codec import options as encoder_options_lib
from semantic_jpeg.codec import policies
from semantic_jpeg.saliency import options as saliency_options_lib

_DEFAULTS = saliency_options_lib.SaliencyOptions()
# EncoderOptions fields, as the flags that set them are spelt.
_ENCODER_FLAGS = {
  "mode": "--encoder",
  "policy": "--policy",
  "subsampling": "--subsampling",
  "quality": "--quality",
  "target_size": "--target_size",
  "match_jpeg_quality": "--match_jpeg_quality",
  "target_ssimulacra2": "--target_ssimulacra2",
  "strength": "--strength",
}


class UsageError(errors.SemanticJpegError):
  """The command line itself is wrong."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
  """Shows defaults, except where there is none to show (None, off, empty)."""

  def _get_help_string(self, action: argparse.Action) -> str:
    if action.default in (None, False) or action.default == []:
      return action.help
    return super()._get_help_string(action)


class ArgumentParser(argparse_flags.ArgumentParser):
  """An argparse_flags parser whose errors are one `error:` line and exit status 2."""

  def __init__(self, **kwargs):
    kwargs.setdefault("formatter_class", _HelpFormatter)
    super().__init__(**kwargs)

  def error(self, message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def add_switch(parser: argparse.ArgumentParser, name: str, default: bool, help_text: str) -> None:
  """--NAME / --noNAME, absl's spelling of a boolean flag."""
  parser.add_argument(f"--{name}", dest=name, action="store_true", default=default, help=help_text)
  parser.add_argument(f"--no{name}", dest=name, action="store_false", help=argparse.SUPPRESS)


def bounded(kind: type, low: float | None = None, high: float | None = None):
  """An argparse type: `kind` within [low, high]."""

  def parse(text: str):
    try:
      value = kind(text)
    except ValueError:
      raise argparse.ArgumentTypeError(
        f"{text!r} is not {'an integer' if kind is int else 'a number'}"
      ) from None
    if (low is not None and value < low) or (high is not None and value > high):
      raise argparse.ArgumentTypeError(
        f"{text} is outside {low if low is not None else '-inf'}.."
        f"{high if high is not None else 'inf'}"
      )
    return value

  return parse


def default_jobs() -> int:
  """One job per CPU core this process may use, at most 4 (not measured beyond 2 cores)."""
  return min(machine.cpu_cores(), 4)


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
  """--max_pixels and --strict: what every reader of image files takes."""
  parser.add_argument(
    "--max_pixels",
    type=bounded(int, 1),
    default=image_io.DEFAULT_MAX_PIXELS,
    help="Refuse images with more pixels than this, before decoding.",
  )
  add_switch(
    parser,
    "strict",
    False,
    "Refuse damaged JPEGs (libjpeg's corrupt-data warnings, zeroed quantization tables, DC "
    "out of range) instead of using them with a warning.",
  )


def add_verbose_argument(parser: argparse.ArgumentParser) -> None:
  add_switch(
    parser,
    "verbose",
    False,
    "Also show the native libraries' log lines on stderr (TensorFlow, absl, CUDA).",
  )


def add_map_runtime_argument(group: argparse._ArgumentGroup) -> None:
  group.add_argument(
    "--map_runtime",
    choices=saliency_options_lib.MAP_RUNTIMES,
    default="auto",
    help="What runs the local model: 'litert' (its export: starts in a fraction of the time; "
    "the fixations map only), 'tensorflow', or 'auto': LiteRT unless an NVIDIA GPU is present.",
  )


def add_saliency_arguments(parser: argparse.ArgumentParser) -> None:
  """The map model and its options."""
  group = parser.add_argument_group("the map")
  group.add_argument(
    "--map_model",
    choices=saliency_options_lib.MAP_MODELS,
    default="fixations",
    help="'fixations': the readout trained on human eye fixations; 'cam': the paper's class "
    "activation maps of the top-k classes (for classifiers trained on your own classes).",
  )
  group.add_argument(
    "--readout_weights",
    default=None,
    help="--map_model fixations: weights from tools/train_readout.py instead of the package's.",
  )
  group.add_argument(
    "--top_k",
    type=bounded(int, 1, 1000),
    default=_DEFAULTS.top_k,
    help="Number of top classes reported, and whose activation maps make the cam map.",
  )
  group.add_argument(
    "--combine",
    choices=saliency_options_lib.COMBINE_MODES,
    default="sum",
    help="--map_model cam: how the top-k class maps are combined.",
  )
  group.add_argument(
    "--max_side",
    type=bounded(int, 32),
    default=_DEFAULTS.max_side,
    help="--map_model cam: long side (pixels) the image is scaled to for the model, at most.",
  )
  group.add_argument(
    "--face_weight",
    type=bounded(float, 0.0, 1.0),
    default=_DEFAULTS.face_weight,
    help="Peak of the face prior in the map.",
  )
  add_switch(group, "faces", True, "Merge the face prior into the map (--nofaces: off).")
  group.add_argument(
    "--weights",
    default=None,
    help="Weights written by tools/train.py (the .weights.h5 file or its "
    "folder) instead of the ImageNet ones.",
  )
  group.add_argument(
    "--threshold",
    type=bounded(float, 0.0, 1.0),
    default=_DEFAULTS.threshold,
    help="Map value at and above which a block counts as salient.",
  )


def saliency_options(args: argparse.Namespace) -> saliency_options_lib.SaliencyOptions:
  return saliency_options_lib.SaliencyOptions(
    top_k=args.top_k,
    max_side=args.max_side,
    face_weight=args.face_weight if args.faces else 0.0,
    threshold=args.threshold,
  )


def model_arguments(args: argparse.Namespace) -> dict:
  """Keyword arguments of `saliency.model.load_model`."""
  return {
    "map_model": args.map_model,
    "faces": args.faces,
    "combine": args.combine,
    "weights": args.weights,
    "readout_weights": args.readout_weights,
  }


def add_encoder_arguments(parser: argparse.ArgumentParser) -> None:
  """Rate, mode and policy of the encoder."""
  group = parser.add_argument_group("the encoder")
  rate = group.add_mutually_exclusive_group()
  rate.add_argument(
    "--quality",
    type=bounded(float, 1.0, 100.0),
    help="Quality knob (1..100; fractional except for composite); default "
    f"{encoder_options_lib.DEFAULT_QUALITY:g}.",
  )
  rate.add_argument("--target_size", type=bounded(int, 1), help="Output size limit in bytes.")
  rate.add_argument(
    "--match_jpeg_quality",
    type=bounded(int, 1, 100),
    help="Target the size of OpenCV's (libjpeg-turbo's) JPEG at this quality.",
  )
  rate.add_argument(
    "--target_ssimulacra2",
    type=bounded(float, 1.0, 100.0),
    help="Write the smallest file whose SSIMULACRA 2 against the input's pixels is at least "
    "this (90: visually lossless; 80: very good).",
  )
  group.add_argument(
    "--encoder",
    choices=encoder_options_lib.MODES,
    default="trellis",
    help="'trellis' (saliency-weighted trellis quantization), 'dct' (per-block "
    "dead zone, fastest) or 'composite' (the paper's method).",
  )
  group.add_argument(
    "--strength",
    type=bounded(float, 0.0, encoder_options_lib.MAX_STRENGTH),
    default=1.0,
    help="--encoder trellis: how strongly the map moves bits (0 ignores it).",
  )
  add_switch(
    group,
    "progressive",
    encoder_options_lib.EncoderOptions.progressive,
    "Progressive scans (the default: smaller, so better at a size target); --noprogressive "
    "writes baseline.",
  )
  group.add_argument(
    "--policy", choices=list(policies.POLICIES), default="continuous", help="Map-to-quality policy."
  )
  group.add_argument(
    "--policy_param",
    action="append",
    default=[],
    metavar="NAME=VALUE",
    help="Policy parameter (repeatable).",
  )
  group.add_argument(
    "--subsampling",
    choices=["420", "444"],
    default=None,
    help="Chroma subsampling (default: a JPEG input's own where its coefficients are kept, "
    "else 420; a JPEG whose subsampling differs is re-encoded from its pixels).",
  )
  add_switch(
    group,
    "allow_larger",
    False,
    "For JPEG inputs, write the encoded file even where it is not smaller than the input (by "
    "default the input is written, losslessly re-optimized or as it is).",
  )


def encoder_options(args: argparse.Namespace) -> encoder_options_lib.EncoderOptions:
  """EncoderOptions from the encoder arguments; a bad combination is a UsageError."""
  params = dict(_policy_param(text) for text in args.policy_param)
  try:
    return encoder_options_lib.EncoderOptions(
      mode=args.encoder,
      policy=args.policy,
      policy_params=params,
      subsampling=args.subsampling,
      quality=args.quality,
      target_size=args.target_size,
      match_jpeg_quality=args.match_jpeg_quality,
      target_ssimulacra2=args.target_ssimulacra2,
      progressive=args.progressive,
      strength=args.strength,
      allow_larger=args.allow_larger,
    )
  except errors.EncodeError as e:
    raise UsageError(_as_flags(str(e))) from None


def _as_flags(message: str) -> str:
  """An EncoderOptions message with its field names spelt as the flags."""
  names = "|".join(_ENCODER_FLAGS)
  return re.sub(rf"\b({names})\b", lambda match: _ENCODER_FLAGS[match[1]], message)


def _policy_param(text: str) -> tuple[str, float]:
  name, _, value = text.partition("=")
  try:
    return name, float(value)
  except ValueError:
    raise UsageError(f"--policy_param {text!r} is not NAME=NUMBER") from None
