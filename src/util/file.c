/* file.c - replacing a small file atomically (a temporary file beside it, then rename), for the
 * files a job leaves for the next one: the metrics textfile (cli) and the ranges cache (engine);
 * and the regions of a run's spill files (the delete list and the waiting copies, engine). */
#include "s3m/util.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

bool s3m_file_replace(const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return false;
    bool ok = fwrite(data, 1, len, f) == len;
    ok = !fclose(f) && ok;
    if (ok && !rename(tmp, path))
        return true;
    int e = errno;
    unlink(tmp);
    errno = e;
    return false;
}

FILE *s3m_spill_region(FILE **shared, bool *own, long long *start)
{
    FILE *f = shared ? *shared : NULL;
    if (!f && !(f = tmpfile()))
        return NULL;
    if (shared)
        *shared = f;
    *own = !shared;
    off_t at;
    if (fseeko(f, 0, SEEK_END) || (at = ftello(f)) < 0) {
        int e = errno;
        if (!shared) /* a shared one stays the run's, closed by it */
            fclose(f);
        errno = e;
        return NULL;
    }
    *start = (long long)at;
    return f;
}
