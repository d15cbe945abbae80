"""A keyframe backend for failure tests, run as `python -m film_pipeline_tests.slow_backend <film args>`.

`slow-keyframe` paints like the preview painter, except that for a prompt containing "slowly",
when FILM_SLOW_MARKER names a file, it writes that file (the test now knows the render is in the
middle of that shot's storyboard) and waits until FILM_SLOW_RELEASE names an existing file (or
for ever, until it is killed). With FILM_SLOW_OBSERVE_MARKER set, it does the same while the specs
are observed (its `variant` is asked then), which holds a render in its observation. For a prompt
containing "broken" it fails the way a decoder does: the frame reader's error on a file that is no
video, with what ffmpeg said.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

from film_pipeline.backends import register
from film_pipeline.backends.keyframe import ProceduralKeyframe


def _hold(marker: str) -> None:
    Path(marker).write_text(str(os.getpid()))
    release = os.environ.get("FILM_SLOW_RELEASE", "")
    while not (release and Path(release).exists()):
        time.sleep(0.1)


class SlowKeyframe(ProceduralKeyframe):
    name = "slow-keyframe"

    @classmethod
    def variant(cls) -> str:
        if marker := os.environ.get("FILM_SLOW_OBSERVE_MARKER"):
            _hold(marker)
        return "slow"

    def paint(self, request):
        if "broken" in request.prompt:
            from film_pipeline.media import read_video

            garbage = Path(tempfile.mkdtemp()) / "not-a-video.mp4"
            garbage.write_bytes(b"\x00not a video" * 64)
            list(read_video(garbage))
        marker = os.environ.get("FILM_SLOW_MARKER")
        if marker and "slowly" in request.prompt:
            _hold(marker)
        return super().paint(request)


register("keyframe", SlowKeyframe)

if __name__ == "__main__":
    from film_pipeline.cli import main

    sys.exit(main(sys.argv[1:]))
