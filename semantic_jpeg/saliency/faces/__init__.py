"""The face prior: BlazeFace detections, rendered as Gaussian bumps in the map."""
