"""A keyframe backend for failure tests, run as `python -m film_pipeline_tests.slow_backend <film args>`.

`slow-keyframe` paints like the preview painter, except that for a prompt containing "slowly",
when FILM_SLOW_MARKER names a file, it writes that file (the test now knows the render is in the
middle of that shot's storyboard) and waits until FILM_SLOW_RELEASE names an existing file (or
for ever, until it is killed).
"""

import os
import sys
import time
from pathlib import Path

from film_pipeline.backends import register
from film_pipeline.backends.keyframe import ProceduralKeyframe


class SlowKeyframe(ProceduralKeyframe):
    name = "slow-keyframe"

    def paint(self, request):
        marker = os.environ.get("FILM_SLOW_MARKER")
        if marker and "slowly" in request.prompt:
            Path(marker).write_text(str(os.getpid()))
            release = os.environ.get("FILM_SLOW_RELEASE", "")
            while not (release and Path(release).exists()):
                time.sleep(0.1)
        return super().paint(request)


register("keyframe", SlowKeyframe)

if __name__ == "__main__":
    from film_pipeline.cli import main

    sys.exit(main(sys.argv[1:]))
