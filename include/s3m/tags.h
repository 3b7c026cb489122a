/* s3m/tags.h - object tags (S3 object tagging), pure: the canonical form of a tag set that is
 * both the x-amz-tagging header's value (URL-encoded query-string form) and what two sides'
 * tag sets are compared by, and the PutObjectTagging body. The Tagging reply is read by the
 * XML reader (s3m/xml.h, S3M_XML_TAGGING). */
#ifndef S3M_TAGS_H
#define S3M_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "s3m/util.h"
#include "s3m/xml.h"

/* Tags beyond this many refuse a reply (S3 allows 10 per object; a server that allows more
 * still gets them all written, and refuses them itself if it must). */
#define S3M_TAGS_MAX 50

/* The canonical form of n tags: sorted by key (then value), each "key=value" URL-encoded as S3's
 * URI encoding does (RFC 3986 unreserved kept, everything else %XX), joined by '&'; "" for no
 * tags. Two tag sets are equal (as sets of key=value) exactly when their forms are. Appended
 * to out. */
void s3m_tags_encode(struct s3m_buf *out, const struct s3m_xml_tag *tags, size_t n);

/* The PutObjectTagging body of n tags (<Tagging><TagSet><Tag>...), appended to out. */
void s3m_tags_xml(struct s3m_buf *out, const struct s3m_xml_tag *tags, size_t n);
/* s as XML character data or attribute value (&, <, >, quotes, CR, LF, tab escaped) onto b:
 * the request bodies s3mirror writes (Tagging, the DeleteObjects keys). */
void s3m_xml_escape(struct s3m_buf *b, const char *s);

/* The value of a reply's x-amz-tagging-count header: true when it says the object has tags
 * (NULL, "0" or anything unreadable: none). */
bool s3m_tags_counted(const char *count);

#endif
