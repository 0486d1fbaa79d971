"""Deployment and scale: TF Serving signatures, serving clients, the Apache Beam pipeline."""
