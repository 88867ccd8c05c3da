"""The console in a real browser: the system's headless Chromium driven by Selenium (chromium and chromium-driver
from Debian; nothing is downloaded). Each role logs in; a regulator filters the compliance report and downloads
it; support resolves a discrepancy; a provider looks up a message. Every test keeps a screenshot as an artefact
(GATEWAY_ARTEFACTS, default a pytest temporary folder); GATEWAY_CONSOLE_SCREENSHOTS=docs/console writes the
README's screenshots, one per page.

Without a browser these tests skip — unless GATEWAY_REQUIRE_BROWSER=1 (``.ci/run`` sets it), where they fail.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.console_support import LOGINS, MC, PASSWORD, SEVER_1, Site, serve_site

CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM = next((Path(p) for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
REQUIRE = os.environ.get("GATEWAY_REQUIRE_BROWSER") == "1"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """In the browser on SQLite only: the matrix test covers PostgreSQL page by page."""
    return str(request.param)


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ["GATEWAY_ARTEFACTS"]) if os.environ.get("GATEWAY_ARTEFACTS") else \
        tmp_path_factory.mktemp("console-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(downloads: Path) -> Iterator[object]:
    if not CHROMEDRIVER.exists() or CHROMIUM is None:
        message = "the browser tests need Debian's chromium and chromium-driver (/usr/bin/chromedriver)"
        if REQUIRE:
            pytest.fail(f"GATEWAY_REQUIRE_BROWSER=1 but {message}")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", "--lang=ru-RU", "--disable-extensions"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False,
                                              "safebrowsing.enabled": True})
    browser = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    browser.set_page_load_timeout(60)
    yield browser
    browser.quit()


@pytest.fixture
def site(gateway, org_entries, driver) -> Iterator[Site]:  # type: ignore[no-untyped-def]
    with serve_site(gateway, org_entries) as served:
        driver.delete_all_cookies()  # type: ignore[attr-defined]
        yield served


def _shot(driver, artefacts: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    """A full-height screenshot kept as an artefact (and as the README's, when asked)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(max(int(height) + 40, 700), 2400))
    path = artefacts / f"{name}.png"
    driver.save_screenshot(str(path))
    if docs := os.environ.get("GATEWAY_CONSOLE_SCREENSHOTS"):
        (ROOT / docs).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, ROOT / docs / f"{name}.png")
    driver.set_window_size(1400, 1000)
    return path


def _click(driver, element_id: str) -> None:  # type: ignore[no-untyped-def]
    """Click and wait for the next page to replace this one (a form's answer, a link's target)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # The old document is marked by a property on its `document` object; the next page's document does not
    # carry it. (Selenium's staleness_of asks the old element and expects StaleElementReference, but Chromium
    # answers some of those calls mid-navigation with a generic "Node … does not belong to the document".)
    token = uuid.uuid4().hex
    driver.execute_script("document.__gatewayTestPage = arguments[0];", token)
    driver.find_element(By.ID, element_id).click()

    def replaced(d) -> bool:  # type: ignore[no-untyped-def]
        return bool(d.execute_script(
            "return document.__gatewayTestPage !== arguments[0] && document.readyState === 'complete';", token))

    WebDriverWait(driver, 60, ignored_exceptions=(WebDriverException,)).until(replaced)


def _log_in(driver, site: Site, role: str) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(site.url + "/console/login")
    driver.find_element(By.ID, "login").send_keys(LOGINS[role])
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    _click(driver, "submit")


def test_each_role_logs_in_to_its_own_start_page(site: Site, driver, artefacts: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    driver.get(site.url + "/console/login")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Вход"  # Russian by default
    _shot(driver, artefacts, "login")
    driver.find_element(By.ID, "login").send_keys(LOGINS["support"])
    driver.find_element(By.ID, "password").send_keys("wrong password!")
    _click(driver, "submit")
    assert "CON001001" in driver.find_element(By.ID, "problem").text
    starts = {"support": "/console/discrepancies", "regulator": "/console/compliance",
              "provider": f"/console/organisations/{MC}"}
    for role, start in starts.items():
        driver.delete_all_cookies()
        _log_in(driver, site, role)
        assert driver.current_url.endswith(start), (role, driver.current_url)
        assert LOGINS[role] in driver.find_element(By.CLASS_NAME, "who").text
        if role == "provider":
            _shot(driver, artefacts, "organisation")
        _click(driver, "logout")
        assert driver.current_url.endswith("/console/login")


def test_a_regulator_filters_the_compliance_report_and_downloads_it(site: Site, driver, artefacts: Path,  # type: ignore[no-untyped-def]
                                                                    downloads: Path) -> None:
    from openpyxl import load_workbook
    from selenium.webdriver.common.by import By

    _log_in(driver, site, "regulator")
    region = driver.find_element(By.ID, "region")
    region.clear()
    region.send_keys("45")
    _click(driver, "apply-filters")
    assert "region=45" in driver.current_url
    table = driver.find_element(By.ID, "organisations").text
    assert "Северный квартал" in table and "Липовая" not in table  # OKTMO 46 is outside the filter
    assert driver.find_elements(By.CSS_SELECTOR, ".charts svg")
    _shot(driver, artefacts, "compliance")
    region = driver.find_element(By.ID, "region")
    region.clear()
    region.send_keys("46")
    _click(driver, "apply-filters")
    assert "CON001005" in driver.find_element(By.ID, "problem").text
    driver.back()
    for stale in downloads.glob("*"):
        stale.unlink()
    driver.get(site.url + "/console/compliance?region=45")
    driver.find_element(By.ID, "download-xlsx").click()
    deadline = time.monotonic() + 60
    while not (files := [p for p in downloads.glob("*.xlsx")]) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert files, list(downloads.iterdir())
    assert zipfile.is_zipfile(files[0])
    book = load_workbook(files[0], read_only=True)
    assert book.sheetnames == ["Report", "Summary", "Violations", "Quality"]
    about = {row[0]: row[1] for row in book["Report"].iter_rows(values_only=True) if len(row) > 1 and row[0]}
    assert "45" in str(about.get("filter regions"))


def test_support_resolves_a_discrepancy(site: Site, driver, artefacts: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    _log_in(driver, site, "support")
    _shot(driver, artefacts, "discrepancies")
    driver.get(site.url + f"/console/discrepancies/{site.mc_discrepancy}")
    assert driver.find_element(By.ID, "status").text == "open"
    _shot(driver, artefacts, "discrepancy")
    driver.find_element(By.ID, "ack-note").send_keys("Проверено по выписке ЕГРН")
    _click(driver, "resolve")
    assert driver.find_element(By.ID, "status").text == "resolved"
    assert "Проверено по выписке ЕГРН" in driver.find_element(By.ID, "events").text
    assert not driver.find_elements(By.ID, "resolve")  # nothing more to do on it
    driver.get(site.url + "/console/runs")
    _shot(driver, artefacts, "runs")
    driver.get(site.url + "/console/audit")
    assert "reconcile.resolved" in driver.find_element(By.ID, "audit").text
    _shot(driver, artefacts, "audit")


def test_a_provider_looks_up_its_message_and_sees_its_house(site: Site, driver, artefacts: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    _log_in(driver, site, "provider")
    driver.get(site.url + "/console/messages")
    _shot(driver, artefacts, "messages")
    driver.find_element(By.ID, "guid").send_keys(site.mc_message)
    _click(driver, "look-up")
    assert site.mc_message in driver.find_element(By.TAG_NAME, "h1").text
    assert "цел" in driver.find_element(By.ID, "archive").text
    assert driver.find_elements(By.CSS_SELECTOR, "#results tr")
    _shot(driver, artefacts, "message")
    driver.get(site.url + f"/console/messages/{site.other_message}")
    assert "CON001006" in driver.find_element(By.ID, "problem").text  # another organisation's: not found
    driver.get(site.url + f"/console/houses/{SEVER_1}")
    assert driver.find_elements(By.CSS_SELECTOR, "#premises tr")
    _shot(driver, artefacts, "house")
    _click(driver, "language")
    assert driver.find_element(By.TAG_NAME, "h2").text == "Premises"  # the English catalogue beside
