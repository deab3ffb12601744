"""imgvec: image similarity search inside a Python program, with no database server.

    import imgvec
    db = imgvec.VectorDatabase("photos.imgvec")      # opened, or created with the built-in encoder
    db.index_directory(os.path.expanduser("~/Pictures"))
    for r in db.search_by_image("query.jpg", k=5):
        print(r.score, r.path, r.metadata)

Every change is durable when it returns (durability "on_write", Python's default), so a script
that ends without close() loses nothing; `with` or close() saves and releases the folder.

ClipEncoder(bundle) searches by text too; FlatIndex and HnswIndex are vector indexes with a
Faiss-like numpy API; imgvec.dask spreads embedding over a Dask cluster. Errors are imgvec.Error
subclasses that are also the built-in exception that fits (FileNotFoundError, ValueError, ...).
"""

from ._errors import (CorruptFileError, Error, IncompatibleError, InvalidArgumentError, NotFoundError,
                      StorageError, TooLargeError, UnsupportedError)
from ._query import Query
from ._imgvec import (ClipEncoder, DescriptorEncoder, Encoder, FlatIndex, HnswIndex, SearchResult, VectorDatabase,
                      __version__, build_features)

__all__ = [
    "ClipEncoder", "CorruptFileError", "DescriptorEncoder", "Encoder", "Error", "FlatIndex", "HnswIndex",
    "IncompatibleError", "InvalidArgumentError", "NotFoundError", "Query", "SearchResult", "StorageError", "TooLargeError",
    "UnsupportedError", "VectorDatabase", "__version__", "build_features",
]
