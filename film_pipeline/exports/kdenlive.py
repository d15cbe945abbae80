"""A Kdenlive project (MLT XML, the layout Kdenlive 22 writes) from the export's timeline.

otio-kdenlive-adapter 0.0.3 writes no transitions (it prints "Transitions handling to be
added"), a fixed 1080p profile and a deprecation notice on stdout, so the project is written
here; the adapter's reader reads it back (the tests do). The layout is Kdenlive's own:

- a `main_bin` playlist lists every file (with its shot markers) and the guides (one per shot);
- each timeline track is a tractor of two playlists; a crossfade is a same-track mix (Kdenlive's
  term): the shots on either side sit on alternate playlists and a `luma` dissolve (with
  `kdenlive:mixcut`) spans their overlap;
- a fade to (from) black is Kdenlive's `fade_to_black` (`fade_from_black`) effect, MLT's
  `brightness` filter, keyframed frame by frame as the cut fades;
- the main tractor composites the video tracks over black (`affine`, Kdenlive's "composite and
  transform", which needs no X display, where Kdenlive's own default, `qtblend`, does) and sums
  the audio tracks (`mix`), as Kdenlive's track compositing does, so `melt` renders the cut.
"""

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import opentimelineio as otio

from film_pipeline.exports import NAMESPACE, url_path

DOC_VERSION = "1.04"  # Kdenlive 22.x project format (one timeline), which later versions open and upgrade


def _prop(element: ET.Element, name: str, value) -> None:
    ET.SubElement(element, "property", {"name": name}).text = str(value)


def _frames(time: otio.opentime.RationalTime, fps: int) -> int:
    return round(time.to_seconds() * fps)


class _Project:
    def __init__(self, timeline: otio.schema.Timeline):
        meta = timeline.metadata[NAMESPACE]
        self.timeline, self.fps, self.frames = timeline, meta["fps"], meta["frames"]
        self.width, self.height = meta["width"], meta["height"]
        self.root = ET.Element("mlt", {"LC_NUMERIC": "C", "version": "7.12.0", "title": timeline.name,
                                       "producer": "main_bin"})
        self.producers: dict[str, ET.Element] = {}  # media URL -> producer
        self.bin_ids: dict[str, int] = {}           # producer id -> its kdenlive:id
        self.markers: dict[str, list] = {}          # producer id -> its markers
        self.guides: list[dict] = []
        self.playlists: list[ET.Element] = []
        self.tractors: list[tuple[ET.Element, bool]] = []  # (track tractor, is audio)
        self.count = 0

    def build(self) -> ET.Element:
        ET.SubElement(self.root, "profile", {
            "description": f"{self.width}x{self.height} {self.fps} fps", "width": str(self.width),
            "height": str(self.height), "progressive": "1", "sample_aspect_num": "1", "sample_aspect_den": "1",
            "display_aspect_num": str(self.width), "display_aspect_den": str(self.height),
            "frame_rate_num": str(self.fps), "frame_rate_den": "1", "colorspace": "601"})
        for index, track in enumerate(self.timeline.tracks):
            self.track(index, track)
        bin_ = ET.SubElement(self.root, "playlist", {"id": "main_bin"})
        _prop(bin_, "kdenlive:docproperties.version", DOC_VERSION)
        _prop(bin_, "kdenlive:docproperties.decimalPoint", ".")
        _prop(bin_, "kdenlive:docproperties.guides", json.dumps(self.guides))
        _prop(bin_, "kdenlive:docproperties.guidesCategories", json.dumps(
            [{"color": "#3daee9", "comment": "shot", "index": 1}]))
        _prop(bin_, "xml_retain", "1")
        for producer in self.producers.values():
            if self.markers.get(producer.get("id")):
                _prop(producer, "kdenlive:markers", json.dumps(self.markers[producer.get("id")]))
            entry = ET.SubElement(bin_, "entry", {"producer": producer.get("id"), "in": "0",
                                                  "out": producer.get("out")})
            _prop(entry, "kdenlive:id", self.bin_ids[producer.get("id")])
        black = ET.SubElement(self.root, "producer", {"id": "black_track", "in": "0", "out": str(self.frames - 1)})
        for name, value in (("length", self.frames), ("eof", "continue"), ("resource", "black"),
                            ("aspect_ratio", 1), ("mlt_service", "color"), ("kdenlive:playlistid", "black_track"),
                            ("mlt_image_format", "rgba"), ("set.test_audio", 0)):
            _prop(black, name, value)
        self.root.extend(self.playlists)
        self.root.extend(tractor for tractor, _ in self.tractors)
        main = ET.SubElement(self.root, "tractor", {"id": "maintractor", "global_feed": "1", "in": "0",
                                                     "out": str(self.frames - 1)})
        _prop(main, "kdenlive:projectTractor", 1)
        ET.SubElement(main, "track", {"producer": "black_track"})
        # Kdenlive's order: audio tracks at the bottom (the score lowest), then the video tracks upwards
        order = [t for t in reversed(self.tractors) if t[1]] + [t for t in self.tractors if not t[1]]
        for tractor, _ in order:
            ET.SubElement(main, "track", {"producer": tractor.get("id")})
        for index, (_, audio) in enumerate(order, 1):
            transition = ET.SubElement(main, "transition", {"id": f"transition_track{index}"})
            settings = ({"mlt_service": "mix", "kdenlive_id": "mix", "sum": 1, "accepts_blanks": 1} if audio
                        else {"mlt_service": "affine", "kdenlive_id": "affine", "distort": 0, "fill": 1,
                              "rect": f"0 0 {self.width} {self.height} 1"})
            for name, value in {"a_track": 0, "b_track": index, **settings, "always_active": 1,
                                "internal_added": 237}.items():
                _prop(transition, name, value)
        return self.root

    def producer(self, clip: otio.schema.Clip, audio: bool) -> ET.Element:
        reference = clip.media_reference
        if reference.target_url in self.producers:  # by URL: a feature's 2,000 clips make no Path each twice
            return self.producers[reference.target_url]
        resource = str(url_path(reference.target_url))
        length = _frames(reference.available_range.duration, self.fps)
        producer = ET.SubElement(self.root, "producer", {"id": f"producer{self.count}", "in": "0",
                                                         "out": str(max(0, length - 1))})
        for name, value in (("length", length), ("eof", "pause"), ("resource", resource),
                            ("mlt_service", "avformat-novalidate"), ("seekable", 1),
                            ("kdenlive:clipname", Path(resource).name if audio else clip.name),
                            ("kdenlive:id", self.count + 2), ("kdenlive:clip_type", 1 if audio else 2)):
            _prop(producer, name, value)
        self.bin_ids[producer.get("id")] = self.count + 2
        self.count += 1
        self.producers[reference.target_url] = producer
        return producer

    def track(self, index: int, track: otio.schema.Track) -> None:
        audio = track.kind == otio.schema.TrackKind.Audio
        lanes = [ET.Element("playlist", {"id": f"playlist{2 * index}"}),
                 ET.Element("playlist", {"id": f"playlist{2 * index + 1}"})]
        ends = [0, 0]
        tractor = ET.Element("tractor", {"id": f"tractor{index}", "in": "0", "out": str(self.frames - 1)})
        _prop(tractor, "kdenlive:track_name", track.name)
        if audio:
            _prop(tractor, "kdenlive:audio_track", 1)
        for lane in lanes:
            ET.SubElement(tractor, "track", {"producer": lane.get("id"), **({"hide": "video"} if audio else {})})
            if audio:
                _prop(lane, "kdenlive:audio_track", 1)
        items, lane = list(track), 0
        ranges = track.range_of_all_children()  # at once: asked one by one, each adds up all before it
        for position, item in enumerate(items):
            if not isinstance(item, otio.schema.Clip):
                continue
            before = items[position - 1] if position else None
            after = items[position + 1] if position + 1 < len(items) else None
            mixed_in = (position >= 2 and isinstance(before, otio.schema.Transition)
                        and isinstance(items[position - 2], otio.schema.Clip))
            mixed_out = (isinstance(after, otio.schema.Transition) and position + 2 < len(items)
                         and isinstance(items[position + 2], otio.schema.Clip))
            where = ranges[item]
            start, length = _frames(where.start_time, self.fps), _frames(where.duration, self.fps)
            source = _frames(item.source_range.start_time, self.fps)
            head = _frames(before.in_offset, self.fps) if mixed_in else 0
            tail = _frames(after.out_offset, self.fps) if mixed_out else 0
            if mixed_in:
                lane = 1 - lane
                self.mix(tractor, before, start, lane)
            first, frames = start - head, length + head + tail
            if first > ends[lane]:
                ET.SubElement(lanes[lane], "blank", {"length": str(first - ends[lane])})
            producer = self.producer(item, audio)
            entry = ET.SubElement(lanes[lane], "entry", {"producer": producer.get("id"), "in": str(source - head),
                                                          "out": str(source - head + frames - 1)})
            _prop(entry, "kdenlive:id", self.bin_ids[producer.get("id")])
            ends[lane] = first + frames
            if isinstance(before, otio.schema.Transition) and not mixed_in:
                self.fade(entry, source - head, _frames(before.out_offset, self.fps), inwards=True)
            if isinstance(after, otio.schema.Transition) and not mixed_out:
                self.fade(entry, source - head + frames, _frames(after.in_offset, self.fps), inwards=False)
            for marker in item.markers:
                at = _frames(marker.marked_range.start_time, self.fps)
                self.markers.setdefault(producer.get("id"), []).append({"pos": at, "comment": marker.name, "type": 1})
                self.guides.append({"pos": start + at - source, "comment": marker.name, "type": 1})
        self.playlists.extend(lanes)
        self.tractors.append((tractor, audio))

    def mix(self, tractor: ET.Element, transition: otio.schema.Transition, cut: int, lane: int) -> None:
        """A same-track dissolve over the overlap around the cut at `cut`; the incoming shot is on `lane`."""
        before, after = _frames(transition.in_offset, self.fps), _frames(transition.out_offset, self.fps)
        # MLT's luma mixes (k)/(n) of the incoming shot on the k-th frame from `in`, the cut (k+1)/(n+1):
        # the mix starts one frame before the overlap (where only the outgoing shot plays), so every frame matches
        mix = ET.SubElement(tractor, "transition", {"in": str(cut - before - 1), "out": str(cut + after - 1)})
        for name, value in (("a_track", 0), ("b_track", 1), ("mlt_service", "luma"), ("kdenlive_id", "luma"),
                            ("kdenlive:mixcut", before + 1), ("reverse", 1 if lane == 0 else 0), ("softness", 0),
                            ("alpha_over", 1), ("fix_background_alpha", 1)):
            _prop(mix, name, value)

    def fade(self, entry: ET.Element, edge: int, frames: int, inwards: bool) -> None:
        """Kdenlive's fade from (to) black: the picture's level ramps as the cut's does, frame by frame
        ((k+1)/(n+1) over n frames), from the clip's first frame (to its last, `edge` exclusive)."""
        if frames <= 0:
            return
        first = edge if inwards else edge - frames
        levels = [(k + 1) / (frames + 1) for k in range(frames)]
        if not inwards:
            levels.reverse()
        keys = ";".join(f"{k}={level:.6f}" for k, level in ((0, levels[0]), (frames - 1, levels[-1]))[:min(2, frames)])
        effect = ET.SubElement(entry, "filter", {"in": str(first), "out": str(first + frames - 1)})
        for name, value in (("mlt_service", "brightness"), ("kdenlive_id", "fade_from_black" if inwards else "fade_to_black"),
                            ("level", 1), ("alpha", keys), ("kdenlive:collapsed", 0)):
            _prop(effect, name, value)


def write_kdenlive(timeline: otio.schema.Timeline, path: Path) -> Path:
    """Write a frame-based export timeline (`exports.frame_based`) as a Kdenlive project."""
    root = _Project(timeline).build()
    ET.indent(root, space=" ")  # in place: minidom's reparse and pretty print took ten times as long
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    Path(path).write_text(text, encoding="utf-8")
    return Path(path)
