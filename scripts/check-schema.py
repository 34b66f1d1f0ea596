#!/usr/bin/env python3
"""Validates scenario files against scenarios/schema.json (the editors' schema),
so the schema cannot drift from what the loader accepts.

usage: check-schema.py FILE...        exit 0 all valid, 1 one is not, 2 usage
       check-schema.py --invalid FILE  exit 0 if FILE is rejected by the schema
Prints "skipped: ..." and exits 0 when python3-yaml or python3-jsonschema is missing.
"""
import json
import pathlib
import sys

try:
    import jsonschema
    import yaml
except ImportError as missing:
    print(f"skipped: {missing.name} is not installed (apt-get install python3-yaml "
          "python3-jsonschema)")
    sys.exit(0)

SCHEMA = json.loads((pathlib.Path(__file__).resolve().parent.parent /
                     "scenarios" / "schema.json").read_text())


def errors_of(path):
    document = yaml.safe_load(pathlib.Path(path).read_text())
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{path}: {'/'.join(map(str, e.path)) or '(top)'}: {e.message}"
            for e in validator.iter_errors(document)]


def main(argv):
    if not argv:
        print(__doc__)
        return 2
    if argv[0] == "--invalid":
        found = [e for path in argv[1:] for e in errors_of(path)]
        for error in found:
            print("rejected as expected:", error)
        return 0 if found else 1
    failures = [e for path in argv for e in errors_of(path)]
    for error in failures:
        print(error)
    print(f"check-schema: {len(argv)} file(s), {len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
