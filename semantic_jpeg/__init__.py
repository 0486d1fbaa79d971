"""semantic_jpeg: content-aware JPEG compression driven by class activation maps."""

__version__ = "0.1.0"
