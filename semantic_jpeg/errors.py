"""Typed exceptions of semantic_jpeg: every failure a caller can act on has its own class."""


class SemanticJpegError(Exception):
  """Base class of all errors raised by semantic_jpeg."""


class ImageError(SemanticJpegError, ValueError):
  """An input image cannot be used (missing, corrupt, unsupported or too large)."""


class ImageTooLargeError(ImageError):
  """The image has more pixels than the configured limit (checked before decoding)."""


class FixationDataError(SemanticJpegError, ValueError):
  """Eye-fixation data cannot be used (missing file or column, an image that cannot be read)."""


class WeightsError(SemanticJpegError):
  """Pretrained weights are missing, damaged or do not match the model."""


class EncodeError(SemanticJpegError, ValueError):
  """The encoder was given invalid options or cannot meet a request."""


class ServingError(SemanticJpegError):
  """A saliency server is unreachable, too slow, or gave a malformed answer."""


class OutputError(SemanticJpegError):
  """An output file cannot be written (no space, read-only, no permission, a folder in the way)."""


class OutputFolderError(OutputError):
  """No file can be written in the output folder at all: a run over many files stops."""
