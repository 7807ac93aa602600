"""Fail if a built page would fetch anything from the network when it is viewed.

``python docs/_check_offline.py docs/_build/html`` reads every ``.html`` page and every ``.css``
file of the built site and lists each script, stylesheet, font, image or frame loaded from
another host (``http://``, ``https://`` or protocol-relative ``//`` addresses). Links that a
reader follows (``<a href="https://...">``, a paper on arXiv) are fine. Exit status 1 if any
is found, so that ``docs/build.sh`` fails: the site must read the same offline.
"""

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


def main(argv):
    if len(argv) != 2 or not Path(argv[1]).is_dir():
        print(f"usage: python {argv[0]} BUILT_HTML_DIRECTORY", file=sys.stderr)
        return 2
    found = list(remote_loads(argv[1]))
    for path, what, address in found:
        print(f"{path}: <{what}> loads {address} from the network", file=sys.stderr)
    if found:
        print(
            f"{len(found)} load(s) from the network: the site must work offline.", file=sys.stderr
        )
        return 1
    print(f"{argv[1]}: no page loads a script, stylesheet or font from the network")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
