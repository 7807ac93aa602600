"""Checks of the built site that Sphinx's own warnings do not cover.

``python docs/_check_site.py docs/_build/html`` fails (exit status 1), listing each problem, if

- a page would fetch anything from the network when it is viewed: every ``.html`` page and
  every ``.css`` file is searched for a script, stylesheet, font, image or frame loaded from
  another host (``http://``, ``https://`` or protocol-relative ``//`` addresses). Links that a
  reader follows (``<a href="https://...">``, a paper on arXiv) are fine: the site must read
  the same offline;
- a line of code or output shown on a page of the user guide, the examples, the quick start,
  the installation, contributor and benchmark pages or the landing page is longer than
  :data:`MAX_CODE_WIDTH` characters, what the content column holds in the code font at a
  1,280 px window (the API reference shows docstrings, which follow the package's line
  length, and is not checked).

The column was measured, not assumed: a page rendered by headless Chromium at 1,280 px
(``chromium --headless --window-size=1280,900 --dump-dom page.html`` with a script that
reads a ``<pre>``'s width and the width of a character of its font). With the theme's
defaults a page with both sidebars held 68 characters; ``_static/custom.css`` narrows the
navigation sidebar and sets code in 13 px so that it holds 82 (see the comment there). A
change of theme, or of those rules, needs the measurement again.
"""

import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
# (tag, attribute) pairs whose address the browser loads by itself, without a click.
LOADED = {
    ("script", "src"),
    ("img", "src"),
    ("img", "srcset"),
    ("source", "src"),
    ("source", "srcset"),
    ("iframe", "src"),
    ("embed", "src"),
    ("object", "data"),
    ("video", "src"),
    ("video", "poster"),
    ("audio", "src"),
    ("track", "src"),
}
# <link rel=...> values that make the browser fetch the address.
LOADED_LINK_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "manifest"}
CSS_URL = re.compile(r"""(?:@import\s+|url\()\s*['"]?((?:https?:)?//[^'")\s]+)""", re.I)


class _Finder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if value is None or (tag, name) not in LOADED:
                continue
            addresses = [v.split()[0] for v in value.split(",") if v.strip()]
            self.found += [(tag, a) for a in addresses if REMOTE.match(a)]
        if tag == "link":
            rels = set((attrs.get("rel") or "").lower().split())
            href = attrs.get("href") or ""
            if rels & LOADED_LINK_RELS and REMOTE.match(href):
                self.found.append(("link", href))
        self.in_style = tag == "style"

    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False

    def handle_data(self, data):
        # <style> blocks; an HTML parser reads a <link> inside <style> as text, so it counts.
        if self.in_style:
            self.found += [("style", url) for url in CSS_URL.findall(data)]
            self.found += [
                ("style", url) for url in re.findall(r"""href=["']((?:https?:)?//[^"']+)""", data)
            ]


def remote_loads(root):
    """Yield ``(path, what, address)`` for every remote load under the site ``root``."""
    root = Path(root)
    for path in sorted(root.rglob("*.html")):
        finder = _Finder()
        finder.feed(path.read_text(encoding="utf-8", errors="replace"))
        for what, address in finder.found:
            yield path.relative_to(root), what, address
    for path in sorted(root.rglob("*.css")):
        for address in CSS_URL.findall(path.read_text(encoding="utf-8", errors="replace")):
            yield path.relative_to(root), "css", address


# Characters of code a content column holds at 1,280 px (82 measured; see above).
MAX_CODE_WIDTH = 80
# Pages whose code blocks are checked, relative to the site's root.
CODE_WIDTH_PAGES = (
    "index.html",
    "quickstart.html",
    "install.html",
    "code_layout.html",
    "benchmarks.html",
    "benchmarks/*.html",
    "user_guide/*.html",
    "auto_examples/*.html",
)
_PRE = re.compile(r"<pre[^>]*>(.*?)</pre>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def long_code_lines(root, width=MAX_CODE_WIDTH):
    """Yield ``(path, length, line)`` for every too long line of a code block."""
    root = Path(root)
    for pattern in CODE_WIDTH_PAGES:
        for path in sorted(root.glob(pattern)):
            page = path.read_text(encoding="utf-8", errors="replace")
            for block in _PRE.findall(page):
                for line in html.unescape(_TAG.sub("", block)).splitlines():
                    if len(line.rstrip()) > width:
                        yield path.relative_to(root), len(line.rstrip()), line.rstrip()


def main(argv):
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        print(f"usage: python {argv[0]} BUILT_HTML_DIRECTORY", file=sys.stderr)
        return 2
    status = 0
    found = list(remote_loads(argv[1]))
    for path, what, address in found:
        print(f"{path}: <{what}> loads {address} from the network", file=sys.stderr)
    if found:
        print(
            f"{len(found)} load(s) from the network: the site must work offline.", file=sys.stderr
        )
        status = 1
    else:
        print(f"{argv[1]}: no page loads a script, stylesheet or font from the network")
    long_lines = list(long_code_lines(argv[1]))
    for path, length, line in long_lines:
        print(f"{path}: a code line of {length} characters: {line[:60]}...", file=sys.stderr)
    if long_lines:
        print(
            f"{len(long_lines)} code line(s) longer than {MAX_CODE_WIDTH} characters: wrap "
            "them to fit the page's column.",
            file=sys.stderr,
        )
        status = 1
    else:
        print(f"{argv[1]}: every code line shown fits in {MAX_CODE_WIDTH} characters")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
