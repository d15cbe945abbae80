"""Tiny replicas of the music and speech families beyond MusicGen and VITS (Stable Audio Open, ...), each built from a
config that mirrors the real checkpoint's parts (pipeline class, text encoders, scheduler, VAE),
only small; see `tiny.py` for how they are saved and loaded."""

BUILDERS: dict = {}
