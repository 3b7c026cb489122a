/* tjson.h - a small JSON reader for the tests' expected-value files (test code only). */
#ifndef TJSON_H
#define TJSON_H

#include <stdbool.h>
#include <stddef.h>

enum tj_type { TJ_NULL, TJ_BOOL, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ };

struct tj {
    enum tj_type type;
    bool b;
    double num;
    char *str; /* TJ_STR: UTF-8, NUL-terminated */
    size_t len;
    struct tj **items; /* TJ_ARR, TJ_OBJ values */
    char **keys;       /* TJ_OBJ */
    size_t n;
};

struct tj *tj_parse(const char *text, size_t len);
struct tj *tj_parse_file(const char *path);
void tj_free(struct tj *v);
/* Member of an object (NULL when absent or not an object). */
const struct tj *tj_get(const struct tj *o, const char *key);
/* String member, NULL when absent or JSON null. */
const char *tj_str(const struct tj *o, const char *key);
/* Read a whole file (NUL-terminated); *len set. NULL on failure. */
char *tj_read_file(const char *path, size_t *len);
/* Path of a test data file: $S3M_TESTDATA/rel. */
const char *tj_data_path(const char *rel, char *buf, size_t n);

#endif
