"""Containers: one folder of PDFs (or one PDF) in the inbox = one dynamic partition.

File names are bytes on Linux and may be anything but `/` and NUL: not UTF-8, with newlines or quotes,
NFC or NFD, 250 characters deep. Everything stored or used as a name here is a safe, valid string derived
from them without collisions; the bytes themselves are kept (`path_bytes`) for opening the file again."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

PDF_SUFFIXES = {".pdf"}
KEY_MAX = 80  # long enough to read, short enough for every folder name built from it
KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
REGISTRY = ".partition-keys.json"  # in the inbox (hidden, so never a container itself)


class UnsafeKeyError(ValueError):
    """A partition key that does not follow the key grammar (from the UI, GraphQL or a hand-typed CLI flag)."""


def _digest(raw: bytes, n: int) -> str:
    return hashlib.sha1(raw).hexdigest()[:n]


def raw_name(path: str | os.PathLike) -> bytes:
    """The bytes of a file name or path exactly as the file system has them."""
    return os.fsencode(path)


def safe_text(raw: bytes) -> str:
    """A valid string for any file name's bytes: itself when it is UTF-8, otherwise the bad bytes escaped as
    `\\xNN` plus a short hash of the bytes, so it cannot equal a real UTF-8 name that looks the same."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return f"{raw.decode('utf-8', 'backslashreplace')}~{_digest(raw, 8)}"


def display(path: str | os.PathLike) -> str:
    """A path for messages and stored columns: never raises, never holds a lone surrogate."""
    return safe_text(raw_name(path))


# -- partition keys ------------------------------------------------------------------------------------------
def _slug(name: str) -> str:
    """NFC first (so NFC and NFD spellings agree), then letters folded to ASCII where they have a base letter
    (`Café` -> `cafe`), everything else to `-`."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFC", name))
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")


def partition_key_for(name: str | bytes) -> str:
    """A key safe for paths and SQL, derived from the inbox entry's name: `Q3 Reports.pdf` -> `q3-reports`.
    Names with nothing left after folding get a hash; long ones are cut and get a hash, so keys stay short."""
    raw = name if isinstance(name, bytes) else raw_name(name)
    text = os.fsdecode(raw)
    stem = text[: -len(Path(text).suffix)] if Path(text).suffix.lower() in PDF_SUFFIXES else text
    key = _slug(stem)
    if not key:
        return "container-" + _digest(raw, 8)
    if len(key) > KEY_MAX:
        key = key[: KEY_MAX - 9].rstrip("-") + "-" + _digest(raw, 8)
    return key


def check_key(key: str) -> str:
    """Refuse a key that does not follow the grammar before any path is built from it (`../x`, `/etc`, ...)."""
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise UnsafeKeyError(
            f"partition key {key!r} is not a valid container key (lowercase letters, digits and '-', at most 100 "
            "characters, starting and ending with a letter or digit); add containers through the inbox")
    return key


def _is_entry(entry: Path) -> bool:
    name = entry.name
    if name.startswith((".", "_")) or name.endswith((".part", ".tmp")):
        return False
    if entry.is_symlink():  # listed so that the source stage can refuse it with an error row
        return entry.suffix.lower() in PDF_SUFFIXES or entry.is_dir()
    # a named pipe, socket or device named *.pdf is listed too: the source stage refuses it with an error row
    return entry.is_dir() or entry.suffix.lower() in PDF_SUFFIXES


@contextlib.contextmanager
def _locked(path: Path):
    """An exclusive lock beside the registry: the sensor, the CLI and the runs may assign keys at once."""
    import fcntl

    with open(path.with_name(path.name + ".lock"), "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_registry(path: Path) -> dict[str, str]:
    """Key -> inbox entry name, as the hex of its bytes (lossless for any name)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {k: v["name_hex"] for k, v in data.get("keys", {}).items() if KEY_RE.match(k)}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        log.warning("partition key registry %s is unreadable (%s); keys are derived afresh", path, exc)
        return {}


def _write_registry(path: Path, keys: dict[str, str]) -> None:
    data = {"comment": "partition key -> inbox entry; a key once given stays with its entry",
            "keys": {k: {"name": safe_text(bytes.fromhex(h)), "name_hex": h} for k, h in sorted(keys.items())}}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def assign_keys(names: list[bytes], known: dict[str, str]) -> dict[str, bytes]:
    """Key -> entry name for `names`, keeping every key in `known` (key -> name hex) with its entry; a new
    name gets its derived key unless that is taken, then the key plus a short hash of the name."""
    owner = {h: k for k, h in known.items()}
    taken = set(known)
    out: dict[str, bytes] = {}
    for raw in sorted(names):
        key = owner.get(raw.hex())
        if key is None:
            key = partition_key_for(raw)
            if key in taken:
                key = f"{key[: KEY_MAX - 7]}-{_digest(raw, 6)}"
            n = 0
            while key in taken:  # a hash collision of names: still never merge two entries
                n += 1
                key = f"{partition_key_for(raw)[: KEY_MAX - 12]}-{_digest(raw + str(n).encode(), 11)}"
            taken.add(key)
        out[key] = raw
    return out


def inbox_entries(inbox: Path) -> dict[str, Path]:
    """Partition key -> inbox entry (a folder or a single PDF). Hidden and partial files are ignored. Keys are
    stable: the mapping is stored in the inbox (`.partition-keys.json`), so a key once given to a folder stays
    with it whatever folders appear later (`Reports/` beside `reports/` gets `reports-<hash>`)."""
    if not inbox.is_dir():
        return {}
    entries = {raw_name(e.name): e for e in inbox.iterdir() if _is_entry(e)}
    registry = inbox / REGISTRY
    try:
        with _locked(registry):
            known = _read_registry(registry)
            assigned = assign_keys(list(entries), known)
            if any(k not in known for k in assigned):
                _write_registry(registry, {**known, **{k: raw.hex() for k, raw in assigned.items()}})
    except OSError as exc:  # a read-only inbox: keys are still derived, just not remembered
        log.warning("cannot store partition keys in %s (%s)", registry, exc)
        assigned = assign_keys(list(entries), {})
    return {k: entries[raw] for k, raw in sorted(assigned.items())}


def key_registry(inbox: Path) -> dict[str, str]:
    """Key -> entry name (display form) of every key ever given in this inbox."""
    return {k: safe_text(bytes.fromhex(h)) for k, h in sorted(_read_registry(inbox / REGISTRY).items())}


# -- files of a container ------------------------------------------------------------------------------------
_SPECIAL_FILES = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                  (stat.S_ISBLK, "a block device"))


def special_file(path: Path) -> str | None:
    """What `path` is when it is neither a regular file nor a folder ("a named pipe", ...), from its mode only:
    such a file is never opened (opening a pipe blocks until something writes to it). None for files, folders
    and names that are gone."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((what for test, what in _SPECIAL_FILES if test(mode)), "not a regular file")


def _not_read(what: str) -> str:
    return f"{what}, not a regular file; not opened (reading it could block the run)"


@dataclass(frozen=True)
class Refused:
    """Something in a container that is not read, and why (becomes an error row)."""

    path: Path
    reason: str


def scan_container(entry: Path, follow_symlinks: bool = False) -> tuple[list[Path], list[Refused]]:
    """The PDFs of a container in a stable order (by the bytes of their paths), and what was refused.
    Files that merely claim to be PDFs are included: the source stage records the ones that cannot be opened.
    Symbolic links are not followed unless the inbox is trusted (`follow_symlinks`): they could pull files
    from anywhere on the machine into the results and the exports."""
    if entry.is_symlink() and not follow_symlinks:
        return [], [Refused(entry, "the container is a symbolic link; links are not followed out of the inbox "
                                   "(copy the files in instead, or set follow_symlinks for a trusted inbox)")]
    if entry.is_file():
        return [entry], []
    if (what := special_file(entry)) is not None:
        return [], [Refused(entry, _not_read(what))]
    files: list[Path] = []
    refused: list[Refused] = []
    seen: set[str] = set()

    def unreadable(exc: OSError) -> None:
        refused.append(Refused(Path(exc.filename or entry), f"cannot be read ({exc.strerror or exc})"))

    for root, dirs, names in os.walk(entry, onerror=unreadable, followlinks=follow_symlinks):
        base = Path(root)
        real = os.path.realpath(base)
        if real in seen:  # a link loop, or the same folder linked twice
            dirs.clear()
            refused.append(Refused(base, "a folder reached twice through symbolic links; read once"))
            continue
        seen.add(real)
        for d in list(dirs) if not follow_symlinks else []:
            if (base / d).is_symlink():
                refused.append(Refused(base / d, "a symbolic link to a folder; not followed"))
        for n in names:
            path = base / n
            if path.suffix.lower() not in PDF_SUFFIXES:
                continue
            if path.is_symlink() and not follow_symlinks:
                refused.append(Refused(path, "a symbolic link; links are not followed out of the inbox"))
            elif path.is_file():
                files.append(path)
            elif (what := special_file(path)) is not None:
                refused.append(Refused(path, _not_read(what)))
    files.sort(key=raw_name)
    refused.sort(key=lambda r: raw_name(r.path))
    return files, refused


def container_files(entry: Path, follow_symlinks: bool = False) -> list[Path]:
    return scan_container(entry, follow_symlinks)[0]


def document_id_for(entry: Path, path: Path) -> str:
    """The document's id: its path inside the container (its name for a single-PDF container), as a safe string."""
    rel = path.name if entry.is_file() or path == entry else path.relative_to(entry).as_posix()
    return safe_text(raw_name(rel))


_UNSAFE_FILE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
# Bidirectional controls (embeddings, overrides, isolates, marks) make a name display other than it is:
# `rlo \u202egnp.exe.pdf` shows as "...exe.png". Export names drop them.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _clip_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def export_name(document_id: str) -> str:
    """The export file name of a document: `report.pdf` -> `report.md`. Anything else (a subfolder, another
    case of `.pdf`, NFD, characters file systems refuse, bidirectional controls, a long name, a stem that looks
    like our hash suffix) gets a readable stem (bidirectional controls dropped) plus a hash of the whole id, so
    no two documents of a container share a file (`dup.pdf`/`dup.PDF`, `sub/inner.pdf`/`sub__inner.pdf`) and no
    name is too long."""
    stem = document_id[:-4] if document_id.endswith(".pdf") else None
    simple = (stem is not None and stem and not stem.startswith(".") and not _UNSAFE_FILE_CHARS.search(stem)
              and not BIDI_CONTROLS.search(stem)
              and len(stem.encode("utf-8")) <= 120 and unicodedata.is_normalized("NFC", stem)
              and not re.search(r"-[0-9a-f]{10}$", stem))
    if simple:
        return f"{stem}.md"
    readable = _UNSAFE_FILE_CHARS.sub("_", BIDI_CONTROLS.sub("", document_id).replace("/", "__")).lstrip(".")
    readable = readable or "document"
    readable = _clip_utf8(unicodedata.normalize("NFC", readable), 120)
    return f"{readable}-{hashlib.sha1(document_id.encode('utf-8')).hexdigest()[:10]}.md"


def container_fingerprint(entry: Path, sample_bytes: int = 64 * 1024, follow_symlinks: bool = False) -> str:
    """Changes when a file is added, removed or rewritten, not when the same files are copied in again:
    name, size and the bytes at both ends of each file (cheap enough for a sensor that ticks often)."""
    digest = hashlib.sha256()
    files, refused = scan_container(entry, follow_symlinks)
    for path in files:
        try:
            size = path.stat().st_size
            digest.update(raw_name(document_id_for(entry, path)) + f"|{size}|".encode())
            with open(path, "rb") as fh:
                digest.update(fh.read(sample_bytes))
                if size > 2 * sample_bytes:
                    fh.seek(-sample_bytes, 2)
                    digest.update(fh.read(sample_bytes))
        except OSError as exc:  # vanished or unreadable between the scan and now: still a change
            digest.update(f"{display(path)}|{type(exc).__name__}".encode())
    for r in refused:
        digest.update(b"refused|" + raw_name(r.path))
    return digest.hexdigest()[:16]
