"""How a sentence lines up with a question, as plain string measures on folded text: the longest run they share, the
question's words on either side of its question word found in the sentence, and values and names the question
asks for that the sentence holds and the question does not."""

from __future__ import annotations

import re
from typing import Literal

Wants = Literal["person", "place", "organisation", "any"]

# Question words (folded: Simplified, lower case). A question made from a sentence keeps the sentence's words on
# either side of the one it asks about.
_WH_RE = re.compile(
    r"为什么|为何|什么|哪[一个些里儿位家座国年天]*|谁|何[时地处人种]?|多少|几|如何|怎么?样?|是否|"
    r"\b(?:what|which|who|whom|whose|when|where|why|how)\b"
)
_REFERENCE_RE = re.compile(r"^[「（(]?(?:它|他|她|牠|其|該|该|此|這|这|彼|前者|後者|后者|\b(?:it|they|he|she|this)\b)")
# What may stand before a word that points back: a conjunction, or a clause of up to six characters and a comma.
_OPENING_RE = re.compile(
    r"^(?:[而但且並并又則则故]|因此|所以|然而|不過|不过|同時|同时|此外|另外|其後|其后|後來|后来|[^，,。；;]{1,6}[，,])"
)
_WHY_RE = re.compile(r"(?<![名称叫作是成])为(?:什么|何)(?![物人时地])|原因|理由|根源|缘故|怎么会|\bwhy\b|\bhow come\b")
_PUNCT_RE = re.compile(r"[\W_]+")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
# 哪, 哪一, 哪个 and 哪一个 before the noun alike (哪一個國家 was read as asking for no name: 66 DRCD and CMRC 2018
# questions with 哪一個國家 or 什麼國家, 11 with 哪一個人).
_WHICH = "哪一?个?"
_ASK_PERSON = re.compile(rf"谁|何人|哪一?位|什么人|{_WHICH}人(?![口数民员工类种们群])|\bwho(?:m|se)?\b")
_ASK_PLACE = re.compile(
    rf"哪里|哪儿|何处|何地|什么地方|{_WHICH}(?:国家?|座|城市|地区|省|州|地方|区域|岛|洲)|什么(?:国家|城市|地区)|"
    r"\bwhere\b|which (?:country|city|place)"
)
_ASK_ORG = re.compile(
    rf"哪[一个]?(?:家|间|所)|{_WHICH}(?:单位|组织|机构|公司|部门|团体|政党|大学|学校|球队)|什么(?:单位|组织|机构)"
)


def plain(folded: str) -> str:
    """The folded text without punctuation or blanks."""
    return _PUNCT_RE.sub("", folded)


def wants(folded_question: str) -> Wants:
    """The kind of name a question asks for, if any."""
    if _ASK_PERSON.search(folded_question):
        return "person"
    if _ASK_PLACE.search(folded_question):
        return "place"
    if _ASK_ORG.search(folded_question):
        return "organisation"
    return "any"


def asks_why(folded_question: str) -> bool:
    """The question asks for a reason."""
    return bool(_WHY_RE.search(folded_question))


# Words that give a reason or a purpose (folded: Simplified, lower case).
_REASON_RE = re.compile(
    r"因为|由于|所以|因此|之所以|毕竟|导致|原因|理由|旨在|为了|以便|致使|使得|以致|因而|缘于|源于|出于|起于|鉴于|基于|"
    r"在于|\bbecause\b|\bdue to\b|\btherefore\b|\bin order to\b|\bas a result\b|\breasons?\b"
)


def gives_reason(folded: str) -> bool:
    """The (folded) text gives a reason or a purpose: 因为, 由于, 所以, 旨在, because ..."""
    return bool(_REASON_RE.search(folded))


# Words that open a sentence with what follows from the one before it (folded).
_CONSEQUENCE_RE = re.compile(
    r"^[「（(]?(?:因此|所以|因而|故而|故此|于是|从而|是以|由此|\b(?:therefore|thus|hence|consequently|as a result)\b)"
)


def opens_with_consequence(folded: str) -> bool:
    """The (folded) sentence opens with what follows from the one before it (因此，畜牧業發達；, Therefore, …): the
    cause it follows from is stated before it."""
    return bool(_CONSEQUENCE_RE.match(folded.lstrip()))


def wh_context(folded_question: str) -> tuple[str, str]:
    """The question's words just before and just after its question word (punctuation dropped); ("", "") when it
    has none."""
    m = _WH_RE.search(folded_question)
    if not m:
        return "", ""
    return plain(folded_question[: m.start()]), plain(folded_question[m.end() :])


def longest_shared(a: str, b: str) -> int:
    """Length of the longest run of characters of a that b holds (a and b: plain folded text)."""
    best = 0
    for i in range(len(a)):
        length = best + 1
        while i + length <= len(a) and a[i : i + length] in b:
            best = length
            length += 1
    return best


def suffix_in(left: str, text: str) -> int:
    """How many of the last characters of left text holds, as one run."""
    n = 0
    while n < len(left) and left[len(left) - n - 1 :] in text:
        n += 1
    return n


def prefix_in(right: str, text: str) -> int:
    """How many of the first characters of right text holds, as one run."""
    n = 0
    while n < len(right) and right[: n + 1] in text:
        n += 1
    return n


def new_before(head: str, flat_sentence: str, folded_question: str) -> bool:
    """The sentence holds the head word with characters the question lacks just before it (哪一種變星 -> 激變星)."""
    if len(head) < 2:
        return False
    at = flat_sentence.find(head)
    while at >= 0:
        before = flat_sentence[max(0, at - 2) : at]
        if before and before[-1] not in folded_question:
            return True
        at = flat_sentence.find(head, at + 1)
    return False


def opens_with_reference(text: str) -> bool:
    """The sentence opens with a word that points back (它, 他們, 該, 此, 這): its subject is in the one before."""
    return bool(_REFERENCE_RE.match(text))


# A preposition that a word pointing back may follow (在此背景下, 為此, 對這些…).
_PREPOSITION_RE = re.compile(
    r"^(?:在|對|对|為|为|於|于|就|據|据|從|从|由|基於|基于|鑑於|鉴于|針對|针对|按照|根據|根据)"
)


def points_back(text: str) -> bool:
    """The sentence points back (opens_with_reference) at its start, after a preposition (在此背景下…, 為此…) or after
    a short opening: a conjunction or an adverbial clause (而這種作法…, 毫無疑問，這條紅線…, 此外，該…)."""
    if opens_with_reference(text):
        return True
    preposition = _PREPOSITION_RE.match(text)
    if preposition is not None and opens_with_reference(text[preposition.end() :]):
        return True
    opening = _OPENING_RE.match(text)
    return opening is not None and opens_with_reference(text[opening.end() :])


def runs_on(text: str) -> bool:
    """The sentence ends in ； or ： (it goes on with the same point in the next one)."""
    return text.endswith(("；", ";", "：", ":"))


def new_numbers(folded_sentence: str, folded_question: str) -> int:
    """Numbers in the sentence that the question does not hold."""
    asked = set(_NUMBER_RE.findall(folded_question))
    return len(set(_NUMBER_RE.findall(folded_sentence)) - asked)
