"""Print the label to PDF and PNG with Debian's headless Chromium.

Chromium lays out the same HTML a reader opens, so the printed label cannot drift from the web one.
It runs with a throw-away profile, no network (the page is a temp file; every host name resolves to
nothing) and a time limit; its whole process group is killed on timeout, leaving no stray renderer.
"""

from __future__ import annotations

import io
import math
import os
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from assay.store.blobs import atomic_write
from assay.web.i18n import load_catalogue

if TYPE_CHECKING:
    from pypdf import PdfReader

CHROMIUM_ENV = "ASSAY_CHROMIUM"
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
DEFAULT_TIMEOUT_S = 120.0
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-quic",
    "--hide-scrollbars",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--force-device-scale-factor=1",
)
# When a language's label overflows one A4 page it is printed again at the zoom that the first print's
# length says will fit, and smaller in steps if that was not enough, but no smaller than 0.7 (about
# 5 pt text): a label longer than that takes a second page rather than becoming unreadable.
MIN_ZOOM = 0.7
ZOOM_STEP = 0.05
PAGE_MARGIN_PT = 7 * 72 / 25.4  # `@page { margin: 7mm }` in static/label.css
PNG_WIDTH = 860
PNG_HEIGHTS = (3000, 6000, 12000)


class RenderError(RuntimeError):
    """Chromium could not print the label (it failed, timed out or wrote nothing)."""


class ChromiumNotFound(RenderError):
    """No Chromium to print with; the HTML and SVG renderings need none."""


def chromium_path(explicit: Path | None = None) -> Path:
    """The browser to print with: the argument, else $ASSAY_CHROMIUM, else Debian's /usr/bin/chromium."""
    path = explicit or Path(os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ChromiumNotFound(
            f"no Chromium at {path} to print with (install Debian's `chromium` with "
            f"`apt-get install chromium`, or set {CHROMIUM_ENV} to the browser's path); "
            "the HTML and SVG renderings do not need it"
        )
    return path


def _run(exe: Path, args: list[str], page: Path, timeout: float) -> None:
    """Run Chromium once on a file:// page; raise RenderError with its last words if it fails."""
    with tempfile.TemporaryDirectory(prefix="assay-chromium-") as profile:
        cmd = [str(exe), *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True
        )
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise RenderError(f"chromium did not finish printing {page.name} within {timeout:g} s") from None
        finally:
            if proc.poll() is None:  # pragma: no cover - only if communicate itself was interrupted
                os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode != 0:
            raise RenderError(f"chromium exited with {proc.returncode}: {err.strip()[-600:]}")


def _with_zoom(html: str, zoom: float) -> str:
    if zoom == 1.0:
        return html
    style = f"<style>@media print {{ html {{ zoom: {zoom}; }} }}</style>"
    head_end = html.find("</head>")
    return html[:head_end] + style + html[head_end:] if head_end >= 0 else style + html


def _fitting_zoom(reader: PdfReader) -> float:
    """The zoom at which a label that ran over several pages would fill just one: the pages' printable
    height over the height the label took, read from where its last line of text sits."""
    last = reader.pages[-1]
    height = float(last.mediabox.height)
    lowest: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            lowest.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])

    last.extract_text(visitor_text=visit)
    area = height - 2 * PAGE_MARGIN_PT
    used_on_last = (height - PAGE_MARGIN_PT) - min(lowest, default=PAGE_MARGIN_PT) + 10  # + frame below
    total = area * (len(reader.pages) - 1) + min(used_on_last, area)
    return area / total


def _print_one(exe: Path, html: str, work: Path, name: str, timeout: float) -> tuple[bytes, int]:
    """One language to PDF, shrunk until it fits one page (or reaches MIN_ZOOM); its PDF and pages."""
    from pypdf import PdfReader

    page = work / f"{name}.html"
    out = work / f"{name}.pdf"
    zoom = 1.0
    while True:
        page.write_text(_with_zoom(html, zoom), encoding="utf-8")
        out.unlink(missing_ok=True)
        _run(exe, [f"--print-to-pdf={out}", "--no-pdf-header-footer"], page, timeout)
        if not out.is_file() or out.stat().st_size == 0:
            raise RenderError(f"chromium wrote no PDF for {name}")
        data = out.read_bytes()
        reader = PdfReader(io.BytesIO(data))
        pages = len(reader.pages)
        if pages <= 1 or zoom <= MIN_ZOOM:
            return data, pages
        if zoom == 1.0:
            guess = math.floor(_fitting_zoom(reader) * 0.98 * 100) / 100
            zoom = max(MIN_ZOOM, min(guess, 1.0 - ZOOM_STEP))
        else:
            zoom = max(MIN_ZOOM, round(zoom - ZOOM_STEP, 2))


def print_pdf(
    html_by_lang: dict[str, str],
    out: Path,
    *,
    chromium: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    workers: int | None = None,
) -> dict[str, int]:
    """One PDF with each language's label on its own A4 page, in the order given, with a bookmark per
    language. Returns the pages each language took: 1, unless a label is too long to fit even at 70%
    (then it runs on, still starting on its own page). Languages print in parallel, `workers` Chromiums
    at a time (default: one per language, at most one per CPU core; bench/label_render.py measures it)."""
    from pypdf import PdfWriter

    if not html_by_lang:
        raise ValueError("print_pdf needs at least one language's HTML")
    exe = chromium_path(chromium)
    names = load_catalogue("label").languages
    writer = PdfWriter()
    pages: dict[str, int] = {}
    workers = workers or max(1, min(len(html_by_lang), os.cpu_count() or 1, 4))
    with tempfile.TemporaryDirectory(prefix="assay-label-pdf-") as tmp:
        work = Path(tmp)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            printed = list(
                pool.map(
                    lambda item: _print_one(exe, item[1], work, f"label.{item[0]}", timeout),
                    html_by_lang.items(),
                )
            )
        for lang, (data, n) in zip(html_by_lang, printed, strict=True):
            start = len(writer.pages)
            writer.append(io.BytesIO(data))
            writer.add_outline_item(title=names.get(lang, lang), page_number=start)
            pages[lang] = n
        writer.add_metadata({"/Title": "AI system label", "/Creator": "assay"})
        buf = io.BytesIO()
        writer.write(buf)
    atomic_write(out, buf.getvalue())
    return pages


def print_document_pdf(
    html: str,
    out: Path,
    *,
    title: str,
    chromium: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> int:
    """Any self-contained page (e.g. the conformance report) to a PDF of as many pages as it needs, at
    full size; the page's own `@page` rule sets paper and margins. Returns the number of pages."""
    from pypdf import PdfReader, PdfWriter

    exe = chromium_path(chromium)
    with tempfile.TemporaryDirectory(prefix="assay-doc-pdf-") as tmp:
        page, printed = Path(tmp) / "page.html", Path(tmp) / "page.pdf"
        page.write_text(html, encoding="utf-8")
        _run(exe, [f"--print-to-pdf={printed}", "--no-pdf-header-footer"], page, timeout)
        if not printed.is_file() or printed.stat().st_size == 0:
            raise RenderError(f"chromium wrote no PDF for {title}")
        writer = PdfWriter(clone_from=PdfReader(printed))
        writer.add_metadata({"/Title": title, "/Creator": "assay"})
        buf = io.BytesIO()
        writer.write(buf)
        pages = len(writer.pages)
    atomic_write(out, buf.getvalue())
    return pages


def print_png(
    html: str,
    out: Path,
    *,
    chromium: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    width: int = PNG_WIDTH,
) -> tuple[int, int]:
    """A screenshot of the label as a reader sees it on screen, cropped to its content. Chromium's
    --screenshot takes only the window, so the window is tall and the blank below is cut off; a label
    taller than the window is shot again in a taller one. Returns the image's size."""
    import numpy as np
    from PIL import Image

    exe = chromium_path(chromium)
    with tempfile.TemporaryDirectory(prefix="assay-label-png-") as tmp:
        page, shot = Path(tmp) / "label.html", Path(tmp) / "label.png"
        page.write_text(html, encoding="utf-8")
        for height in PNG_HEIGHTS:
            shot.unlink(missing_ok=True)
            _run(exe, [f"--screenshot={shot}", f"--window-size={width},{height}"], page, timeout)
            if not shot.is_file():
                raise RenderError("chromium wrote no screenshot")
            with Image.open(shot) as img:
                rgb = img.convert("RGB")
            grey = np.asarray(rgb.convert("L"))
            inked = np.flatnonzero((grey < 250).any(axis=1))
            if inked.size == 0:
                raise RenderError("chromium's screenshot of the label is blank")
            bottom = int(inked[-1]) + 1
            if bottom < grey.shape[0] - 4:  # blank rows left below the label: it all fit
                break
        cropped = rgb.crop((0, 0, rgb.width, min(rgb.height, bottom + 16)))
        buf = io.BytesIO()
        cropped.save(buf, format="PNG", optimize=True)
    atomic_write(out, buf.getvalue())
    return cropped.size
