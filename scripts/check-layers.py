#!/usr/bin/env python3
"""Enforces the dependency rule of docs/architecture.md on #include lines.

- The portable core (kernel/ minus kernel/arch/ and kernel/drivers/) includes only
  gantry/ headers and a short list of freestanding standard headers.
- hosted/ and sim/ never include each other or harness/ or visualizer/.
- Nothing below harness/ or visualizer/ includes them.
Exit 1 with file:line: what is wrong, when a rule is broken.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]')

FREESTANDING_STD = {
    "cstddef", "cstdint", "climits", "cstdarg", "new", "type_traits", "utility",
    "limits", "concepts", "bit", "compare", "initializer_list", "array", "span",
    "string_view", "optional", "atomic",
}

# area -> areas it must not include (by path prefix of the included header)
FORBIDDEN = {
    "kernel": ("gantry/hosted/", "gantry/sim/", "gantry/harness/", "gantry/viz/"),
    "hosted": ("gantry/sim/", "gantry/harness/", "gantry/viz/"),
    "sim": ("gantry/hosted/", "gantry/harness/", "gantry/viz/"),
    "apps": ("gantry/hosted/", "gantry/sim/", "gantry/harness/", "gantry/viz/"),
}


def is_core(path: pathlib.Path) -> bool:
    parts = path.relative_to(ROOT).parts
    return parts[0] == "kernel" and (len(parts) < 2 or parts[1] not in ("arch", "drivers"))


def is_sibling(path: pathlib.Path, line: str, header: str) -> bool:
    quoted = '"' + header + '"' in line
    return quoted and "/" not in header and (path.parent / header).is_file()


def check_file(path: pathlib.Path) -> list[str]:
    errors = []
    rel = path.relative_to(ROOT)
    area = rel.parts[0]
    core = is_core(path)
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        match = INCLUDE.match(line)
        if not match:
            continue
        header = match.group(1)
        where = f"{rel}:{number}"
        if core or area == "apps":
            allowed = header.startswith("gantry/") or header in FREESTANDING_STD
            # An app's own header next to it ("wal.hpp"): checked as an app file too.
            if area == "apps" and not core and is_sibling(path, line, header):
                allowed = True
            if not allowed:
                errors.append(f"{where}: '{header}' is not allowed in the portable core/apps "
                              "(only gantry/ headers and freestanding std headers; "
                              "see scripts/check-layers.py)")
        for prefix in FORBIDDEN.get(area, ()):
            if header.startswith(prefix):
                errors.append(f"{where}: {area}/ must not include '{header}' "
                              "(dependency rule, docs/architecture.md)")
    return errors


def main() -> int:
    errors = []
    for area in ("kernel", "hosted", "sim", "apps"):
        base = ROOT / area
        if not base.exists():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix in (".hpp", ".cpp", ".h") and path.is_file():
                errors.extend(check_file(path))
    for error in errors:
        print(error)
    if errors:
        print(f"check-layers: {len(errors)} violation(s)")
        return 1
    print("check-layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
