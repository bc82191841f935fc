"""The HTML report in a real headless browser: Debian's Chromium, driven through ChromeDriver.

The test starts the browser itself. Where Chromium, ChromeDriver or Selenium is missing it is
skipped with the reason, except in CI (CI set), where .ci/run installs the browser and a
missing one fails the run. Screenshots go to build/screenshots/ for review.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from report_helpers import DEMO, REPO, run_cli

CHROMIUM = os.environ.get("IGRT_EDITS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("IGRT_EDITS_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = REPO / "build" / "screenshots"
# As root Chromium needs --no-sandbox; the rest keep it off a network it cannot reach.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1600",
)


def missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} not found (apt-get install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e .[test])"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the browser test must run in CI: {reason}")
        pytest.skip(f"no headless browser: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="igrt-edits-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "report.html"
    assert run_cli([str(REPO / DEMO), "-o", str(path)]).exit_code == 1
    return path


def table_rows(driver) -> list[dict[str, str]]:
    from selenium.webdriver.common.by import By

    headers = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#findings-table th")]
    return [
        dict(zip(headers, (td.text for td in tr.find_elements(By.TAG_NAME, "td")), strict=True))
        for tr in driver.find_elements(By.CSS_SELECTOR, "#findings-table tbody tr")
    ]


def test_report_in_a_real_browser(browser, demo_report):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    import igrt_edits

    expected = igrt_edits.check(str(REPO / DEMO)).findings
    browser.get(demo_report.as_uri())
    WebDriverWait(browser, 10).until(
        lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true"
    )
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []

    rows = table_rows(browser)  # the demo's 24 findings fit one page
    assert len(rows) == len(expected)
    shown = sorted((r["Claim"], int(r["Line"]), r["Rule"]) for r in rows)
    columns = (expected["claim_id"], expected["line_number"], expected["rule_id"])
    assert shown == sorted(zip(*columns, strict=True))
    assert (
        browser.find_element(By.ID, "page-info").text
        == f"Findings 1\N{EN DASH}{len(expected)} of {len(expected)}"
    )

    rule = "IGRT005"
    Select(browser.find_element(By.ID, "rule-filter")).select_by_value(rule)
    filtered = table_rows(browser)
    assert len(filtered) == int((expected["rule_id"] == rule).sum()) < len(rows)
    assert {r["Rule"] for r in filtered} == {rule}

    browser.find_element(By.CSS_SELECTOR, '#findings-table th[data-key="line_number"]').click()
    lines = [int(r["Line"]) for r in table_rows(browser)]
    assert lines == sorted(lines)

    Select(browser.find_element(By.ID, "rule-filter")).select_by_value("")
    assert len(table_rows(browser)) == len(expected)
    assert [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")] == []

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    top, whole = SCREENSHOTS / "html-report.png", SCREENSHOTS / "html-report-full.png"
    assert browser.save_screenshot(str(top))  # figures, charts, worst days, the table's start
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(int(height), 8000))
    assert browser.save_screenshot(str(whole))
    assert top.stat().st_size > 10_000 and whole.stat().st_size > top.stat().st_size
