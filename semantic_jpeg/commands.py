"""The `semantic-jpeg` command line: its commands, compress and saliency, and their own arguments.

Built from the argument groups in `arguments`; nothing here imports TensorFlow.
"""

import argparse

from semantic_jpeg import arguments
from semantic_jpeg.deploy import serving_client

DEFAULT_SERVER_BATCH = 8


def _add_compress_command(commands: argparse._SubParsersAction) -> None:
  parser = commands.add_parser(
    "compress",
    help="Write one semantic JPEG per input image.",
    description="Writes one JPEG per input, spending more bits where the map is salient.",
  )
  parser.add_argument("inputs", nargs="+", metavar="INPUT", help="Image files, folders, globs.")
  parser.add_argument("--output", help="Output JPEG file (one input only); replaced if it exists.")
  parser.add_argument(
    "--output_dir",
    help="Folder for the outputs NAME.jpg (created if missing); existing outputs are replaced "
    "(see --skip_existing). Inputs that would share a NAME.jpg fail, each naming the others.",
  )
  arguments.add_switch(parser, "overwrite", False, "Allow the output to replace the input file.")
  arguments.add_switch(
    parser,
    "skip_existing",
    False,
    "Skip inputs whose output exists already (to resume a run), reporting each.",
  )
  parser.add_argument(
    "--jobs",
    type=arguments.bounded(int, 1),
    default=arguments.default_jobs(),
    help="Images compressed at once (threads); a photo of over 8 megapixels is compressed "
    "alone. Default: one per CPU core, at most 4.",
  )
  arguments.add_encoder_arguments(parser)
  group = parser.add_argument_group("where the map comes from")
  group.add_argument("--map", help="Precomputed saliency map (grayscale image, one input).")
  group.add_argument(
    "--roi",
    action="append",
    default=[],
    metavar="X,Y,W,H",
    help="Salient box in pixels (repeatable).",
  )
  group.add_argument("--roi_mask", help="Grayscale mask merged into the map (one input).")
  arguments.add_map_runtime_argument(group)
  group.add_argument(
    "--saliency_server",
    help="Get maps from TF Serving: http://HOST:PORT (REST) or HOST:PORT (gRPC) "
    "instead of the local model.",
  )
  group.add_argument(
    "--saliency_model_name",
    default=serving_client.DEFAULT_MODEL_NAME,
    help="Model name on the saliency server.",
  )
  group.add_argument(
    "--saliency_timeout",
    type=arguments.bounded(float, 0.1),
    default=serving_client.DEFAULT_TIMEOUT_S,
    help="Seconds to wait for the saliency server.",
  )
  group.add_argument(
    "--saliency_batch",
    type=arguments.bounded(int, 1),
    default=DEFAULT_SERVER_BATCH,
    help="Images per saliency server request.",
  )
  outputs = parser.add_argument_group("what to write")
  arguments.add_switch(outputs, "save_map", False, "Also write OUTPUT_map.png.")
  arguments.add_switch(outputs, "save_overlay", False, "Also write OUTPUT_overlay.png.")
  arguments.add_switch(outputs, "json", False, "Print one JSON object per image.")
  arguments.add_verbose_argument(outputs)
  arguments.add_input_arguments(parser)
  arguments.add_saliency_arguments(parser)


def _add_saliency_command(commands: argparse._SubParsersAction) -> None:
  parser = commands.add_parser(
    "saliency",
    help="Write the map and an overlay per image; print the top classes.",
    description="Writes NAME_map.png and NAME_overlay.png per image and prints its top "
    "ImageNet classes.",
  )
  parser.add_argument("inputs", nargs="+", metavar="IMAGE", help="Image files, folders, globs.")
  parser.add_argument(
    "--output_dir",
    required=True,
    help="Folder for the PNGs (created if missing); existing ones are replaced. Inputs that "
    "would share a NAME fail, each naming the others.",
  )
  arguments.add_switch(parser, "json", False, "Print one JSON object per image.")
  arguments.add_verbose_argument(parser)
  arguments.add_input_arguments(parser)
  arguments.add_saliency_arguments(parser)


def parse_command_line(argv: list[str]) -> argparse.Namespace:
  """The command and its arguments; a bad command line is one `error:` line and exit 2."""
  parser = arguments.ArgumentParser(
    prog="semantic-jpeg",
    description="Content-aware JPEG: a CNN finds where people look, the encoder spends the "
    "bits there.",
  )
  commands = parser.add_subparsers(title="commands", dest="command")
  _add_compress_command(commands)
  _add_saliency_command(commands)
  args = parser.parse_args(argv[1:])
  if args.command is None:
    parser.error("choose a command: compress or saliency (semantic-jpeg --help)")
  return args
