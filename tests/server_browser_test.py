#!/usr/bin/python3
"""The page of imgvec serve in real headless Chromium (selenium + chromedriver): upload a photo
through the file input and see it first with score 1.00, "more like this", a text search (given
the tiny CLIP bundle), a non-image and its error message, the duplicates view with its keeper, a
phone-sized window without sideways scrolling, and labels and alt texts for screen readers.
Screenshots go to SCRATCH_DIR/screenshots.

    server_browser_test.py IMGVEC_BINARY IMAGES_DIR SCRATCH_DIR [TINY_BUNDLE]
"""
import shutil
import subprocess
import sys
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).parent))
from server_support import Server, test_image_counts  # noqa: E402

BIN, images, scratch = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
bundle = sys.argv[4] if len(sys.argv) > 4 else None
shutil.rmtree(scratch, ignore_errors=True)
shots = scratch / "screenshots"
shots.mkdir(parents=True)
photos = scratch / "photos"
shutil.copytree(images, photos)
shutil.copy(photos / "giphy.gif", photos / "copy of giphy.gif")  # an exact duplicate
db = scratch / "db"
model = ["--model", bundle] if bundle else []
r = subprocess.run([BIN, "index", str(photos), "--db", str(db), *model], capture_output=True, text=True)
assert r.returncode == 3, r.stderr
server = Server(BIN, "--db", db)
browser = None


def check(condition, what):
    if not condition:
        if browser:
            browser.save_screenshot(str(shots / "failure.png"))
            browser.quit()
        server.kill()
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what}")


options = webdriver.ChromeOptions()
# evil.test and rebind.test stand for other sites whose names resolve to this machine: a hostile
# page's site, and a name rebound to 127.0.0.1 after its page loaded (DNS rebinding).
for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
            "--host-resolver-rules=MAP evil.test 127.0.0.1, MAP rebind.test 127.0.0.1"):
    options.add_argument(arg)
options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
browser = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(browser, 30)
by_id = lambda i: browser.find_element(By.ID, i)  # noqa: E731

browser.get(server.base + "/")
wait.until(lambda b: "images" in by_id("footer").text)
GOOD, _ = test_image_counts(BIN)
check(f"{GOOD + 1} images" in by_id("footer").text and "index" in by_id("footer").text,
      f"the footer shows count, encoder and index: {by_id('footer').text}")
if bundle:
    check(by_id("text").is_enabled(), "text search is on for a CLIP database")
else:
    check(not by_id("text").is_enabled() and "text model" in by_id("text-reason").text,
          "text search is disabled, with the reason shown")

# Upload a photo through the file input: itself first, score 1.00.
query = photos / "ukbench01380.jpg"
by_id("file").send_keys(str(query))
wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#results li")) > 0)
first = browser.find_element(By.CSS_SELECTOR, "#results li")
check(first.find_element(By.CSS_SELECTOR, ".name").text == "ukbench01380.jpg" and
      first.find_element(By.CSS_SELECTOR, ".score").text == "1.00",
      f"an uploaded photo finds itself first with score 1.00 ({first.text!r})")
wait.until(lambda b: b.execute_script(
    "return [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)"))
check(True, "every result's thumbnail loaded")
facts = first.find_element(By.CSS_SELECTOR, ".facts")
check(facts.text.startswith("2005-08-14") and "Canon PowerShot S230" in facts.text and
      len(facts.find_elements(By.CSS_SELECTOR, ".swatch")) >= 1,
      f"a result shows when and with what camera it was taken, and its colours ({facts.text!r})")
browser.save_screenshot(str(shots / "search-by-photo.png"))

# "More like this" on the second result.
second = browser.find_elements(By.CSS_SELECTOR, "#results li")[1]
second_id, second_name = second.get_attribute("data-id"), second.find_element(By.CSS_SELECTOR, ".name").text
second.find_element(By.CSS_SELECTOR, "button.thumb").click()
wait.until(lambda b: second_name in by_id("status").text)
first = browser.find_element(By.CSS_SELECTOR, "#results li")
check(first.get_attribute("data-id") == second_id and first.find_element(By.CSS_SELECTOR, ".score").text == "1.00",
      f"more like this: {second_name} first")

# Minimum score and paging controls exist and work.
by_id("options").click()
browser.execute_script("const s = document.getElementById('min-score'); s.value = '0.999';"
                       "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'));")
wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#results li")) == 1 or "Nothing" in by_id("status").text)
scores = [float(e.text) for e in browser.find_elements(By.CSS_SELECTOR, "#results .score")]
check(scores and all(s >= 0.99 for s in scores), f"the minimum-score slider narrows the results ({scores})")
browser.execute_script("const s = document.getElementById('min-score'); s.value = '-1';"
                       "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'));")
wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#results li")) > 1)
# Order by date: the dated photos come oldest first.
Select(by_id("sort")).select_by_value("oldest")
wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#results li .facts") and
           b.find_element(By.CSS_SELECTOR, "#results li .facts").text.startswith("2005-07-29"))
dates = [e.text[:10] for e in browser.find_elements(By.CSS_SELECTOR, "#results li .facts") if e.text[:2] == "20"]
check(dates[:3] == sorted(dates[:3]) and dates[0] == "2005-07-29", f"the order select sorts by the date taken ({dates})")
Select(by_id("sort")).select_by_value("score")
# The filter box: and/or/not as the help says, and a key no image has is named on the page.
def set_filter(text):
    browser.execute_script("const f = document.getElementById('filter'); f.value = arguments[0];"
                           "f.dispatchEvent(new Event('change'));", text)


set_filter("format=jpeg and not width>100000")
wait.until(lambda b: "Searching" not in by_id("status").text and by_id("warnings").get_attribute("hidden"))
names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#results .name")]
check(names and all(n.endswith((".jpg", ".jpeg")) for n in names), f"the filter box combines conditions ({names})")
set_filter("albun=trip")
wait.until(lambda b: not by_id("warnings").get_attribute("hidden"))
check('"albun"' in by_id("warnings").text and "Nothing matches" in by_id("status").text,
      f"a key no image has is shown as a note: {by_id('warnings').text}")
set_filter("")
wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#results li")) > 1 and by_id("warnings").get_attribute("hidden"))

if bundle:
    box = by_id("text")
    box.clear()
    box.send_keys("a photo of a dog")
    by_id("text-go").click()
    wait.until(lambda b: "a photo of a dog" in by_id("status").text)
    check(len(browser.find_elements(By.CSS_SELECTOR, "#results li")) == GOOD + 1, "a text search shows results")
    browser.save_screenshot(str(shots / "search-by-text.png"))

# A file that is not an image: the error is shown, the page keeps working.
notes = scratch / "notes.txt"
notes.write_text("not a photo")
by_id("file").send_keys(str(notes))
wait.until(EC.visibility_of_element_located((By.ID, "error")))
check("notes.txt" in by_id("error").text and "image" in by_id("error").text,
      f"a non-image shows its error: {by_id('error').text[:80]}")
browser.save_screenshot(str(shots / "not-an-image.png"))

# The duplicates view: the copy groups with the original, one keeper marked.
by_id("tab-dups").click()
browser.find_element(By.CSS_SELECTOR, "#dups-form button").click()
wait.until(lambda b: "near-duplicates" in by_id("dups-status").text or "No duplicates" in by_id("dups-status").text)
groups = browser.find_elements(By.CSS_SELECTOR, "#groups li.group")
names = [[e.text for e in g.find_elements(By.CSS_SELECTOR, ".name")] for g in groups]
check(any({"copy of giphy.gif", "giphy.gif"} <= set(n) for n in names),
      f"the duplicates view shows the copy with its original ({names})")
check(all(len(g.find_elements(By.CSS_SELECTOR, "li[data-keeper]")) == 1 for g in groups) and
      all("Keeper" in g.text for g in groups), "each group marks one keeper")
browser.save_screenshot(str(shots / "duplicates.png"))

# Accessible: every image has alt text, every control a label.
unlabeled = browser.execute_script("""
  return [...document.querySelectorAll('input, button')].filter(el => {
    if (el.type === 'hidden') return false;
    if (el.getAttribute('aria-label') || (el.labels && el.labels.length)) return false;
    return !(el.textContent || '').trim();
  }).map(el => el.id || el.outerHTML.slice(0, 60));""")
check(unlabeled == [], f"every control has a label ({unlabeled})")
check(browser.execute_script("return [...document.querySelectorAll('img:not([hidden])')].every(i => i.alt)"),
      "every image has alt text")

# A phone-sized window: nothing scrolls sideways.
by_id("tab-search").click()
# Chromium's windows are at least 500 px wide; a phone's viewport is emulated instead.
browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
browser.refresh()
wait.until(lambda b: "images" in by_id("footer").text)
by_id("file").send_keys(str(query))
wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#results li")) > 0)
check(browser.execute_script("return window.innerWidth") == 390, "a 390 px wide viewport")
overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
check(overflow <= 0, f"a phone-sized window does not scroll sideways ({overflow} px)")
browser.save_screenshot(str(shots / "phone.png"))

# A hostile page on another site (another port of this machine, under another name) tries to
# read and write through the user's browser; then a rebound name tries the same as "same origin".
browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
count_before = server.json("GET", "/v1/stats")[1]["count"]
some_id = browser.find_element(By.CSS_SELECTOR, "#results li").get_attribute("data-id")
port = server.base.rsplit(":", 1)[1]
attempts = """
const target = arguments[0], id = arguments[1], done = arguments[arguments.length - 1];
const out = {};
const tiny = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
const bytes = Uint8Array.from(atob(tiny), c => c.charCodeAt(0));
const attempt = async (name, f) => { try { out[name] = await f(); } catch (e) { out[name] = 'blocked: ' + e.name; } };
(async () => {
  await attempt('read stats', async () => (await fetch(target + '/v1/stats')).text());
  await attempt('read search', async () => (await fetch(target + '/v1/search', {method: 'POST',
      headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({id: Number(id)})})).text());
  await attempt('form upload', async () => { const f = new FormData();
      f.append('file', new Blob([bytes], {type: 'image/png'}), 'evil.png');
      const r = await fetch(target + '/v1/images', {method: 'POST', mode: 'no-cors', body: f}); return r.type; });
  await attempt('text/plain upload', async () => { const r = await fetch(target + '/v1/images', {method: 'POST',
      mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({image: tiny})}); return r.type; });
  await attempt('delete', async () => (await fetch(target + '/v1/images/' + id, {method: 'DELETE'})).status);
  await attempt('image', () => new Promise(ok => { const i = new Image();
      i.onload = () => ok('loaded ' + i.naturalWidth); i.onerror = () => ok('refused');
      i.src = target + '/v1/images/' + id + '/thumbnail'; }));
  done(out);
})();
"""
import http.server
import threading
evil_dir = scratch / "evil"
evil_dir.mkdir()
(evil_dir / "evil.html").write_text("<!doctype html><title>a page on another site</title><p>hello</p>")
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Quiet(*a, directory=str(evil_dir)))
threading.Thread(target=evil.serve_forever, daemon=True).start()
browser.set_script_timeout(30)
for page, target in ((f"http://evil.test:{evil.server_port}/evil.html", f"http://127.0.0.1:{port}"),
                     (f"http://evil.test:{evil.server_port}/evil.html", f"http://localhost:{port}"),
                     (f"http://localhost:{evil.server_port}/evil.html", f"http://localhost:{port}"),
                     (f"http://rebind.test:{port}/", "")):
    browser.get(page)
    got = browser.execute_async_script(attempts, target, some_id)
    leaked = [k for k in ("read stats", "read search") if '"count"' in str(got[k]) or '"result"' in str(got[k])]
    check(not leaked and got["image"] == "refused" and
          (got["delete"] in (401, 403) or str(got["delete"]).startswith("blocked")),
          f"a page at {page} reads nothing of the server at {target or 'its own (rebound) origin'}: {got}")
    status, stats = server.json("GET", "/v1/stats")
    check(stats["count"] == count_before, f"and adds or deletes nothing ({stats['count']} images)")
evil.shutdown()

browser.quit()
browser = None
code, out, err = server.stop()
check(code == 0, "the server stops cleanly")
print(f"screenshots: {shots}")
