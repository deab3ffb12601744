"""imgvec from Python, the way the Python VectorDatabase it replaces was used: build a database
from a folder of photos, search it by image (and by text with a CLIP bundle), find duplicates,
look at the stats, export the records.

    python3 examples/python/photo_search.py PHOTOS DB [CLIP_BUNDLE]
"""
import sys

import imgvec


def main(photos, db_path, bundle=None):
    # The built-in encoder needs no model file; a CLIP bundle (tools/export_openclip.py) adds text search.
    encoder = imgvec.ClipEncoder(bundle) if bundle else imgvec.DescriptorEncoder()
    with imgvec.VectorDatabase(db_path, encoder) as db:  # opened, or created the first time
        report = db.index_directory(photos, progress=lambda done, total: print(f"\r{done}/{total}", end=""))
        print(f"\nadded {report['added']}, unchanged {report['unchanged']}, failed {report['failed']}")
        for failure in report["failures"]:
            print("  could not read", failure["source"], "-", failure["error"])

        first = db.get(db.ids()[0])
        print("images like", first["source"])
        for r in db.search_by_image(first["source"], k=3):
            print(f"  {r.score:.3f}  {r.path}")

        if encoder.supports_text:
            print("images matching 'a photo of a dog'")
            for r in db.search_by_text("a photo of a dog", k=3):
                print(f"  {r.score:.3f}  {r.path}")

        for group in db.find_duplicates():
            print(f"{len(group['images'])} duplicates, keep {group['paths'][0]}")

        stats = db.get_stats()
        print(f"{stats['count']} images, {stats['dimension']}-d vectors, {stats['disk_bytes']} bytes on disk")
        db.export_metadata(db_path.rstrip("/") + ".records.jsonl")
        print("records written to", db_path.rstrip("/") + ".records.jsonl")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
