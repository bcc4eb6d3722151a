"""Data text shown as text: the one way a name, offence, note, service, owner, username or
error message reaches a place where Streamlit renders Markdown.

Streamlit renders Markdown (and its extensions: links, images, ``:color[...]`` directives,
``:shortcode:`` emoji and icons, ``$...$`` maths) in headings, ``st.markdown``, captions,
alerts, button and widget labels. A value from the data must never be read as any of that:
a name like ``![i](http://evil.example/p.png)`` would make the officer's browser fetch that
address when the record opens. ``md`` escapes every ASCII punctuation character with a
backslash (CommonMark allows that for all of them, and an escaped character is plain text
to every extension), breaks shortcodes with an invisible word joiner after each colon, and
folds line breaks into spaces, so a value cannot start a block (a heading, a list, a table).
Tables (``st.dataframe``) and select-box options show text as text already and take values
as they are.
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = re.compile("([" + re.escape(string.punctuation) + "])")
_WORD_JOINER = "\u2060"


def md(value: object) -> str:
    """``value`` as literal text inside a Markdown string (``None`` is empty)."""
    if value is None:
        return ""
    text = " ".join(str(value).split())
    return _PUNCTUATION.sub(r"\\\1", text).replace(":", ":" + _WORD_JOINER)
