"""Measuring: image metrics, fixation metrics, baseline encoders, equal-size comparisons."""
