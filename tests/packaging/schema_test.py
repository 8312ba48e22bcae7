#!/usr/bin/env python3
"""tests/packaging/schema_test.py GATE SOURCE_DIR

Keeps docs/pipeline.schema.json in step with gate's parser, both ways:
  - it is a valid draft 2020-12 schema, and pipeline.yml.example names it
    (yaml-language-server) and validates against it;
  - the keys: every MapReader::open(node, "WHAT", {keys}) in gate/config and
    steps/ (how the parser knows its keys) has its definition in the schema
    with exactly those keys, plus the ones read before it ('environments',
    'enabled');
  - the documents: pipeline.yml.example and tests/packaging/pipelines/*.yml
    (every key at least once) pass both gate (`gate run --dry-run`, in each
    environment) and the schema; then every mapping in them gets a key that
    does not exist, and every step each key another step kind takes: whenever
    gate says "unknown key", the schema must reject the document too, and
    whenever gate accepts it, the schema must accept it.
"""
import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

gate, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
schema = json.load(open(os.path.join(src, "docs/pipeline.schema.json"), encoding="utf-8"))
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)
problems = []


class Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans (true/false only), as gate's yaml-cpp and editors read them:
    PyYAML's 1.1 rules would turn the key 'on' into True."""


Yaml12Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"),
                                   list("tf"))


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=Yaml12Loader)


# ------------------------------------------------------------------ the keys
def resolve(s):
    while "$ref" in s and len(s) == 1 or ("$ref" in s and "properties" not in s):
        target = s["$ref"].split("/")[-1]
        rest = {k: v for k, v in s.items() if k != "$ref"}
        s = {**schema["$defs"][target], **rest}
        if "$ref" not in s:
            break
    return s


def schema_keys(s):
    """Every property name a (sub)schema allows, through $ref, anyOf and oneOf."""
    s = resolve(s)
    keys = set(s.get("properties", {}))
    for branch in s.get("anyOf", []) + s.get("oneOf", []):
        keys |= schema_keys(branch)
    return keys


# What the parser calls each mapping -> the schema's definition, and the keys
# read before MapReader sees the mapping (config/environments.cpp).
K_DEFS = {
    "the pipeline": ("#", {"environments"}),
    "a database": ("database", {"enabled"}),
    "a volume": ("volume", {"enabled"}),
    "a stage": ("stage", {"enabled"}),
    "retention": ("retention", set()),
    "an alert": ("alert", set()),
    "an email alert": ("email", set()),
    "a health check": ("healthcheck", set()),
    "encryption": ("encryption", set()),
    "a remote": ("remote", set()),
    "a check step": ("checkStep", set()),
    "a backup step": ("backupStep", set()),
    "a verify step": ("verifyStep", set()),
    "a record step": ("recordStep", set()),
    "an exec step": ("execStep", set()),
}


def parser_key_lists():
    """{what: keys} from every MapReader::open call in the parser's sources."""
    found = {}
    files = glob.glob(os.path.join(src, "gate/**/*.cpp"), recursive=True) + \
        glob.glob(os.path.join(src, "steps/**/*.cpp"), recursive=True)
    for path in sorted(files):
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"MapReader::open\(\s*\w+\s*,\s*\"([^\"]+)\"\s*,\s*(\{[^}]*\}|\w+)\s*\)", text):
            what, keys = m.group(1), m.group(2)
            if not keys.startswith("{"):  # a named list: const std::vector<std::string> k_keys = {...};
                named = re.search(re.escape(keys) + r"\s*=\s*(\{[^}]*\})", text)
                if not named:
                    problems.append(f"{path}: cannot find the key list '{keys}' of {what}")
                    continue
                keys = named.group(1)
            found.setdefault(what, set()).update(re.findall(r"\"([^\"]+)\"", keys))
        if "MapReader::open(" in text and "Result<MapReader>" not in text:
            calls = len(re.findall(r"MapReader::open\(", text))
            matched = len(re.findall(r"MapReader::open\(\s*\w+\s*,\s*\"", text))
            if calls != matched:
                problems.append(f"{path}: a MapReader::open call this test cannot read; "
                                "give it a string literal name and a key list")
    return found


parsed = parser_key_lists()
if len(parsed) < len(K_DEFS):
    problems.append(f"found only {sorted(parsed)} MapReader::open calls; has the parser changed?")
for what, keys in sorted(parsed.items()):
    if what not in K_DEFS:
        problems.append(f"the parser reads '{what}' with keys {sorted(keys)}: add its definition "
                        "to docs/pipeline.schema.json and map it in K_DEFS here")
        continue
    name, extra = K_DEFS[what]
    defined = schema_keys(schema if name == "#" else {"$ref": f"#/$defs/{name}"})
    want = keys | extra
    for k in sorted(want - defined):
        problems.append(f"{what}: the parser accepts '{k}' but the schema ($defs/{name}) lacks it")
    for k in sorted(defined - want):
        problems.append(f"{what}: the schema ($defs/{name}) allows '{k}' but the parser rejects it")
override = schema_keys({"$ref": "#/$defs/environment"})
if override != schema_keys(schema) - {"version", "environment", "environments"}:
    problems.append("$defs/environment must allow every top-level key but version, environment "
                    f"and environments; differs in {sorted(override ^ (schema_keys(schema) - {'version', 'environment', 'environments'}))}")

# ------------------------------------------------------------- the documents
example = os.path.join(src, "pipeline.yml.example")
first = open(example, encoding="utf-8").readline()
if not re.match(r"^# yaml-language-server: \$schema=\S*docs/pipeline\.schema\.json\s*$", first):
    problems.append(f"pipeline.yml.example's first line must name the schema, not: {first!r}")
corpus = [example] + sorted(glob.glob(os.path.join(src, "tests/packaging/pipelines/*.yml")))
work = tempfile.mkdtemp(prefix="gate-schema-")
env = {**os.environ, "DATABASE_URL": "postgresql://gate:secret@127.0.0.1:1/app",
       "BACKUP_ALERT_WEBHOOK_URL": "https://hooks.example.com/x"}
runs = 0


def gate_verdict(doc, environment):
    """(exit code, output) of `gate run --dry-run` on doc."""
    global runs
    runs += 1
    path = os.path.join(work, "pipeline.yml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False, allow_unicode=True)
    argv = [gate, "--config", path] + (["--env", environment] if environment else []) + ["run", "--dry-run"]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=work)
    return r.returncode, r.stdout + r.stderr


def schema_errors(doc):
    return [f"{e.json_path}: {e.message[:160]}" for e in validator.iter_errors(doc)]


def mappings(node, where=()):
    """(path, mapping) for every mapping in the document, the free ones excluded
    (an exec step's env, the environments' names)."""
    if isinstance(node, dict):
        if where[-1:] not in (("env",), ("environments",)) or not where:
            yield where, node
        for k, v in node.items():
            yield from mappings(v, where + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from mappings(v, where + (i,))


def at(doc, where):
    for k in where:
        doc = doc[k]
    return doc


def environments_of(doc, where):
    """The environments a change at `where` is read in: its own, or every one (an
    environment may replace the part of the base that changed)."""
    if where[:1] == ("environments",) and len(where) > 1:
        return [where[1]]
    return list((doc.get("environments") or {}).keys()) or [None]


def compare(doc, environments, label):
    """gate (in every environment given) and the schema on one document."""
    code, out = 0, ""
    for environment in environments:
        c, o = gate_verdict(doc, environment)
        code, out = max(code, c), out + o
    errors = schema_errors(doc)
    if code == 0 and errors:
        problems.append(f"{label}: gate accepts it, the schema rejects it: {errors[0]}")
    if "unknown key" in out and not errors:
        said = next(line for line in out.splitlines() if "unknown key" in line)
        problems.append(f"{label}: gate says '{said}', the schema accepts it")
    return code, out


unknown_checks = 0
for path in corpus:
    name = os.path.relpath(path, src)
    doc = load(path)
    for environment in list((doc.get("environments") or {}).keys()) or [None]:
        code, out = gate_verdict(doc, environment)
        if code != 0:
            problems.append(f"{name} (environment {environment}): gate rejects it: {out.strip()}")
    for e in schema_errors(doc):
        problems.append(f"{name}: the schema rejects it: {e}")
    step_keys = {}
    for where, m in mappings(doc):
        if len(where) >= 2 and where[-2] == "steps":
            for k, v in m.items():
                step_keys.setdefault(k, v)
    for where, m in mappings(doc):
        label = f"{name} at {'.'.join(map(str, where)) or 'the top'}"
        bogus = copy.deepcopy(doc)
        at(bogus, where)["zz_not_a_key"] = 1
        code, out = compare(bogus, environments_of(doc, where), f"{label} + zz_not_a_key")
        if "unknown key 'zz_not_a_key'" in out:
            unknown_checks += 1
        elif not (where[:1] == ("environments",) and len(where) == 2):
            problems.append(f"{label}: gate did not call zz_not_a_key unknown: {out.strip()[-200:]}")
        if len(where) >= 2 and where[-2] == "steps":
            for k, v in step_keys.items():
                if k in m:
                    continue
                other = copy.deepcopy(doc)
                at(other, where)[k] = v
                code, out = compare(other, environments_of(doc, where), f"{label} + {k}")
                unknown_checks += "unknown key" in out
if unknown_checks < 40:
    problems.append(f"only {unknown_checks} mutations were rejected as unknown keys: too few to trust")

for p in problems:
    print("FAIL:", p)
if problems:
    sys.exit(1)
print(f"schema: keys of {len(parsed)} parser mappings agree; {len(corpus)} documents and "
      f"{unknown_checks} unknown-key mutations agree ({runs} gate runs)")
