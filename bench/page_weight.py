"""Page weight: bytes on the wire and requests per step of the agent's story, in Chromium.

gunicorn serves the app (gzip by Flask-Compress, versioned static files cached for a year);
Chromium walks the story with an empty cache, then again with the cache warm. Bytes are CDP
`Network.loadingFinished.encodedDataLength` (compressed body + response headers, as on the
wire); "body" leaves the headers out. Budgets (DESIGN §5): first visit ≤ 30 KB in all, every
later page ≤ 8 KB, an htmx fragment ≤ 3 KB, no request to another host.

    python -m bench.page_weight [--scale 1m] [--backend sqlite]
"""
from __future__ import annotations

import argparse
import time

from playwright.sync_api import sync_playwright

from .common import RESULTS, ensure_database, gunicorn, log, warm_up, pick, save_json
from .story import Network, Story, launch

FIRST_VISIT_BUDGET = 30 * 1024
PAGE_BUDGET = 8 * 1024
FRAGMENT_BUDGET = 3 * 1024


def _row(step) -> dict:
    network = step.network
    return {"step": step.name, "kind": step.kind, "requests": len(network),
            "wire_bytes": step.wire_bytes, "body_bytes": step.body_bytes,
            "max_fragment_wire": max((r.wire_bytes for r in network if r.htmx), default=0),
            "detail": [{"url": r.url.split("?")[0][-60:], "status": r.status, "type": r.type,
                        "encoding": r.encoding, "wire": r.wire_bytes,
                        "body": max(0, r.wire_bytes - r.header_bytes), "htmx": r.htmx}
                       for r in network]}


def run(base: str, picked: dict) -> dict:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context()
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        network = Network(cdp, base)
        story = Story(page, base, network, settle=True)
        story.agent(picked["agent"], " (empty cache)")
        story.supervisor(picked["supervisor"])
        cold = [_row(step) for step in story.results]
        story.results.clear()
        story.agent(picked["agent"], " (warm cache)")
        story.supervisor(picked["supervisor"])
        warm = [_row(step) for step in story.results]
        browser.close()
    return {"cold": cold, "warm": warm, "foreign_requests": network.foreign}


def verdicts(result: dict) -> dict:
    cold, warm = result["cold"], result["warm"]
    first = cold[0]
    later_pages = [row for row in cold[1:] + warm if row["kind"] == "page"]
    fragments = [row for row in cold + warm if row["kind"] in ("fragment", "checks")]
    worst_page = max(later_pages, key=lambda r: r["wire_bytes"])
    worst_fragment = max((r["max_fragment_wire"] for r in fragments), default=0)
    return {
        "first_visit_wire": first["wire_bytes"], "first_visit_ok":
            first["wire_bytes"] <= FIRST_VISIT_BUDGET,
        "worst_later_page": worst_page["step"], "worst_later_page_wire": worst_page["wire_bytes"],
        "later_pages_ok": worst_page["wire_bytes"] <= PAGE_BUDGET,
        "worst_fragment_wire": worst_fragment, "fragments_ok": worst_fragment <= FRAGMENT_BUDGET,
        "foreign_requests": len(result["foreign_requests"]),
        "story_cold_wire": sum(r["wire_bytes"] for r in cold),
        "story_warm_wire": sum(r["wire_bytes"] for r in warm),
        "story_cold_requests": sum(r["requests"] for r in cold),
        "story_warm_requests": sum(r["requests"] for r in warm),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1m")
    parser.add_argument("--backend", default="sqlite")
    args = parser.parse_args(argv)
    url = ensure_database(args.backend, args.scale)
    picked = pick(url)
    with gunicorn(url, workers=2) as base:
        warm_up(base, picked)
        result = run(base, picked)
    result["verdicts"] = verdicts(result)
    result["database"] = f"{args.backend}-{args.scale}"
    result["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    save_json(RESULTS / "page_weight.json", result)
    for phase in ("cold", "warm"):
        for row in result[phase]:
            log(f"{phase:4} {row['step']:40} {row['requests']:2} req {row['wire_bytes']:7,} B wire "
                f"{row['body_bytes']:7,} B body")
    log(f"verdicts: {result['verdicts']}")
    return result


if __name__ == "__main__":
    main()
