"""Text typed by people made safe for every output (XLSX, CSV, PDF, SVG), and refused where it is typed.

Nicknames, unit names, campaign titles, prize names, organiser lines and bank text reach spreadsheets,
PDFs and SVG charts. XML 1.0 (an XLSX is XML, so is SVG) forbids C0 control characters other than tab,
newline and carriage return, lone surrogates and U+FFFE/U+FFFF: one of them in a cell makes a workbook
that Excel-compatible readers refuse, and reportlab cannot encode a lone surrogate. `printable` is the one
cleaning every output uses; `forbidden_character` is the one check the console's forms and imports use
to refuse such text with a message naming the character.
"""

from __future__ import annotations

import re

# C0 controls but tab/LF/CR, DEL and the C1 controls (XML 1.0 allows these but they are invisible
# garbage in a cell or on a poster), lone surrogates, and the two noncharacters XML 1.0 forbids.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("[\t\n\r]+")


def printable(text: str, one_line: bool = False) -> str:
    """text without the characters XML 1.0 forbids (and DEL/C1 controls); one_line: tabs and breaks as a space."""
    text = _FORBIDDEN.sub("", text)
    return _LINE_BREAKS.sub(" ", text) if one_line else text


def forbidden_character(text: str, one_line: bool = True) -> str | None:
    """The first character of text no output may carry, as 'U+0007'; with one_line, tabs and breaks too.

    None when text is clean. For the console's single-line fields (names, titles, labels).
    """
    match = _FORBIDDEN.search(text) or (_LINE_BREAKS.search(text) if one_line else None)
    return f"U+{ord(match.group()[0]):04X}" if match else None
