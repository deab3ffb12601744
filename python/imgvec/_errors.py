"""imgvec's exceptions: one per error code of the C++ library, each also a built-in exception where
one fits, so ``except FileNotFoundError`` works as well as ``except imgvec.Error``."""


class Error(Exception):
    """Anything imgvec refuses: the message names the input (file, argument, id) and what is wrong."""


class InvalidArgumentError(Error, ValueError):
    """A bad parameter: a wrong dimension, k == 0, a malformed filter."""


class NotFoundError(Error, FileNotFoundError):
    """A file or an id that does not exist."""


class StorageError(Error, OSError):
    """The operating system refused a read or a write."""


class CorruptFileError(Error):
    """A file is truncated, damaged or not imgvec's."""


class UnsupportedError(Error):
    """A file from a newer imgvec, a format this build cannot read, or a feature it lacks."""


class IncompatibleError(Error, ValueError):
    """A file that does not match what it is loaded into (another encoder, another dimension)."""


class TooLargeError(Error, ValueError):
    """An input over a limit: an image's pixels or bytes."""


_BY_CODE = {1: InvalidArgumentError, 2: NotFoundError, 3: StorageError, 4: CorruptFileError,
            5: UnsupportedError, 6: IncompatibleError, 7: TooLargeError}


def error_class(code):
    """The exception class for a C++ ErrorCode value."""
    return _BY_CODE.get(code, Error)
