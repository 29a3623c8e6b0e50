"""Render the HTML adequacy report: an index page and one page per task, as static files."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from testaudit.records import AuditSummary, StrengthenReport
from testaudit.report.pages import IndexPage, TaskPage, index_page, task_pages
from testaudit.store import strengthen_json
from testaudit.store.files import write_atomic

# Bump when the page layout or status.json changes: every page is then rewritten.
# 1: first version.
STATUS_FORMAT = 1
STATUS_FILE = "status.json"
STRYKER_FILE = "mutation-report.json"
STATIC_FILES = ("report.css", "report.js")
TEMPLATES = ("base.html", "index.html", "task.html", "macros.html")


def _environment() -> Environment:
    # Mutant text, messages and task sources are untrusted: autoescape is on for every .html.
    return Environment(
        loader=PackageLoader("testaudit"),
        autoescape=select_autoescape(),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# Beside the templates that PackageLoader("testaudit") reads; a plain path, because
# importlib.resources cannot walk a package that is installed editable as a namespace.
STATIC_DIR = Path(__file__).resolve().parent.parent / "templates" / "static"


def _static_bytes(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def _busted_name(name: str, data: bytes) -> str:
    """report.css -> report.0123456789.css: a browser never uses a stale cached copy."""
    stem, _, suffix = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(data).hexdigest()[:10]}.{suffix}"


def copy_with_cache_bust(out_dir: Path) -> dict[str, str]:
    """Copy the static assets into `out_dir` under content-hash names; map name -> written name."""
    names = {}
    for name in STATIC_FILES:
        data = _static_bytes(name)
        busted = _busted_name(name, data)
        target = out_dir / busted
        if not target.exists() or target.read_bytes() != data:
            write_atomic(target, data)
        names[name] = busted
    return names


def _templates_hash(env: Environment) -> str:
    digest = hashlib.sha256()
    for name in TEMPLATES:
        source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
        digest.update(name.encode() + b"\0" + source.encode() + b"\0")
    return digest.hexdigest()


def _read_status(out_dir: Path) -> dict:
    """The previous render's status.json, or an empty one if absent, unreadable or outdated."""
    try:
        status = json.loads((out_dir / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(status, dict) or status.get("format") != STATUS_FORMAT:
        return {}
    return status


def _fingerprint(base: str, page: TaskPage | IndexPage) -> str:
    # The page data's repr is deterministic (frozen dataclasses of strings and numbers), so equal
    # data with equal templates and assets renders to an equal page, which need not be rewritten.
    return hashlib.sha256((base + repr(page)).encode()).hexdigest()


def _remove_stale(out_dir: Path, old: dict, files: dict[str, str], assets: dict[str, str]) -> None:
    """Delete pages and assets that an earlier render wrote and this one did not."""
    keep = set(files) | set(assets.values())
    previous = list(old.get("files", {})) + list(old.get("assets", []))
    for name in previous:
        # Only plain names from our own status file, never a path that could leave the folder.
        if isinstance(name, str) and name not in keep and "/" not in name and "\\" not in name:
            with contextlib.suppress(FileNotFoundError):
                (out_dir / name).unlink()


def _strengthen_report(summary: AuditSummary, out_dir: Path) -> StrengthenReport | None:
    """The folder's strengthen-report.json, if it is about this very file (`testaudit strengthen`
    writes it beside the re-audit of the file it wrote; a later audit of another file ignores it)."""
    path = out_dir / strengthen_json.FILENAME
    if not path.is_file():
        return None
    report = strengthen_json.read(path)
    return report if Path(report.output).resolve() == Path(summary.dataset.source).resolve() else None


def write_html(summary: AuditSummary, out_dir: Path) -> Path:
    """Write the report into `out_dir` and return the path of its index.html.

    Task pages whose data, templates and assets are unchanged since the last render into the same
    folder are not rewritten (status.json records what was written).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = _environment()
    assets = copy_with_cache_bust(out_dir)
    old = _read_status(out_dir)
    old_files = old.get("files", {})
    base = json.dumps(
        [STATUS_FORMAT, _templates_hash(env), assets, repr(summary.settings)], sort_keys=True
    )
    pages = task_pages(summary)
    index = index_page(summary, [p.row for p in pages], _strengthen_report(summary, out_dir))
    files: dict[str, str] = {}
    task_template = env.get_template("task.html")
    for page in pages:
        files[page.href] = _fingerprint(base, page)
        target = out_dir / page.href
        if old_files.get(page.href) == files[page.href] and target.exists():
            continue
        write_atomic(target, task_template.render(page=page, assets=assets))
    index_path = out_dir / "index.html"
    # Link the Stryker JSON when the caller wrote it first (testaudit audit does).
    stryker = STRYKER_FILE if (out_dir / STRYKER_FILE).exists() else None
    files["index.html"] = _fingerprint(base + repr(stryker), index)
    if old_files.get("index.html") != files["index.html"] or not index_path.exists():
        html = env.get_template("index.html").render(index=index, assets=assets, stryker=stryker)
        write_atomic(index_path, html)
    _remove_stale(out_dir, old, files, assets)
    status = {"format": STATUS_FORMAT, "assets": sorted(assets.values()), "files": files}
    write_atomic(out_dir / STATUS_FILE, json.dumps(status, indent=1, sort_keys=True) + "\n")
    return index_path
