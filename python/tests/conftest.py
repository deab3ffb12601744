"""Shared fixtures: the test images (copied, so tests may add and change files), and a database
over them with the built-in encoder."""
import os
import shutil
from pathlib import Path

import pytest

import imgvec

IMAGES = Path(os.environ.get("IMGVEC_TEST_IMAGES", Path(__file__).resolve().parents[2] / "tests" / "data" / "images"))
BROKEN = {"marbles.pbm", "ukbench09268_corrupt.jpg"}  # broken on purpose (tests/data/README.md)


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    shutil.copytree(IMAGES, folder)
    return folder


@pytest.fixture
def db(tmp_path, photos):
    with imgvec.VectorDatabase.create(str(tmp_path / "db")) as database:
        database.index_directory(photos)
        yield database


def in_threads(work, threads=4):
    """Runs work() on several threads at once and raises the first error any of them met."""
    import threading
    errors = []

    def run():
        try:
            work()
        except BaseException as e:  # noqa: BLE001 (raised below, on the test's thread)
            errors.append(e)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
