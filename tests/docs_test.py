#!/usr/bin/env python3
"""Every command and code example in README.md and docs/ runs, as written (issue 21, item 5).

Each fenced ```sh, ```python, ```cpp and ```cmake block is taken from the Markdown, so a doc cannot
drift from what works. An HTML comment on the line before a block says how it is checked:

    (none)                               run here: sh with bash, python with /usr/bin/python3
    <!-- docs-test: after-build -->      the setup and build steps CI has just done are left out
                                         (they must be exactly README's), the rest is run
    <!-- docs-test: after-build, server --> the same for `imgvec serve`: run until ready, then Ctrl-C
    <!-- docs-test: same as FILE -->     the block is FILE's text after its header comment (FILE is
                                         built and run by ctest)
    <!-- docs-test: run by FILE -->      FILE runs it (a test or .ci/run); FILE must name the doc
    <!-- docs-test: not run: REASON -->  cannot run here (a Qdrant server, 30 minutes); says why

A block with another language, or none (a folder tree), is not a command. Blocks of one document
run in order in one sandbox folder (HOME too, holding Pictures/, query.jpg, new.jpg, vit-b-32.pt,
the tiny test bundle, and for docs/scale-out.md photos.imgvec), with `imgvec` on PATH; the README's run from a copy of the
repository's layout (build/, tests/, examples/) with /tmp/ paths moved into the sandbox.

    docs_test.py REPO BUILD SCRATCH [TINY_BUNDLE]
"""
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

REPO, BUILD, SCRATCH = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
BUNDLE = sys.argv[4] if len(sys.argv) > 4 else None
DOCS = [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
BUILD_PREFIX = "scripts/setup-debian.sh --torch && cmake -S . -B build -G Ninja && cmake --build build && "
failures = 0
ran = 0


def check(condition, what):
    global failures
    print(("ok: " if condition else "FAILED: ") + what, flush=True)
    if not condition:
        failures += 1


def blocks(doc):
    """(line, language, marker, text) of each fenced block."""
    text = doc.read_text()
    for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
        line = text[:m.start()].count("\n") + 1
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        marker = re.fullmatch(r"<!-- docs-test: (.*) -->", before.strip())
        yield line, m.group(1), marker.group(1) if marker else None, m.group(2)


def sandbox(name, database):
    box = SCRATCH / name
    shutil.rmtree(box, ignore_errors=True)
    box.mkdir(parents=True)
    images = REPO / "tests" / "data" / "images"
    shutil.copytree(images, box / "Pictures")
    shutil.copy(images / "giphy.gif", box / "query.jpg")  # a GIF under a .jpg name: judged by its bytes
    shutil.copy(images / "ukbench01380.jpg", box / "new.jpg")
    if BUNDLE:
        (box / "vit-b-32.pt").symlink_to(BUNDLE)
    if database:  # the database docs/scale-out.md starts from
        subprocess.run([str(BUILD / "imgvec"), "index", str(box / "Pictures"), "--db", str(box / "photos.imgvec")],
                       capture_output=True, check=False)
    tools = box / ".bin"
    tools.mkdir()
    (tools / "imgvec").symlink_to(BUILD / "imgvec")
    # The README's paths: ./build, tests/, examples/ as in a checkout.
    for part in ("tests", "examples", "scripts"):
        (box / part).symlink_to(REPO / part)
    (box / "build").symlink_to(BUILD)
    return box


def environment(box):
    return dict(os.environ, HOME=str(box), PATH=f"{box / '.bin'}:{os.environ['PATH']}",
                PYTHONPATH=str(BUILD / "python"), IMGVEC_MODEL="")


def in_sandbox(text, box):
    return text.replace("/tmp/", f"{box}/tmp-")


def run(lang, text, box, where):
    global ran
    if lang == "sh":
        cmd = ["bash", "-e", "-o", "pipefail", "-c", text]
    else:
        cmd = ["/usr/bin/python3", "-c", text]
    r = subprocess.run(cmd, cwd=box, env=environment(box), capture_output=True, text=True, timeout=600)
    ran += 1
    check(r.returncode == 0, f"{where} runs" + ("" if r.returncode == 0 else
                                                f" (exit {r.returncode}):\n{r.stdout[-1500:]}\n{r.stderr[-1500:]}"))


def serve(text, box, where):
    global ran
    proc = subprocess.Popen(["bash", "-c", "exec " + text.replace(" serve ", " serve --port 0 ", 1)], cwd=box,
                            env=environment(box), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for _ in range(4):
            lines.append(proc.stdout.readline())
            if "ready" in lines[-1]:
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    ran += 1
    check(any("ready" in line for line in lines) and proc.returncode == 0,
          f"{where} serves until Ctrl-C: {''.join(lines).strip()} {err.strip()[-300:]}")


for doc in DOCS:
    box = sandbox(doc.stem, database=doc.name == "scale-out.md")
    for line, lang, marker, text in blocks(doc):
        where = f"{doc.relative_to(REPO)}:{line} ({lang or 'no language'})"
        if lang not in ("sh", "python", "cpp", "cmake"):
            continue
        if marker is None:
            if lang in ("cpp", "cmake"):
                check(False, f"{where}: a {lang} block needs a docs-test marker (same as FILE, or run by FILE)")
            else:
                run(lang, in_sandbox(text, box), box, where)
        elif marker.startswith("after-build"):
            check(text.startswith(BUILD_PREFIX), f"{where} starts with the README's setup and build steps")
            rest = in_sandbox(text[len(BUILD_PREFIX):], box) if text.startswith(BUILD_PREFIX) else text
            if marker.endswith("server"):
                serve(rest.strip(), box, where)
            else:
                run(lang, rest, box, where)
        elif marker.startswith("same as "):
            path = REPO / marker[len("same as "):]
            # The file's own header comment (what it is, how to run it) aside.
            body = re.sub(r"\A(//[^\n]*\n)+", "", path.read_text()) if path.exists() else None
            check(body == text, f"{where} is {path.relative_to(REPO)}, which ctest builds and runs")
        elif marker.startswith("run by "):
            path = REPO / marker[len("run by "):]
            named = path.exists() and (doc.name in path.read_text() or text.strip() in path.read_text())
            check(named, f"{where} is run by {path.relative_to(REPO)}, which names {doc.name}")
        elif marker.startswith("not run: "):
            check(len(marker) > len("not run: ") + 10, f"{where} is not run here: {marker[len('not run: '):]}")
        else:
            check(False, f"{where}: unknown docs-test marker {marker!r}")

check(ran >= 8, f"{ran} blocks ran")
sys.exit(1 if failures else 0)
