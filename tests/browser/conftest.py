"""Browser tests: headless Chromium (Debian's chromium + chromedriver,
python3-selenium) against a real httpd started by the integration harness.

The integration conftest is loaded from its file under another module name
(two conftest modules cannot share the name "conftest"); its fixtures are
re-exported here, so browser tests get `server`, `make_server`, `eightx8`
and `openai` exactly as integration tests do, plus `browser`.
"""

from __future__ import annotations

import base64
import importlib.util
import pathlib
import shutil
import sys
import tempfile

import pytest

HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location(
    "b8_integration_conftest", HERE.parent / "integration" / "conftest.py")
harness = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = harness
_spec.loader.exec_module(harness)

# Everything the harness defines (Httpd, Client, new_root, the fixtures
# server, make_server, eightx8, openai...) is also this module's: the tests
# of this directory use the fixtures, and when pytest collects both
# directories, `from conftest import Httpd` in any test may find this module.
for _name in dir(harness):
    if not _name.startswith("__"):
        globals()[_name] = getattr(harness, _name)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def pytest_sessionfinish(session, exitstatus):
    harness.pytest_sessionfinish(session, exitstatus)


class Browser:
    """A Selenium driver bound to one server, authenticated as a login."""

    def __init__(self, driver, base_url: str):
        self.driver = driver
        self.base_url = base_url

    def open(self, path: str):
        self.driver.get(self.base_url + path)
        return self.driver

    def console_errors(self) -> list[str]:
        """Severe console messages (JavaScript errors, CSP violations); the
        browser's own favicon request does not count."""
        return [e["message"] for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE" and "/favicon.ico" not in e["message"]]


@pytest.fixture(scope="module")
def browser(server):
    """Headless Chromium logged in as the admin (Basic auth header on every request)."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip("chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="b8chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--window-size=1280,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        token = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                               {"headers": {"Authorization": "Basic " + token}})
        yield Browser(driver, f"http://127.0.0.1:{server.port}")
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
