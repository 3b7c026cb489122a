/* fuzz_spec.c - remote spec parsing ("remote:bucket/path") on arbitrary text; what it accepts
 * must be a folder prefix ("" or name segments ending in one '/'). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/config.h"
#include "s3m/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = s3m_strndup((const char *)data, size);
    struct s3m_spec spec;
    struct s3m_errinfo ei;
    if (!s3m_spec_parse(s, &spec, &ei)) {
        /* a path names a folder: "" or segments that are names, ending in exactly one '/' */
        size_t n = strlen(spec.prefix);
        if (n && (spec.prefix[n - 1] != '/' || n > 1024 || !*spec.bucket))
            abort();
        for (const char *p = spec.prefix; *p;) {
            size_t len = strcspn(p, "/");
            if (!len || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                abort();
            p += len + 1;
        }
        s3m_spec_cleanup(&spec);
    }
    free(s);
    return 0;
}
