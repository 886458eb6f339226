"""The docs' commands parse with the project's own parsers (nothing runs), every commit a command names for
`benchmarks/at_revision.py` is in the history, and benchmarks/results/README.md indexes every result there."""

from __future__ import annotations

import argparse
import ast
import importlib
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ddpg_helpers.cli import build_parser  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
INDEX = RESULTS / "README.md"
COMMAND = re.compile(r"\bpython3? (?:-m ddpg_helpers\b|benchmarks/\w+\.py\b)")


def doc_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md")), INDEX,
            *sorted((ROOT / "notebooks").glob("*.py"))]


def markdown_of(path: Path) -> str:
    """A markdown file's text; of a jupytext notebook (percent format), its markdown cells' text."""
    text = path.read_text()
    if path.suffix == ".md":
        return text
    cells = re.split(r"^# %%.*$", text, flags=re.M)
    heads = re.findall(r"^# %%.*$", text, flags=re.M)
    return "\n".join(re.sub(r"^# ?", "", cell, flags=re.M) for head, cell in zip(heads, cells[1:], strict=True)
                     if "[markdown]" in head)


def commands_in(text: str) -> list[list[str]]:
    """Each `python -m ddpg_helpers ...` and `python benchmarks/....py ...` command, as its argument list:
    in code blocks one per line (a line continued with a backslash is one), in the text each code span's."""
    pieces = []
    for i, block in enumerate(re.split(r"^ *```.*$", text, flags=re.M)):
        if i % 2:  # inside a fenced block
            pieces += block.replace("\\\n", " ").splitlines()
        else:
            pieces += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", block)]
    found = []
    for piece in pieces:
        for match in COMMAND.finditer(piece):
            lexer = shlex.shlex(piece[match.start():], posix=True, punctuation_chars=";&|")
            lexer.whitespace_split, lexer.commenters = True, "#"
            words = []
            for word in lexer:
                if word and set(word) <= set(";&|"):
                    break
                words.append("0" if re.fullmatch(r"\$\w+", word) else word)  # a shell variable: any value
            found.append(words)
    return found


def documented_commands() -> list[tuple[str, list[str]]]:
    return [(path.relative_to(ROOT).as_posix(), words) for path in doc_files() for words in
            commands_in(markdown_of(path))]


def script_parser(name: str, monkeypatch) -> argparse.ArgumentParser:
    """A benchmark script's parser: its parser() or build_parser(), else the one its main() builds (caught
    at its parse_args, before anything runs)."""
    module = importlib.import_module(f"benchmarks.{name}")
    for attr in ("parser", "build_parser"):
        made = getattr(module, attr, None)
        if callable(made) and made.__module__ == module.__name__:  # its own, not one it imports
            return made()

    class Caught(Exception):
        pass

    argv, real = [], argparse.ArgumentParser.parse_args

    def catch(self, args=None, namespace=None):
        if args is argv:  # main's own parser, given main's argv (not a parser main builds for something else)
            raise Caught(self)
        return real(self, args, namespace)

    with monkeypatch.context() as m:
        m.setattr(argparse.ArgumentParser, "parse_args", catch)
        with pytest.raises(Caught) as caught:
            module.main(argv)
    return caught.value.args[0]


def in_history(commit: str) -> bool:
    done = subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, capture_output=True)
    return done.returncode == 0


def check(words: list[str], monkeypatch) -> None:
    """Parse one command; SystemExit (argparse's) where a parser refuses it, AssertionError where a commit
    it names is not in the history."""
    if words[1] == "-m":
        args = words[3:]
        if len(args) < 2 and not any(a.startswith("-") for a in args):
            return  # `python -m ddpg_helpers` or `python -m ddpg_helpers plot`: the program named, not run
        try:
            build_parser().parse_args(args)
        except SystemExit as e:
            if e.code != 0 or "--help" not in args:
                raise
        return
    name = Path(words[1]).stem
    if name == "at_revision":
        ns = importlib.import_module("benchmarks.at_revision").parse(words[2:])
    else:
        ns = script_parser(name, monkeypatch).parse_args(words[2:])
    if name == "at_revision" and ns.mode == "run":
        assert in_history(ns.rev), f"{ns.rev} is not a commit of this repository"
        inner = ns.command
        assert COMMAND.match(" ".join(inner[:3])), f"at_revision runs {inner}, not a command of the project"
        check(inner, monkeypatch)
    if extra := getattr(ns, "extra", None):  # walker_seeds.py's train flags
        build_parser().parse_args(["train", *shlex.split(extra)])


def test_the_docs_name_commands_of_every_kind():
    commands = documented_commands()
    kinds = {words[1] if words[1] != "-m" else " ".join(words[3:4]) for _, words in commands}
    assert {"train", "evaluate", "export", "plot", "tune", "benchmarks/bench.py", "benchmarks/walker_seeds.py",
            "benchmarks/at_revision.py", "benchmarks/kept_nets.py", "benchmarks/threads.py"} <= kinds


def test_every_documented_command_parses_and_names_commits_in_the_history(monkeypatch, capsys):
    refused = []
    for where, words in documented_commands():
        try:
            check(words, monkeypatch)
        except (SystemExit, AssertionError) as e:
            refused.append(f"{where}: {shlex.join(words)}\n    {capsys.readouterr().err.strip() or e}")
    assert not refused, "\n".join(refused)


def test_the_command_finder_reads_blocks_spans_loops_and_notebook_cells(tmp_path):
    text = ("Run `python -m ddpg_helpers evaluate RUN\n--episodes 5` then:\n\n```bash\n"
            "python benchmarks/bench.py --envs mcc \\\n  --chunk 10   # a comment\n"
            "for S in 1 2; do python -m ddpg_helpers train --seed $S --out runs/s$S; done\n```\n")
    assert commands_in(text) == [["python", "-m", "ddpg_helpers", "evaluate", "RUN", "--episodes", "5"],
                                 ["python", "benchmarks/bench.py", "--envs", "mcc", "--chunk", "10"],
                                 ["python", "-m", "ddpg_helpers", "train", "--seed", "0", "--out", "runs/s$S"]]
    notebook = tmp_path / "nb.py"
    notebook.write_text("# %% [markdown]\n# `python benchmarks/bench.py --envs mcc`\n\n# %%\n"
                        "print('python benchmarks/bench.py --no-such-flag')\n")
    assert commands_in(markdown_of(notebook)) == [["python", "benchmarks/bench.py", "--envs", "mcc"]]


def test_a_refused_flag_or_an_unknown_commit_fails(monkeypatch):
    with pytest.raises(SystemExit):
        check(["python", "benchmarks/walker_seeds.py", "--no-such-flag"], monkeypatch)
    with pytest.raises(SystemExit):
        check(["python", "benchmarks/walker_seeds.py", "--extra", "--no-such-flag 1"], monkeypatch)
    with pytest.raises(AssertionError):
        check(["python", "benchmarks/at_revision.py", "run", "0000000", "--", "python", "benchmarks/bench.py"],
              monkeypatch)


def indexed() -> set[str]:
    """The paths, relative to benchmarks/results, that the index names in code spans."""
    names = re.findall(r"`([^`\s]+)`", INDEX.read_text())
    return {n.removeprefix("benchmarks/results/").rstrip("/") for n in names
            if re.fullmatch(r"(benchmarks/results/)?(runs/[\w.-]+/?|[\w.-]+\.csv)", n)}


def test_the_results_index_lists_every_table_and_runs_folder_and_nothing_else():
    present = {p.name for p in RESULTS.iterdir() if p.is_file() and p.name != "README.md"}
    present |= {f"runs/{p.name}" for p in (RESULTS / "runs").iterdir()} if (RESULTS / "runs").is_dir() else set()
    listed = indexed()
    assert present - listed == set(), "in benchmarks/results, not in its README.md"
    assert listed - present == set(), "in benchmarks/results/README.md, not in benchmarks/results"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_relative_link_and_anchor_in_the_docs_resolves():
    broken = []
    for doc in doc_files():
        if doc.suffix != ".md":
            continue
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            file = (doc.parent / path).resolve() if path else doc
            if not file.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and file.suffix == ".md":
                if anchor not in {_slug(h) for h in re.findall(r"^#+ (.+)$", file.read_text(), flags=re.M)}:
                    broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_pages_and_rooms_stay_readable_in_one_sitting():
    """The walker's story and the experiments in at most 300 lines each, no benchmark script over 400, the
    Trainer class within 200 (its span in the source), notebook 6 within 400."""
    root = Path(__file__).resolve().parents[1]
    for page in ("docs/walker.md", "docs/experiments.md"):
        assert len((root / page).read_text().splitlines()) <= 300, page
    for script in (root / "benchmarks").glob("*.py"):
        assert len(script.read_text().splitlines()) <= 400, script.name
    assert len((root / "notebooks/06_bipedal_walker.py").read_text().splitlines()) <= 400
    tree = ast.parse((root / "ddpg_helpers/trainer.py").read_text())
    [trainer] = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Trainer"]
    assert trainer.end_lineno - trainer.lineno + 1 <= 200
