"""The built-in backends as data: which class renders a stage under which name, at which version.

A spec's version names its backend's name, version and settings, and every `film plan`,
`status` and no-op render computes the specs. This table lets them do it without importing a
backend's module (and with it torch, diffusers or transformers): the class is imported only
when a step really needs the backend. A backend's `name` and `version` are also attributes of
its class (the protocol); film_pipeline_tests/unit/test_registry.py checks that the two agree, so
bump both when a backend's output changes. A backend whose identity depends on the machine (the
espeak-ng voice: installed or not) says so with `variant`, and only its module is imported.
"""

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    stage: str
    name: str
    version: str
    where: str             # "module:Class" under film_pipeline.backends
    variant: bool = False  # the class has a `variant()` that is part of its identity

    def load(self) -> type:
        module, _, cls = self.where.partition(":")
        return getattr(importlib.import_module(f"film_pipeline.backends.{module}"), cls)


BUILTIN = (
    Entry("keyframe", "procedural-keyframe", "3", "keyframe:ProceduralKeyframe"),
    Entry("keyframe", "diffusers-t2i", "2", "text2image:DiffusersText2Image"),
    Entry("motion", "camera-move", "3", "camera:CameraMove"),
    Entry("motion", "diffusers-i2v", "1", "image2video:DiffusersImage2Video"),
    Entry("upscale", "lanczos", "1", "resample:LanczosUpscaler"),
    Entry("upscale", "realesrgan", "1", "realesrgan:RealEsrganUpscaler"),
    Entry("upscale", "diffusers-x4", "1", "sd_upscale:DiffusersX4Upscaler"),
    Entry("music", "procedural-score", "1", "score:ProceduralScore"),
    Entry("music", "musicgen", "1", "neural_audio:MusicgenScore"),
    Entry("music", "stable-audio", "1", "stable_audio:StableAudioScore"),
    Entry("speech", "espeak-ng", "1", "voice:EspeakVoice", variant=True),
    Entry("speech", "piper", "1", "neural_audio:PiperVoice"),
    Entry("speech", "vits", "1", "neural_audio:VitsVoice"),
    Entry("text", "transformers-llm", "1", "text:TransformersText"),
    Entry("scorer", "clip-score", "1", "image_text:ClipScore"),
)
ENTRIES = {(entry.stage, entry.name): entry for entry in BUILTIN}
