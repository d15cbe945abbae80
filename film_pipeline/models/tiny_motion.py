"""Tiny replicas of the image-to-video families (LTX-Video, CogVideoX, Wan, ...), each built from a
config that mirrors the real checkpoint's parts (pipeline class, text encoders, scheduler, VAE),
only small; see `tiny.py` for how they are saved and loaded."""

BUILDERS: dict = {}
