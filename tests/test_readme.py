"""The README's notebook links follow the one repository URL, and name every notebook."""

import re
from pathlib import Path

from ddpg_helpers.notebook import REPO_URL

ROOT = Path(__file__).resolve().parents[1]


def test_colab_links_are_built_from_the_repository_url():
    readme = (ROOT / "README.md").read_text()
    owner_repo = REPO_URL.removeprefix("https://github.com/")
    links = re.findall(r"\(https://colab\.research\.google\.com/github/([^)]+)\)", readme)
    expected = {f"{owner_repo}/blob/main/notebooks/{nb.name}" for nb in (ROOT / "notebooks").glob("*.ipynb")}
    assert expected and set(links) == expected


def test_readme_shows_the_test_command_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"TEST_COMMAND='([^']+)'", ci).group(1)
    assert command in (ROOT / "README.md").read_text()
