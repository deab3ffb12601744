// stb_image_write's implementation for the tests (they write JPEG and PNG copies of real images).
// Built without UBSan's shift check: stb's JPEG bit writer shifts signed ints left past their
// range (stb_image_write.h:1263), harmless on every compiler we use but undefined by the letter.
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
