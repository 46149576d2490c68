"""The form a person may type a word in, shared by the components that compare words."""

from __future__ import annotations

import re
import unicodedata

APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'"})
# Letters that Unicode does not decompose into a base letter and a mark.
_UNDECOMPOSABLE = str.maketrans({"ł": "l", "ё": "е"})
_LATIN_WITH_MARK = re.compile(r"([a-z])[\u0300-\u036f]+")


def fold(word: str) -> str:
    """The form a person may type the word in: one apostrophe, no marks on Latin letters, е for ё.

    Only marks on Latin letters go: й and ї are letters of their own in Ukrainian and Russian.
    """
    word = word.translate(APOSTROPHES).translate(_UNDECOMPOSABLE)
    decomposed = _LATIN_WITH_MARK.sub(r"\1", unicodedata.normalize("NFD", word))
    return unicodedata.normalize("NFC", decomposed)
