"""The document assets, each partitioned by container:

source_documents -> rendered_pages -> layout_regions -> ocr_text -> tables -> document_markdown
                                                               \\-> chart_data

Data flows through the page store and DuckDB, not through the IO manager: each asset commits its rows
per partition and returns a MaterializeResult. With a single-run backfill policy one run (and one
process, so one model load) covers any number of containers."""


import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster._core.storage.tags import RETRY_ON_ASSET_OR_OP_FAILURE_TAG

from ocr_assets.dead_runs import record_worker
from ocr_assets.metadata import container_metadata, progress_line
from ocr_assets.partitions import containers
from ocr_resources import model_cache
from ocr_resources.accelerator import accelerator_turn, lock_path
from ocr_resources.engines.model_source import ModelUnavailableError
from ocr_resources.pipeline import containers as inbox
from ocr_resources.pipeline import stages
from ocr_resources.profiles import load_profile
from ocr_resources.resources import ModelResource, PipelineStorage, model_resources
from ocr_resources.store import Producer, Reader, ResultStore

# Bump when an asset's own logic changes; together with the model identity it forms the code version.
LOGIC_VERSIONS = {
    "source_documents": "3",  # 3: pipes, sockets and devices in the inbox become error rows
    # 3: ruling lines; words on rotated and cropped pages; fonts; pixel budget; 4: pdfium's page box (broken
    # boxes repaired, with a warning row); text layer kept on pages whose rendering fails (text-only); 5: word
    # spaces from the font's own space width and the glyphs' ink where pdfium generates none; 6: formulas as
    # LaTeX from the text layer (a formula's glyphs one word of LaTeX; the formulas table); 7: a displayed
    # formula of several lines is one aligned (or gathered) block, not a run of subscripts; 8: an upright d
    # touching a math letter in a sentence is math (a differential); 9: overlapping integral signs are \iint
    # 10: a page without a text layer records its images' resolution (pages.source_dpi); 11: turned glyphs
    # (90/180/270 degrees) joined into words along their own baseline, words.angle; 12: words.angle written
    # (the row schema lacked it: every angle was NULL); 13: pages.drawn_areas (ink that may be drawn text, found
    # while the pixels are at hand); 14: an inline formula left inside an open bracket takes in the touching
    # glyphs up to its closing one ("γ(k)" with a bold k), else the bracket goes back to the sentence; 15: a rule
    # far wider than the glyphs over or under it (a table's row rule) is no fraction bar, under- or overline
    # 16: a table's math cells beside columns of numbers are inline formulas, one a cell, not one displayed
    # formula over the table; 17: a list's bullet set from a math font starts no inline formula ("• 16-bit")
    # 18: between glyphs of a fixed-pitch font a word space is a whole empty cell (code keeps its punctuation)
    # 19: words.mono (a fixed-pitch font); 20: glyphs of a text font without a Unicode mapping read by their codes
    # (TeX's ligature codes as ff, fi, fl, ffi, ffl), words.unmapped; 21: a word's box is the glyphs it reads (not
    # a dropped wide hat's), a row of stacked equations keeps its tall delimiters (aligned, not a script stack)
    # 22: math a sentence wraps onto a line of its own is inline, its stop after it; 23: a matrix set without
    # delimiters is a matrix, a stop after a display makes no row; 24: a wrapped line of math only when short,
    # only its stop set after it; 25: a page whose text is mostly set sideways (a sideways table on a portrait page)
    # is read turned upright (its /Rotate set in memory), with a warning row saying so; 26: a font is bold by its
    # name where the name states a style or is one of TeX's (CMR10 and "-Regular" fonts whose stems give a heavy
    # weight set no bold words, no \boldsymbol math); 27: a hyphen joining math to a word ("n-th") is the word's;
    # 28: a word running into a formula's opening bracket ("ispolygonal(x,") keeps only what precedes it; 29: a
    # word's height is its glyphs' usual one (a brace from a deep symbol font no longer makes it two lines tall); 30:
    # ... only where a glyph's box is far taller than the word's usual one; 31: a word set at a slant keeps its
    # angle (words.angle 45, 50, ...: a watermark across the page is told apart from upright text); 32: a letter
    # beyond the basic plane (math italic 𝑔) is read from its two UTF-16 halves; a space pdfium generated stands where
    # the next glyph's pen position is apart from the word (not a script's), though an italic f's box reaches over
    # to it; 33: Greek words set in a text font are prose, not math (a Greek theorem's sentences beside its 𝑔 became
    # formulas); 34: the text faces of STIX Two and XITS are text fonts (a heading in STIX Two Text was one
    # formula); a table's column of math beside cells of words is a formula per cell, not one over the rows (nor
    # taken as the stacked parts of the math in a row's words); 35: a font whose Unicode map was written
    # byte-swapped ("䴀甀氀琀椀" for "Multi") is read the right way round; 36: a crooked scan is straightened before
    # layout and OCR read it (pages.deskew_degrees); 37: a scan lying sideways (or upside down) is read turned
    # upright, by its letters' ascenders (deskew.page_turn); 38: URW's Courier (NimbusMonL) and TeX's typewriter
    # faces by name (sftt, ectt, txtt, lmtt, ...) are fixed pitch (words.mono: a shaded listing was a table); 39:
    # bullets drawn as pictures or paths left of a line's first word are words "•" of source "drawing"
    "rendered_pages": "39",
    # 2: tables checked against rules and word alignment; 3: a page border is no table; 4: before OCR, one
    # table region over several ruled grids is split into them; 6: the table decision from the words whatever
    # the label (prose rejected, grids in regions labelled otherwise or in none), table_reason; 7: labels
    # checked against the text layer (a figure that is mostly text lines is text), words outside every region
    # make regions, label_reason; 8: a region the table decision relabelled says why in label_reason too; 9: a
    # chart's tick numbers and labels just outside its figure box are the figure's (no region of their own);
    # 10: a ruled grid's row labels set just left of its first rule are in its table box
    # 11: a rule inside a displayed formula is no table rule; two rules with none between need a table's
    # words; an outline number (2.1) is no value; 12: a ruled table's column headings set just above its top
    # rule are in its table box; 13: a table of turned words (words.angle) judged in its own orientation
    # 14: a figure of turned words measured in their own orientation (mostly text lines, or not)
    # 15: a page without a text layer the model found no region on gets one over the whole page, for OCR's
    # words to decide (a table image); 16: only on a page with images (a scan; not a blank page)
    # 17: no gutter where justified word spaces line up by chance (lines the label checks count stay whole)
    # 18: a layout table whose words make one column (a framed box of text, a sidebar) is text
    # 19: reading order stays in the column being read while a box of it is ready (a sidebar in pieces)
    # 20: ... the column's extent starts again where the walk enters a column from beside
    # 21: a list's bullet beside a region's line joins it by a gap measured in the item's word height
    # 22: a figure whose lines are mostly numbers alone (a chart's ticks) is never relabelled text; 23: ... in at
    # most two columns (a table of figures the model boxed as a figure is read as text again); 24: boxes overlapping
    # by up to a third of their height (8 pt at most) are one above the other in the reading order; 25: a block in
    # typewriter type is no table (a program's printed output: R's coefficient matrix), whatever the model's label;
    # 26: ... on a page set in proportional type only (a typewritten report's tables are typewritten); a box beside
    # the next one down the column is not "between" (the label-then-text order); 27: a contents page's number
    # outside the box that stops at its leader belongs to that box (no region of its own), as does a listing's line
    # number before its code; a figure holding a listing is text; a numbered listing is no table (its numbers in
    # roman type beside its code, on a page of code as on a page of prose)
    # 28: rules stacked one over another frame no table where the text between them is prose whose lines run on
    # past the rules' ends (underlined headings over paragraphs); 29: reading order: a column that ends in a row of
    # boxes with nothing above them reads the row across before the next column's top (a table's heading row)
    # 30: reading order: a box is cut from the one under it only by a box below it in its own column (a short column
    # beside a long one was read after the text under both); 31: a listing in typewriter type with no rule between
    # its lines is no ruled table (a shaded console listing under a running head's rule); 32: the text layer's words
    # include bullets drawn as graphics (words of source "drawing")
    "layout_regions": "32",
    # 2: reading order, clean text, per-region text source; 3: gutters wide in their own row; 4: contents rows
    # without a leader read row by row; 5: an OCR line reads the same whatever lines share its batch; 6: the
    # text layer is kept where OCR reads nothing; 8: furniture from every signal (label, position, type,
    # patterns, repetition) with its reason; gutters kept through rows of one column only; a box across boxes
    # set side by side cut into its part in each; 9: labels checked against the words read (a figure of text
    # lines is text, read as loose lines are), label_reason; 10: an amount is no chapter-page number; 11: on a
    # page without a text layer, a figure whose OCR words form a grid is a table (label_reason); 12: on such a
    # page, a formula whose OCR words are prose is text (not an image marker); 14: a chart's labels (outside its
    # box, or in a figure read as text) are never paragraphs or headings of their own, nor is an equation's
    # number a heading; 15: a running title on its page number's row is furniture, ISSN and ISBN lines are
    # document numbers; 16: with a formula engine (the formula role), formula regions of pages without a text
    # layer read as LaTeX (formulas rows whose source is the engine); 17: text drawn as graphics on a text-layer
    # page (ink like text with no text-layer characters) read by OCR; 18: on such a page, a figure that holds
    # all of its OCR words is a table when they form columns on most lines, even a sparse grid (a table image)
    # 19: small print on a scan (median OCR line under 9 px) read again from the PDF at a finer dpi; 20: a lone
    # number in a figure read as text (a page number) is no chart axis: left to the furniture decision; 21: a
    # copyright line is furniture, and a sentence repeated at the same place on every page too; 22: a line two
    # text boxes cut is joined at the row's own word space too (OCR's ink-tight word boxes); 23: a picture the
    # model called a header or footer (no words) makes nothing beside it furniture
    # 24: text in a figure that is not running text (a receipt) read row by row; table verdict as layout_regions
    # 25: a line's size for the second recogniser judged in its pixels of detail (the scan's, pages.source_dpi)
    # 26: turned words (words.angle) make lines in their own orientation (a chart's axis title in one line)
    # 27: a line-end hyphen kept in a joined word is the character the document wrote (U+2010 stays U+2010)
    # 28: short marks the OCR detector misses (a table's "-", a lone digit) read from the ink on text rows
    # 29: the whole-page region of a scan the layout model found nothing on: a table where its OCR words form
    # a grid, else dropped; 30: a right-to-left line's words ordered by where each ends (an OCR box reaching back
    # over the words before it); 31: furniture does not read OCR ink heights as type sizes (small or larger
    # only beyond what capitals and descenders make)
    # 32: on a page without a text layer, a region labelled text, reference or list that holds the page's
    # whole content is a table where its OCR words form a grid (a table image the model read otherwise)
    # 33: drawn text only on pages where the render found some with just the text layer cleared (no more lines
    # made of a graphic's pieces cut at a region's edge, such as a table grid's stubs under a figure box)
    # 34: a registration number (a label and a code of 4+ hyphenated digit groups, 12+ digits) is a furniture
    # pattern; 35: text in a figure is running text when most of its words are in long lines too (a report page
    # taken for a picture, prose beside a box of short lines, is not read row by row); 36: small type's word
    # spaces by the line's own letter gaps where a word starts ("ChimerixInc", "Amt(RM)")
    # 37: no gutter where justified word spaces line up by chance (an OCR'd paragraph's lines cut in two)
    # 38: a colon or "@" set apart keeps its spaces ("TEL : 03", "T @ 6%"); a time's colon never spaced
    # 39: numbered lines (a transcript, a pleading) are text, read row by row with their numbers, box by box on an
    # n-up sheet; on a scan a region the layout model labels table is text where its OCR words are prose
    # 40: a lower-case l among an all-capital word's capitals is a capital I ("MSCl" is "MSCI")
    # 41: a bulleted or numbered list the layout model took for a reference list is a list (items apart)
    # 42: on a scan, a layout table whose OCR words make one column (with the page's ruling lines) is text
    # 43: reading order stays in the column being read while a box of it is ready (a sidebar in pieces)
    # 44: a caption ("Table 6.1: ...", "Figure BR1. ...") is never a heading; a "title" that is one is a caption
    # 45: a running head set large that the model calls a header on several pages is furniture; a table's
    # "Source: ..." line is never a heading; 46: on a scan, a heading by size only where its ink stands 1.25x the
    # body's (a form's short labels were headings by chance); 47: the model's header recurring page after page
    # is furniture even a line's spacing above the body text (a running head in the body's type); 48: reading
    # order: the column's extent starts again where the walk enters a column from beside
    # 49: running text at a table region's top or bottom edge (a disclaimer, a note) is text, not the table's
    # 50: a list's bullet left of its text box joins the item (its gap measured in the item's word height)
    # 51: a box labelled reference is split into paragraphs as text is (a bibliography's hanging indents kept)
    # 52: a heading cut in two boxes on its line is one heading; 53: a figure whose OCR lines are mostly numbers
    # alone (a chart's ticks) stays a figure; 54: a block of fixed-pitch lines in a document of proportional text
    # is code (label code, its lines and indents kept); 55: a line that starts with a bullet is never a heading
    # 56: a listing the layout model calls a formula is code too; a bulleted line after a sentence in one box
    # starts a paragraph; 57: the layout model's title on a sentence in the body's type is no heading; 58: a chart's
    # axis is numbers in at most two columns (a table of figures or a receipt boxed as a figure is text again)
    # 59: words read by their font codes kept where OCR agrees; a drawn-text area does not read again a region
    # OCR'd on its own; 60: a first line breaking a word into the next is no heading; equation numbers beside a
    # displayed formula are read right after it; 61: lines of code boxed with prose after a sentence are a block
    # 62: a line of code the layout model took for a title is code; 63: labels each over their own indented text
    # are read label then text; a line set out left of a list item's hanging lines after a sentence is a new
    # paragraph; a running foot's title or date on the row of its page number is furniture; 64: code in a document
    # at least a fifth proportional (a manual's page mostly listings); 65: the label-then-text order only for a
    # text far wider than its label, an outdent only under a hanging line, "(28)" beside a displayed formula is
    # its equation number (no page number, no furniture); 66: a paragraph ends where it ends in a block whose rows a
    # gutter cuts in pieces, and before a line of code after a two-line block's sentence; a listing's pieces read one
    # under the other are one code block (indents from one edge, blank lines kept); 67: a web address a line end
    # cut (after "https:" too) is joined without a space; 68: a listing's comment set in roman type after a
    # fixed-pitch "#" is code's; 69: an em dash opening a line inside a sentence is no list bullet; 70: a manuscript's
    # margin line numbers (tiny type, counting by a steady step, beside lines of text) are read apart as furniture;
    # 71: two and more lines of code after a line ending in prose are a block of their own (and the prose after
    # them), a listing's blank lines measured against its own leading (double-spaced listings have none); 72: lines
    # whose loose boxes overlap by up to a third of their height (8 pt at most) are read one under the other; a
    # line in capitals is no sentence of the body vetoing furniture ("CHAPTER 7. BASICS … 7.3."); 73: a short line
    # and a line set in under it with no width in common are still one under the other (the paragraphs split); 74: a
    # listing's comment column is read on the rows of its code; a numbered listing's line numbers are code's; 75: a
    # bulleted term in typewriter type on a line of its own ("• Provides") is a list item, not code; 76: a title's
    # box holding the first line of the text under it gives that line back; a heading's first line may end in a comma;
    # 77: a short line under a section's outline number is a heading though its name is lower case ("9.1.1 dpkg-dev");
    # 78: a title's box gives back only a line of prose (eight words or more), not its subtitle; 79: text layer and
    # OCR compared in one order (a two-column page's readings no longer "disagree"); a header block with the page's
    # own text beside it is text, read in its place; paragraphs also end where line tops jump; a slanted watermark
    # in large type is furniture; Chinese lines in a figure box are running text (characters, not spaces, counted);
    # 80: listings at one height in two columns of the page's text are not one listing; 81: a column of short labels
    # is read each label right before the entry beside it (a CV's "years" beside its entry), not down to its end;
    # 82: a few bold words on a line of their own after a sentence's end are a heading's block, a line led by a
    # bold term after an entry's end an entry of its own (a glossary's letters and terms); 83: labels beside their
    # values (and short cells) in a column of prose are read row by row; a list's first bullet starts a paragraph
    # after the words introducing it, and a line set out left of an item's bullet ends the list; a contents page's
    # number outside its box is read on its row after the leader; a listing the model called a figure is code, each
    # line number read on its row before its line; a term over its indented description is a paragraph of its own;
    # 84: a page's only text is never furniture (a one-line page's line the model called a header); a gap no wider
    # than two character pitches is a word space (OCR'd typewriter lines were cut at each wider space); 85: an
    # invisible (or unmapped) text layer that agrees with OCR but has far fewer words gives way to OCR's reading;
    # 86: a text layer mostly of specks with hardly a word of three letters (an old OCR layer of dirt) is no text;
    # 87: a sentence's end and the next one's capital up to 3.5 characters apart are on one line; a gutter is wider
    # in its own row than 1.5 characters (an old book's wide sentence spaces and chance line-ups cut its lines);
    # 88: a copyright and reuse notice on a line or two of small type is furniture however long it runs; 89: a
    # text layer that failed the quality test over a page OCR finds no text on leaves the page without text
    # 90: the model's headers in the body's type that hold a field with its value ("Date: September 30, 2015") are
    # a statement's or letter's head, not furniture; a document's proportional text counts its headings and
    # captions too (a page of register tables in Courier under a proportional heading is code); 91: a two-column
    # list of terms (a manual's options) is read term, then its description; code pieces beside a listing that
    # already took one of its neighbours join it too (a left column boxed line by line); 92: reading order as
    # layout_regions 29 (a row of boxes ending a column is read across before the next column's top); 93: a list of
    # terms needs a description of its own for each, in prose, the terms in one column; a figure whose text was read
    # out is no column of the reading order; in a document typed in one fixed-pitch type, a line alone is code only
    # where a quarter of it is code's symbols (a listing's "}", not a typed form's "Task #:"); 94: ... or two of them
    # (a listing's lines boxed one by one); a page's blocks whose glyph boxes touch are one above the other in the
    # reading order (a listing's closing brace touching its indented body was read before it); 95: reading order as
    # layout_regions 30; a running foot's "Title, Page N of M" is a page number, a line right outside furniture
    # (between it and the page's edge) is furniture with one more sign, the body's type is measured between the bands
    # 96: a page number set off by dashes or named ("- 4 -", "Page 3 of 8") is furniture up to twice the body's size;
    # an image-only page's grid whose every column holds long cells is running text (tables 24); 97: a line in
    # display type (1.5 times the body's size) is a heading whatever its first letter ("function::ustack"); 98: a
    # page number at the foot, and either half of a running head split across the top, is furniture up to twice the
    # body's size; 99: as layout_regions 31 and rendered_pages 38; a list of terms the model boxed in one block with
    # their descriptions is cut at its gutter and read term by term; 100: bullets drawn as pictures or paths (words of
    # source "drawing") are read with the text layer's words (an HTML converter's list was one paragraph); 101: a
    # term running past the gutter with its description under it does not stop a block's list of terms being cut;
    # a term of a list of terms is never a heading (a man page's bold options); 102: a section's outline number
    # (two levels or more) before lower-case words in larger bold type is a heading however long; 103: code read
    # after a listing, at the left edge of its page column's prose paragraphs, stays apart from it (a vignette's R
    # output beside a listing under a caption across both columns)
    "ocr_text": "103",
    # 2: ruling lines, structure source; 3: dot leaders stripped, values kept whole, group headings spanning
    # their columns, header paths, white-space columns inside ruled blocks and under a ruled heading; 4: figure
    # regions of pages without a text layer whose OCR words form a grid; 5: such a figure holding all of its
    # page's OCR words, a sparse grid included (a table image); 6: a cell centred on two lines no longer joins
    # them into one row, a sum line under the numbers ends a row across the table, row labels left of a ruled
    # grid split by its row rules
    # 7: table verdict: an outline number (2.1) opening a line of words is no value; 8: a cell's inline formula
    # (LaTeX the text layer's math finder wrote) is its characters again ("≥18"); 9: row labels outside a ruled
    # grid split by its rules only with a label on every row; a partial rule ends a row only between labels
    # 10: turned words (words.angle): a sideways table read in its own orientation, a turned heading's words
    # joined in theirs; 11: a word broken across a cell's lines joined as body text joins it; a value column
    # beside an empty one not joined to the next; two group headings over one rule keep their own columns
    # 12: the stage hands the structure its words with their angle (turned headings were read backwards)
    # 13: the geometry engine keeps them too (sideways tables were read as upright ones)
    # 14: a word trimmed of its dot leader keeps its angle (a turned heading was read as upright)
    # 15: the whole-page region of a scan the layout model found nothing on, where its OCR words form a grid
    # 16: on such a page, a region labelled text, reference or list holding the page's whole content, likewise
    # 17: SLANet's structure is not chosen where its rows cut the OCR text lines apart (rows read shifted)
    # 18: a cell's inline formula loses its layout commands ("\\underline{[11]}" is "[11]", not "underline[11]")
    # 19: on a scan, a region the layout model labels table is none where its OCR words are prose
    # 20: ... or make one column with the page's ruling lines
    # 21: a table's words are those the text stage read for it (a line the region cuts whole; running text at
    # its edge, read apart, not)
    # 22: a gap no wider than two character pitches is a word space, not a cell's edge (geometry.lines); 23: ...
    # and a sentence's end before a capital up to 3.5 characters apart; a gutter is 1.5 characters wide or more
    # 24: an image-only page's grid whose every column holds long cells is running text (a scanned spread of two
    # pages), not a table image
    "tables": "24",
    "chart_data": "1",
    # 3: export names without bidirectional controls; 4: a figure's words follow its image marker; 5: displayed
    # formulas on lines of their own, LaTeX not escaped, a scanned formula as an image marker with its box
    # 6: a table of contents (leader rows) keeps its rows, each a paragraph; 7: a caption boxed as text
    # ("Listing 1: ...") is never continued by the next block; 8: code as a fenced block; 9: a list item's CJK lines
    # joined without a space; 10: code blocks in a row are one fence only in one type (a signature over a listing); a
    # paragraph goes on past a footnote in smaller type at its column's foot, and only in its own type; an em dash
    # opening a line inside a sentence is no list bullet; 11: a book's index keeps one entry per item; 12: short
    # lines each starting anew (an address, a signature) keep their line breaks; 13: ... three lines or more; 14: a
    # paragraph the layout model called a reference is joined across a column break as running text is; 15: a
    # document's own asterisks and backticks are escaped (its "*right*" was emphasis); 16: two lines or more each a
    # field and its value ("Date: ..." / "Statement: ...") keep their line breaks; 17: a title whose lines are each a
    # contents entry and its page number, the numbers running on, is a heading per entry
    "document_markdown": "17",
}
MODEL_ROLE = {"layout_regions": "layout", "ocr_text": "ocr", "tables": "table", "chart_data": "chart"}
OWNERS = ["team:document-ai"]

# The profile is read once, here: the Definitions' model resources and the code versions come from it.
PROFILE_MODELS = model_resources(load_profile())


def code_version(asset_name: str) -> str:
    """Logic version plus the configured model's identity: a new model marks exactly its assets stale."""
    role = MODEL_ROLE.get(asset_name)
    if role is None:
        return LOGIC_VERSIONS[asset_name]
    version = f"{LOGIC_VERSIONS[asset_name]}|{PROFILE_MODELS[f'{role}_model'].describe()}"
    formula = PROFILE_MODELS.get("formula_model")
    if asset_name == "ocr_text" and formula is not None and formula.enabled:  # it reads scanned formulas too
        version += f"|formula:{formula.describe()}"
    return version


def _common(name: str, description: str, kinds: set[str], deps: list | None = None) -> dict[str, Any]:
    return dict(
        name=name, description=description, partitions_def=containers, deps=deps or [], group_name="documents",
        backfill_policy=BackfillPolicy.single_run(), code_version=code_version(name), kinds=kinds, owners=OWNERS,
        tags={"ocr/stage": name},
        # Model steps take turns on the accelerator through a lock file, not a Dagster pool: see _model_stage.
    )


FORCE_TAG = "ocr/force"
FORCE_ENV = "OCR_FORCE"


def force_recompute(context: AssetExecutionContext, asset_name: str) -> bool:
    """Recompute every page even where its stored result is current (resume is the default).
    Set by the run tag `ocr/force` or the env var `OCR_FORCE`: `true`/`1`/`all`, or asset names, comma-separated."""
    value = context.run.tags.get(FORCE_TAG) or os.environ.get(FORCE_ENV, "")
    wanted = {v.strip().lower() for v in value.split(",") if v.strip()}
    return bool(wanted & {"1", "true", "yes", "all", asset_name})


def failed_container_note(asset_name: str, key: str) -> str:
    """The note an error raised for one container carries (`cli.failure_message` reads it back)."""
    return f"{asset_name} failed on container {key}"


def _run_stage(
    context: AssetExecutionContext,
    storage: PipelineStorage,
    asset_name: str,
    stage: Callable[[stages.StageContext], stages.StageOutput],
    producer_fields: dict[str, Any],
    turn: Callable[[str], AbstractContextManager] = lambda key: nullcontext(),
) -> MaterializeResult:
    """Run one stage for every partition of this run, committing each partition in one transaction.
    Each partition's materialization gets that container's own metadata (`context.add_asset_metadata`
    with its partition key), followed by what the whole run shares (producer, model loads)."""
    record_worker(context.instance, context.run)
    # A wait for the DuckDB lock shows in the run's log. The schema is checked on the step's first connection.
    store = storage.result_store().logging_to(context.log)
    page_store = storage.page_store()
    producer = Producer(asset_key=asset_name, code_version=code_version(asset_name), **producer_fields)
    keys = context.partition_keys
    force = force_recompute(context, asset_name)
    store.record_model_loads(model_cache.drain_load_events(context.run_id))  # the model loaded before the stage
    run_meta: dict[str, Any] | None = None  # read with the first container's metadata, on its connection
    refreshed = time.monotonic()
    for i, key in enumerate(keys, 1):
        started = datetime.now(UTC)
        ctx = stages.StageContext(
            container_id=key, run_id=context.run_id, producer_id=producer.producer_id, store=store,
            page_store=page_store, logger=context.log, max_in_flight=storage.max_in_flight,
            loader_threads=storage.loader_threads, render_workers=storage.render_workers or None,
            force=force, spill_root=Path(storage.data_dir) / "spill", limits=storage.limits(),
            checkpoint_pages=storage.checkpoint_pages,
        )
        try:
            with turn(key):  # a model step's compute holds the accelerator; its commit does not
                output = stage(ctx)
            waits = store.retries
            counts = stages.commit(ctx, asset_name, output, producer, started)
        except Exception as exc:
            # Which container failed, in the error itself: the UI, the run log and the CLI's message say it.
            exc.add_note(failed_container_note(asset_name, key))
            raise
        # The analysts' copy is the whole database: copied after every commit, a run of many small containers
        # spent more on it than on their pages. After the step's last container, and meanwhile every so often.
        if i == len(keys) or time.monotonic() - refreshed >= SNAPSHOT_EVERY_S:
            _refresh_snapshot(context, store)
            refreshed = time.monotonic()
        waits = store.retries - waits
        store.record_model_loads(model_cache.drain_load_events(context.run_id))
        seconds = (datetime.now(UTC) - started).total_seconds()
        with store.reading() as read:
            if run_meta is None:
                run_meta = _run_metadata(context, store, read, producer, len(keys), force)
            meta = container_metadata(read, page_store, asset_name, key, counts, output.stats, seconds, output.pages)
        # How often the commit waited for another writer (a held file lock, or a conflicting lake commit redone).
        meta["store_waits"] = waits
        context.add_asset_metadata({**meta, **run_meta}, partition_key=key)
        context.log.info(progress_line(asset_name, key, i, len(keys), meta))
    return MaterializeResult()


def _run_metadata(context: AssetExecutionContext, store: ResultStore, read: Reader, producer: Producer,
                  containers_in_run: int, force: bool) -> dict[str, Any]:
    """What every container of the run shares: the producer, the model's loads in this run, where results are.
    `read` from `store.reading()`."""
    model = f"{producer.engine}:{producer.model_id}@{producer.model_revision}" if producer.model_id else producer.engine
    meta: dict[str, Any] = dict(containers_in_run=containers_in_run, force=force, producer_id=producer.producer_id,
                                model=model)
    loads = read("SELECT role, loads, load_seconds FROM model_loads WHERE run_id = ?", [context.run_id])
    if loads:
        meta["model_loads_this_run"] = MetadataValue.json(
            {r["role"]: {"loads": r["loads"], "seconds": round(r["load_seconds"], 3)} for r in loads})
    if store.lake is None:
        # Readers open the read copy: a process holding the live file makes the runs wait for it.
        meta["duckdb_path"] = MetadataValue.path(str(store.snapshot_path or store.path))
        if store.snapshot_path is not None:
            meta["duckdb_live_path_writers_only"] = MetadataValue.path(str(store.path))
    else:
        meta["ducklake"] = MetadataValue.text(str(store.path))
    return meta


SNAPSHOT_EVERY_S = 60.0  # within one step over many containers, the read-only copy is refreshed this often

NO_RETRY_TAGS = {RETRY_ON_ASSET_OR_OP_FAILURE_TAG: "false", "ocr/failure": "model_unavailable"}


def _refresh_snapshot(context: AssetExecutionContext, store) -> None:
    """The analysts' read-only copy; failing to refresh it never fails the asset (the results are committed)."""
    try:
        store.refresh_snapshot()
    except Exception as exc:
        context.log.warning("could not refresh the read-only snapshot %s: %s", store.snapshot_path, exc)


def _model_producer(model: ModelResource, context: AssetExecutionContext) -> tuple[Any, dict[str, Any]]:
    record_worker(context.instance, context.run)  # before a load that may take a while
    try:
        engine = model.load(run_id=context.run_id, logger=context.log)
    except ModelUnavailableError as exc:
        # A retry cannot fetch a model: neither the step's retry policy nor the run retry repeats this
        # (the run tag is read when the run fails). The schedule tries the container again, with back-off.
        context.instance.add_run_tags(context.run_id, NO_RETRY_TAGS)
        raise Failure(description=str(exc), allow_retries=False,
                      metadata={"role": model.role, "model": model.model, "revision": model.revision}) from exc
    ident = engine.identity
    return engine, {"engine": ident.engine, "model_id": ident.model_id, "model_revision": ident.revision,
                    "parameters": ident.params}


def _model_stage(context: AssetExecutionContext, storage: PipelineStorage, asset_name: str, model: ModelResource,
                 make_stage: Callable[..., Callable[[stages.StageContext], stages.StageOutput]],
                 also: ModelResource | None = None) -> MaterializeResult:
    """A model step: loads its model, and computes each container, while holding this machine's accelerator,
    so the model work of concurrent runs (CLI, daemon, UI) takes turns, each turn with every core, while
    everything else (rendering, commits, other steps) overlaps. ocr_resources/accelerator.py says why this is
    a lock file and not a Dagster pool."""
    lock = lock_path(context.instance.root_directory)
    what = f"{asset_name} of run {context.run_id[:8]}"
    with accelerator_turn(lock, f"{what} (model load)", context.log):
        engine, producer = _model_producer(model, context)
        if also is None or not also.enabled:
            stage = make_stage(engine)
        else:  # a second role the step also uses (ocr_text: the formula role), loaded once per run as well
            second, second_producer = _model_producer(also, context)
            producer["parameters"] = {**producer["parameters"], also.role: {
                k: second_producer[k] for k in ("engine", "model_id", "model_revision")}}
            stage = make_stage(engine, second)
    return _run_stage(context, storage, asset_name, stage, producer,
                      turn=lambda key: accelerator_turn(lock, f"{what} [{key}]", context.log))


def _code_producer(name: str, **parameters: Any) -> dict[str, Any]:
    return {"engine": name, "model_id": "", "model_revision": "", "parameters": parameters}


# -- assets --------------------------------------------------------------------------------------------------
@asset(**_common("source_documents", "PDFs of the container: hash, size, page count, metadata; unreadable "
                 "files become error rows and the rest of the container goes on.", {"pdf", "duckdb"}))
def source_documents(context: AssetExecutionContext, storage: PipelineStorage) -> MaterializeResult:
    entries = inbox.inbox_entries(storage.inbox)

    def stage(ctx: stages.StageContext) -> stages.StageOutput:
        if ctx.container_id not in entries:
            raise FileNotFoundError(f"container {ctx.container_id!r} is not in the inbox {storage.inbox}")
        return stages.source_documents(ctx, entries[ctx.container_id], storage.follow_symlinks)

    return _run_stage(context, storage, "source_documents", stage, _code_producer("pypdfium2"))


@asset(**_common("rendered_pages", "Page images in the content-addressed page store, and each page's text "
                 "layer (words with boxes) when it has a usable one.", {"pdfium", "duckdb"}, [source_documents]))
def rendered_pages(context: AssetExecutionContext, storage: PipelineStorage) -> MaterializeResult:
    return _run_stage(context, storage, "rendered_pages",
                      lambda ctx: stages.rendered_pages(ctx, storage.dpi, storage.max_page_pixels),
                      _code_producer("pypdfium2", dpi=storage.dpi, max_page_pixels=storage.max_page_pixels))


@asset(**_common("layout_regions", "Layout regions per page (boxes in PDF points, canonical and model labels, "
                 "scores, reading order).", {"onnx", "duckdb"}, [rendered_pages]))
def layout_regions(context: AssetExecutionContext, storage: PipelineStorage,
                   layout_model: ModelResource) -> MaterializeResult:
    return _model_stage(context, storage, "layout_regions", layout_model,
                        lambda detector: lambda ctx: stages.layout_regions(ctx, detector))


@asset(**_common("ocr_text", "Text per region, from the text layer on digital pages and from OCR on image-only "
                 "pages; the source is recorded per row.", {"onnx", "duckdb"}, [layout_regions]))
def ocr_text(context: AssetExecutionContext, storage: PipelineStorage, ocr_model: ModelResource,
             formula_model: ModelResource) -> MaterializeResult:
    return _model_stage(context, storage, "ocr_text", ocr_model,
                        lambda recognizer, formulas=None: lambda ctx: stages.ocr_text(ctx, recognizer, formulas),
                        also=formula_model)


@asset(**_common("tables", "Table structure for table regions: cells with row, column, spans and header flag, "
                 "plus HTML and Markdown renderings.", {"duckdb"}, [ocr_text]))
def tables(context: AssetExecutionContext, storage: PipelineStorage, table_model: ModelResource) -> MaterializeResult:
    return _model_stage(context, storage, "tables", table_model,
                        lambda recognizer: lambda ctx: stages.tables(ctx, recognizer))


@asset(**_common("chart_data", "Data tables read back from chart figures (DePlot). The offline profile has no "
                 "chart model and records none.", {"duckdb"}, [layout_regions]))
def chart_data(
    context: AssetExecutionContext, storage: PipelineStorage, chart_model: ModelResource
) -> MaterializeResult:
    if chart_model.enabled:
        return _model_stage(context, storage, "chart_data", chart_model,
                            lambda extractor: lambda ctx: stages.chart_data(ctx, extractor))
    return _run_stage(context, storage, "chart_data", lambda ctx: stages.chart_data(ctx, None),
                      _code_producer("none", reason="no chart engine configured"))


@asset(**_common("document_markdown", "Reading-order Markdown per document, also written to the export folder.",
                 {"markdown", "duckdb"}, [ocr_text, tables]))
def document_markdown(context: AssetExecutionContext, storage: PipelineStorage) -> MaterializeResult:
    return _run_stage(context, storage, "document_markdown",
                      lambda ctx: stages.document_markdown(ctx, storage.exports, storage.markdown_furniture),
                      _code_producer("markdown"))


document_assets = [source_documents, rendered_pages, layout_regions, ocr_text, tables, chart_data, document_markdown]
