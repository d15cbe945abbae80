"""The stage table: its shape, what derives from it, and the versions it must never move."""

import ast
import subprocess
import sys
from pathlib import Path

from film_pipeline import graph
from film_pipeline.versions import artifact_version
from film_pipeline.specs import SHOT_SPECS

PACKAGE = Path(graph.__file__).resolve().parent


def test_every_parent_is_a_source_or_an_earlier_stage():
    known = {source.name for source in graph.SOURCES}
    for stage in graph.STAGES:
        assert set(stage.parents) <= known, f"{stage.name} reads {set(stage.parents) - known} before it is made"
        known.add(stage.name)


def test_a_per_shot_stage_reads_only_per_shot_inputs():
    for stage in graph.STAGES:
        if stage.per_shot:
            assert all(graph.is_per_shot(parent) for parent in stage.parents), stage.name


def test_a_stage_that_reads_every_shot_hashes_each_of_its_film_level_parents_once():
    for stage in graph.STAGES:
        if not stage.per_shot and graph.needs_every_shot(stage.name):
            assert sorted(stage.hashes) == sorted(set(stage.parents) - {graph.per_shot_parent(stage.name)}), stage.name
        else:
            assert stage.hashes == (), stage.name


def test_names_derive_from_the_table_in_its_order():
    assert graph.SHOT_ASSETS == ("storyboard", "clip", "upscaled_clip", "voiceover")
    assert graph.FILM_ASSETS == ("script", "characters", "soundtrack", "subtitles", "final_cut", "timeline_export")
    assert graph.SHOT_SOURCES == tuple(SHOT_SPECS)
    assert graph.MODEL_ASSETS == ("characters", "storyboard", "clip", "upscaled_clip", "voiceover", "soundtrack")
    assert [graph.needs_every_shot(n) for n in graph.FILM_ASSETS] == [False, False, True, True, True, True]


def test_every_stage_has_a_module_and_an_asset_body():
    from film_pipeline.defs.assets import BODIES

    assert set(BODIES) == set(graph.ASSET_NAMES)
    for name in graph.ASSET_NAMES:
        assert (PACKAGE / "stages" / f"{name}.py").is_file(), f"stages/{name}.py is missing"


def test_code_versions_move_only_on_purpose():
    """A code version is part of every data version: changing one re-renders every user's films."""
    assert graph.CODE_VERSIONS == {"script": "1", "characters": "1", "storyboard": "1", "clip": "1",
                                   "upscaled_clip": "2", "voiceover": "1", "soundtrack": "2", "subtitles": "1",
                                   "final_cut": "4", "timeline_export": "1"}


def test_film_level_inputs_keep_the_order_their_versions_hash():
    versions = {("script", None): "s1", ("soundtrack", None): "t1", ("score_spec", None): "c1", ("subtitles", None): "x1",
                ("upscaled_clip", "a"): "u1", ("upscaled_clip", "b"): "u2", ("voiceover", "a"): "v1", ("voiceover", "b"): "v2"}
    cut = graph.film_level_inputs("final_cut", versions, ["a", "b"])
    sound = graph.film_level_inputs("soundtrack", versions, ["a", "b"])
    assert cut == ["s1", "t1", "x1", [("a", "u1"), ("b", "u2")]]
    assert sound == ["c1", [("a", "v1"), ("b", "v2")]]
    # The same inputs make the same versions; these move only with a code version, on purpose:
    # final_cut 2 -> 3 (issue 18: the mix mastered to a loudness target, the subtitles as an input and
    # a mov_text track, BT.709 colour tags; it was 5b22b7dd7150085dfbd5 for ["s1", "t1", shots]) and
    # soundtrack 1 -> 2 (the score stem beside the mix; it was 7efb6325e4b8fd151947); final_cut 3 -> 4
    # (issue 17: mastered from ebur128's reading with a plain gain, not loudnorm; it was 25b6f06b960c6df08f50).
    assert artifact_version("final_cut", cut) == "7652468a6bb0be729b0f"
    assert artifact_version("soundtrack", sound) == "045ecdbb3928920f16c6"
    assert artifact_version("clip", ["b1", "m1"]) == "2fd8fcd1ecd082ffc0b4"


def test_the_table_imports_nothing_of_the_package():
    tree = ast.parse((PACKAGE / "graph.py").read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in imported if m and m.startswith("film_pipeline")]


def test_stages_and_the_store_load_without_dagster():
    """A stage runs (and is tested) without Dagster: importing every stage and store loads none of it."""
    modules = [f"film_pipeline.{folder}.{path.stem}" for folder in ("stages", "store")
               for path in sorted((PACKAGE / folder).glob("*.py")) if path.stem != "__init__"]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + \
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'dagster', 'torch', 'diffusers'}))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]", run.stdout
