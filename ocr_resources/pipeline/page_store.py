"""Content-addressed page images: `pages/ab/abcdef....png` under the data directory.
The same page rendered twice is stored once; the key is the hash of the PNG bytes."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from PIL import Image


class PageStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def put_png(self, data: bytes) -> tuple[str, str]:
        """Store PNG bytes; returns (sha256, path relative to the store root)."""
        digest = hashlib.sha256(data).hexdigest()
        rel = f"{digest[:2]}/{digest}.png"
        path = self.root / rel
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)  # atomic: readers never see half a file
        return digest, rel

    def put_image(self, image: Image.Image) -> tuple[str, str]:
        """Store a page image as PNG. A page whose pixels are all grey (black text on white: most pages) is
        stored as one channel: the same pixels, a third of the bytes, encoded and decoded in half the time;
        `open` gives it back as the same RGB image."""
        buf = io.BytesIO()
        as_stored(image).save(buf, format="PNG", compress_level=1)  # level 1: fast; pages are re-read, not archived
        return self.put_png(buf.getvalue())

    def open(self, rel: str) -> Image.Image:
        with Image.open(self.root / rel) as img:
            img.load()
            return img if img.mode == "RGB" else img.convert("RGB")  # a grey page comes back as the same RGB

    def open_gray(self, rel: str):
        """The page as a grey uint8 array (OpenCV's decoder: no RGB copy), for quick looks at its ink."""
        import cv2

        gray = cv2.imread(str(self.root / rel), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise OSError(f"cannot read page image {rel}")
        return gray


def as_stored(image: Image.Image) -> Image.Image:
    """The page image as `put_image` stores it: one channel where it is RGB with R == G == B at every pixel,
    else itself. (Pillow's channel difference and bounding box: ~2 ms a page, against ~15 ms the one-channel
    encode saves.)"""
    from PIL import ImageChops

    if image.mode != "RGB":
        return image
    r, g, b = image.split()
    if ImageChops.difference(r, g).getbbox() is not None or ImageChops.difference(r, b).getbbox() is not None:
        return image
    return r


# libpng's RGB -> grey (what `open_gray` decodes a stored page to): 0.299 / 0.587 / 0.114 in 1/32768ths, summed
# and truncated. As a cv2.transform (float, rounded to nearest) it is the same with -16383.5/32768 added: checked
# against OpenCV's decoder for all 2^24 colours (tests/test_drawn_text.py checks random ones).
_PNG_GRAY = ((9797 / 32768, 19234 / 32768, 3737 / 32768, -16383.5 / 32768),)


def stored_gray(image):
    """An RGB page image (PIL) as `PageStore.open_gray` would read it back after `put_image`, without the
    PNG decode: the render worker looks at the ink of the page it has just rendered."""
    import cv2
    import numpy as np

    if image.mode == "L":  # a grey page as `as_stored` keeps it: its one channel is what is decoded
        return np.asarray(image)
    return cv2.transform(np.asarray(image), np.array(_PNG_GRAY))
