/* opt_values.c - the values a shell completes for an option (s3m_cli_opt_values): out of
 * options.c, which is at its size limit. */
#include "cli.h"
#include "s3m/util.h"

#include <string.h>

/* The values a shell may complete for an option (space-separated); others are free-form. */
static const struct {
    const char *name, *values;
} choices[] = {
    {"log-level", "error warn notice info debug"},
    {"log-format", "text json"},
    {"cutoff-mode", "hard soft cautious"},
    {"compare", "etag size size-mtime checksum etag,tags size,tags size-mtime,tags checksum,tags"},
    {"layout", "auto restic kopia velero elasticsearch wal-g pgbackrest"},
    {"bwlimit-tz", "utc local"},
};

const char *s3m_cli_opt_values(const char *name)
{
    for (size_t i = 0; i < S3M_ARRAY_LEN(choices); i++)
        if (!strcmp(choices[i].name, name))
            return choices[i].values;
    return NULL;
}
