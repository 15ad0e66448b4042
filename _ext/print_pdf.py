"""Print the single-page build of the book to one PDF with Chromium (``make pdf``).

Usage: ``python _ext/print_pdf.py SINGLEHTML_DIR OUTPUT.pdf``

Chromium renders exactly what a reader's browser renders: MathJax's numbered equations, the
figures, the Chinese quotations in the CJK font (Debian's ``fonts-noto-cjk``) and the
bibliography. The page is served from localhost and every other request is refused, so the
PDF is made offline. Folded solutions and notes are opened first: on paper nothing unfolds.
Chromium embeds (subsets of) every font it uses. The PDF is tagged (for screen readers), which
also gives it an outline: bookmarks for every chapter and section.
"""

import functools
import http.server
import sys
import threading
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"

HEADER = '<div style="font-size:8px;width:100%;text-align:center;color:#555"><span class="title"></span></div>'
FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#555">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)

# Marks the first element whose own text is Chinese, so that the fonts Chromium draws it with
# can be asked for (DevTools' CSS.getPlatformFontsForNode).
MARK_CHINESE = """() => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (/[\\u4e00-\\u9fff]{4}/.test(node.textContent)) {
            node.parentElement.setAttribute("data-chinese-probe", "");
            return node.textContent.trim().slice(0, 20);
        }
    }
    return null;
}"""

UNFOLD = """() => {
    document.querySelectorAll("details").forEach(d => d.open = true);
    document.querySelectorAll(".toggle-hidden").forEach(e => e.classList.remove("toggle-hidden"));
    document.querySelectorAll(".dropdown.admonition .admonition-title ~ *").forEach(e => e.style.display = "");
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def fonts_of_chinese_text(page):
    """The font families Chromium draws the book's first Chinese text with."""
    if page.evaluate(MARK_CHINESE) is None:
        raise SystemExit("the book holds no Chinese text to print")
    devtools = page.context.new_cdp_session(page)
    devtools.send("DOM.enable")
    devtools.send("CSS.enable")
    root = devtools.send("DOM.getDocument")["root"]["nodeId"]
    node = devtools.send("DOM.querySelector", {"nodeId": root, "selector": "[data-chinese-probe]"})["nodeId"]
    fonts = devtools.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return sorted({font["familyName"] for font in fonts})


def print_pdf(site, output):
    """Print ``site``/index.html to ``output``; returns the font families of the Chinese text."""
    from playwright.sync_api import sync_playwright

    site, output = Path(site), Path(output)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    server = f"http://127.0.0.1:{httpd.server_address[1]}"
    refused = []

    def offline(route):
        if route.request.url.startswith(server):
            return route.continue_()
        refused.append(route.request.url)
        return route.abort()

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"],
            )
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            page.route("**/*", offline)
            page.goto(f"{server}/index.html", wait_until="load")
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            chinese_fonts = fonts_of_chinese_text(page)
            page.evaluate(UNFOLD)
            page.emulate_media(media="print")
            output.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(
                path=str(output), format="A4", print_background=True, outline=True, tagged=True,
                display_header_footer=True, header_template=HEADER, footer_template=FOOTER,
                margin={"top": "18mm", "bottom": "18mm", "left": "16mm", "right": "16mm"},
            )
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    if refused:
        raise SystemExit(f"the book asked for the network while printing: {refused[:5]}")
    if not any("CJK" in family for family in chinese_fonts):
        raise SystemExit(f"the Chinese text is drawn with {chinese_fonts}, not a CJK font (Debian's fonts-noto-cjk)")
    return chinese_fonts


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    fonts = print_pdf(*sys.argv[1:])
    print(f"Chinese text printed with {', '.join(fonts)}")
