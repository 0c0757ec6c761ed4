#!/usr/bin/env python3
"""Reads and edits .lathe files (runtime/include/lathe/runtime/ModelFormat.h,
docs/Deploy.md), for inspection and for the tests that feed the loader
damaged or doctored files.

  lathe_artifact.py show FILE                 header, sections, metadata
  lathe_artifact.py extract FILE KIND OUT     one section's bytes (META, CODE, DATA)
  lathe_artifact.py set-meta FILE KEY VALUE OUT
                                              OUT = FILE with the metadata line
                                              KEY replaced (checksums redone)
"""
import struct
import sys

MAGIC = b"LATHEMOD"
HEADER = struct.Struct("<8sIIQQQ")  # magic, version, sections, file size, reserved
SECTION = struct.Struct("<8sQQQ")  # kind, offset, size, checksum
ALIGN = 4096


def checksum(data):
    h = 14695981039346656037
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h or 1


def read(path):
    blob = open(path, "rb").read()
    magic, version, count, size, _, _ = HEADER.unpack_from(blob, 0)
    if magic != MAGIC:
        sys.exit(f"{path}: not a .lathe file")
    sections = []
    for i in range(count):
        kind, offset, length, check = SECTION.unpack_from(blob, HEADER.size + i * SECTION.size)
        sections.append((kind.rstrip(b"\0").decode(), blob[offset:offset + length], check))
    return version, sections


def write(path, version, sections):
    at = HEADER.size + len(sections) * SECTION.size
    table, layout = [], []
    for kind, data, check in sections:
        at = (at + ALIGN - 1) // ALIGN * ALIGN
        if check:
            check = checksum(data)
        table.append(SECTION.pack(kind.encode(), at, len(data), check))
        layout.append((at, data))
        at += len(data)
    out = bytearray(at)
    out[0:HEADER.size] = HEADER.pack(MAGIC, version, len(sections), at, 0, 0)
    for i, entry in enumerate(table):
        start = HEADER.size + i * SECTION.size
        out[start:start + SECTION.size] = entry
    for offset, data in layout:
        out[offset:offset + len(data)] = data
    open(path, "wb").write(out)


def main(argv):
    if len(argv) >= 2 and argv[0] == "show":
        version, sections = read(argv[1])
        print(f"format {version}")
        for kind, data, check in sections:
            print(f"section {kind}: {len(data)} bytes, checksum {'%016x' % check if check else 'none'}")
        meta = dict(sections_by_kind(sections))["META"]
        sys.stdout.write(meta.decode())
    elif len(argv) == 4 and argv[0] == "extract":
        _, sections = read(argv[1])
        open(argv[3], "wb").write(dict(sections_by_kind(sections))[argv[2]])
    elif len(argv) == 5 and argv[0] == "set-meta":
        version, sections = read(argv[1])
        key, value = argv[2], argv[3]
        edited = []
        for kind, data, check in sections:
            if kind == "META":
                lines = data.decode().splitlines()
                lines = [f"{key} {value}" if l.split(" ", 1)[0] == key else l for l in lines]
                data = ("\n".join(lines) + "\n").encode()
            edited.append((kind, data, check))
        write(argv[4], version, edited)
    else:
        sys.exit(__doc__)


def sections_by_kind(sections):
    return [(kind, data) for kind, data, _ in sections]


if __name__ == "__main__":
    main(sys.argv[1:])
