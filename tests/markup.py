"""Parsed HTML for assertions about structure (an element present, a badge's state, a form
field's value, a link's target), with CSS selectors (BeautifulSoup + soupsieve). Plain text
assertions stay where the visible text itself is what is tested."""
from __future__ import annotations

from bs4 import BeautifulSoup, Tag


def parse(page) -> BeautifulSoup:
    """A response of the test client, or HTML text."""
    html = page if isinstance(page, str) else page.get_data(as_text=True)
    return BeautifulSoup(html, "html.parser")


def _soup(page) -> Tag:
    return page if isinstance(page, Tag) else parse(page)


def one(page, selector: str) -> Tag:
    """The one element matching `selector`; fails if there is none or more than one."""
    found = _soup(page).select(selector)
    assert len(found) == 1, f"{len(found)} elements match {selector!r}"
    return found[0]


def every(page, selector: str) -> list[Tag]:
    return _soup(page).select(selector)


def has(page, selector: str) -> bool:
    return _soup(page).select_one(selector) is not None


def text_of(element: Tag) -> str:
    """The visible text, with runs of white space made one space."""
    return " ".join(element.get_text(" ").split())


def field_value(page, name: str, within: str = "") -> str | None:
    """The value a form would send for the field `name` (the first such field `within` a
    selector): an input's value, a textarea's text, a select's selected option."""
    element = _soup(page).select_one(f'{within} [name="{name}"]'.strip())
    if element is None:
        return None
    if element.name == "textarea":
        return element.get_text()
    if element.name == "select":
        option = element.select_one("option[selected]") or element.select_one("option")
        return None if option is None else option.get("value", option.get_text())
    return element.get("value")


def link_targets(page, within: str = "") -> list[str]:
    return [a["href"] for a in _soup(page).select(f"{within} a[href]".strip())]


def definitions(page) -> dict[str, str]:
    """term -> description of every <dt>/<dd> pair on the page."""
    return {text_of(term): text_of(term.find_next_sibling("dd")) for term in _soup(page).select("dt")
            if term.find_next_sibling("dd") is not None}
