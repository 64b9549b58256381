#!/usr/bin/env python3
"""Writes docs/reference/cli.md from the CLI's own definitions (swift-argument-parser's --experimental-dump-help).

    python3 -I scripts/dev/cli_reference.py            # rewrite docs/reference/cli.md
    python3 -I scripts/dev/cli_reference.py --check    # exit 1 when the committed page differs (CI)

The page above the marker line is written by hand and kept; everything below it is generated: one section per
command, its abstract and discussion, and a table of its arguments, options and flags with their defaults and
allowed values. The binary is .build/debug/kiln (build it first: ./kiln --version).
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "reference" / "cli.md"
MARKER = "<!-- Generated below by scripts/dev/cli_reference.py from `kiln --experimental-dump-help`: do not edit. -->"
HIDDEN_OPTIONS = {"help", "version", "experimental-dump-help", "generate-completion-script"}


def spelled(name: dict) -> str:
    return ("-" if name["kind"] == "short" else "--") + name["name"]


def cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def usage_of(argument: dict) -> str:
    value = f"`<{argument['valueName']}>`"
    if argument["kind"] == "positional":
        return value
    names = ", ".join(f"`{spelled(n)}`" for n in argument.get("names", []))
    return f"{names} {value}" if argument["kind"] == "option" else names


def section(command: dict, path: list[str], out: list[str]) -> None:
    name = " ".join(path)
    out.append(f"## `{name}`")
    out.append("")
    if command.get("abstract"):
        out.append(cell(command["abstract"]))
        out.append("")
    if command.get("discussion"):
        out.append(command["discussion"].strip())
        out.append("")
    rows = []
    for argument in command.get("arguments", []):
        if not argument.get("shouldDisplay", True):
            continue
        names = {n["name"] for n in argument.get("names", [])}
        if names & HIDDEN_OPTIONS:
            continue
        details = []
        if argument.get("defaultValue") not in (None, ""):
            details.append(f"default `{argument['defaultValue']}`")
        if argument.get("allValues"):
            details.append("one of " + ", ".join(f"`{v}`" for v in argument["allValues"]))
        if argument.get("isRepeating"):
            details.append("repeatable")
        if not argument.get("isOptional", False):
            details.append("required")
        rows.append(f"| {usage_of(argument)} | {cell(argument.get('abstract', ''))} | {'; '.join(details)} |")
    subcommands = [s for s in command.get("subcommands", []) if s.get("shouldDisplay", True)]
    if rows:
        out.append("| argument | what | value |")
        out.append("| --- | --- | --- |")
        out.extend(rows)
        out.append("")
    if subcommands:
        out.append("Subcommands: " + ", ".join(f"[`{name} {s['commandName']}`](#{anchor(path + [s['commandName']])})"
                                               for s in subcommands) + ".")
        out.append("")
    for sub in subcommands:
        section(sub, path + [sub["commandName"]], out)


def anchor(path: list[str]) -> str:
    return "-".join(path).lower()


def generate() -> str:
    binary = ROOT / ".build" / "debug" / "kiln"
    if not binary.exists():
        sys.exit("build kiln first: ./kiln --version")
    dump = json.loads(subprocess.run([str(binary), "--experimental-dump-help"], check=True,
                                     capture_output=True, text=True).stdout)
    command = dump["command"]
    command["subcommands"] = [s for s in command.get("subcommands", []) if s["commandName"] != "help"]
    out: list[str] = []
    section(command, ["kiln"], out)
    head = PAGE.read_text(encoding="utf-8").split(MARKER)[0].rstrip() + "\n\n" if PAGE.exists() else "# The CLI\n\n"
    return head + MARKER + "\n\n" + "\n".join(out).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail when the committed page is not current")
    arguments = parser.parse_args()
    page = generate()
    if arguments.check:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), page.splitlines(True),
                                                       "docs/reference/cli.md (committed)", "generated"))
            print("docs/reference/cli.md is not current: run python3 -I scripts/dev/cli_reference.py",
                  file=sys.stderr)
            return 1
        print("docs/reference/cli.md is current")
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
