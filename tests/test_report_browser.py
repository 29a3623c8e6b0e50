"""The HTML report in a real headless Chromium, opened from disk: it works and fetches nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from testaudit.report.html import write_html

# One set of sample records for all report tests. pytest imports test modules by their bare name
# while tests/ has no __init__.py, and as tests.<name> once it has one.
try:
    from test_report_html import sample_summary
except ImportError:
    from tests.test_report_html import sample_summary

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Keep the browser from talking to anything on its own: no update checks, sync or field trials.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--window-size=1200,1400",
)


def find_chromium() -> str | None:
    return next((p for p in map(shutil.which, CHROMIUM_NAMES) if p), None)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium binary on PATH (apt-get install chromium chromium-driver)")
    chromedriver = shutil.which("chromedriver")
    if chromedriver is None:
        pytest.fail("Chromium is installed, chromedriver is not: apt-get install chromium-driver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail("selenium is not installed: pip install -e '.[test]'")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # Giving chromedriver's path skips Selenium Manager, which would otherwise go online.
    browser = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    browser.set_page_load_timeout(20)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_html(sample_summary(), tmp_path_factory.mktemp("report")).as_uri()


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def requested_urls(driver) -> list[str]:
    """Every URL the page asked for since the last call, from Chromium's network events."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def visible_task_ids(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#task-table tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[0].dataset.value);"
    )


def open_page(driver, url: str) -> None:
    driver.get_log("browser")  # start each test's console log afresh
    driver.get(url)


def test_index_loads_without_console_errors(driver, index_url: str) -> None:
    open_page(driver, index_url)
    assert console_errors(driver) == []
    assert driver.title.startswith("demo-bench")
    # The script ran: it numbered the rows for stable sorting and filled in the count.
    first_row = "return document.querySelector('#task-table tbody tr').dataset.order"
    assert driver.execute_script(first_row) == "0"
    assert driver.find_element("id", "shown").text == "4 of 4 tasks shown"


def test_sorting_by_score_reorders_rows(driver, index_url: str) -> None:
    open_page(driver, index_url)
    before = visible_task_ids(driver)
    header = driver.find_element("css selector", "#task-table th:nth-last-child(2) button")
    assert header.text.startswith("score")
    header.click()
    descending = visible_task_ids(driver)
    assert descending == ["Demo/1", "Demo/0", "Demo/10", "Demo/2"]
    assert descending != before
    header.click()
    assert visible_task_ids(driver) == list(reversed(descending))
    header = driver.find_element("css selector", "#task-table th:first-child button")
    header.click()
    assert visible_task_ids(driver) == ["Demo/0", "Demo/1", "Demo/2", "Demo/10"]  # natural order
    assert console_errors(driver) == []


def test_filter_hides_rows(driver, index_url: str) -> None:
    from selenium.webdriver.support.ui import Select

    open_page(driver, index_url)
    driver.find_element("id", "filter").send_keys("demo/1")
    assert visible_task_ids(driver) == ["Demo/1", "Demo/10"]
    assert driver.find_element("id", "shown").text == "2 of 4 tasks shown"
    driver.find_element("id", "filter").clear()
    driver.execute_script("document.getElementById('filter').dispatchEvent(new Event('input'))")
    select = Select(driver.find_element("id", "status-filter"))
    select.select_by_value("survivors")
    assert visible_task_ids(driver) == ["Demo/0", "Demo/10"]
    select.select_by_value("broken")
    assert visible_task_ids(driver) == ["Demo/2"]
    assert console_errors(driver) == []


def test_task_page_opens_and_shows_its_survivors(driver, index_url: str) -> None:
    open_page(driver, index_url)
    # Click one: the survived count links straight to the task page's survivors.
    driver.find_element("css selector", "a[href='Demo_0.html#survivors']").click()
    assert driver.current_url.endswith("Demo_0.html#survivors")
    survivors = driver.find_elements("css selector", "#survivors article.survivor")
    assert len(survivors) == 3
    assert all(s.find_element("css selector", "pre.diff").is_displayed() for s in survivors)
    assert "if balance <= 0:" in survivors[1].text
    assert "below_zero([0, -1])" in survivors[0].text
    # Clicking a marked line shows its mutants; clicking again hides them.
    line = driver.find_element("id", "L6")
    panel = driver.find_element("id", "LM6")
    assert not panel.is_displayed()
    driver.execute_script("arguments[0].scrollIntoView()", line)
    line.click()
    assert panel.is_displayed() and "swap_compare" in panel.text
    # A killed mutant is collapsed until its link from the line list is followed.
    driver.find_element("id", "L5").click()
    killed = driver.find_element("css selector", "#LM5 a")
    target = driver.find_element("id", killed.get_attribute("href").split("#")[1])
    assert target.get_attribute("open") is None
    killed.click()
    assert target.get_attribute("open") == "true"
    line.click()
    assert not panel.is_displayed()
    assert console_errors(driver) == []
    # The pager leads on and back to the index.
    driver.find_element("css selector", "header a[rel=next]").click()
    assert driver.current_url.endswith("Demo_1.html")
    assert "None: the tests detect every mutant." in driver.page_source


def test_no_request_goes_beyond_the_report_folder(driver, index_url: str) -> None:
    requested_urls(driver)
    folder = index_url.rsplit("/", 1)[0] + "/"
    for page in ("index.html", "Demo_0.html", "Demo_2.html"):
        driver.get(folder + page)
    urls = requested_urls(driver)
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert any(u.endswith(".css") for u in urls) and any(u.endswith(".js") for u in urls)
    outside = [u for u in urls + resources if not u.startswith(folder) and u != "data:,"]
    assert outside == []
    assert console_errors(driver) == []

