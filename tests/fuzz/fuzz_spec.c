/* fuzz_spec.c - remote spec parsing ("remote:bucket/prefix") on arbitrary text. */
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
    if (!s3m_spec_parse(s, &spec, &ei))
        s3m_spec_cleanup(&spec);
    free(s);
    return 0;
}
