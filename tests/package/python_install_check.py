"""The installed imgvec package imports from the install tree and works: python_install_check.py
PREFIX IMAGES DB."""
import os
import sys

import imgvec

prefix, images, db_path = sys.argv[1:4]
assert os.path.realpath(imgvec.__file__).startswith(os.path.realpath(prefix)), imgvec.__file__
assert os.path.exists(os.path.join(os.path.dirname(imgvec.__file__), "__init__.pyi")), "the type stubs are installed"
with imgvec.VectorDatabase.create(db_path) as db:
    report = db.index_directory(images)
    assert report["added"] > 5, report
    hit = db.search_by_image(os.path.join(images, "giphy.gif"), k=1)[0]
    assert hit.record["source"].endswith("giphy.gif") and hit.score > 0.999, hit
print("installed imgvec", imgvec.__version__, "from", os.path.dirname(imgvec.__file__), "works")
