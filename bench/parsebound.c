/* parsebound.c - the parse-bound time of a listing: s3mirror's own XML listing parser over
 * captured ListObjectsV2 pages, in memory, without the network (bench/run's huge listing).
 *
 *   parsebound PAGES FILE...   parses PAGES pages (the files round-robin, fed in 16 KiB pieces
 *                              as curl hands them over) and prints "pages objects cpu_s" */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "s3m/xml.h"

struct page {
    char *data;
    size_t len;
};

static int load(const char *path, struct page *p)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p->data = malloc((size_t)n + 1);
    p->len = p->data ? fread(p->data, 1, (size_t)n, f) : 0;
    fclose(f);
    return p->data && p->len == (size_t)n ? 0 : -1;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* One page as the client parses it: fed in pieces, then finished into a result (then freed, as
 * the lister does once the merge has consumed the page). Returns its object count, or -1. */
static long parse_one(const struct page *p)
{
    struct s3m_errinfo ei = {0};
    struct s3m_xml_parser *xp = s3m_xml_new(S3M_XML_LIST);
    for (size_t off = 0; off < p->len; off += 16384) {
        size_t n = p->len - off < 16384 ? p->len - off : 16384;
        if (s3m_xml_feed(xp, p->data + off, n, &ei))
            break;
    }
    struct s3m_xml_result *r = NULL;
    long objs = -1;
    if (s3m_xml_finish(xp, &r, &ei) == S3M_EOK && r->kind == S3M_XML_LIST)
        objs = (long)r->list.nobjects;
    s3m_xml_result_free(r);
    s3m_xml_free(xp);
    return objs;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: parsebound PAGES FILE...\n");
        return 2;
    }
    /* steady-state heap, as in a long sync (whose other allocations keep the heap's top in use):
     * without this glibc gives each page's arena back to the kernel and faults it in again, and
     * that kernel work would be counted as parsing */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    long pages = atol(argv[1]);
    int nfiles = argc - 2;
    struct page *pg = calloc((size_t)nfiles, sizeof(*pg));
    for (int i = 0; pg && i < nfiles; i++)
        if (load(argv[i + 2], &pg[i])) {
            fprintf(stderr, "parsebound: cannot read %s\n", argv[i + 2]);
            return 1;
        }
    double t0 = cpu_s();
    long objects = 0;
    for (long i = 0; pg && i < pages; i++) {
        long n = parse_one(&pg[i % nfiles]);
        if (n < 0) {
            fprintf(stderr, "parsebound: page %s does not parse\n", argv[i % nfiles + 2]);
            return 1;
        }
        objects += n;
    }
    printf("%ld %ld %.3f\n", pages, objects, cpu_s() - t0);
    return 0;
}
