#!/usr/bin/env python3
"""Draws Vasa's icon (a dark disc with a red and a blue vessel tree around
a golden trunk) as PNG files of the usual sizes, with the standard library
only: python3 packaging/make-icon.py packaging/icons"""
import math, struct, sys, zlib, os

def tree(segments, x, y, angle, length, width, depth):
    if depth == 0 or length < 2:
        return
    x2, y2 = x + length * math.cos(angle), y + length * math.sin(angle)
    segments.append((x, y, x2, y2, width))
    for turn in (-0.45, 0.4):
        tree(segments, x2, y2, angle + turn, length * 0.72, width * 0.7, depth - 1)

def draw(size):
    s = size / 256.0
    arteries, veins, trunk = [], [], [(128, 40, 128, 215, 22)]
    tree(arteries, 118, 110, math.pi * 1.1, 55, 12, 6)
    tree(arteries, 138, 110, -math.pi * 0.1, 55, 12, 6)
    tree(veins, 120, 150, math.pi * 0.9, 50, 10, 5)
    tree(veins, 136, 150, math.pi * 0.1, 50, 10, 5)
    layers = [(veins, (38, 139, 210)), (arteries, (220, 50, 47)), (trunk, (230, 150, 30))]
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            x, y = (px + 0.5) / s, (py + 0.5) / s
            r = math.hypot(x - 128, y - 128)
            if r > 124:
                row += bytes((0, 0, 0, 0))
                continue
            c = (24, 26, 32)
            for segs, colour in layers:
                for (x1, y1, x2, y2, w) in segs:
                    dx, dy = x2 - x1, y2 - y1
                    t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
                    if math.hypot(x - x1 - t * dx, y - y1 - t * dy) <= w / 2:
                        c = colour
                        break
            a = 255 if r < 123 else int(255 * (124 - r))
            row += bytes((*c, a))
        rows.append(b"\0" + bytes(row))
    raw = zlib.compress(b"".join(rows), 9)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")

out = sys.argv[1] if len(sys.argv) > 1 else "packaging/icons"
os.makedirs(out, exist_ok=True)
for size in (48, 128, 256):
    with open(os.path.join(out, f"vasa-{size}.png"), "wb") as f:
        f.write(draw(size))
