"""The README's notebook links follow the one repository URL, and name every notebook."""

import re
from pathlib import Path

from ddpg_helpers import REPO_URL

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


DOCS = [ROOT / "README.md", ROOT / "docs" / "walker.md"]


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_relative_links_and_images_resolve():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            assert file.exists(), f"{doc.name} links to {target}, which does not exist"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", file.read_text(), flags=re.M)
                assert anchor in {_slug(h) for h in headings}, f"{doc.name}: no heading for #{anchor} in {file.name}"


def test_the_readme_links_the_walker_story_and_shows_the_gallery():
    readme = (ROOT / "README.md").read_text()
    assert "(docs/walker.md)" in readme
    for image in ("docs/mcc.gif", "docs/mcc_reward_curve.png", "docs/walker.gif", "docs/walker_reward_curve.png"):
        assert f"]({image})" in readme


def test_requirement_files_the_readme_names_exist():
    named = set(re.findall(r"requirements[\w-]*\.txt", (ROOT / "README.md").read_text()))
    assert {"requirements.txt", "requirements-dev.txt", "requirements-notebook.txt"} <= named
    for name in named:
        assert (ROOT / name).is_file(), name


def test_torch_stays_a_range_so_colab_keeps_its_own():
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    torch = [line for line in lines if re.match(r"torch\b", line)]
    assert torch == ["torch>=2.4"]
