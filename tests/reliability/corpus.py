"""A generated hostile corpus: broken, lying, huge, slow and oddly named PDFs, plus the good documents they
sit beside. Every case is built from bytes here (nothing downloaded), deterministically."""

from __future__ import annotations

import io
import random
import zlib
from dataclasses import dataclass

from reportlab.pdfgen import canvas

from ocr_assets.samples import digital_text_pdf


def build_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF with a correct xref table from object bodies (object i+1 = objects[i])."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref))
    return out.getvalue()


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def one_page(content: bytes, media: tuple[float, float] = (612, 792), resources: bytes = b"<< >>",
             extra_objects: list[bytes] | None = None) -> bytes:
    """Catalog, pages, one page with `content`; `extra_objects` become objects 5, 6, ..."""
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents 4 0 R /Resources %s >>"
        % (media[0], media[1], resources),
        stream(content),
        *(extra_objects or []),
    ])


def lying_count_pdf(claimed: int = 1_000_000) -> bytes:
    """One real page under a page tree that claims `claimed`."""
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count %d >>" % claimed,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        stream(b"BT /F1 24 Tf 72 700 Td (Only one page is really here) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def zero_page_pdf() -> bytes:
    return build_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def blank_page_pdf() -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    c.showPage()
    c.save()
    return buf.getvalue()


def invisible_content_pdf() -> bytes:
    """A content stream that draws, but only in white on white: renders blank while not empty."""
    return one_page(b"1 1 1 rg 72 72 400 600 re f 1 1 1 RG 2 w 72 72 m 500 700 l S")


def huge_page_pdf(inches: float = 200) -> bytes:
    side = inches * 72
    return one_page(b"0 0 0 rg %g %g %g %g re f" % (side * 0.1, side * 0.1, side * 0.5, side * 0.5),
                    media=(side, side))


def xobject_bomb_pdf(depth: int = 8, fan: int = 12) -> bytes:
    """Form XObjects nested `depth` deep, each drawing the next `fan` times: fan**depth draws from ~1.5 KB."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
               b" /Resources << /XObject << /X 5 0 R >> >> >>", stream(b"/X Do")]
    for level in range(depth):
        obj = 5 + level
        if level == depth - 1:
            body = b"0 0 0 rg 1 1 2 2 re f"
            res = b"<< >>"
        else:
            body = b" ".join(b"q 1 0 0 1 %d 0 cm /X Do Q" % (i % 3) for i in range(fan))
            res = b"<< /XObject << /X %d 0 R >> >>" % (obj + 1)
        objects.append(stream(body, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources " + res))
    return build_pdf(objects)


def slow_shading_pdf(operators: int = 10_000) -> bytes:
    """A function-based shading (evaluated per pixel) whose PostScript calculator function has `operators`
    operators: tens of seconds for one page at 72 dpi, from 50 KB."""
    ops = b" ".join([b"0.999 mul"] * operators)
    func = stream(b"{ add " + ops + b" dup dup }", b"/FunctionType 4 /Domain [0 1 0 1] /Range [0 1 0 1 0 1]")
    shading = b"<< /ShadingType 1 /ColorSpace /DeviceRGB /Domain [0 1 0 1] /Matrix [612 0 0 792 0 0] /Function 6 0 R >>"
    return one_page(b"/Sh0 sh", resources=b"<< /Shading << /Sh0 5 0 R >> >>", extra_objects=[shading, func])


def javascript_pdf() -> bytes:
    """OpenAction JavaScript, a launch action and an embedded file: none of it may run or be followed."""
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R /Names << /EmbeddedFiles 6 0 R >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 8 0 R >> >> /AA << /O 9 0 R >> >>",
        stream(b"BT /F1 24 Tf 72 700 Td (A page with scripts attached) Tj ET"),
        b"<< /S /JavaScript /JS (app.alert('hello'); this.exportDataObject({cName: 'x'});) >>",
        b"<< /Names [(x.txt) 7 0 R] >>",
        b"<< /Type /Filespec /F (x.txt) /EF << /F 10 0 R >> >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /S /Launch /F (/bin/sh) >>",
        stream(b"embedded payload", b"/Type /EmbeddedFile"),
    ])


def deep_nesting_pdf(depth: int = 5000) -> bytes:
    """Arrays nested thousands deep inside the page dictionary (parser recursion)."""
    return one_page(b"BT ET", resources=b"<< /Deep " + b"[" * depth + b"]" * depth + b" >>")


def compressed_bomb_pdf(megabytes: int = 256) -> bytes:
    """A content stream that inflates from a few hundred KB to `megabytes` of spaces."""
    data = zlib.compress(b" " * (megabytes << 20), 9)
    return one_page(b"", extra_objects=[]).replace(
        b"<< /Length 0  >>\nstream\n\nendstream",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")


BOX_TEXT = b"Boxes can lie about the page"
BOX_LINES = (b"A short paragraph in the middle of the page,", BOX_TEXT, b"and its last line, which ends here.")
BOX_PARAGRAPH = b" ".join(BOX_LINES).decode()


def boxed_page_pdf(media: bytes, crop: bytes | None = None, rotate: int = 0) -> bytes:
    """One paragraph (`BOX_LINES`) mid-page, on a page whose /MediaBox (and /CropBox) are written as given."""
    lines = b" 0 -16 Td ".join(b"(" + line + b") Tj" for line in BOX_LINES)
    boxes = b"/MediaBox " + media + (b" /CropBox " + crop if crop is not None else b"")
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R " + boxes + b" /Rotate %d /Contents 4 0 R" % rotate
        + b" /Resources << /Font << /F1 5 0 R >> >> >>",
        stream(b"BT /F1 12 Tf 72 420 Td " + lines + b" ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


# name -> (MediaBox, CropBox): every way a page box is broken in the wild (and what pdfium makes of it)
BAD_BOXES: dict[bytes, tuple[bytes, bytes | None]] = {
    b"box-zero.pdf": (b"[0 0 0 0]", None),
    b"box-inverted.pdf": (b"[612 792 0 0]", None),
    b"box-nan.pdf": (b"[0 0 NaN 792]", None),
    b"box-flipped-byte.pdf": (b'[ 0"0 595 842 ]', None),
    b"box-crop-outside.pdf": (b"[0 0 612 792]", b"[700 900 800 1000]"),
    b"box-crop-inverted.pdf": (b"[0 0 612 792]", b"[612 792 0 0]"),
}


def bad_box_cases() -> list[Case]:
    return [Case(name, boxed_page_pdf(*boxes), "bad_box") for name, boxes in BAD_BOXES.items()]


STRIP_WORD = b"Strip"


def strip_page_pdf() -> bytes:
    """A 14400 x 10 pt page (200 inches by a seventh of one) holding one word: too little text for a text layer,
    too thin for layout and OCR to find anything."""
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 10] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        stream(b"BT /F1 6 Tf 20 3 Td (" + STRIP_WORD + b") Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def oversized_text_pdf() -> bytes:
    """A page of 10,000,000 pt a side (pdfium takes it): not even 1 dpi fits a pixel budget, its text layer
    needs no rendering."""
    return boxed_page_pdf(b"[0 0 10000000 10000000]")


@dataclass
class Case:
    name: bytes  # path inside the container, as file-system bytes
    data: bytes
    kind: str  # class of hostility
    good: bool = False  # must come out with full results
    special: str = ""  # "fifo" or "socket": not a file at all (data unused)


def truncations(base: bytes, count: int, seed: int = 7) -> list[Case]:
    rng = random.Random(seed)
    cuts = sorted({rng.randrange(1, len(base) - 1) for _ in range(count * 2)})[:count]
    return [Case(b"trunc-%06d.pdf" % cut, base[:cut], "truncated") for cut in cuts]


def flips(base: bytes, count: int, seed: int = 11) -> list[Case]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        data = bytearray(base)
        for _ in range(1 + i % 4):  # one to four flipped bytes
            pos = rng.randrange(9, len(data))
            data[pos] ^= 1 << rng.randrange(8)
        out.append(Case(b"flip-%03d.pdf" % i, bytes(data), "flipped"))
    return out


GOOD_NAMES = [
    b"good-1.pdf",
    b"bad-\xff.pdf",  # not UTF-8
    b"line\nbreak.pdf",
    b"quote'\"; DROP TABLE documents; --.pdf",
    b"dup.pdf",
    b"dup.PDF",
    b"sub/inner.pdf",
    b"sub__inner.pdf",
    "Café.pdf".encode(),  # NFC
    "Cafe\u0301.pdf".encode(),  # NFD twin
    "rlo \u202egnp.exe.pdf".encode(),  # a right-to-left override: displays as "...exe.png"
    b"/".join([b"very-long-folder-name-" + b"x" * 40] * 5) + b"/" + b"y" * 200 + b".pdf",
]


def hostile_cases(truncated: int = 40, flipped: int = 40) -> list[Case]:
    """At least 100 cases: every class of the reliability issue, variants generated programmatically."""
    base = digital_text_pdf()
    cases = [Case(name, base, "name", good=True) for name in GOOD_NAMES]
    cases += truncations(base, truncated) + flips(base, flipped)
    cases += [
        Case(b"empty.pdf", b"", "empty"),
        Case(b"not-a-pdf.pdf", b"<html>not a pdf</html>", "not_a_pdf"),
        Case(b"zero-pages.pdf", zero_page_pdf(), "zero_pages"),
        Case(b"count-lie.pdf", lying_count_pdf(), "count_lie"),
        Case(b"blank.pdf", blank_page_pdf(), "blank"),
        Case(b"invisible.pdf", invisible_content_pdf(), "invisible"),
        Case(b"huge-page.pdf", huge_page_pdf(), "huge_page"),
        Case(b"javascript.pdf", javascript_pdf(), "javascript"),
        Case(b"deep-nesting.pdf", deep_nesting_pdf(), "deep_nesting"),
        Case(b"garbage.pdf", b"%PDF-1.7\n" + bytes(random.Random(3).randrange(256) for _ in range(4096)), "corrupt"),
        Case(b"strip.pdf", strip_page_pdf(), "strip"),
        Case(b"oversized.pdf", oversized_text_pdf(), "oversized"),
        Case(b"fifo.pdf", b"", "special_file", special="fifo"),
        Case(b"socket.pdf", b"", "special_file", special="socket"),
        *bad_box_cases(),
    ]
    return cases
