#pragma once

#include <cstdio>
#include <cstdlib>

// Internal invariants only: a failed IMGVEC_ASSERT is a bug in imgvec, never the user's input, so it
// stops the process with the location rather than throwing something a caller might swallow.
#define IMGVEC_ASSERT(cond)                                                                \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "imgvec: internal assertion failed: %s at %s:%d\n", #cond,      \
                   __FILE__, __LINE__);                                                    \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
