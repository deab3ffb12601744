"""imgvec.Query: the examples of a combined search (VectorDatabase.search)."""


class Query:
    """Images like every `positive` example and unlike every `negative` one, combined into one
    query vector as imgvec's Query does (weighted means; "beach, but no people").

    An example is a text (str), an image file (pathlib.Path or os.PathLike), a stored image's id
    (int; left out of the results), a float vector, encoded image bytes, a uint8 array or a PIL
    image; (example, weight) gives it a weight. Each side is one example or a list of them.

        db.search(imgvec.Query(positive=["a beach", Path("me.jpg")], negative="people"), k=20)
    """

    def __init__(self, positive=(), negative=()):
        self.positive = positive
        self.negative = negative

    def __repr__(self):
        return f"Query(positive={self.positive!r}, negative={self.negative!r})"
