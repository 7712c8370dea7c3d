"""Finding markup a browser would act on, anywhere in a text upload.

Evidence that is text (plain, CSV, JSON) is refused when it holds HTML, SVG or MathML markup at any
position: after a UTF-8 byte-order mark, after an HTML comment or a page of ordinary text, in a
JSON string, in an XML namespace (`<x:script>`). A browser that opens such a file as HTML (a saved
download renamed `.html`, a mail client's preview) would run it; refusing it keeps the vault free
of stored cross-site scripting whatever happens to the file later.

What counts, following the HTML tokenizer (a tag starts with `<` and an ASCII letter; the name runs
to whitespace, `/` or `>`):

- a start or end tag whose local name (after any `prefix:`) is an HTML, SVG or MathML element;
- a tag of any name followed by an event-handler attribute before the next tag (`<x onfocus=…>`,
  `<x/onclick=…>`, `<x title="a>b" onfocus=…>`: quoted values may hold `>`);
- a `<!DOCTYPE …>` declaration and an `<?xml-stylesheet …?>` instruction (XSLT runs script).

A lone comment, `a < b`, `i<n;` and XML of other vocabularies (JUnit, CycloneDX) are not markup.
The scan is linear in the size of the file: each tag is examined up to the next tag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# HTML (living standard and obsolete elements browsers still parse), SVG and MathML element names.
ELEMENTS = frozenset("""
a abbr acronym address applet area article aside audio b base basefont bdi bdo bgsound big blink blockquote
body br button canvas caption center cite code col colgroup data datalist dd del details dfn dialog dir div dl
dt em embed fieldset figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr
html i iframe image img input ins isindex kbd keygen label legend li link listing main map mark marquee menu
menuitem meta meter multicol nav nextid nobr noembed noframes noscript object ol optgroup option output p param
picture plaintext portal pre progress q rb rp rt rtc ruby s samp script search section select slot small
source spacer span strike strong style sub summary sup table tbody td template textarea tfoot th thead time
title tr track tt u ul var video wbr xmp
svg animate animatemotion animatetransform circle clippath defs desc ellipse feimage filter foreignobject g
line lineargradient marker mask path pattern polygon polyline radialgradient rect set stop switch symbol text
textpath tspan use view
math maction annotation annotation-xml menclose merror mfrac mi mn mo mover mpadded mroot mrow ms mspace msqrt
mstyle msub msubsup msup mtable mtd mtext mtr munder munderover semantics
""".split())

_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
_SPECIAL = re.compile(r"<!doctype|<\?xml-stylesheet", re.IGNORECASE)
_HANDLER = re.compile(r"(?<![\w-])on[a-z]+\s*=", re.IGNORECASE)


@dataclass(frozen=True)
class Markup:
    line: int
    what: str  # e.g. "<img …> with an event handler"

    def sentence(self) -> str:
        return (f"Line {self.line} holds HTML/SVG markup ({self.what}). Markup is not accepted as evidence, "
                "because a browser could run it: export the document to PDF, or put it in a ZIP archive.")


def find_markup(text: str) -> Markup | None:
    """The first markup a browser would act on in `text`, or None."""
    special = _SPECIAL.search(text)
    limit = special.start() if special else len(text)
    found = None if special is None else (special.start(), f"{special.group(0)[:14]}…")
    tags = _TAG.finditer(text, 0, limit)
    tag = next(tags, None)
    while tag is not None:
        following = next(tags, None)
        local = tag.group(2).lower().rsplit(":", 1)[-1]
        if local in ELEMENTS:
            found = (tag.start(), f"<{tag.group(1)}{local} …>")
            break
        if not tag.group(1):
            # Searched up to the next tag, not to the first '>': a quoted attribute value may hold a
            # '>' (`<x title="a>b" onfocus=…>`). The spans are disjoint, so the scan stays linear.
            stop = following.start() if following is not None else limit
            if _HANDLER.search(text, tag.end(), stop):
                found = (tag.start(), f"<{local} …> with an event handler")
                break
        tag = following
    if found is None:
        return None
    return Markup(line=text.count("\n", 0, found[0]) + 1, what=found[1])
