"""Where every shot sits in the finished film, in whole frames.

The soundtrack and the final cut both place shots with this one function, so picture and sound
can never drift apart. A crossfade overlaps two shots by up to half a second; a fade goes to
black and back without overlap; the film's length is the sum of the shots minus the overlaps.
"""

from dataclasses import dataclass

CROSSFADE_SECONDS = 0.5
FADE_SECONDS = 0.5


@dataclass(frozen=True)
class Placement:
    shot_id: str
    start: int        # first frame of the shot in the film
    frames: int       # the shot's own length
    fade_in: int      # frames of fade from black at the start
    fade_out: int     # frames of fade to black at the end
    crossfade_in: int  # frames this shot dissolves in over the previous one

    @property
    def end(self) -> int:
        return self.start + self.frames


def shot_frames(duration: float, fps: int) -> int:
    return max(1, round(duration * fps))


def layout(shots: list[tuple[str, float, str]], fps: int) -> list[Placement]:
    """Place `(shot_id, duration, transition)` triples, the transition leading into the next shot."""
    frames = [shot_frames(duration, fps) for _, duration, _ in shots]
    placements: list[Placement] = []
    start, crossfade_in, fade_in = 0, 0, 0
    for index, (shot_id, _, transition) in enumerate(shots):
        is_last = index == len(shots) - 1
        overlap = fade_out = 0
        if transition == "crossfade" and not is_last:
            overlap = min(round(CROSSFADE_SECONDS * fps), frames[index] // 2, frames[index + 1] // 2)
        elif transition in ("fade", "crossfade"):  # a crossfade out of the last shot fades to black
            fade_out = min(round(FADE_SECONDS * fps), frames[index] // 2)
        placements.append(Placement(shot_id, start, frames[index], fade_in, fade_out, crossfade_in))
        fade_in = min(round(FADE_SECONDS * fps), frames[index + 1] // 2) if fade_out and not is_last else 0
        crossfade_in = overlap
        start += frames[index] - overlap
    return placements


def total_frames(placements: list[Placement]) -> int:
    return max((p.end for p in placements), default=0)
