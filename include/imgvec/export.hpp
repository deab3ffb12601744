#pragma once
// What a shared imgvec exports: the declarations of its public headers and nothing else. The
// library is compiled with -fvisibility=hidden, and every public header wraps its declarations in
// IMGVEC_API_BEGIN / IMGVEC_API_END, so nothing is forgotten one function at a time and nothing
// private (the detail code in src/, hnswlib, stb, xxHash, nlohmann) leaks into the dynamic symbol
// table, where an application's own copy would bind to ours. Classes whose objects or exceptions
// cross into a module (imgvec::Error, Encoder) need this too: a hidden class's type_info is
// compared by address, so a module's throw would not match the program's catch.
// tests/package (add_subdirectory, built shared) checks `nm -D` of libimgvec_core.so.

#if defined(__GNUC__) || defined(__clang__)
#define IMGVEC_API __attribute__((visibility("default")))
#define IMGVEC_API_BEGIN _Pragma("GCC visibility push(default)")
#define IMGVEC_API_END _Pragma("GCC visibility pop")
#else
#define IMGVEC_API
#define IMGVEC_API_BEGIN
#define IMGVEC_API_END
#endif
