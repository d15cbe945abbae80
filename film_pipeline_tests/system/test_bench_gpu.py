"""bench/gpu.py, the prepared check for a CUDA machine, runs on the CPU too: the same renders, the
same placement checks (fp32 on the CPU), the same timing against a bare loop."""

import json
import subprocess
import sys

from film_pipeline.home import REPO_ROOT


def test_the_gpu_check_runs_on_the_cpu_and_finds_every_model_where_it_was_asked_for(tmp_path):
    out = tmp_path / "gpu.json"
    done = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "gpu.py"), "--device", "cpu", "--quick",
                           "--json", str(out)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(out.read_text())
    (row,) = report["rows"]
    assert report["dtype"] == "float32" and row["problems"] == []
    assert {"unet", "vae", "text_encoder"} <= set(row["placements"]["keyframe"])
    assert all(place == ["cpu", "float32"] for place in row["placements"]["motion"].values())
    assert row["film_render_per_shot_s"] > 0 and row["bare_loop_per_shot_s"] > 0 and row["ratio"] > 0
    assert "| tiny:sd15 | tiny:svd |" in done.stdout
