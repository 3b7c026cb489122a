/* fuzz_config.c - the rclone.conf parser and ${VAR} expansion on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3m/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *env(const char *name, void *ud)
{
    (void)ud;
    return strlen(name) % 3 ? "value" : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct s3m_config c;
    struct s3m_errinfo ei;
    s3m_config_init(&c);
    if (!s3m_config_parse(&c, (const char *)data, size, "fuzz", env, NULL, &ei)) {
        for (size_t i = 0; i < c.nremotes; i++) {
            struct s3m_endpoint ep;
            s3m_remote_check(&c.remotes[i], &ei);
            if (!s3m_endpoint_resolve(&c.remotes[i], "bucket", &ep, &ei))
                s3m_endpoint_cleanup(&ep);
        }
    }
    s3m_config_cleanup(&c);
    return 0;
}
