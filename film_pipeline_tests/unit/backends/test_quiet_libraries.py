"""Loading a model quiets the libraries' progress bars, without importing a library it does not use
(importing diffusers only to quiet it cost a transformers-only render 3 s)."""

import subprocess
import sys

QUIET_THEN_REPORT = """
import sys
{before}
from film_pipeline.models import quiet_libraries
quiet_libraries()
import transformers
print("diffusers" in sys.modules, transformers.utils.logging.is_progress_bar_enabled(),
      sys.modules["diffusers"].utils.logging.is_progress_bar_enabled() if "diffusers" in sys.modules else None)
"""


def quieted(before: str) -> str:
    return subprocess.run([sys.executable, "-c", QUIET_THEN_REPORT.format(before=before)], capture_output=True,
                          text=True, check=True).stdout.split()


def test_a_transformers_load_quiets_transformers_and_leaves_diffusers_unimported():
    assert quieted("") == ["False", "False", "None"]


def test_a_diffusers_load_quiets_diffusers_too():
    assert quieted("import diffusers") == ["True", "False", "False"]
