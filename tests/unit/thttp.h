/* thttp.h - the two halves of a loopback HTTP/1.1 server for the net/ tests (test code only):
 * the tests run it in a thread on a socket of their own and decide what to answer. */
#ifndef THTTP_H
#define THTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Read from fd until the end of a request's head (or EOF, or buf is full); buf holds it, NUL
 * ended. Returns the bytes read. */
size_t thttp_read_head(int fd, char *buf, size_t size);
/* Send head (the status line and headers, with the blank line) then body_len bytes of 'x';
 * false once the peer is gone. */
bool thttp_send(int fd, const char *head, size_t body_len);

#endif
