"""Draw the app icon once (QPainter, vector shapes only) and write every file made from it:

    resources/icon.png        1024x1024 PNG (the master: window icon, Linux desktop files)
    resources/Backbench.icns  macOS icon set: the same drawing rendered at 16..1024 px, PNG-encoded entries

    python packaging/make_icons.py            # regenerate both (offscreen Qt is enough)
    python packaging/make_icons.py --check    # verify the committed files are complete and consistent

Each size is rendered from the drawing itself rather than scaled down from the 1024 px image, so small
sizes stay sharp. The .icns is written here byte by byte (its format is a list of typed PNG chunks), so
it can be made on any OS; `iconutil` is not needed. Its 1024 px entry is byte-identical to icon.png.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PNG_PATH = ROOT / "resources" / "icon.png"
ICNS_PATH = ROOT / "resources" / "Backbench.icns"
MASTER = 1024

# (OSType, pixel size): every PNG-capable entry of a modern icon set (what `iconutil` writes, plus the
# small icp4/icp5 used by list views).
ICNS_ENTRIES = (
    ("icp4", 16), ("icp5", 32), ("ic11", 32), ("ic12", 64), ("ic07", 128), ("ic13", 256),
    ("ic08", 256), ("ic14", 512), ("ic09", 512), ("ic10", 1024),
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _qt_app():
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.instance() or QGuiApplication([sys.argv[0]])


def draw(painter, size: int) -> None:
    """The icon, on a 1024-unit canvas scaled to `size`: Apple's grid (824 px body, 100 px margin), a dark
    rounded square, four candles and an equity line."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QLinearGradient, QPainterPath, QPen

    painter.setRenderHint(painter.RenderHint.Antialiasing, True)
    painter.scale(size / MASTER, size / MASTER)

    body = QRectF(100, 100, 824, 824)
    shadow = QPainterPath()
    shadow.addRoundedRect(body.translated(0, 12), 185, 185)
    painter.fillPath(shadow, QColor(0, 0, 0, 70))

    bg = QLinearGradient(QPointF(512, 100), QPointF(512, 924))
    bg.setColorAt(0.0, QColor("#273142"))
    bg.setColorAt(1.0, QColor("#0f141c"))
    path = QPainterPath()
    path.addRoundedRect(body, 185, 185)
    painter.fillPath(path, QBrush(bg))
    painter.setPen(QPen(QColor(255, 255, 255, 28), 4))
    painter.drawPath(path)

    painter.setPen(QPen(QColor(255, 255, 255, 22), 3))  # a faint grid
    for y in (340, 512, 684):
        painter.drawLine(QPointF(190, y), QPointF(834, y))

    up, down = QColor("#26a69a"), QColor("#ef5350")
    # (x centre, wick top, body top, body bottom, wick bottom, colour)
    candles = ((270, 500, 560, 700, 760, down), (420, 420, 470, 620, 690, up),
               (570, 330, 390, 520, 570, up), (720, 250, 300, 450, 520, up))
    for x, wick_top, top, bottom, wick_bottom, colour in candles:
        painter.setPen(QPen(colour, 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawLine(QPointF(x, wick_top), QPointF(x, wick_bottom))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(x - 42, top, 84, bottom - top), 10, 10)

    curve = QPainterPath(QPointF(190, 800))
    for x, y in ((300, 770), (400, 790), (500, 700), (600, 720), (700, 610), (834, 560)):
        curve.lineTo(QPointF(x, y))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(QColor("#5b9cf6"), 26, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                        Qt.PenJoinStyle.RoundJoin))
    painter.drawPath(curve)


def render_png(size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImage, QPainter

    _qt_app()
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    try:
        draw(painter, size)
    finally:
        painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):  # type: ignore[call-overload]  # (the stub says bytes; bytes is refused)
        raise RuntimeError(f"could not encode the {size} px icon as PNG")
    return bytes(data.data())


def build_icns(pngs: dict[int, bytes]) -> bytes:
    chunks = b"".join(kind.encode("ascii") + struct.pack(">I", 8 + len(pngs[px])) + pngs[px]
                      for kind, px in ICNS_ENTRIES)
    return b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks


def read_icns(data: bytes) -> list[tuple[str, bytes]]:
    """[(OSType, payload)] of an .icns file; raises ValueError if it is malformed."""
    if data[:4] != b"icns" or struct.unpack(">I", data[4:8])[0] != len(data):
        raise ValueError("not an icns file (bad magic or length)")
    out, pos = [], 8
    while pos < len(data):
        if pos + 8 > len(data):
            raise ValueError(f"truncated entry header at byte {pos}")
        kind, length = data[pos:pos + 4].decode("ascii"), struct.unpack(">I", data[pos + 4:pos + 8])[0]
        if length < 8 or pos + length > len(data):
            raise ValueError(f"entry {kind} at byte {pos} has a bad length {length}")
        out.append((kind, data[pos + 8:pos + length]))
        pos += length
    return out


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def check(png_path: Path = PNG_PATH, icns_path: Path = ICNS_PATH) -> list[str]:
    """Problems with the icon files (empty: consistent)."""
    problems = []
    try:
        master = png_path.read_bytes()
        icns = icns_path.read_bytes()
    except OSError as exc:
        return [f"missing: {exc}"]
    if png_size(master) != (MASTER, MASTER):
        problems.append(f"{png_path.name} is {png_size(master)}, expected {MASTER}x{MASTER}")
    try:
        entries = dict(read_icns(icns))
    except ValueError as exc:
        return [*problems, f"{icns_path.name}: {exc}"]
    for kind, px in ICNS_ENTRIES:
        if kind not in entries:
            problems.append(f"{icns_path.name} lacks {kind} ({px} px)")
        elif png_size(entries[kind]) != (px, px):
            problems.append(f"{icns_path.name} {kind} is {png_size(entries[kind])}, expected {px}x{px}")
    if entries.get("ic10") != master:
        problems.append(f"{icns_path.name} ic10 differs from {png_path.name}: regenerate both with make_icons.py")
    return problems


def generate(png_path: Path = PNG_PATH, icns_path: Path = ICNS_PATH) -> None:
    pngs = {px: render_png(px) for px in sorted({px for _, px in ICNS_ENTRIES})}
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(pngs[MASTER])
    icns_path.write_bytes(build_icns(pngs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify the files instead of writing them")
    parser.add_argument("--out", type=Path, help="write into this folder instead of resources/")
    args = parser.parse_args(argv)
    png, icns = (args.out / PNG_PATH.name, args.out / ICNS_PATH.name) if args.out else (PNG_PATH, ICNS_PATH)
    if not args.check:
        generate(png, icns)
        print(f"wrote {png} and {icns}")
    problems = check(png, icns)
    for p in problems:
        print(f"make_icons: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
