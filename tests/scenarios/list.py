#!/usr/bin/env python3
"""Prints the ids of the catalogue's scenarios that can run here: every
machine of their lab uses an image tssrlab builds (not user-supplied).
meson runs it at configure time: one scenarios-e2e test per line."""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
images = {}
for p in (root / "labs" / "images").glob("*.json"):
    d = json.loads(p.read_text())
    images[d["id"]] = d
labs = {}
for p in (root / "labs").glob("*.json"):
    d = json.loads(p.read_text())
    labs[d["id"]] = d
for p in sorted((root / "scenarios").glob("*.json")):
    s = json.loads(p.read_text())
    lab = labs.get(s.get("lab"))
    if not lab:
        continue
    if all(not images.get(m["image"], {}).get("user_supplied", True)
           for m in lab["machines"]):
        print(s["id"])
