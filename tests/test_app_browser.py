"""The web app in a real browser: ``flowsep app`` with a tiny random model, driven in headless Chromium.

Needs selenium and Gradio (the ``test`` extra) and Debian's ``chromium`` and ``chromium-driver`` packages;
skipped without them. ``.ci/run`` installs them.
"""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import soundfile as sf

from flowsep.testing import make_tiny_pipeline

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or not Path(CHROMEDRIVER).is_file(),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install -e '.[test]')")
pytest.importorskip("gradio", reason="needs Gradio (pip install -e '.[app]')")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DEMO_MIXTURE = Path(__file__).resolve().parents[1] / "flowsep" / "assets" / "demo_mixture.flac"
TIMEOUT = 60  # seconds for any one thing the page does (start-up, upload, a separation) on a busy machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """``flowsep app`` serving a saved tiny model on a free loopback port, in a subprocess."""
    root = tmp_path_factory.mktemp("app")
    make_tiny_pipeline(seed=0).save_pretrained(root / "model")
    port, log = free_port(), (root / "app.log").open("w")
    command = [
        sys.executable,
        "-m",
        "flowsep.cli",
        "app",
        "--model",
        str(root / "model"),
        "--port",
        str(port),
    ]
    server = subprocess.Popen(command + ["--device", "cpu"], stdout=log, stderr=subprocess.STDOUT)
    url, deadline = f"http://127.0.0.1:{port}/", time.monotonic() + TIMEOUT
    while True:
        assert server.poll() is None, (root / "app.log").read_text()
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            assert time.monotonic() < deadline, "the app did not answer: " + (root / "app.log").read_text()
            time.sleep(0.5)
    yield url
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium whose downloads go to a temporary folder (``browser.downloads``)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1700",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    driver.downloads = tmp_path_factory.mktemp("downloads")
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(driver.downloads)}
    )
    yield driver
    driver.quit()


def separate(browser, url: str, mixture: Path, query: str):
    """Open the page, upload ``mixture``, type ``query`` and press Separate."""
    browser.get(url)
    wait = WebDriverWait(browser, TIMEOUT)
    wait.until(lambda page: page.find_element(By.CSS_SELECTOR, "#mixture input[type=file]")).send_keys(
        str(mixture)
    )
    wait.until(lambda page: not page.find_elements(By.CSS_SELECTOR, "#mixture input[type=file]"))  # uploaded
    browser.find_element(By.CSS_SELECTOR, "#query textarea, #query input").send_keys(query)
    browser.find_element(By.ID, "separate").click()


def wait_for_result(browser) -> str:
    """The summary line, once a separation has finished."""
    summary = lambda page: page.find_element(By.ID, "summary").text  # noqa: E731
    return WebDriverWait(browser, TIMEOUT).until(
        lambda page: "separated in" in summary(page) and summary(page)
    )


def test_separate_download_and_recover_from_a_bad_file(app_url, browser, tmp_path):
    start = time.monotonic()
    separate(browser, app_url, DEMO_MIXTURE, "bells ringing")
    assert "demo_mixture.flac (16000 Hz, 1 channel, 6.00 s)" in wait_for_result(browser)
    assert browser.find_element(By.CSS_SELECTOR, "#target a[download]").is_displayed()  # the target's player
    browser.find_element(By.CSS_SELECTOR, "#downloads a[download='demo_mixture_target.wav']").click()
    target = browser.downloads / "demo_mixture_target.wav"
    WebDriverWait(browser, TIMEOUT).until(lambda _: target.is_file() and sf.info(target).frames > 0)
    info = sf.info(DEMO_MIXTURE)
    assert (sf.info(target).frames, sf.info(target).samplerate) == (info.frames, info.samplerate)
    browser.save_screenshot(tmp_path / "separated.png")

    # a text file named .wav: the library's one-line message in the page, no traceback, and the app still serves
    fake = tmp_path / "notes.wav"
    fake.write_text("these are notes, not audio\n")
    separate(browser, app_url, fake, "bells ringing")
    message = "cannot read audio file notes.wav"
    WebDriverWait(browser, TIMEOUT).until(lambda page: message in page.find_element(By.TAG_NAME, "body").text)
    assert "Traceback" not in browser.page_source
    browser.save_screenshot(tmp_path / "error.png")
    separate(browser, app_url, DEMO_MIXTURE, "a man speaking")
    assert "extract 'a man speaking'" in wait_for_result(browser)
    print(f"browser test: {time.monotonic() - start:.1f} s after start-up; screenshots in {tmp_path}")
