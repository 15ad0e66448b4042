"""The book as a reader gets it: the build, its links and images, and real pages in a browser.

One module, so that pytest-xdist (``--dist loadscope``) runs it in one worker and the book is
built once, into ``_build/site-check`` (not ``_build/html``, which ``make book`` owns).

* The build runs exactly as ``make book`` does: warnings and broken references are errors.
* Every internal link, anchor, image, script and stylesheet of every built page must resolve
  (parsed from the HTML: seconds, where a crawler took minutes).
* Headless Chromium (Debian's ``chromium``, driven by Playwright) opens every page. MathJax is
  loaded from a CDN by the pages; the test serves the npm registry's ``mathjax@3`` package instead,
  so it needs no network. Every page with math must be typeset without errors, every image
  must load, and the console must show no error beyond the allowlist below. A screenshot of the
  sigmoid chapter's derivation is kept in ``_build/screenshots/`` for a person to look at.

Without a browser or npm the browser test is skipped with a loud reason, except under CI
(``CI=true``), where it fails instead: CI must check what readers see.
"""

import functools
import html.parser
import http.server
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
MATHJAX_VERSION = "3.2.2"
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/"
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
        capture_output=True,
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


def test_no_broken_internal_link_anchor_or_image(site):
    """Every link, image, script and stylesheet inside the site resolves, anchors included.

    External addresses (launch buttons, the repository, DOIs) are not fetched: the build
    machine has no network, and their availability is not the book's to promise.
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
            if not path.is_file():
                broken.append(f"{where}: <{tag}> {target}: no such file")
            elif parts.fragment and path.suffix == ".html":
                ids = pages[path].ids if path in pages else _parse(path).ids
                if urllib.parse.unquote(parts.fragment) not in ids:
                    broken.append(f"{where}: <{tag}> {target}: no such anchor")
    assert checked > 1000, f"only {checked} internal links checked: is the site complete?"
    assert not broken, "\n".join(broken[:50])


@pytest.fixture(scope="module")
def mathjax():
    """The npm registry's mathjax@3 package, installed once into .venv/npm."""
    es5 = NPM_PREFIX / "node_modules" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").is_file():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is not installed, so MathJax cannot be served locally")
        subprocess.run(
            [npm, "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund", "--silent",
             f"mathjax@{MATHJAX_VERSION}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return es5


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


def test_every_page_renders_in_a_real_browser(site, server, mathjax):
    if not CHROMIUM.is_file():
        unavailable(f"no browser at {CHROMIUM} (Debian package 'chromium'; .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    # Every page a reader can open; _static/ holds the theme's HTML fragments, not pages.
    pages = sorted(
        path.relative_to(site).as_posix() for path in site.rglob("*.html") if not path.relative_to(site).parts[0].startswith("_")
    )
    assert len(pages) > len(chapter_pages())
    problems, blocked, allowed_seen, typeset_pages = [], set(), set(), 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def route(route_request):
        url = route_request.request.url
        if url.startswith(MATHJAX_CDN):
            local = mathjax.parent / url[len(MATHJAX_CDN):].split("?")[0]
            return route_request.fulfill(path=str(local))
        if url.startswith(server):
            return route_request.continue_()
        blocked.add(url)  # anything else would need the network
        return route_request.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", route)
        for name in pages:
            page = context.new_page()
            console = []
            page.on("console", lambda message, log=console: log.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error, log=console: log.append(str(error)))
            page.goto(f"{server}/{name}", wait_until="load")
            has_math = page.locator(".math").count() > 0
            if has_math:
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
            allowed_seen.update(entry for entry in CONSOLE_ALLOWLIST for text in console if entry in text)
            unexpected = [text for text in console if not any(allowed in text for allowed in CONSOLE_ALLOWLIST)]
            if unexpected:
                problems.append(f"{name}: console errors: {unexpected}")
            if name == "chapters/01_sigmoid.html":
                derivation = page.locator(".text_latex").first
                derivation.scroll_into_view_if_needed()
                derivation.screenshot(path=str(SCREENSHOTS / "01_sigmoid_derivation.png"))
                page.screenshot(path=str(SCREENSHOTS / "01_sigmoid.png"), full_page=True)
            page.close()
        browser.close()

    assert not blocked, f"pages requested the network: {sorted(blocked)}"
    assert not problems, "\n".join(problems)
    assert allowed_seen == CONSOLE_ALLOWLIST, f"stale allowlist entries: {CONSOLE_ALLOWLIST - allowed_seen}"
    assert typeset_pages >= len(chapter_pages()), "fewer pages with typeset math than chapters"
    assert (SCREENSHOTS / "01_sigmoid_derivation.png").stat().st_size > 10_000
