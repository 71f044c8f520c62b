"""The SMS composer in a real browser: the live counter (the server's GSM-7 /
UCS-2 rules), the refusal over 10 parts that disables Send, and a send
through the form."""

from conftest import page_replaced
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def wait_text(driver, element_id, expected, timeout=5):
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.ID, element_id).text == expected,
        message=f"#{element_id} never showed {expected!r}")


def replace_text(driver, element, value):
    """Sets a long text at once (typing 1,500 keys takes seconds), as a paste does."""
    driver.execute_script("arguments[0].value = arguments[1];"
                          "arguments[0].dispatchEvent(new Event('input'));", element, value)


def test_sms_counter_refusal_and_send(server, browser):
    d = browser.open("/blu8x8/sms")
    text = d.find_element(By.ID, "sms-text")
    send = d.find_element(By.ID, "sms-send")
    refusal = d.find_element(By.ID, "sms-too-long")

    text.send_keys("x" * 161)
    wait_text(d, "sms-count", "161 characters · GSM-7 · 2 SMS parts")
    text.send_keys("☕")   # not in GSM-7: the whole text goes as UCS-2
    # The counter names what forces UCS-2.
    wait_text(d, "sms-count", "162 characters · UCS-2 · 3 SMS parts · ☕ (emoji) forces UCS-2")
    assert send.is_enabled() and not refusal.is_displayed()

    replace_text(d, text, "x" * 1531)   # 11 parts of 153 GSM-7 characters
    wait_text(d, "sms-count", "1531 characters · GSM-7 · 11 SMS parts")
    assert not send.is_enabled() and refusal.is_displayed()
    replace_text(d, text, "Kape tayo, {name}!")
    wait_text(d, "sms-count", "18 characters · GSM-7 · 1 SMS part")
    assert send.is_enabled() and not refusal.is_displayed()

    d.find_element(By.NAME, "phones").send_keys("0917 555 2001")
    old = d.find_element(By.TAG_NAME, "html")
    send.click()
    WebDriverWait(d, 5).until(page_replaced(old))
    assert d.find_element(By.ID, "confirm-recipients").text == "1"
    old = d.find_element(By.TAG_NAME, "html")
    d.find_element(By.ID, "sms-confirm").click()
    WebDriverWait(d, 5).until(page_replaced(old))
    assert "1 SMS queued from" in d.find_element(By.ID, "sms-report").text
    assert browser.console_errors() == []
