#!/usr/bin/python3
"""The page of imgvec serve in real headless Chromium (selenium + chromedriver), walked as a user
does: the library (newest first, by month, undated last; pickers), the viewer (record, next and
previous, a TIFF's rendition), editing tags and metadata, deleting, search by a photo, a colour and
a text (given the tiny CLIP bundle) with the query shown, "more like this", the duplicates view's
"remove the others" and "not duplicates", each step checked through the API; labels for every
control, keyboard use, a phone-sized window, and hostile pages of other sites. Screenshots go to
SCRATCH_DIR/screenshots (library.png is README's docs/images/imgvec-serve.jpg).

    server_browser_test.py IMGVEC_BINARY IMAGES_DIR SCRATCH_DIR [TINY_BUNDLE]
"""
import shutil
import subprocess
import sys
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
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
shutil.copy(photos / "baboon.256.pgm", photos / "baboon copy.pgm")  # another, to be called "not duplicates"
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
COUNT = GOOD + 2  # and the two copies
check(f"{COUNT} images" in by_id("footer").text and "index" in by_id("footer").text,
      f"the footer shows count, encoder and index: {by_id('footer').text}")


def api(method, path, body=None):
    return server.json(method, path, body)


def items(css="#library li"):
    return browser.find_elements(By.CSS_SELECTOR, css)


# 1. The page opens on the library: newest first by date taken, grouped by month, undated last.
wait.until(lambda b: len(items()) == COUNT)
months = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#library .month h3")]
check(months == ["January 2006", "August 2005", "July 2005", "No date"],
      f"the library opens newest first, by month, undated last: {months}")
check(f"{COUNT} photos" in by_id("library-count").text, f"with a count: {by_id('library-count').text}")
listed = api("GET", "/v1/images?limit=100")[1]
check([int(e.get_attribute("data-id")) for e in items()] == [h["id"] for h in listed["result"]],
      "the page shows the library in the order GET /v1/images gives")
check(by_id("key-row").get_attribute("hidden") is not None, "the page has its token: no key is asked for")
browser.save_screenshot(str(shots / "library.png"))

# The pickers build the filter: a camera, then a date range.
facets = api("GET", "/v1/facets")[1]
canons = next(c["count"] for c in facets["cameras"] if c["name"] == "Canon PowerShot S230")
Select(by_id("camera")).select_by_value("Canon PowerShot S230")
wait.until(lambda b: len(items()) == canons)
check(f"{canons} photos match" in by_id("library-count").text and
      all("Canon PowerShot S230" in e.text for e in items()),
      f"the camera picker filters: {by_id('library-count').text}")
by_id("clear-filters").click()
wait.until(lambda b: len(items()) == COUNT)
browser.execute_script("const f = document.getElementById('from'); f.value = '2006-01-01';"
                       "f.dispatchEvent(new Event('change'));")
wait.until(lambda b: len(items()) < COUNT)
dated = api("GET", "/v1/images?filter=taken%3E%3D2006-01-01")[1]["total"]
check(len(items()) == dated and dated >= 1, f"the date picker filters as taken>=2006-01-01 does ({dated})")
by_id("clear-filters").click()
wait.until(lambda b: len(items()) == COUNT)

# 2. The viewer: the photo at full size and its whole record; next and previous; a TIFF is shown
# through a JPEG rendition.
canon = next(i for i, h in enumerate(listed["result"]) if h["record"]["source"].endswith("ukbench01380.jpg"))
items()[canon].find_element(By.CSS_SELECTOR, "button.thumb").click()
wait.until(lambda b: by_id("viewer").get_attribute("open") is not None)
wait.until(lambda b: b.execute_script("const i = document.getElementById('viewer-image');"
                                      "return i.complete && i.naturalWidth > 0"))
facts = by_id("viewer-facts").text
check(by_id("viewer-title").text == "ukbench01380.jpg" and "2005-08-14 01:08:49" in facts and
      "Canon PowerShot S230" in facts and "640 × 480" in facts and "Colours" in facts,
      f"the viewer shows the photo and its record: {facts!r}")
check(by_id("viewer-download").get_attribute("href").endswith("/file"), "the original can be downloaded")
first_title = by_id("viewer-title").text
by_id("viewer-next").click()
wait.until(lambda b: by_id("viewer-title").text != first_title)
by_id("viewer-prev").click()
wait.until(lambda b: by_id("viewer-title").text == first_title)
check(True, "next and previous step through the library")
by_id("viewer-close").click()
tiff = next(i for i, h in enumerate(listed["result"]) if h["record"]["format"] == "tiff")
items()[tiff].find_element(By.CSS_SELECTOR, "button.thumb").click()
wait.until(lambda b: b.execute_script("const i = document.getElementById('viewer-image');"
                                      "return i.complete && i.naturalWidth > 0 && i.src.endsWith('/view')"))
check("No date" in by_id("viewer-facts").text, "a TIFF is shown (as a JPEG rendition), and an undated photo says so")

# 3. Edit tags and metadata; the API sees them.
shown_id = int(items()[tiff].get_attribute("data-id"))
by_id("viewer-tags").clear()
by_id("viewer-tags").send_keys("best, trip")
browser.execute_script("document.getElementById('viewer-meta').value = '{\"album\": \"summer\"}';")
by_id("viewer-save").click()
wait.until(lambda b: "Saved" in by_id("viewer-status").text)
record = api("GET", f"/v1/images/{shown_id}")[1]
check(record["tags"] == ["best", "trip"] and record["metadata"] == {"album": "summer"},
      f"edited tags and metadata are stored: {record['tags']} {record['metadata']}")

# 4. Delete, with a confirmation; the API no longer has it.
by_id("viewer-delete").click()
wait.until(EC.alert_is_present())
alert = browser.switch_to.alert
check("Remove" in alert.text, f"deleting asks first: {alert.text!r}")
alert.accept()
wait.until(lambda b: "deleted" in by_id("viewer-status").text)
check(api("GET", f"/v1/images/{shown_id}")[0] == 404 and api("GET", "/v1/stats")[1]["count"] == COUNT - 1,
      "the deleted photo is gone from the database")
check(not browser.find_elements(By.CSS_SELECTOR, f'#library li[data-id="{shown_id}"]'), "and from the library")
by_id("viewer-close").click()

# 5. Search by a photo: itself first, score to 3 decimals, and the query shown.
by_id("tab-search").click()
query = photos / "ukbench01380.jpg"
by_id("file").send_keys(str(query))
wait.until(lambda b: len(items("#results li")) > 0)
first = items("#results li")[0]
check(first.find_element(By.CSS_SELECTOR, ".name").text == "ukbench01380.jpg" and
      first.find_element(By.CSS_SELECTOR, ".score").text == "1.000",
      f"an uploaded photo finds itself first with score 1.000 ({first.text!r})")
check("ukbench01380.jpg" in by_id("query-text").text and by_id("query-preview").is_displayed(),
      "the photo searched by is shown")
wait.until(lambda b: b.execute_script(
    "return [...document.querySelectorAll('#results img')].every(i => i.complete && i.naturalWidth > 0)"))
facts = first.find_element(By.CSS_SELECTOR, ".facts")
check(facts.text.startswith("2005-08-14") and "Canon PowerShot S230" in facts.text and
      len(facts.find_elements(By.CSS_SELECTOR, ".swatch")) >= 1,
      f"a result shows when and with what camera it was taken, and its colours ({facts.text!r})")
browser.save_screenshot(str(shots / "search-by-photo.png"))

# "More like this" from the viewer of the second result; the query shown follows.
second = items("#results li")[1]
second_id, second_name = second.get_attribute("data-id"), second.find_element(By.CSS_SELECTOR, ".name").text
second.find_element(By.CSS_SELECTOR, "button.thumb").click()
wait.until(lambda b: by_id("viewer").get_attribute("open") is not None)
by_id("viewer-like").click()
wait.until(lambda b: f"#{second_id}" in by_id("query-text").text)
wait.until(lambda b: items("#results li") and items("#results li")[0].get_attribute("data-id") == second_id)
check(items("#results li")[0].find_element(By.CSS_SELECTOR, ".score").text == "1.000",
      f"more like this: {second_name} first, and the query says so")

# A TIFF query: the browser cannot show it, so the page says what was searched in words.
by_id("file").send_keys(str(photos / "copyleft.tiff"))
wait.until(lambda b: "cannot show it" in by_id("query-text").text)
check(not by_id("query-preview").is_displayed(), "a photo the browser cannot show has no broken preview")

# A colour search shows its colour.
browser.execute_script("document.getElementById('colour-query').value = '#ffffff';")
by_id("colour-go").click()
wait.until(lambda b: "#ffffff" in by_id("query-text").text and items("#results li"))
check(by_id("query-swatch").is_displayed(), "a colour search shows the colour searched")

# Minimum score and order.
by_id("file").send_keys(str(query))
wait.until(lambda b: "ukbench01380" in by_id("query-text").text and len(items("#results li")) > 1)
by_id("options").click()
browser.execute_script("const s = document.getElementById('min-score'); s.value = '0.999';"
                       "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'));")
wait.until(lambda b: len(items("#results li")) == 1 or "Nothing" in by_id("status").text)
scores = [float(e.text) for e in browser.find_elements(By.CSS_SELECTOR, "#results .score")]
check(scores and all(s >= 0.99 for s in scores), f"the minimum-score slider narrows the results ({scores})")
browser.execute_script("const s = document.getElementById('min-score'); s.value = '-1';"
                       "s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'));")
wait.until(lambda b: len(items("#results li")) > 1)
Select(by_id("sort")).select_by_value("oldest")
wait.until(lambda b: items("#results li .facts") and
           b.find_element(By.CSS_SELECTOR, "#results li .facts").text.startswith("2005-07-29"))
dates = [e.text[:10] for e in browser.find_elements(By.CSS_SELECTOR, "#results li .facts")]
dated = [d for d in dates if d[:2] == "20"]
check(dated == sorted(dated) and all(d.startswith("no date") for d in dates[len(dated):]),
      f"the order select sorts by the date taken, undated last ({dates})")
Select(by_id("sort")).select_by_value("score")


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
wait.until(lambda b: len(items("#results li")) > 1 and by_id("warnings").get_attribute("hidden"))

if bundle:
    box = by_id("text")
    box.clear()
    box.send_keys("a photo of a dog")
    by_id("text-go").click()
    wait.until(lambda b: "a photo of a dog" in by_id("query-text").text and items("#results li"))
    check(len(items("#results li")) >= 1, "a text search shows results, and the text searched")
    browser.save_screenshot(str(shots / "search-by-text.png"))

# A file that is not an image: the error is shown, the page keeps working.
notes = scratch / "notes.txt"
notes.write_text("not a photo")
by_id("file").send_keys(str(notes))
wait.until(EC.visibility_of_element_located((By.ID, "error")))
check("notes.txt" in by_id("error").text and "image" in by_id("error").text,
      f"a non-image shows its error: {by_id('error').text[:80]}")

# 6. Duplicates: each member's size, date and why it matched; the keeper chosen; "remove the
# others" removes them (the API agrees); "not duplicates" is remembered.
by_id("tab-dups").click()
# Exact copies only: the tiny random-weight CLIP bundle finds every pair of photos alike.
browser.execute_script("document.getElementById('dups-threshold').value = '0.999';")
by_id("dups-go").click()
try:
    wait.until(lambda b: "near-duplicates" in by_id("dups-status").text or "No duplicates" in by_id("dups-status").text)
except Exception:  # noqa: BLE001 (said below, with what the page shows)
    check(False, f"the duplicates view answers: {by_id('dups-status').text!r}")
groups = browser.find_elements(By.CSS_SELECTOR, "#groups li.group")
names = [[e.text for e in g.find_elements(By.CSS_SELECTOR, ".name")] for g in groups]
gif = next(g for g, n in zip(groups, names) if {"copy of giphy.gif", "giphy.gif"} <= set(n))
check(all(len(g.find_elements(By.CSS_SELECTOR, "li[data-keeper]")) == 1 for g in groups) and
      all(len(g.find_elements(By.CSS_SELECTOR, "input[type=radio]:checked")) == 1 for g in groups),
      "each group has one keeper, chosen")
details = [e.text for e in gif.find_elements(By.CSS_SELECTOR, "ul.grid li:not([data-keeper]) .details")]
check(all("×" in d and ("kB" in d or "MB" in d) and (" · 20" in d or "no date" in d) for d in details) and
      any("identical bytes" in d for d in details),
      f"each member shows its resolution, size, date and why it matched: {details!r}")
check(by_id("key-row").get_attribute("hidden") is not None, "no key is asked for after searches and changes")
browser.save_screenshot(str(shots / "duplicates.png"))
ids = [int(e.get_attribute("data-id")) for e in gif.find_elements(By.CSS_SELECTOR, "li[data-id]")]
kept = int(gif.find_element(By.CSS_SELECTOR, "li[data-keeper]").get_attribute("data-id"))
next(b for b in gif.find_elements(By.TAG_NAME, "button") if b.text == "Remove the others").click()
wait.until(EC.alert_is_present())
browser.switch_to.alert.accept()
wait.until(lambda b: "Kept" in gif.text)
check(api("GET", f"/v1/images/{kept}")[0] == 200 and
      all(api("GET", f"/v1/images/{i}")[0] == 404 for i in ids if i != kept),
      f"remove the others: the keeper stays, the others are gone ({ids}, kept {kept})")
baboons = next(g for g, n in zip(groups, names) if "baboon copy.pgm" in n)
pair = [int(e.get_attribute("data-id")) for e in baboons.find_elements(By.CSS_SELECTOR, "li[data-id]")]
next(b for b in baboons.find_elements(By.TAG_NAME, "button") if b.text == "Not duplicates").click()
wait.until(lambda b: "not be proposed again" in baboons.text)
again = api("POST", "/v1/duplicates", {"threshold": 0.999})[1]["groups"]
check(not any(set(pair) <= {m["id"] for m in g["images"]} for g in again),
      f"not duplicates is remembered: the pair {pair} is not proposed again")

# Accessible: every control has a label, every image alt text; the viewer works by keyboard.
unlabeled = browser.execute_script("""
  return [...document.querySelectorAll('input, button, select, textarea')].filter(el => {
    if (el.type === 'hidden') return false;
    if (el.getAttribute('aria-label') || (el.labels && el.labels.length)) return false;
    return !(el.textContent || '').trim();
  }).map(el => el.id || el.outerHTML.slice(0, 60));""")
check(unlabeled == [], f"every control has a label ({unlabeled})")
check(browser.execute_script("return [...document.querySelectorAll('img:not([hidden])')].every(i => i.alt || !i.src)"),
      "every image has alt text")
by_id("tab-library").click()
wait.until(lambda b: items())
items()[0].find_element(By.CSS_SELECTOR, "button.thumb").send_keys("\n")
wait.until(lambda b: by_id("viewer").get_attribute("open") is not None)
title = by_id("viewer-title").text
browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
wait.until(lambda b: by_id("viewer-title").text != title)
browser.switch_to.active_element.send_keys(Keys.ESCAPE)
wait.until(lambda b: by_id("viewer").get_attribute("open") is None)
check(True, "the viewer opens with Enter, steps with the arrow keys and closes with Escape")

# A phone-sized window: nothing scrolls sideways, in the library and in search.
browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
browser.refresh()
wait.until(lambda b: items())
check(browser.execute_script("return window.innerWidth") == 390, "a 390 px wide viewport")
overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
check(overflow <= 0, f"the library on a phone does not scroll sideways ({overflow} px)")
browser.save_screenshot(str(shots / "phone.png"))
by_id("tab-search").click()
by_id("file").send_keys(str(query))
wait.until(lambda b: len(items("#results li")) > 0)
overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
check(overflow <= 0, f"search on a phone does not scroll sideways ({overflow} px)")

# A hostile page on another site (another port of this machine, under another name) tries to
# read and write through the user's browser; then a rebound name tries the same as "same origin".
browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
count_before = server.json("GET", "/v1/stats")[1]["count"]
some_id = items("#results li")[0].get_attribute("data-id")
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
