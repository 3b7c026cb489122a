/* fuzz_xml.c - the S3 XML reader on arbitrary bytes, fed whole and split in two. */
#include <stdint.h>
#include <string.h>

#include "s3m/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned accept = size ? data[0] | (unsigned)(data[0] & 1) << 8 : 0x1ff; /* bit 8: ListParts */
    struct s3m_xml_result *r = NULL;
    struct s3m_errinfo ei;
    if (!s3m_xml_parse(data, size, accept, &r, &ei))
        s3m_xml_result_free(r);
    struct s3m_xml_parser *p = s3m_xml_new(0x3ff); /* every kind: ListParts, Tagging too */
    size_t half = size / 2;
    if (!s3m_xml_feed(p, data, half, &ei) && !s3m_xml_feed(p, data + half, size - half, &ei) &&
        !s3m_xml_finish(p, &r, &ei))
        s3m_xml_result_free(r);
    s3m_xml_free(p);
    return 0;
}
