"""libjpeg-turbo through OpenCV: the JPEG most software writes, whose sizes are the usual targets,
and the decoder the evaluation reads every file with."""

import cv2
import numpy as np

from semantic_jpeg import errors

_SAMPLING = {
  "420": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
  "444": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
}


def encode(image: np.ndarray, quality: float, subsampling: str = "420") -> bytes:
  """RGB or grayscale uint8 pixels as a JPEG at an integer quality (default settings otherwise)."""
  params = [cv2.IMWRITE_JPEG_QUALITY, int(round(quality))]
  if image.ndim == 3:
    params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, _SAMPLING[subsampling]]
    image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
  ok, data = cv2.imencode(".jpg", image, params)
  if not ok:
    raise errors.EncodeError(f"OpenCV could not encode at quality {quality}")
  return data.tobytes()


def decode(data: bytes) -> np.ndarray:
  """A JPEG's RGB (or grayscale) uint8 pixels."""
  pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
  return pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)


def jpeg_size(image: np.ndarray, quality: int) -> int:
  """Size in bytes of libjpeg-turbo's 4:2:0 JPEG at `quality`: what `match_jpeg_quality` targets."""
  return len(encode(image, quality))
