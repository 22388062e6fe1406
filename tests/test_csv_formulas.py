"""Issue 11, finding 5: no cell of an exported CSV starts a formula, whatever separator the
spreadsheet reads it with. Indonesian spreadsheets split on `;`, so `x;=1+1;+cmd|…` in one
text cell became three cells there, two of them formulas. The proof opens the real exports in
a real spreadsheet program (LibreOffice, headless) with `,` and with `;`, with formula
evaluation switched on, and finds no formula."""
from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conftest import csrf_token
from helpers import paid_receipt, relogin
from perisai.domain.clock import local_today
from perisai.queries import reports
from test_deposits import declare, decision_token, deposits_of
from test_reports import today_range

HOSTILE = [
    "x;=1+1;+cmd|' /C calc'!A0",
    "=HYPERLINK(\"http://evil.example\")",
    "a,=2+3",
    "b\t@SUM(1+1)",
    "c; -4+4",
    "+62 812",
    "-",
    "\tindented",
    "d|=5*5",
    "e\n=6*6",
]
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("separator", [",", ";", "\t", "|", "\n"])
def test_no_piece_of_a_cell_starts_a_formula(value, separator):
    written = reports.safe_cell(value)
    for piece in written.split(separator):
        assert piece.lstrip(" ")[:1] not in ("=", "+", "-", "@"), (value, piece)
    assert written.replace("'", "") == value.replace("'", "")  # only apostrophes were added


def test_numbers_and_ordinary_text_are_left_alone():
    for value in (36800, -5000, None, "Rina Marlina", "2026-01 s.d. 2026-03", "BRI 123456",
                  "2026-12-03 10:00:00"):
        assert reports.safe_cell(value) == value


# --- the exports, opened in LibreOffice --------------------------------------------------------

def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-calc-nogui; "
                    ".ci/run installs it)")
    return found


def open_in_spreadsheet(files: list[Path], separator: str, workdir: Path) -> dict[str, Path]:
    """Each CSV converted by LibreOffice to flat ODS, read with `separator`, quotes honoured and
    formula evaluation on (the worst setting a reader may have): name -> .fods file."""
    code = {",": 44, ";": 59}[separator]
    # Field separator, text delimiter ("), UTF-8, from line 1, no column types, English (US),
    # quoted field as text off, detect special numbers on, …, evaluate formulas on.
    options = f"CSV:{code},34,76,1,,1033,false,true,false,false,false,-1,true"
    out = workdir / f"out-{code}"
    profile = (workdir / "lo-profile").as_uri()
    subprocess.run([soffice(), f"-env:UserInstallation={profile}", "--headless", "--norestore",
                    f"--infilter={options}", "--convert-to", "fods", "--outdir", str(out),
                    *map(str, files)], check=True, capture_output=True, timeout=300)
    converted = {path.stem: out / f"{path.stem}.fods" for path in files}
    for path in converted.values():
        assert path.exists(), f"LibreOffice did not write {path}"
    return converted


def cells(fods: Path) -> list[tuple[str | None, str]]:
    """(formula or None, shown text) of every cell of the sheet."""
    tree = ElementTree.parse(fods)
    found = []
    for cell in tree.iter(f"{{{TABLE}}}table-cell"):
        shown = " ".join("".join(p.itertext()) for p in cell.iter(f"{{{TEXT}}}p"))
        found.append((cell.get(f"{{{TABLE}}}formula"), shown))
    return found


def hostile_exports(app, client, auth, tmp_path) -> list[Path]:
    """Both CSV reports of a branch whose data carries formula-like text: a deposit's bank
    reference (typed by an agent) and an agent's name (typed by an admin)."""
    auth.login("agent1")
    _, amount = paid_receipt(client)
    assert declare(client, amount=str(amount), reference=HOSTILE[0]).status_code == 303
    relogin(client, auth, "admin")
    response = client.post("/admin/users", data={
        "username": "agent9", "full_name": "x;=2+2;@SUM(3+3)", "role": "agent",
        "branch": "BDG01", "password": "rahasia-123", "csrf_token": csrf_token(client, "/admin")})
    assert response.status_code == 303
    relogin(client, auth, "supervisor1")
    [deposit] = deposits_of(app, "agent1")
    assert client.post(f"/deposits/{deposit.id}/verify",
                       data={"csrf_token": decision_token(client)}).status_code == 303
    files = []
    month = local_today("Asia/Jakarta").strftime("%Y-%m")
    for name, path in (("collections", f"/reports/collections.csv?{today_range()}"),
                       ("agents", f"/reports/agents.csv?month={month}")):
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_data(as_text=True)
        response.close()
        target = tmp_path / f"{name}.csv"
        target.write_text(body, encoding="utf-8")
        files.append(target)
    return files


@pytest.mark.slow
def test_the_exports_hold_no_formula_in_a_spreadsheet_with_either_separator(app, client, auth,
                                                                           tmp_path):
    soffice()
    files = hostile_exports(app, client, auth, tmp_path)
    # The hostile text really is in the exports (or this test proves nothing).
    collections = list(csv.reader(io.StringIO(files[0].read_text())))
    assert any("=1+1" in cell for row in collections for cell in row)
    agents = list(csv.reader(io.StringIO(files[1].read_text())))
    assert any("=2+2" in cell for row in agents for cell in row)
    for separator in (",", ";"):
        for name, fods in open_in_spreadsheet(files, separator, tmp_path).items():
            sheet = cells(fods)
            assert sheet, f"{name}: no cells read"
            formulas = [(formula, text) for formula, text in sheet if formula]
            assert formulas == [], f"{name} read with {separator!r}: formulas {formulas}"
            shown = " ".join(text for _, text in sheet)
            assert re.search(r"=1\+1|=2\+2", shown), f"{name} with {separator!r}: text lost"
