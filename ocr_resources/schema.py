"""DuckDB schema as versioned migrations. The applied version is kept in the database itself
(`schema_migrations`), so opening an older file upgrades it in place."""

from __future__ import annotations

import re

# Columns every result row carries: which run and which producer made it.
_LINEAGE = "run_id VARCHAR NOT NULL, producer_id VARCHAR NOT NULL"

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "results and lineage tables",
        f"""
        CREATE TABLE containers (
            container_id VARCHAR PRIMARY KEY, source_path VARCHAR, document_count INTEGER,
            fingerprint VARCHAR, {_LINEAGE}
        );
        CREATE TABLE documents (
            container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, file_name VARCHAR, source_path VARCHAR,
            sha256 VARCHAR, size_bytes BIGINT, page_count INTEGER, title VARCHAR, author VARCHAR,
            creator VARCHAR, pdf_producer VARCHAR, created VARCHAR, status VARCHAR, {_LINEAGE},
            PRIMARY KEY (container_id, document_id)
        );
        CREATE TABLE pages (
            container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, page_no INTEGER NOT NULL,
            width_pt DOUBLE, height_pt DOUBLE, dpi INTEGER, width_px INTEGER, height_px INTEGER,
            image_sha256 VARCHAR, image_path VARCHAR, has_text_layer BOOLEAN, text_layer_chars INTEGER,
            {_LINEAGE}, PRIMARY KEY (container_id, document_id, page_no)
        );
        CREATE TABLE words (
            container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, page_no INTEGER NOT NULL,
            word_no INTEGER NOT NULL, source VARCHAR NOT NULL, text VARCHAR,
            x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE, confidence DOUBLE, {_LINEAGE}
        );
        CREATE TABLE regions (
            container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, page_no INTEGER NOT NULL,
            region_no INTEGER NOT NULL, label VARCHAR, model_label VARCHAR, score DOUBLE,
            x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE, reading_order INTEGER, {_LINEAGE},
            PRIMARY KEY (container_id, document_id, page_no, region_no)
        );
        CREATE TABLE texts (
            container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, page_no INTEGER NOT NULL,
            region_no INTEGER, reading_order INTEGER, label VARCHAR, text VARCHAR, text_source VARCHAR,
            confidence DOUBLE, {_LINEAGE}
        );
        CREATE TABLE tables (
            container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, page_no INTEGER NOT NULL,
            region_no INTEGER NOT NULL, n_rows INTEGER, n_cols INTEGER, html VARCHAR, markdown VARCHAR,
            {_LINEAGE}, PRIMARY KEY (container_id, document_id, page_no, region_no)
        );
        CREATE TABLE table_cells (
            container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, page_no INTEGER NOT NULL,
            region_no INTEGER NOT NULL, row_no INTEGER, col_no INTEGER, row_span INTEGER, col_span INTEGER,
            is_header BOOLEAN, text VARCHAR, {_LINEAGE}
        );
        CREATE TABLE charts (
            container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, page_no INTEGER NOT NULL,
            region_no INTEGER NOT NULL, title VARCHAR, columns VARCHAR[], data_rows VARCHAR[][], raw VARCHAR,
            {_LINEAGE}
        );
        CREATE TABLE document_markdown (
            container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, markdown VARCHAR, export_path VARCHAR,
            {_LINEAGE}
        );
        CREATE TABLE errors (
            container_id VARCHAR NOT NULL, document_id VARCHAR, page_no INTEGER, stage VARCHAR NOT NULL,
            error_type VARCHAR, message VARCHAR, {_LINEAGE}
        );
        CREATE TABLE producers (
            producer_id VARCHAR PRIMARY KEY, asset_key VARCHAR, engine VARCHAR, model_id VARCHAR,
            model_revision VARCHAR, code_version VARCHAR, parameters JSON, created_at TIMESTAMP DEFAULT now()
        );
        CREATE TABLE materializations (
            run_id VARCHAR NOT NULL, asset_key VARCHAR NOT NULL, partition_key VARCHAR NOT NULL,
            producer_id VARCHAR, input_fingerprint VARCHAR, row_counts JSON, pages INTEGER, seconds DOUBLE,
            started_at TIMESTAMP, finished_at TIMESTAMP
        );
        CREATE TABLE model_load_events (
            run_id VARCHAR, role VARCHAR, engine VARCHAR, model_id VARCHAR, model_revision VARCHAR,
            load_seconds DOUBLE, pid INTEGER, recorded_at TIMESTAMP DEFAULT now()
        );
        """,
    ),
    (
        2,
        "friendly views",
        """
        CREATE OR REPLACE VIEW page_text AS
            SELECT p.container_id, p.document_id, p.page_no,
                   coalesce(string_agg(t.text, chr(10) || chr(10) ORDER BY t.reading_order, t.region_no), '') AS text,
                   coalesce(any_value(t.text_source), 'none') AS text_source
            FROM pages p LEFT JOIN texts t USING (container_id, document_id, page_no)
            GROUP BY ALL;
        CREATE OR REPLACE VIEW document_text AS
            SELECT container_id, document_id,
                   string_agg(text, chr(12) ORDER BY page_no) AS text, count(*) AS pages
            FROM page_text GROUP BY ALL;
        CREATE OR REPLACE VIEW document_errors AS
            SELECT container_id, document_id, page_no, stage, message FROM errors;
        CREATE OR REPLACE VIEW model_loads AS
            SELECT run_id, role, engine, model_id, count(*) AS loads, sum(load_seconds) AS load_seconds
            FROM model_load_events GROUP BY ALL;
        """,
    ),
]

# Result tables whose rows carry lineage; the `lineage` view summarises each of them.
RESULT_TABLES = (
    "containers", "documents", "pages", "words", "page_rules", "regions", "texts", "tables", "table_cells",
    "charts", "document_markdown", "errors", "formulas",
)
_RESULT_TABLES_V8 = tuple(t for t in RESULT_TABLES if t != "formulas")  # what migrations 8 and 9 saw
_RESULT_TABLES_V3 = tuple(t for t in _RESULT_TABLES_V8 if t != "page_rules")  # what migration 3 saw


def lineage_view_sql(tables: tuple[str, ...] = RESULT_TABLES, producers: str = "producers") -> str:
    parts = [
        f"""SELECT '{t}' AS table_name, r.container_id AS partition_key, r.run_id, r.producer_id, count(*) AS row_count
            FROM {t} r GROUP BY ALL"""
        for t in tables
    ]
    return f"""
        CREATE OR REPLACE VIEW lineage AS
        SELECT u.table_name, u.row_count, p.asset_key, u.partition_key, u.run_id,
               p.engine, p.model_id, p.model_revision, p.code_version
        FROM ({' UNION ALL '.join(parts)}) u LEFT JOIN {producers} p USING (producer_id)
    """


MIGRATIONS.append((3, "lineage view", lineage_view_sql(_RESULT_TABLES_V3)))
MIGRATIONS.append((
    4,
    "page results: resume bookkeeping",
    # One row per (asset, page) that was computed: by which producer, from which input. A rerun skips a page
    # whose row matches its producer and input hash with status 'ok'; failed pages are retried.
    """
    CREATE TABLE page_results (
        container_id VARCHAR NOT NULL, asset_key VARCHAR NOT NULL, document_id VARCHAR NOT NULL,
        page_no INTEGER NOT NULL, producer_id VARCHAR NOT NULL, input_hash VARCHAR NOT NULL,
        status VARCHAR NOT NULL, run_id VARCHAR NOT NULL, finished_at TIMESTAMP DEFAULT now(),
        PRIMARY KEY (container_id, asset_key, document_id, page_no)
    );
    """,
))
MIGRATIONS.append((
    5,
    "current code versions and the stale view",
    # The code version of each asset as the definitions last loaded say (model identity included); the
    # pipeline records it (each run's checks, the staleness sensor's ticks). `stale` lists every container
    # whose latest results of an asset were made with another one: what Dagster shows as "Unsynced".
    """
    CREATE TABLE current_code_versions (
        asset_key VARCHAR PRIMARY KEY, code_version VARCHAR NOT NULL, recorded_at TIMESTAMP DEFAULT now()
    );
    CREATE OR REPLACE VIEW stale AS
        WITH latest AS (
            SELECT asset_key, partition_key AS container_id, producer_id, run_id, finished_at
            FROM materializations
            QUALIFY row_number() OVER (PARTITION BY asset_key, partition_key ORDER BY finished_at DESC) = 1)
        SELECT l.container_id, l.asset_key, p.code_version AS made_with, c.code_version AS current_version,
               p.engine, p.model_id, p.model_revision, l.run_id, l.finished_at
        FROM latest l JOIN current_code_versions c USING (asset_key) LEFT JOIN producers p USING (producer_id)
        WHERE p.code_version IS DISTINCT FROM c.code_version;
    """,
))
MIGRATIONS.append((
    6,
    "hostile input: file names kept as bytes, warning rows",
    # Names that are not UTF-8 are stored escaped in the text columns; the exact bytes stay here, so the file
    # can be opened again and the name is never lost. Warnings (a page count corrected, a page rendered blank
    # or downscaled) are rows of `errors` with severity 'warning'; the results of their pages are kept.
    """
    ALTER TABLE containers ADD COLUMN path_bytes BLOB;
    ALTER TABLE documents ADD COLUMN path_bytes BLOB;
    ALTER TABLE errors ADD COLUMN severity VARCHAR DEFAULT 'error';
    CREATE OR REPLACE VIEW document_errors AS
        SELECT container_id, document_id, page_no, stage, severity, message FROM errors;
    """,
))
MIGRATIONS.append((
    7,
    "text: word fonts, block boxes, heading levels, text source reasons",
    # Words keep what the text layer says about their font (size in points, bold, invisible), which headings
    # and the text-layer quality test use. A text row keeps its block's box and font, its heading level
    # (titles), and why its text came from where it did.
    """
    ALTER TABLE words ADD COLUMN font_size DOUBLE;
    ALTER TABLE words ADD COLUMN bold BOOLEAN;
    ALTER TABLE words ADD COLUMN hidden BOOLEAN;
    ALTER TABLE texts ADD COLUMN x0 DOUBLE;
    ALTER TABLE texts ADD COLUMN y0 DOUBLE;
    ALTER TABLE texts ADD COLUMN x1 DOUBLE;
    ALTER TABLE texts ADD COLUMN y1 DOUBLE;
    ALTER TABLE texts ADD COLUMN font_size DOUBLE;
    ALTER TABLE texts ADD COLUMN bold BOOLEAN;
    ALTER TABLE texts ADD COLUMN heading_level INTEGER;
    ALTER TABLE texts ADD COLUMN text_source_reason VARCHAR;
    """,
))
MIGRATIONS.append((
    8,
    "ruling lines per page; how each table's structure was found",
    # page_rules: the horizontal and vertical lines a page draws (from its vector graphics, or found in the
    # image of a scanned page), written by rendered_pages; tables read them for ruled tables.
    # tables.structure_source: 'rules', 'rules+alignment', 'alignment' (geometry) or 'model'.
    f"""
    CREATE TABLE page_rules (
        container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, page_no INTEGER NOT NULL,
        rule_no INTEGER NOT NULL, x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE, kind VARCHAR, source VARCHAR,
        {_LINEAGE}
    );
    ALTER TABLE tables ADD COLUMN structure_source VARCHAR;
    {lineage_view_sql(_RESULT_TABLES_V8)};
    """,
))
# A lake has no primary keys (below): two runs committing the same new producer, or recording the current code
# versions, at the same moment may both insert it. The rows are the same; views read one per key.
_ONE_PRODUCER = "(SELECT * FROM producers QUALIFY row_number() OVER (PARTITION BY producer_id ORDER BY created_at) = 1)"
MIGRATIONS.append((
    9,
    "views read one producer row per id and one current code version per asset",
    f"""
    {lineage_view_sql(_RESULT_TABLES_V8, producers=_ONE_PRODUCER)};
    CREATE OR REPLACE VIEW stale AS
        WITH latest AS (
            SELECT asset_key, partition_key AS container_id, producer_id, run_id, finished_at
            FROM materializations
            QUALIFY row_number() OVER (PARTITION BY asset_key, partition_key ORDER BY finished_at DESC) = 1),
        current AS (
            SELECT asset_key, code_version FROM current_code_versions
            QUALIFY row_number() OVER (PARTITION BY asset_key ORDER BY recorded_at DESC) = 1)
        SELECT l.container_id, l.asset_key, p.code_version AS made_with, c.code_version AS current_version,
               p.engine, p.model_id, p.model_revision, l.run_id, l.finished_at
        FROM latest l JOIN current c USING (asset_key) LEFT JOIN {_ONE_PRODUCER} p USING (producer_id)
        WHERE p.code_version IS DISTINCT FROM c.code_version;
    """,
))
MIGRATIONS.append((
    10,
    "why a region's or a text's label is not the layout model's",
    # regions.label is the decided label, regions.model_label the model's; label_reason says why they differ
    # (a figure whose area is mostly text lines; a region the model missed but the words fill). On a scan the
    # layout has no words yet: the text stage decides there, and texts.label_reason records it per row.
    """
    ALTER TABLE regions ADD COLUMN label_reason VARCHAR;
    ALTER TABLE texts ADD COLUMN label_reason VARCHAR;
    """,
))
MIGRATIONS.append((
    11,
    "table decisions with their reason; cells' heading paths and stripped fill",
    # regions.table_reason: why a region is a table (a layout table confirmed by rules or words, an aligned
    # grid in a region labelled otherwise or outside every region) or why a candidate is not (prose: list
    # items, sentences, text columns side by side; a sparse grid). table_cells.header_path: a body cell's
    # column headings, top heading row first; fill_stripped: dot leaders or fill characters were removed.
    """
    ALTER TABLE regions ADD COLUMN table_reason VARCHAR;
    ALTER TABLE table_cells ADD COLUMN header_path VARCHAR[];
    ALTER TABLE table_cells ADD COLUMN fill_stripped BOOLEAN;
    """,
))
MIGRATIONS.append((
    12,
    "formulas as LaTeX",
    # One row per formula found on a page: its box, its LaTeX, displayed or inline (kind), where it came from
    # (source: 'text_layer' for glyphs rebuilt by text.formulas) and why it was taken for a formula (reason).
    # The page's words carry the same LaTeX in place of the glyphs it covers.
    f"""
    CREATE TABLE formulas (
        container_id VARCHAR NOT NULL, document_id VARCHAR NOT NULL, page_no INTEGER NOT NULL,
        formula_no INTEGER NOT NULL, x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE, latex VARCHAR, kind VARCHAR,
        source VARCHAR, reason VARCHAR, {_LINEAGE}
    );
    {lineage_view_sql(producers=_ONE_PRODUCER)};
    """,
))
MIGRATIONS.append((
    13,
    "a scanned page's source resolution",
    # pages.source_dpi: pixels per inch of the image(s) a page without a text layer is drawn from (NULL for a
    # vector page): OCR judges a line's size in the source's pixels, not in our render's
    """
    ALTER TABLE pages ADD COLUMN source_dpi DOUBLE;
    """,
))
MIGRATIONS.append((
    14,
    "the way each text-layer word runs",
    # words.angle: degrees anticlockwise a text-layer word runs on the page (0, 90: read bottom to top, 180,
    # 270: top to bottom; a slant more than 15 degrees off those: its angle to 5 degrees, e.g. a watermark's 50),
    # from its glyphs' rotation; NULL for OCR words (read upright)
    """
    ALTER TABLE words ADD COLUMN angle SMALLINT;
    """,
))
MIGRATIONS.append((
    15,
    "areas of a text-layer page that may hold text drawn as graphics",
    # pages.drawn_areas: [x0, y0, x1, y1] in points per area of ink that looks like text where the text layer
    # has no word (text.drawn, found by the render worker from the pixels it has just rendered); [] for none,
    # NULL where not looked for (pages without a text layer, rendered before this). The OCR stage decodes a
    # text-layer page's image for drawn text only where this is not [].
    """
    ALTER TABLE pages ADD COLUMN drawn_areas DOUBLE[][];
    """,
))
MIGRATIONS.append((
    16,
    "text-layer words set in a fixed-pitch font",
    # words.mono: most of a text-layer word's glyphs are in a fixed-pitch font (code, a typewriter face); a block
    # of such lines on a page of proportional text is code (texts.label 'code', a fenced block in the Markdown);
    # NULL for OCR words and for words rendered before this
    """
    ALTER TABLE words ADD COLUMN mono BOOLEAN;
    """,
))
MIGRATIONS.append((
    17,
    "text-layer words read by their font codes",
    # words.unmapped: the word holds glyphs pdfium could not map to Unicode, read by their font codes (a Type 3
    # or Type 1 font with no ToUnicode: TeX's bitmap fonts); the OCR stage keeps such words only where OCR of the
    # same area agrees. NULL for OCR words and for words rendered before this
    """
    ALTER TABLE words ADD COLUMN unmapped BOOLEAN;
    """,
))
MIGRATIONS.append((
    18,
    "crooked scans straightened",
    # pages.deskew_degrees: degrees (anticlockwise) the render stage turned a page without a text layer to level
    # its text lines (pipeline.deskew); every box of the page (regions, OCR words, tables) is in the straightened
    # image's frame. 0 for a scan that was straight, NULL for text-layer pages and pages rendered before this
    """
    ALTER TABLE pages ADD COLUMN deskew_degrees DOUBLE;
    """,
))
SCHEMA_VERSION = MIGRATIONS[-1][0]


# -- the lake --------------------------------------------------------------------------------------------------
# The same migrations build a DuckLake (ocr_resources/lake.py), with one difference, made here and nowhere else:
# DuckLake (the ducklake extension of DuckDB 1.5) has no PRIMARY KEY or UNIQUE constraints (nor indexes, which
# the schema does not use), so they are left out (a key column stays NOT NULL). The store never relies on them
# to keep rows unique: every write replaces a partition's rows in one transaction, and producers are inserted
# only when absent (NOT EXISTS instead of ON CONFLICT, which needs a key; migration 9's views read one row per
# producer should two first commits of one producer race). What the lake keeps as in the file: NOT NULL,
# defaults (now(), literals), JSON, nested lists, BLOB, ALTER TABLE ... ADD COLUMN, and the views, which its
# catalog stores, so a reader that attaches the lake queries the same views.
_COLUMN_KEY = re.compile(r"\s+PRIMARY KEY\b(?!\s*\()", re.IGNORECASE)
_TABLE_KEY = re.compile(r",\s*(PRIMARY KEY|UNIQUE)\s*\([^)]*\)", re.IGNORECASE)


def for_lake(sql: str) -> str:
    """A migration's SQL as the lake takes it: key constraints left out (a key column stays NOT NULL)."""
    return _COLUMN_KEY.sub(" NOT NULL", _TABLE_KEY.sub("", sql))
