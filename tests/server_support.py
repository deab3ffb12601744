"""Starting `imgvec serve` on a free loopback port and calling it, for the server tests and the
load benchmark (bench/server_load.py). Standard library only."""
import json
import sys
import subprocess
import time
import urllib.error
import urllib.request
import uuid


class Server:
    """`imgvec serve --port 0 ARGS...`; waits until it is ready (the database open)."""

    def __init__(self, binary, *args, env=None, ready=True):
        self.proc = subprocess.Popen([binary, "serve", "--port", "0", *map(str, args)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.first_line = self.proc.stdout.readline()
        if "listening on http://" not in self.first_line:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"serve did not start: {self.first_line!r} {self.proc.stderr.read()}")
        self.base = "http://" + self.first_line.split("http://")[1].split("/")[0]
        # Without --api-key (and writes on) the server makes a token at each start and prints it.
        self.token = None
        if "writes need the token" in self.first_line:
            line = self.proc.stdout.readline()
            if "token for scripts" not in line:
                raise RuntimeError(f"serve printed no token: {line!r}")
            self.token = line.rsplit(" ", 1)[1].strip()
        self.ready_line = self.proc.stdout.readline() if ready else None
        if ready and "ready" not in self.ready_line:
            self.proc.wait(timeout=30)
            raise RuntimeError(f"serve did not get ready: {self.ready_line!r} {self.proc.stderr.read()}")

    def stop(self, sig=None):
        import signal
        self.proc.send_signal(sig or signal.SIGINT)
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def call(self, method, path, body=None, raw=None, headers=None, content_type="application/json", timeout=60,
             token=True):
        """One request; the start's token goes with it (X-API-Key) unless token=False or headers
        name a key of their own."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": content_type} if data is not None else {}
        if token and self.token:
            h["X-API-Key"] = self.token
        h.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def json(self, method, path, body=None, **kw):
        status, headers, payload = self.call(method, path, body, **kw)
        if headers.get("Content-Type") != "application/json":
            raise AssertionError(f"{method} {path}: answered {headers.get('Content-Type')}, not JSON ({status})")
        return status, json.loads(payload)

    def upload(self, filename, data, fields=None, path="/v1/images", headers=None, **kw):
        """A multipart/form-data POST with one file field ("file") and text fields."""
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in (fields or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                     f'Content-Type: application/octet-stream\r\n\r\n'.encode() + data + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        return self.json("POST", path, raw=b"".join(parts), headers=headers,
                         content_type=f"multipart/form-data; boundary={boundary}", **kw)


def fresh_database(binary, images, scratch, *args):
    """An empty scratch folder holding `imgvec index IMAGES` as scratch/db (the test images hold
    one broken file, so index exits 3); returns the database's path."""
    import shutil
    from pathlib import Path
    scratch = Path(scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    db = scratch / "db"
    r = subprocess.run([binary, "index", str(images), "--db", str(db), *args], capture_output=True, text=True)
    if r.returncode != 3:
        raise RuntimeError(f"index {images}: exit {r.returncode}: {r.stderr}")
    return db


class Servers:
    """The servers a test script started, and its check(): a failed check stops them all and
    exits with the reason."""

    def __init__(self, binary):
        self.binary = binary
        self.started = []

    def start(self, *args, **kw):
        s = Server(self.binary, *args, **kw)
        self.started.append(s)
        return s

    def kill_all(self):
        for s in self.started:
            s.kill()

    def check(self, condition, what):
        if not condition:
            self.kill_all()
            sys.exit(f"FAILED: {what}")
        print(f"ok: {what}")


def wait_until(predicate, seconds=30, step=0.05):
    end = time.time() + seconds
    while time.time() < end:
        if predicate():
            return True
        time.sleep(step)
    return False


def test_image_counts(binary):
    """(decodable, undecodable) among the 12 files of tests/data/images, for this build: two are
    broken on purpose, and WebP and TIFF need their libraries (`imgvec --version` says)."""
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    bad = 2 + ("WebP: not built" in version) + ("TIFF: not built" in version)
    return 12 - bad, bad
