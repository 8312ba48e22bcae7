#!/usr/bin/env python3
"""tests/packaging/man_test.py GATE GATE_1 [GATE_PIPELINE_5 SCHEMA]

Fails when a command or a flag that the real gate's --help lists is missing
from the built gate(1) man page: every command in `gate --help` needs its
section (`### gate CMD ...` in docs/man/gate.1.md), every flag of
`gate CMD --help` must appear in that section, and every global flag in
GLOBAL OPTIONS. New commands and flags come from --help by themselves; the
message says which line to add to docs/man/gate.1.md.
With GATE_PIPELINE_5 and SCHEMA: every key of docs/pipeline.schema.json is
in gate-pipeline(5), written as code (`key`).
"""
import json
import re
import subprocess
import sys

gate, man_page = sys.argv[1], sys.argv[2]
for page in sys.argv[2:4]:
    try:
        open(page).close()
    except OSError as e:
        sys.exit(f"no man page: {e}; the build makes them with go-md2man (apt-get install go-md2man)")


def help_section(args, section):
    """The first column of a CLI11 --help section ('Options', 'Subcommands')."""
    out = subprocess.run([gate, *args, "--help"], capture_output=True, text=True, check=True).stdout
    words, inside = [], False
    for line in out.splitlines():
        if line and not line.startswith(" "):
            inside = line == section + ":"
        elif inside and re.match(r"^  \S", line):
            words.append(line.split()[0])
    return words


def flags(args):
    return [f for w in help_section(args, "Options") for f in w.split(",") if f.startswith("-")]


def man_sections(path):
    """{heading: text} for every .SH and .SS of the roff page, markup removed."""
    sections, current = {}, ""
    for line in open(path, encoding="utf-8"):
        line = re.sub(r"\\f[BIRPC]|\\&", "", line.rstrip("\n")).replace("\\-", "-")
        m = re.match(r'^\.S[HS] "?(.*?)"?$', line)
        if m:
            current = m.group(1)
            sections[current] = ""
        else:
            sections[current] = sections.get(current, "") + line + "\n"
    return sections


def mentions(text, flag):
    return re.search(r"(^|[\s,(\[])" + re.escape(flag) + r"($|[\s,=)\]])", text, re.M) is not None


sections = man_sections(man_page)
problems = []
commands = help_section([], "Subcommands")
if len(commands) < 10:
    problems.append(f"gate --help lists only {commands}")
for flag in flags([]):
    if not mentions(sections.get("GLOBAL OPTIONS", ""), flag):
        problems.append(f"global flag {flag}: add '**{flag}**' with a ': meaning' line under "
                        "'# GLOBAL OPTIONS' in docs/man/gate.1.md")
for command in commands:
    heading = next((h for h in sections if re.match(rf"^gate {re.escape(command)}( |$)", h)), None)
    if heading is None:
        problems.append(f"command {command}: add a section '### gate {command} [OPTIONS]' under "
                        "'# COMMANDS' in docs/man/gate.1.md")
        continue
    for flag in flags([command]):
        if flag in ("-h", "--help"):
            continue  # every command's, described once in GLOBAL OPTIONS
        if not mentions(sections[heading], flag):
            problems.append(f"gate {command} {flag}: add '**{flag}**' with a ': meaning' line "
                            f"under '### gate {command}' in docs/man/gate.1.md")


def schema_keys(node):
    """Every property name anywhere in the schema."""
    keys = set()
    if isinstance(node, dict):
        keys |= set(node.get("properties", {}))
        for v in node.values():
            keys |= schema_keys(v)
    elif isinstance(node, list):
        for v in node:
            keys |= schema_keys(v)
    return keys


if len(sys.argv) > 4:
    roff = open(sys.argv[3], encoding="utf-8").read().replace("\\-", "-")
    for key in sorted(schema_keys(json.load(open(sys.argv[4], encoding="utf-8")))):
        if not re.search(r"\\fC" + re.escape(key) + r"(\\f|:)", roff):
            problems.append(f"pipeline key '{key}': not in gate-pipeline(5); document it (as `{key}`) "
                            "in docs/pipeline-reference.md")

for problem in problems:
    print("missing from the man page:", problem)
if problems:
    sys.exit(1)
print(f"man page: {len(commands)} commands and their flags are all in {man_page}"
      + (f"; every schema key in {sys.argv[3]}" if len(sys.argv) > 4 else ""))
