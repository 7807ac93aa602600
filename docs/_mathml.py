"""Render the ``math`` role and directive as MathML when the site is built.

The pages then carry their formulas as MathML Core, which browsers draw natively: no script,
no font or stylesheet to fetch, so formulas render offline, behind a proxy and with scripts
disabled, and screen readers read them. The conversion is done by ``latex2mathml`` (pure
Python). TeX that it cannot convert is a build warning (an error under ``-W``), never a page
that shows raw TeX.

Enabled in ``conf.py`` by listing ``"_mathml"`` in ``extensions``; it registers the HTML math
renderer ``"mathml"`` (``html_math_renderer``).
"""

import html
import re

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

# What latex2mathml emits, as text, for TeX it does not know: an unknown command kept as a
# backslash word, an alignment "&", or a line break that MathML Core does not draw.
_UNCONVERTED = re.compile(r">[^<]*(\\|&amp;)[^<]*<|linebreak=")

# A big operator given limits with "_" (and "^"): TeX sets the limits under and over it in a
# display formula, latex2mathml as a sub/superscript; MathML's munder/munderover do it right.
_LIMIT_OPERATORS = "&#x02211;|&#x0220F;|min|max|sup|inf|lim|argmin|argmax"
_SCRIPTED_OPERATOR = re.compile(rf"<(msub|msubsup)><mo>({_LIMIT_OPERATORS})</mo>")

# TeX's "|", "\|" and "\lVert ... \rVert" keep their size unless "\left"/"\right" say
# otherwise; MathML's operator dictionary would stretch them to the height of the content.
_BARE_BARS = re.compile(r"<mo>(&#x0007C;|&#x02016;|\|)</mo>")
# MathML Core draws only mathvariant="normal"; "\mathbf" letters and digits become the
# Unicode mathematical bold characters.
_BOLD = re.compile(r'<(mi|mn) mathvariant="bold">([A-Za-z0-9]+)</\1>')


def _bold(text):
    out = []
    for char in text:
        if char.isdigit():
            out.append(chr(0x1D7CE + int(char)))
        elif char.isupper():
            out.append(chr(0x1D400 + ord(char) - ord("A")))
        else:
            out.append(chr(0x1D41A + ord(char) - ord("a")))
    return "".join(out)


def to_mathml(latex, *, display, node):
    """Return the MathML of ``latex``; warn (with the source location) if it is not clean."""
    try:
        mathml = convert(latex, display="block" if display else "inline")
    except Exception as exc:  # latex2mathml raises its own exception classes and others
        logger.warning("cannot convert TeX %r to MathML: %s", latex, exc, location=node)
        return f"<code>{html.escape(latex)}</code>"
    if _UNCONVERTED.search(mathml):
        logger.warning(
            "TeX %r is not fully supported by the MathML renderer (docs/_mathml.py): an "
            "unknown command, an alignment or a line break",
            latex,
            location=node,
        )
    mathml = _BARE_BARS.sub(r'<mo stretchy="false">\1</mo>', mathml)
    mathml = _BOLD.sub(lambda m: f"<{m[1]}>{_bold(m[2])}</{m[1]}>", mathml)
    if display:
        mathml = _limits_under_and_over(mathml)
    return mathml


def _limits_under_and_over(mathml):
    """Set the limits of a big operator under and over it, as TeX does in a display."""

    out = []
    pos = 0
    for match in _SCRIPTED_OPERATOR.finditer(mathml):
        if match.start() < pos:  # inside the limits of the previous operator: left as is
            continue
        out.append(mathml[pos : match.start()])
        tag = match.group(1)
        new_tag = "munder" if tag == "msub" else "munderover"
        out.append(f"<{new_tag}><mo>{match.group(2)}</mo>")
        # the matching closing tag: the next one at the same depth
        depth, i = 1, match.end()
        while depth:
            opening = mathml.find(f"<{tag}>", i)
            closing = mathml.find(f"</{tag}>", i)
            if opening != -1 and opening < closing:
                depth, i = depth + 1, opening + len(tag) + 2
            else:
                depth, i = depth - 1, closing + len(tag) + 3
        out.append(mathml[match.end() : i - len(tag) - 3])
        out.append(f"</{new_tag}>")
        pos = i
    out.append(mathml[pos:])
    return "".join(out)


def html_visit_math(self, node):
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(to_mathml(node.astext(), display=False, node=node))
    self.body.append("</span>")
    raise nodes.SkipNode


def html_visit_displaymath(self, node):
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    # Sphinx's convention: blank-line separated parts are separate equations.
    for part in node.astext().split("\n\n"):
        if part.strip():
            self.body.append(to_mathml(part, display=True, node=node))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer(
        "mathml",
        inline_renderers=(html_visit_math, None),
        block_renderers=(html_visit_displaymath, None),
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
