#!/usr/bin/env python3
"""Runs the shell blocks of Kiln's documentation, so that no command shown to a reader can go stale.

Every fenced block in README.md and docs/**/*.md names its language. A shell block (sh, bash, shell, console)
carries a mark on the line just above its fence:

    <!-- doctest: run -->               run it; it must exit 0 (bash, set -euo pipefail)
    <!-- doctest: run timeout=600 -->   the same with another limit in seconds (default 300)
    <!-- doctest: skip REASON -->       not runnable here, and why (a real chain, a GPU, a production host, ...)

Any block may instead be written to a file for the blocks after it (a kiln.yml shown to the reader):

    <!-- doctest: file NAME -->

Inside a runnable block, lines `#> TEXT` show what the commands print: each must match a whole line of the
block's output (stdout and stderr together, leading and trailing blanks ignored), in the order given, where `…`
stands for any text. A block whose output no longer matches fails, with the output.

The blocks of one page run in order, in one scratch folder of that page, which holds links to the checkout's
templates/, examples/, scripts/, assets/, deploy/ and .venv/, and ./kiln (the launcher). `kiln` on PATH is the built
binary (.build/debug/kiln). Every process a page starts is stopped when the page ends.

    python3 scripts/dev/doctest.py                 # every page
    python3 scripts/dev/doctest.py --marks-only    # only check marks and links (no build needed)

Every page's relative links must lead to a file of the repository, and a `#fragment` to a heading of that page
(GitHub's anchors): the repository never sends readers elsewhere for what it documents.
    python3 scripts/dev/doctest.py docs/guides/operator-node.md
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELLS = {"sh", "bash", "shell", "console"}
MARK = re.compile(r"^<!--\s*doctest:\s*(?P<kind>run|skip|file)\b(?P<rest>.*?)-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)(?P<info>.*)$")
LINKED = ["templates", "examples", "scripts", "assets", "deploy", ".venv", "kiln"]


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    body: str
    mark: str | None  # run, skip, file or None
    argument: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def pages(selected: list[str]) -> list[Path]:
    if selected:
        return [Path(p).resolve() for p in selected]
    found = [ROOT / "README.md", ROOT / "CHANGELOG.md"] + sorted((ROOT / "docs").rglob("*.md"))
    return [p for p in found if p.is_file()]


def blocks_of(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").split("\n")
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        language = opening["info"].strip().split(" ")[0] if opening["info"].strip() else ""
        end = index + 1
        while end < len(lines) and not (
            lines[end].strip().startswith(fence) and lines[end].strip().strip(fence[0]) == ""
        ):
            end += 1
        body = "\n".join(line[len(indent) :] if line.startswith(indent) else line for line in lines[index + 1 : end])
        mark, argument = None, ""
        if index > 0:
            above = MARK.match(lines[index - 1].strip())
            if above:
                mark, argument = above["kind"], above["rest"].strip()
        block = Block(page, index + 1, language, body, mark, argument)
        if not language:
            block.problems.append("a fenced block names its language (text for output, sh for commands)")
        elif language in SHELLS and mark is None:
            block.problems.append(
                "a shell block is marked: <!-- doctest: run --> or <!-- doctest: skip REASON --> on the line above"
            )
        if mark == "skip" and not argument:
            block.problems.append("<!-- doctest: skip --> needs its reason")
        if mark == "file" and not re.fullmatch(r"[\w./-]+", argument):
            block.problems.append("<!-- doctest: file NAME --> needs a relative file name")
        if mark == "run" and language not in SHELLS:
            block.problems.append(f"only shell blocks run (this one is {language!r})")
        blocks.append(block)
        index = end + 1
    return blocks


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@functools.cache
def anchors_of(page: Path) -> set[str]:
    found: set[str] = set()
    inside = False
    for line in page.read_text(encoding="utf-8").split("\n"):
        if FENCE.match(line):
            inside = not inside
        elif not inside and line.startswith("#"):
            found.add(slug(line.lstrip("#")))
    return found


def link_problems(page: Path) -> list[str]:
    problems = []
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    for match in re.finditer(r"\]\(([^)\s]+)\)", text):
        target = match[1]
        if re.match(r"[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        line = text[: match.start()].count("\n") + 1
        where = f"{page.relative_to(ROOT)}:{line}"
        if not file.exists() or ROOT not in file.parents and file != ROOT:
            problems.append(f"{where}: link to {target}: no such file in the repository")
        elif fragment and file.suffix == ".md" and fragment not in anchors_of(file):
            problems.append(f"{where}: link to {target}: no heading with that anchor")
    return problems


def expected_lines(body: str) -> list[str]:
    return [line.strip()[2:].strip() for line in body.split("\n") if line.strip().startswith("#>")]


def matches(pattern: str, line: str) -> bool:
    parts = [re.escape(part) for part in pattern.split("…")]
    return re.fullmatch(".*".join(parts), line.strip()) is not None


def check_output(expected: list[str], output: str) -> str | None:
    lines = output.split("\n")
    position = 0
    for pattern in expected:
        while position < len(lines) and not matches(pattern, lines[position]):
            position += 1
        if position == len(lines):
            return pattern
        position += 1
    return None


def timeout_of(argument: str) -> int:
    found = re.search(r"timeout=(\d+)", argument)
    return int(found[1]) if found else 300


def stop(groups: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for group in groups:
            try:
                os.killpg(group, sig)
                alive.append(group)
            except ProcessLookupError:
                pass
        if not alive:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and alive:
            still = []
            for group in alive:
                try:
                    os.killpg(group, 0)
                    still.append(group)
                except ProcessLookupError:
                    pass
            alive = still
            time.sleep(0.1)


def run_page(page: Path, blocks: list[Block], scratch_root: Path) -> tuple[int, int, list[str]]:
    scratch = scratch_root / str(page.relative_to(ROOT)).replace("/", "_").removesuffix(".md")
    scratch.mkdir(parents=True)
    for name in LINKED:
        if (ROOT / name).exists():
            (scratch / name).symlink_to(ROOT / name)
    environment = dict(os.environ)
    environment["PATH"] = f"{ROOT / '.build' / 'debug'}:{environment['PATH']}"
    environment["KILN_DOCTEST"] = "1"
    environment.pop("KILN_CONFIG", None)
    ran, failures, groups = 0, [], []
    try:
        for block in blocks:
            if block.mark == "file":
                target = scratch / block.argument
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.body + "\n", encoding="utf-8")
                continue
            if block.mark != "run":
                continue
            script = scratch / f".block-{block.line}.sh"
            script.write_text("set -euo pipefail\n" + block.body + "\n", encoding="utf-8")
            log = scratch / f".block-{block.line}.out"
            started = time.monotonic()
            with open(log, "wb") as out:
                process = subprocess.Popen(
                    ["bash", script.name],
                    cwd=scratch,
                    env=environment,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                groups.append(process.pid)
                try:
                    status = process.wait(timeout=timeout_of(block.argument))
                except subprocess.TimeoutExpired:
                    stop([process.pid])
                    status = None
            output = log.read_text(encoding="utf-8", errors="replace")
            seconds = time.monotonic() - started
            ran += 1
            problem = None
            if status is None:
                problem = f"still running after {timeout_of(block.argument)} s"
            elif status != 0:
                problem = f"exit status {status}"
            else:
                missing = check_output(expected_lines(block.body), output)
                if missing is not None:
                    problem = f"no output line matches (in order) '#> {missing}'"
            if problem:
                tail = "\n".join(output.rstrip().split("\n")[-40:])
                failures.append(f"{block.where}: {problem}\n--- its output (last 40 lines):\n{tail}\n---")
                print(f"FAIL  {block.where}  ({seconds:.1f} s): {problem}", flush=True)
                break  # the page's later blocks build on this one
            print(f"ok    {block.where}  ({seconds:.1f} s)", flush=True)
    finally:
        stop(groups)
    return ran, len(failures), failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pages", nargs="*", help="pages to check (default: README.md and docs/)")
    parser.add_argument("--marks-only", action="store_true", help="only check that every shell block is marked")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders")
    arguments = parser.parse_args()

    every = {page: blocks_of(page) for page in pages(arguments.pages)}
    problems = [f"{b.where}: {p}" for blocks in every.values() for b in blocks for p in b.problems]
    problems += [problem for page in every for problem in link_problems(page)]
    runnable = sum(1 for blocks in every.values() for b in blocks if b.mark == "run")
    skipped = sum(1 for blocks in every.values() for b in blocks if b.mark == "skip")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"doctest: {len(problems)} problem(s) with marks or links (above)", file=sys.stderr)
        return 1
    print(f"doctest: {runnable} runnable block(s), {skipped} marked not runnable with a reason")
    if arguments.marks_only:
        return 0
    if not (ROOT / ".build" / "debug" / "kiln").exists():
        print("doctest: build kiln first (./kiln --version, or swift build)", file=sys.stderr)
        return 1
    scratch_root = Path(tempfile.mkdtemp(prefix="kiln-doctest-"))
    total_failures: list[str] = []
    ran_total = 0
    try:
        for page, blocks in every.items():
            if any(b.mark == "run" for b in blocks):
                ran, failed, failures = run_page(page, blocks, scratch_root)
                ran_total += ran
                total_failures += failures
    finally:
        if arguments.keep:
            print(f"doctest: scratch folders kept in {scratch_root}")
        else:
            shutil.rmtree(scratch_root, ignore_errors=True)
    for failure in total_failures:
        print(failure, file=sys.stderr)
    print(f"doctest: {ran_total} block(s) run, {len(total_failures)} failing")
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())
