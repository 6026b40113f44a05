"""Plain data types shared by engines, the pipeline and the stores.

Coordinates: engines work in the pixel space of the image they are given (origin top-left).
The pipeline converts to PDF points (origin top-left of the page) before storing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# One canonical label set; every model's labels map onto it (the model's own label is kept too).
CANONICAL_LABELS = (
    "text",
    "title",
    "list",
    "table",
    "figure",
    "caption",
    "header",
    "footer",
    "formula",
    "reference",
    "other",
)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return max(0.0, self.x1 - self.x0)

    @property
    def height(self) -> float:
        return max(0.0, self.y1 - self.y0)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    def scaled(self, factor: float) -> Box:
        return Box(self.x0 * factor, self.y0 * factor, self.x1 * factor, self.y1 * factor)

    def shifted(self, dx: float, dy: float) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)

    def intersection(self, other: Box) -> float:
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(0.0, w) * max(0.0, h)

    def contains_point(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1


@dataclass(frozen=True)
class DetectedRegion:
    """A layout region found by a layout detector (pixel coordinates of the input image)."""

    box: Box
    label: str  # canonical label
    model_label: str | None  # the model's own label (None: a region the model did not find)
    score: float
    table_reason: str | None = None  # why the table decision went as it did, where the region was a candidate


@dataclass(frozen=True)
class Word:
    """A word (or short text run) with its box; from the PDF text layer or from OCR."""

    text: str
    box: Box
    confidence: float = 1.0
    size: float | None = None  # font size in points (text layer); None from OCR
    bold: bool = False
    hidden: bool = False  # invisible in the PDF (render mode 3), as OCR layers of scanned PDFs are
    angle: int = 0  # degrees anticlockwise the word runs on the page (90: read bottom to top); text layer only
    mono: bool = False  # set in a fixed-pitch font (code, a typewriter face); text layer only
    unmapped: bool = False  # read by its font's codes (no Unicode mapping): trusted once OCR agrees; text layer only


@dataclass
class OcrResult:
    """Text recognised in one image (a page or a region crop); lines are separated by newlines in
    `text`. `words` may be empty for engines that give text without geometry (GOT-OCR2, TrOCR)."""

    text: str
    words: list[Word] = field(default_factory=list)
    confidence: float | None = None
    reader: str | None = None  # set where a second reader took over, or why the reading may be poor
    second_lines: int = 0  # lines read again by a second (larger) recogniser


@dataclass(frozen=True)
class TableCell:
    row: int
    col: int
    row_span: int
    col_span: int
    is_header: bool
    text: str
    box: Box | None = None
    fill: bool = False  # dot leaders or fill characters were stripped from the text
    header_path: tuple[str, ...] = ()  # a body cell's column headings, top heading row first


@dataclass
class TableStructure:
    n_rows: int
    n_cols: int
    cells: list[TableCell]
    method: str = "model"  # where the structure came from: 'rules', 'alignment' or 'model'
    rtl: bool = False  # columns numbered right to left (col 0 is the rightmost), as the table reads


@dataclass
class TableCrop:
    """Input to a table-structure engine: the table's image crop, the words and the ruling lines inside it,
    all in the crop's pixel coordinates (`scale` pixels per PDF point)."""

    image: object  # PIL.Image.Image
    words: list[Word]
    rules: list[Box] = field(default_factory=list)  # thin boxes: horizontal and vertical ruling lines
    scale: float = 1.0
    text_layer: bool = False  # the words are the page's text layer (exact boxes), not OCR's


@dataclass
class ChartData:
    """A chart read back into a table (DePlot's linearised output, parsed)."""

    title: str | None
    columns: list[str]
    rows: list[list[str]]
    raw: str
