"""Tiny replicas of the text-to-image keyframe families (SDXL, SD 3, FLUX, ...), each built from a
config that mirrors the real checkpoint's parts (pipeline class, text encoders, scheduler, VAE),
only small; see `tiny.py` for how they are saved and loaded."""

BUILDERS: dict = {}
