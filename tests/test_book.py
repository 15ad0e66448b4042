"""The book as a reader gets it: the build, its links and images, and real pages in a browser.

One module, so that pytest-xdist (``--dist loadscope``) runs it in one worker and the book is
built once, into ``_build/site-check`` (not ``_build/html``, which ``make book`` owns).

* The build runs exactly as ``make book`` does: warnings and broken references are errors.
* Every internal link, anchor, image, script and stylesheet of every built page must resolve
  (parsed from the HTML: seconds, where a crawler took minutes).
* Headless Chromium (Debian's ``chromium``, driven by Playwright) opens every page with the
  network cut: every request to another host is refused and fails the test, so MathJax must
  come from the site itself. Every page with math must be typeset without errors, every
  image must load, and the console must show no error beyond the allowlist below.
* axe-core (the npm registry's package) checks every page against the WCAG 2 A and AA rules,
  in the light theme, and in the dark theme the pages that hold every kind of element: no
  violation of impact "serious" or "critical".
* At a phone's width (390 px) no page scrolls sideways; code and display math scroll inside
  their own boxes.
* The PDF edition (``make pdf``: the single-page build printed by Chromium) has every chapter
  in order in its outline, every figure, every font embedded, the Chinese quotations in a
  CJK font, numbered equations and the bibliography; the site links to it from every page.
* Screenshots of the sigmoid chapter (its derivation, the page, the page on a phone) are
  kept in ``_build/screenshots/`` for a person to look at.

Without a browser or npm (for axe-core) the browser test is skipped with a loud reason, except under CI
(``CI=true``), where it fails instead: CI must check what readers see.
"""

import functools
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
OUTPUT = ROOT / "_build" / "site-check"
SITE = OUTPUT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
NPM_PREFIX = ROOT / ".venv" / "npm"
PDF_SOURCE = ROOT / "_build" / "site-check-pdf"
PDF_NAME = "nnmath-book.pdf"
AXE_VERSION = "4.14.1"
PHONE_WIDTH = 390
# axe-core takes about 5 s a page; the dark theme changes colours, not markup, so it is checked
# on pages that together hold every kind of element: a chapter with all of them (admonitions,
# tables, code and its highlighting, outputs, proofs, exercises, equations, figures, citations,
# glossary links), the front page, the index pages and the search form.
DARK_MODE_PAGES = {"intro.html", "chapters/07_softmax_with_loss.html", "genindex.html", "prf-prf.html", "search.html"}
CHROMIUM = Path("/usr/bin/chromium")

# Console messages every page of a default Jupyter Book 1.x build prints; neither is ours to fix.
CONSOLE_ALLOWLIST = {
    # sphinx-thebe declares THEBE_JS_URL in two scripts that both load on every page.
    "Identifier 'THEBE_JS_URL' has already been declared",
    # pydata-sphinx-theme reads an empty theme mode before the page sets one.
    "Got invalid theme mode: .",
}


def unavailable(reason):
    """Skip loudly on a developer's machine; fail under CI, which must run every check."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(f"BROWSER CHECK NOT RUN: {reason}")


@pytest.fixture(scope="module")
def build_log():
    shutil.rmtree(OUTPUT, ignore_errors=True)
    result = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "-W", "-n", "--keep-going", "--path-output", str(OUTPUT)],
        check=False, capture_output=True,
        text=True,
        timeout=900,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def site(build_log):
    returncode, log = build_log
    if returncode != 0:
        pytest.fail(f"the book did not build:\n{log[-3000:]}")
    return SITE


def chapter_pages():
    toc = (ROOT / "_toc.yml").read_text(encoding="utf-8")
    return [f"{name}.html" for name in re.findall(r"file:\s*(\S+)", toc)]


def test_book_builds_without_warnings(build_log):
    returncode, log = build_log
    assert returncode == 0, log[-5000:]
    assert "WARNING" not in log, log[-5000:]


def test_every_page_of_the_table_of_contents_is_built(site):
    missing = [page for page in ["intro.html", *chapter_pages()] if not (site / page).is_file()]
    assert not missing


def test_derivations_and_figures_are_in_the_html(site):
    sigmoid = (site / "chapters" / "01_sigmoid.html").read_text(encoding="utf-8")
    assert r"\begin{aligned}" in sigmoid, "the derivation did not render as math"
    assert re.search(r'<img[^>]+src="[^"]+\.png"', sigmoid), "the figure did not render"


@pytest.fixture(scope="module")
def pdf(site):
    """The PDF edition, made as ``make pdf`` makes it, at the site's root where every page links to it.

    None when Chromium is missing on a developer's machine (the PDF test then skips loudly).
    """
    if not CHROMIUM.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but there is no browser at {CHROMIUM} to print the PDF")
        return None
    shutil.rmtree(PDF_SOURCE, ignore_errors=True)
    build = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(ROOT), "--builder", "custom", "--custom-builder", "singlehtml",
         "-W", "-n", "--keep-going", "--path-output", str(PDF_SOURCE)],
        check=False, capture_output=True, text=True, timeout=900,
    )
    assert build.returncode == 0 and "WARNING" not in build.stdout + build.stderr, (build.stdout + build.stderr)[-4000:]
    printed = subprocess.run(
        [str(BIN / "python"), str(ROOT / "_ext" / "print_pdf.py"), str(PDF_SOURCE / "_build" / "singlehtml"),
         str(site / PDF_NAME)],
        check=False, capture_output=True, text=True, timeout=900,
    )
    assert printed.returncode == 0, printed.stdout + printed.stderr[-4000:]
    return site / PDF_NAME, printed.stdout


def _titles():
    """Each chapter's title: the first heading of its notebook or Markdown page, in order."""
    titles = []
    for name in re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text(encoding="utf-8")):
        notebook, page = ROOT / f"{name}.ipynb", ROOT / f"{name}.md"
        if notebook.is_file():
            cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
            text = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
        else:
            text = page.read_text(encoding="utf-8")
        titles.append(re.search(r"^# (.+)$", text, re.MULTILINE).group(1).strip())
    return titles


def _figures():
    """How many figures the chapters show: PNG outputs of cells whose output is not removed."""
    count = 0
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            tags = cell.get("metadata", {}).get("tags", [])
            if cell["cell_type"] == "code" and not {"remove-output", "remove-cell"} & set(tags):
                count += sum("image/png" in output.get("data", {}) for output in cell["outputs"])
    return count


def _flatten(outline):
    for entry in outline:
        if isinstance(entry, list):
            yield from _flatten(entry)
        else:
            # A heading that wraps loses the space at its line break in the outline.
            yield "".join(entry.title.split())


def _fonts_and_images(resources, seen):
    """(fonts, image count) of a page's resources, Form XObjects included."""
    fonts, images = [], 0
    for font in (resources.get("/Font") or {}).values():
        fonts.append(font.get_object())
    for xobject in (resources.get("/XObject") or {}).values():
        xobject = xobject.get_object()
        if id(xobject) in seen:
            continue
        seen.add(id(xobject))
        if xobject.get("/Subtype") == "/Image":
            images += 1
        elif xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
            inner_fonts, inner_images = _fonts_and_images(xobject["/Resources"].get_object(), seen)
            fonts += inner_fonts
            images += inner_images
    return fonts, images


def _embedded(font):
    if font.get("/Subtype") == "/Type3":
        return True  # its glyphs are drawn by procedures inside the PDF
    if font.get("/Subtype") == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_the_pdf_edition_has_every_chapter_its_figures_fonts_and_chinese(pdf):
    if pdf is None:
        pytest.skip(f"PDF NOT BUILT: no browser at {CHROMIUM} (Debian package 'chromium'; .ci/run installs it)")
    from pypdf import PdfReader

    path, report = pdf
    reader = PdfReader(path)
    pages = len(reader.pages)
    assert pages >= 100, f"only {pages} pages: is the whole book in the PDF?"
    # Every chapter, in the order of the table of contents, in the PDF's outline (its bookmarks).
    outline = list(_flatten(reader.outline))
    titles = ["".join(title.split()) for title in _titles()]
    positions = [next((i for i, title in enumerate(outline) if title.endswith(wanted)), None) for wanted in titles]
    missing = [title for title, position in zip(_titles(), positions) if position is None]
    assert not missing, f"chapters missing from the PDF's outline: {missing}"
    assert positions == sorted(positions), "the chapters are out of order"
    # Every font embedded; every figure there.
    fonts, images, seen = [], 0, set()
    for page in reader.pages:
        page_fonts, page_images = _fonts_and_images(page.get("/Resources", {}).get_object(), seen)
        fonts += page_fonts
        images += page_images
    not_embedded = {str(font.get("/BaseFont")) for font in fonts if not _embedded(font)}
    assert fonts and not not_embedded, f"fonts not embedded: {not_embedded}"
    assert images >= _figures(), f"{images} images in the PDF, {_figures()} figures in the chapters"
    # The Chinese quotations in a CJK font, numbered equations, the bibliography.
    assert "Noto Sans CJK" in report, report
    # Text is read from the pages where it must be (extracting all of it takes 20 s).
    def text_of(first, last):
        return "\n".join(reader.pages[i].extract_text() for i in range(first, min(last, pages)))

    opening, ending = text_of(0, 12), text_of(pages - 8, pages)
    assert len(re.findall(r"[\u4e00-\u9fff]", opening)) > 20, "the Chinese quotations are missing"
    assert re.search(r"\(1\.1\)", text_of(0, 30)), "equation numbers are missing"
    assert any(title.endswith("References") for title in outline)
    text = ending
    assert "Glorot" in text and "Saitoh" in text, "the bibliography is missing"


class _Links(html.parser.HTMLParser):
    """The ids a page defines and the links, images and scripts it points to."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.targets = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for anchor in (attrs.get("id"), attrs.get("name") if tag == "a" else None):
            if anchor:
                self.ids.add(anchor)
        for attribute in ("href", "src"):
            if attrs.get(attribute) and not (tag == "link" and attrs.get("rel") in ("preconnect", "dns-prefetch")):
                self.targets.append((tag, attrs[attribute]))


def _parse(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


class _Figures(html.parser.HTMLParser):
    """Each image of a page: its alt text, and whether it sits in a <figure> with a caption."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images, self._figures = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure":
            self._figures.append({"captioned": False, "images": []})
        elif tag == "figcaption" and self._figures:
            self._figures[-1]["captioned"] = True
        elif tag == "img":
            image = {"src": attrs.get("src", ""), "alt": (attrs.get("alt") or "").strip(), "captioned": False}
            self.images.append(image)
            if self._figures:
                self._figures[-1]["images"].append(image)

    def handle_endtag(self, tag):
        if tag == "figure" and self._figures:
            figure = self._figures.pop()
            for image in figure["images"]:
                image["captioned"] = figure["captioned"]


def test_every_figure_has_alt_text_and_a_caption(site):
    """Set from each notebook's cell metadata (``mystnb.image.alt``, ``mystnb.figure.caption``):
    alt text says what a figure shows to a reader who cannot see it, the caption what to see."""
    figures, problems = 0, []
    for page in sorted((site / "chapters").glob("*.html")):
        parser = _Figures()
        parser.feed(page.read_text(encoding="utf-8"))
        for image in parser.images:
            if "_images/" not in image["src"]:
                continue
            figures += 1
            alt = image["alt"]
            if len(alt) < 30 or alt.endswith(".png") or "_images/" in alt:
                problems.append(f"{page.name}: {image['src']} has no real alt text ({alt!r})")
            if not image["captioned"]:
                problems.append(f"{page.name}: {image['src']} has no caption")
    assert figures >= 20, f"only {figures} figures found in the chapters"
    assert not problems, "\n".join(problems)


def test_no_broken_internal_link_anchor_or_image(site, pdf):
    """Every link, image, script and stylesheet inside the site resolves, anchors included.

    External addresses (launch buttons, the repository, DOIs) are not fetched: the build
    machine has no network, and their availability is not the book's to promise. The PDF
    edition every page links to must be there too (unless it could not be printed here).
    """
    # _static/ holds the theme's Jinja fragments, not pages.
    pages = {path: _parse(path) for path in site.rglob("*.html") if not path.relative_to(site).parts[0].startswith("_")}
    broken, checked = [], 0
    for page, parsed in pages.items():
        where = page.relative_to(site).as_posix()
        for tag, target in parsed.targets:
            parts = urllib.parse.urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith(("mailto:", "javascript:", "data:")):
                continue
            checked += 1
            path = (page.parent / urllib.parse.unquote(parts.path)).resolve() if parts.path else page
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file() and not (pdf is None and path == site / PDF_NAME):
                broken.append(f"{where}: <{tag}> {target}: no such file")
            elif parts.fragment and path.suffix == ".html":
                ids = pages[path].ids if path in pages else _parse(path).ids
                if urllib.parse.unquote(parts.fragment) not in ids:
                    broken.append(f"{where}: <{tag}> {target}: no such anchor")
    assert checked > 1000, f"only {checked} internal links checked: is the site complete?"
    assert not broken, "\n".join(broken[:50])


@pytest.fixture(scope="module")
def axe():
    """The source of the npm registry's ``axe-core`` package, installed once into .venv/npm."""
    script = NPM_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is not installed, so axe-core cannot be fetched")
        subprocess.run(
            [npm, "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", "--silent", f"axe-core@{AXE_VERSION}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return script.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_every_page_renders_offline_accessibly_and_on_a_phone(site, server, axe):
    if not CHROMIUM.is_file():
        unavailable(f"no browser at {CHROMIUM} (Debian package 'chromium'; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    # Every page a reader can open; _static/ holds the theme's HTML fragments, not pages.
    pages = sorted(
        path.relative_to(site).as_posix() for path in site.rglob("*.html") if not path.relative_to(site).parts[0].startswith("_")
    )
    assert len(pages) > len(chapter_pages())
    problems, blocked, allowed_seen, typeset_pages, violations = [], set(), set(), 0, {}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def offline(route_request):
        # The network is cut: the site must bring everything a page needs, MathJax included.
        url = route_request.request.url
        if url.startswith(server):
            return route_request.continue_()
        blocked.add(url)
        return route_request.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", offline)
        for name in pages:
            page = context.new_page()
            console = []
            page.on("console", lambda message, log=console: log.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error, log=console: log.append(str(error)))
            redirect = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"', (site / name).read_text(encoding="utf-8"), re.IGNORECASE)
            if redirect:  # index.html only sends the reader on to the front page: follow it, then move on
                page.goto(f"{server}/{name}")
                page.wait_for_url(f"**/{redirect.group(1)}")
                page.close()
                continue
            page.goto(f"{server}/{name}", wait_until="load")
            if page.locator(".math").count() > 0:
                page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
                page.evaluate("() => MathJax.startup.promise")
                containers = page.locator("mjx-container").count()
                errors = page.locator("mjx-merror").count()
                if containers == 0 or errors:
                    problems.append(f"{name}: {containers} typeset formulas, {errors} MathJax errors")
                typeset_pages += 1
            broken = page.evaluate(
                "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
            )
            if broken:
                problems.append(f"{name}: images that did not load: {broken}")
            if name == "chapters/01_sigmoid.html":
                derivation = page.locator(".text_latex").first
                derivation.scroll_into_view_if_needed()
                derivation.screenshot(path=str(SCREENSHOTS / "01_sigmoid_derivation.png"))
                page.screenshot(path=str(SCREENSHOTS / "01_sigmoid.png"), full_page=True)
            # Accessibility: axe-core's WCAG 2 A and AA rules, in the light theme on every page and
            # in the dark one on the pages that hold every kind of element the book uses.
            page.add_script_tag(content=axe)
            # No colour transitions: axe must see the theme's final colours, not a fade.
            page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
            for mode in ("light", "dark") if name in DARK_MODE_PAGES else ("light",):
                page.evaluate("mode => document.documentElement.dataset.theme = mode", mode)
                for rule in page.evaluate(AXE_RUN):
                    if rule["impact"] in ("serious", "critical"):
                        key = (rule["id"], rule["help"])
                        violations.setdefault(key, []).extend(f"{name} ({mode}): {target}" for target in rule["targets"])
            page.evaluate("() => document.documentElement.dataset.theme = 'light'")
            # On a phone: nothing may scroll sideways but code and display math, inside their boxes.
            page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
            wide = page.evaluate(WIDER_THAN_VIEWPORT)
            if wide:
                problems.append(f"{name}: at {PHONE_WIDTH} px the page scrolls sideways, because of {wide}")
            if name == "chapters/01_sigmoid.html":
                page.screenshot(path=str(SCREENSHOTS / "01_sigmoid_phone.png"))
            allowed_seen.update(entry for entry in CONSOLE_ALLOWLIST for text in console if entry in text)
            unexpected = [text for text in console if not any(allowed in text for allowed in CONSOLE_ALLOWLIST)]
            if unexpected:
                problems.append(f"{name}: console errors: {unexpected}")
            page.close()
        browser.close()

    if blocked:
        problems.append(f"pages requested the network: {sorted(blocked)}")
    for (rule, text), where in sorted(violations.items()):
        problems.append(f"axe-core, serious or critical: {rule} ({text}): {len(where)} nodes, e.g. {where[:4]}")
    assert not problems, "\n".join(problems)
    assert allowed_seen == CONSOLE_ALLOWLIST, f"stale allowlist entries: {CONSOLE_ALLOWLIST - allowed_seen}"
    assert typeset_pages >= len(chapter_pages()), "fewer pages with typeset math than chapters"
    assert (SCREENSHOTS / "01_sigmoid_derivation.png").stat().st_size > 10_000


AXE_RUN = """async () => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]},
                                            resultTypes: ["violations"], preload: false});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                        targets: v.nodes.map(n => n.target.join(" "))}));
}"""

# The page is wider than the viewport, and which elements (outside scrolling boxes) stick out.
WIDER_THAN_VIEWPORT = """() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return null;
    const scrolls = e => { for (let p = e.parentElement; p; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX; if (o === "auto" || o === "scroll" || o === "hidden") return true; }
        return false; };
    const culprits = Array.from(document.querySelectorAll("body *"))
        .filter(e => e.getBoundingClientRect().right > width + 1 && !scrolls(e))
        .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\\s+/).join(".") : ""));
    return [document.documentElement.scrollWidth + " px", ...new Set(culprits)].slice(0, 8);
}"""
