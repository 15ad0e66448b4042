"""Small repairs of what docutils, MyST-NB and the theme write: for screen readers and print.

* docutils marks the bibliography as ``role="list"`` whose entries have the role
  ``doc-biblioentry``: deprecated in DPUB-ARIA 1.1, and not a ``listitem``, so the list holds
  no items for a screen reader (axe-core rules aria-required-children, critical, and
  aria-deprecated-role). Each entry becomes a ``listitem``, the role doc-biblioentry stood for.
* The single-page build that becomes the PDF (``make pdf``): MyST-NB, sphinx-proof and
  sphinx-exercise teach their nodes only to the ``html`` builder, so ``singlehtml`` gets the
  same handlers. Code folded away (``hide-input``) is left out: on paper there is nothing to
  unfold.
"""

from docutils import nodes


def _repair(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


def _skip(translator, node):
    raise nodes.SkipNode


def _single_page_like_html(app):
    if app.builder.name == "singlehtml":
        handlers = app.registry.translation_handlers
        single = handlers.setdefault("singlehtml", {})
        for node, pair in handlers.get("html", {}).items():
            single.setdefault(node, pair)


def setup(app):
    from myst_nb.sphinx_ import HideCodeCellNode

    app.add_node(HideCodeCellNode, override=True, singlehtml=(_skip, None))
    app.connect("builder-inited", _single_page_like_html)
    app.connect("html-page-context", _repair)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
