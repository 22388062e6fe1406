"""A throttled phone: the agent's story with the CPU slowed 6× and a 400 kbit/s, 400 ms network.

Chromium through Playwright, throttled with CDP `Emulation.setCPUThrottlingRate` (6) and
`Network.emulateNetworkConditions` (400 kbit/s down and up, 400 ms latency), against the
1,000,000-worker database served by gunicorn. For each step: the seconds from the click to the
next screen usable (new page loaded with its CSS and scripts, or the htmx swap in place).
The first pass starts with an empty cache; the next passes are the agent's normal day (cache
warm). Targets: every step ≤ 2 s; the collection (enter code → slip shown) ≤ 3 s.

    python -m bench.phone [--scale 1m] [--passes 3]
"""
from __future__ import annotations

import argparse
import time

from playwright.sync_api import sync_playwright

from .common import RESULTS, ensure_database, gunicorn, log, warm_up, median, pick, save_json
from .story import Network, Story, launch

KBIT = 1000 / 8  # bytes per second in one kbit/s
CONDITIONS = {"offline": False, "latency": 400, "downloadThroughput": 400 * KBIT,
              "uploadThroughput": 400 * KBIT}
CPU_SLOWDOWN = 6
STEP_TARGET = 2.0
COLLECTION_TARGET = 3.0
COLLECTION_STEPS = ("enter code → bill to confirm (htmx)", "record cash → slip (htmx)")


def run(base: str, picked: dict, passes: int) -> list[dict]:
    out = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                      has_touch=True)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        network = Network(cdp, base)
        cdp.send("Network.emulateNetworkConditions", CONDITIONS)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        page.set_default_timeout(60_000)
        for number in range(passes):
            story = Story(page, base, network, settle=False)
            story.agent(picked["agent"])
            story.supervisor(picked["supervisor"])
            out.append({"pass": number + 1, "cache": "empty" if number == 0 else "warm",
                        "steps": [{"step": s.name, "kind": s.kind, "seconds": round(s.seconds, 3),
                                   "requests": len(s.network), "wire_bytes": s.wire_bytes}
                                  for s in story.results]})
        browser.close()
    return out


def summary(passes: list[dict]) -> dict:
    names = [s["step"] for s in passes[0]["steps"]]
    warm = [p for p in passes if p["cache"] == "warm"] or passes
    rows = []
    for index, name in enumerate(names):
        cold = passes[0]["steps"][index]["seconds"]
        warm_values = [p["steps"][index]["seconds"] for p in warm]
        kind = passes[0]["steps"][index]["kind"]
        rows.append({"step": name, "kind": kind, "empty_cache_s": cold,
                     "warm_median_s": round(median(warm_values), 3),
                     "warm_max_s": round(max(warm_values), 3)})
    timed = [r for r in rows if r["kind"] != "checks"]  # typing time is the agent's, not a wait
    collection_warm = sum(r["warm_median_s"] for r in rows if r["step"] in COLLECTION_STEPS)
    collection_cold = sum(r["empty_cache_s"] for r in rows if r["step"] in COLLECTION_STEPS)
    worst = max(timed, key=lambda r: r["warm_median_s"])
    worst_cold = max(timed, key=lambda r: r["empty_cache_s"])
    return {"rows": rows, "collection_warm_s": round(collection_warm, 3),
            "collection_cold_s": round(collection_cold, 3),
            "worst_step_warm": worst["step"], "worst_step_warm_s": worst["warm_median_s"],
            "worst_step_cold": worst_cold["step"], "worst_step_cold_s": worst_cold["empty_cache_s"],
            "steps_ok": worst["warm_median_s"] <= STEP_TARGET,
            "steps_ok_cold": worst_cold["empty_cache_s"] <= STEP_TARGET,
            "collection_ok": collection_warm <= COLLECTION_TARGET}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1m")
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args(argv)
    url = ensure_database(args.backend, args.scale)
    picked = pick(url)
    with gunicorn(url, workers=2) as base:
        warm_up(base, picked)
        passes = run(base, picked, args.passes)
    result = {"passes": passes, "summary": summary(passes),
              "database": f"{args.backend}-{args.scale}", "agent": picked["agent"],
              "agent_workers": picked["agent_workers"],
              "conditions": {**CONDITIONS, "cpu_slowdown": CPU_SLOWDOWN},
              "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    save_json(RESULTS / "phone.json", result)
    for row in result["summary"]["rows"]:
        log(f"{row['step']:42} empty {row['empty_cache_s']:6.2f} s   warm {row['warm_median_s']:6.2f} s")
    log({k: v for k, v in result["summary"].items() if k != "rows"})
    return result


if __name__ == "__main__":
    main()
